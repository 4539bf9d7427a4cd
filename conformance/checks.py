"""The checks catalogue: one stable ID per requirement, its grade and where it comes from.

IDs are dotted by topic and never reused; reports, baselines and users' `--checks` filters all
refer to them. A check is judged by the lifecycle model (`conformance.model`), which names the
check in every judgement it makes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Grade(enum.Enum):
    MUST = "MUST"  # a failure is a `fail`
    SHOULD = "SHOULD"  # a failure is `non-strict`
    INFO = "informational"  # unspecified behaviour: recorded, never a failure
    # A seed document's statement: `pass` where it holds, `fail` where it does not. Gated on
    # change like everything else, but a claim that does not hold is not a server's failure.
    CLAIM = "claim"


class Verdict(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NON_STRICT = "non-strict"
    INFORMATIONAL = "informational"
    UNIMPLEMENTED = "unimplemented"


@dataclass(frozen=True)
class Check:
    id: str
    grade: Grade
    title: str
    requirement: str


ASGI = "ASGI HTTP & WebSocket spec (www), version 2.5"
STARLETTE = "Starlette WebSocket state machine (starlette.websockets.WebSocket)"

# --- the lifecycle checks, judged by conformance.model on the puppet app -----------------------
LIFECYCLE_CHECKS: tuple[Check, ...] = (
    # --- handshake ----------------------------------------------------------------------------
    Check(
        "handshake.accept-completes",
        Grade.MUST,
        "accept() completes the handshake",
        f"{ASGI}, 'Accept - send event': the server completes the handshake (HTTP 101) when the "
        "app accepts.",
    ),
    Check(
        "handshake.subprotocol-negotiated",
        Grade.MUST,
        "the subprotocol the app picks from the client's offer reaches the client",
        f"{ASGI}, 'Accept - send event' (subprotocol); RFC 6455 4.2.2: the server's choice is "
        "one of the client's values and is sent in Sec-WebSocket-Protocol.",
    ),
    Check(
        "handshake.accept-headers",
        Grade.MUST,
        "headers given to accept() appear in the 101 response",
        f"{ASGI} 2.1, 'Accept - send event': `headers` are added to the handshake response.",
    ),
    Check(
        "handshake.close-before-accept-403",
        Grade.MUST,
        "close before accept denies the handshake with HTTP 403 and no data",
        f"{ASGI}, 'Close - send event': before accept the server refuses the handshake with "
        "HTTP 403 and does not complete it.",
    ),
    Check(
        "handshake.denial-response",
        Grade.MUST,
        "a denial response reaches the client with its status and body",
        "ASGI extension 'Websocket Denial Response': `websocket.http.response.start/body` before "
        "accept are sent as the HTTP response to the upgrade request.",
    ),
    # --- ordering errors ----------------------------------------------------------------------
    Check(
        "order.send-before-accept",
        Grade.MUST,
        "send before accept raises RuntimeError and nothing reaches the client",
        f"{STARLETTE}: in state CONNECTING only accept/close/denial may be sent, anything else "
        "raises RuntimeError; ASGI core spec 'Error Handling': a server raises on invalid events.",
    ),
    Check(
        "order.receive-before-accept",
        Grade.MUST,
        "receive_* before accept raises RuntimeError",
        f"{STARLETTE}: receive_text/bytes/json need application state CONNECTED.",
    ),
    Check(
        "order.duplicate-accept",
        Grade.MUST,
        "a second accept raises RuntimeError and leaves the connection as it was",
        f"{STARLETTE}: in state CONNECTED only send and close may be sent.",
    ),
    Check(
        "order.duplicate-close",
        Grade.MUST,
        "a second close raises RuntimeError",
        f"{STARLETTE}: after a close message the application state is DISCONNECTED and every "
        "send raises; RFC 6455 5.5.1: nothing follows a close frame.",
    ),
    Check(
        "order.send-after-close",
        Grade.MUST,
        "send after the app closed raises RuntimeError and nothing reaches the client",
        f"{STARLETTE}: after close every send raises; RFC 6455 5.5.1: an endpoint sends no data "
        "frame after its close frame.",
    ),
    Check(
        "order.receive-after-app-close",
        Grade.MUST,
        "receive_* after the app closed raises RuntimeError instead of waiting",
        f"{STARLETTE}: receive_* need application state CONNECTED, which close leaves.",
    ),
    Check(
        "session.no-unexpected-event",
        Grade.MUST,
        "the client sees nothing the app did not send",
        f"{ASGI}: the server relays the app's messages; it adds no data frames and does not end "
        "a connection the app keeps open.",
    ),
    # --- close ---------------------------------------------------------------------------------
    Check(
        "close.code-and-reason-delivered",
        Grade.MUST,
        "close after accept delivers exactly the app's code and reason",
        f"{ASGI} 2.3, 'Close - send event': the server closes with the given code (default 1000) "
        "and reason; RFC 6455 5.5: reasons up to 123 UTF-8 bytes fit a close frame.",
    ),
    Check(
        "close.wire-code-valid",
        Grade.MUST,
        "every close frame on the wire carries a code an endpoint may send",
        "RFC 6455 7.4: 1004, 1005, 1006, 1015, codes below 1000, unassigned 1016-2999 and codes "
        "from 5000 up never appear in a close frame.",
    ),
    Check(
        "close.client-code-reaches-app",
        Grade.MUST,
        "the client's close code reaches the app in WebSocketDisconnect",
        f"{ASGI}, 'Disconnect - receive event': `code` is the client's close code.",
    ),
    Check(
        "close.client-reason-reaches-app",
        Grade.MUST,
        "the client's close reason reaches the app in WebSocketDisconnect",
        f"{ASGI} 2.5, 'Disconnect - receive event': `reason` is the client's close reason.",
    ),
    Check(
        "close.client-no-code-gives-1005",
        Grade.MUST,
        "a client close frame without a code reaches the app as 1005",
        f"{ASGI}, 'Disconnect - receive event' and RFC 6455 7.1.5: no status code means 1005.",
    ),
    # --- disconnect ----------------------------------------------------------------------------
    Check(
        "disconnect.receive-after-client-close",
        Grade.MUST,
        "after a client close, receive raises WebSocketDisconnect once, then RuntimeError",
        f"{STARLETTE}: the disconnect message raises WebSocketDisconnect and moves the client "
        "state to DISCONNECTED, where receive raises RuntimeError.",
    ),
    Check(
        "disconnect.drop-reaches-app",
        Grade.MUST,
        "a dropped TCP connection reaches an app blocked in receive as WebSocketDisconnect",
        f"{ASGI}, 'Disconnect - receive event': sent when the connection is lost for any reason.",
    ),
    Check(
        "disconnect.drop-code-1006",
        Grade.SHOULD,
        "a dropped connection is reported to the app with code 1006",
        "RFC 6455 7.1.5: a connection closed without a close frame has close code 1006.",
    ),
    Check(
        "disconnect.send-after-client-gone",
        Grade.MUST,
        "send after the client left raises WebSocketDisconnect or an OSError subclass",
        f"{ASGI} 2.4, 'Disconnected Client - send exception': send to a closed connection should "
        "raise a server-specific OSError subclass (Starlette turns it into WebSocketDisconnect); "
        "any other exception is a bug, silence is only a SHOULD failure.",
    ),
    # --- app errors and returns ----------------------------------------------------------------
    Check(
        "app-error.exception-after-accept-closes",
        Grade.MUST,
        "an exception after accept ends the connection",
        "ASGI core spec 'Error Handling': the server terminates the app's connection when the "
        "app raises.",
    ),
    Check(
        "app-error.exception-after-accept-1011",
        Grade.SHOULD,
        "an exception after accept closes with 1011",
        "RFC 6455 7.4.1: 1011 reports that the server met an unexpected condition.",
    ),
    Check(
        "app-error.exception-before-accept-denies",
        Grade.MUST,
        "an exception before accept denies the handshake with an HTTP error",
        "ASGI core spec 'Error Handling' with RFC 6455 4.1: the connection is terminated; any "
        "status other than 101 refuses the upgrade (servers answer 500).",
    ),
    Check(
        "app-error.exception-before-accept-5xx",
        Grade.SHOULD,
        "an exception before accept is answered as a server error (HTTP 5xx), not a refusal",
        "RFC 9110 15.6.1: 500 means the server met an unexpected condition; 403 (15.5.4) tells "
        "the client it was understood and refused, which sends it looking for a fault of its own.",
    ),
    Check(
        "app-error.websocket-exception-before-accept",
        Grade.MUST,
        "WebSocketException before accept denies the handshake (HTTP 403)",
        "Starlette docs, WebSocketException: the app's handler closes the websocket, which "
        f"before accept is a 403 ({ASGI}, 'Close - send event').",
    ),
    Check(
        "app-error.websocket-exception-after-accept",
        Grade.MUST,
        "WebSocketException after accept closes with its code and reason",
        "Starlette docs, WebSocketException: the handler closes with the exception's code and "
        "reason.",
    ),
    Check(
        "app-return.after-accept-closes",
        Grade.MUST,
        "an app that returns after accept without closing gets its connection closed",
        f"{ASGI}, 'Websocket Connection Scope': the connection lives as long as the app; the "
        "server closes it when the app is done.",
    ),
    Check(
        "app-return.before-accept-denies",
        Grade.MUST,
        "an app that returns before accept gets the client denied, not left hanging",
        f"{ASGI}, 'Connect - receive event': the handshake waits for the app's answer; an app "
        "that ends without one must not leave the client waiting.",
    ),
    # --- data ----------------------------------------------------------------------------------
    Check(
        "data.text-exact",
        Grade.MUST,
        "text messages arrive exactly and in order, both ways",
        f"{ASGI}, 'Send/Receive event' (text) and RFC 6455 5.6 (UTF-8 text frames).",
    ),
    Check(
        "data.bytes-exact",
        Grade.MUST,
        "binary messages arrive exactly and in order, both ways",
        f"{ASGI}, 'Send/Receive event' (bytes) and RFC 6455 5.6 (binary frames).",
    ),
    Check(
        "data.json-exact",
        Grade.MUST,
        "JSON values survive send_json/receive_json exactly",
        "Starlette docs: send_json/receive_json encode and decode JSON text messages.",
    ),
)

SEEDS = "the seed documents' endpoint, as targets/reference.py specifies it"

# --- reference endpoint contracts (targets/reference.py; any app with the same routes) -------
CONTRACTS: tuple[Check, ...] = (
    Check("contract.welcome", Grade.MUST, "/welcome greets, then closes 1000", SEEDS),
    Check("contract.echo.exact", Grade.MUST, "/echo answers every text exactly", SEEDS),
    Check("contract.echo.order", Grade.MUST, "/echo keeps the order of many messages", SEEDS),
    Check("contract.count", Grade.MUST, "/count answers the third message, then closes", SEEDS),
    Check("contract.json.original", Grade.MUST, "/json returns every JSON value unchanged", SEEDS),
    Check(
        "contract.safe.shapes", Grade.MUST, "/safe answers one of three shapes, stays open", SEEDS
    ),
    Check(
        "contract.custom-close",
        Grade.MUST,
        "/custom-close closes with its codes and reasons",
        SEEDS,
    ),
    Check(
        "contract.moderated", Grade.MUST, "/moderated welcomes, closes 1000 or 1008 as told", SEEDS
    ),
    Check(
        "contract.rooms", Grade.MUST, "/rooms greets valid members, refuses bad parameters", SEEDS
    ),
    Check(
        "contract.chat", Grade.MUST, "/chatroom delivers every message once to each member", SEEDS
    ),
    Check(
        "contract.auth.rejects-before-accept",
        Grade.MUST,
        "secured routes refuse every bad credential before accept, without data",
        f"{SEEDS}; ASGI www 'Close - send event': a close before accept is an HTTP 403.",
    ),
    Check(
        "contract.auth.accepts-valid",
        Grade.MUST,
        "secured routes accept every valid credential and greet",
        SEEDS,
    ),
    Check(
        "contract.no-server-error",
        Grade.MUST,
        "no input and no client disconnect makes the app raise",
        "ASGI core spec 'Error Handling': an exception escaping the app is a server error; "
        "a client's input or departure must never cause one.",
    ),
)


# --- generic checks, judged on any app's routes (`--app`, `--url`; conformance.generic) ------
GENERIC_CHECKS: tuple[Check, ...] = (
    Check(
        "generic.no-unhandled-exception",
        Grade.MUST,
        "no input and no disconnect point makes a route raise",
        "ASGI core spec 'Error Handling': an exception escaping the app is a server error; "
        "what a client sends, or when it leaves, must never cause one.",
    ),
    Check(
        "generic.no-server-error",
        Grade.MUST,
        "client input never causes an HTTP 5xx or a close 1011",
        "RFC 9110 15.6 (5xx: the server failed) and RFC 6455 7.4.1 (1011: an unexpected "
        "condition in the server): neither may be the answer to a client's input.",
    ),
    Check(
        "generic.close-code-valid",
        Grade.MUST,
        "every close code a route sends is valid on the wire",
        "RFC 6455 7.4: 1000-1003, 1007-1011 (and IANA's 1012-1014), 3000-4999; never 1005, "
        "1006, 1015, an HTTP status or a code out of range.",
    ),
    Check(
        "generic.no-data-before-denial",
        Grade.MUST,
        "a refused connection carries no message",
        f"{ASGI}, 'Close - send event': a close before accept refuses the handshake (HTTP 403) "
        "and nothing the app sent before reaches the client.",
    ),
    Check(
        "generic.auth.rejects-bad-tokens",
        Grade.MUST,
        "an authenticated route refuses every bad token before accept",
        "the route's [tool.wsconform] auth declaration; ASGI www 'Close - send event': "
        "refusing before accept is an HTTP 403 without data.",
    ),
    Check(
        "generic.auth.accepts-valid-token",
        Grade.MUST,
        "an authenticated route accepts a valid token",
        "the route's [tool.wsconform] auth declaration (valid-token or valid-token-command).",
    ),
)


def _claim_checks() -> tuple[Check, ...]:
    from conformance.claims import CLAIMS  # claims are scenarios; the catalogue lists their IDs

    return tuple(claim.check() for claim in CLAIMS)


CATALOGUE: tuple[Check, ...] = LIFECYCLE_CHECKS + CONTRACTS + GENERIC_CHECKS + _claim_checks()
CHECKS: dict[str, Check] = {check.id: check for check in CATALOGUE}


def check(check_id: str) -> Check:
    try:
        return CHECKS[check_id]
    except KeyError:
        raise KeyError(f"unknown check {check_id!r}") from None
