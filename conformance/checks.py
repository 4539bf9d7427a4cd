"""The checks catalogue: one stable ID per requirement, its grade, the layer it judges and where it
comes from.

IDs are dotted by topic and never reused; reports, baselines and users' `--checks` filters all
refer to them. A check that is split or renamed keeps its old ID in `RETIRED`, so baselines and
`reports.compare` can say "renamed" instead of "new failure". A check is judged by the lifecycle
model (`conformance.model`), which names the check in every judgement it makes.

Grades follow the source's own keyword: MUST where it says MUST/must, SHOULD where it says
should, INFO where it only defines a meaning (a best practice), POLICY where the rule is this
suite's own (each says why in its requirement).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Grade(enum.Enum):
    MUST = "MUST"  # a failure is `fail`
    SHOULD = "SHOULD"  # a failure is `non-strict`
    # The suite's own rule, no quoted requirement behind it: a failure is `non-strict`, and with
    # no baseline to compare with (a user's app) it is still a finding.
    POLICY = "policy"
    # A definition with no keyword, i.e. a best practice: `pass` where followed, `informational`
    # where not. Never a failure, but gated on change like every verdict.
    INFO = "informational"
    # A seed document's statement: `pass` where it holds, `informational` where it does not.
    CLAIM = "claim"


class Verdict(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NON_STRICT = "non-strict"
    INFORMATIONAL = "informational"
    UNIMPLEMENTED = "unimplemented"


class Layer(enum.Enum):
    """Who a verdict is about. A framework check is decided inside Starlette before the server
    sees a message, so on one Starlette release it is the same on every server."""

    FRAMEWORK = "framework"
    SERVER = "server"
    APP = "app"


@dataclass(frozen=True)
class Check:
    id: str
    grade: Grade
    title: str
    requirement: str  # what is required, paraphrased
    source: str  # where: document, section and its keyword
    layer: Layer
    # The ASGI www spec version that introduced the feature: on a server that advertises an
    # older one (scope["asgi"]["spec_version"], default "2.0") the check is `unimplemented`.
    since: str | None = None
    # The ASGI extension the feature belongs to: judged only where scope["extensions"] has it.
    extension: str | None = None


WWW = "ASGI www spec 2.5"
CORE = "ASGI core spec"
DENIAL_EXTENSION = "websocket.http.response"
STARLETTE = "Starlette websockets.py, WebSocket state machine (raises RuntimeError)"

# --- the lifecycle checks, judged by conformance.model on the puppet app -----------------------
LIFECYCLE_CHECKS: tuple[Check, ...] = (
    # --- handshake ----------------------------------------------------------------------------
    Check(
        "handshake.accept-completes",
        Grade.MUST,
        "accept() completes the handshake",
        "A server that accepts the connection answers the upgrade with HTTP 101.",
        "RFC 6455 4.2.2, 'If the server chooses to accept': MUST reply with a 101 response",
        Layer.SERVER,
    ),
    Check(
        "handshake.subprotocol-negotiated",
        Grade.MUST,
        "the client sees exactly the subprotocol the app picked, and none when it picked none",
        "The 101 carries the app's chosen subprotocol in Sec-WebSocket-Protocol; when the app "
        "chose none, the header is absent.",
        "RFC 6455 4.2.2: the 101 MUST carry /subprotocol/ as selected; MUST NOT send the header "
        "when not agreeing to one; ASGI www 'Accept - send event' (subprotocol)",
        Layer.SERVER,
    ),
    Check(
        "handshake.accept-headers",
        Grade.MUST,
        "headers given to accept() appear in the 101 response, in order, duplicates kept",
        "The accept message's headers are added to the handshake response in the given order.",
        f"{WWW}, 'Accept - send event' (headers, added in 2.1): order must be preserved",
        Layer.SERVER,
        since="2.1",
    ),
    Check(
        "handshake.close-before-accept-403",
        Grade.MUST,
        "close before accept denies the handshake with HTTP 403 and no data",
        "A close sent before accept refuses the upgrade with HTTP 403; the handshake is not "
        "completed.",
        f"{WWW}, 'Close - send event': the server must close with HTTP 403",
        Layer.SERVER,
    ),
    Check(
        "handshake.denial-response",
        Grade.MUST,
        "a denial response reaches the client with its status and body",
        "A server that advertises the denial-response extension sends the app's "
        "websocket.http.response.start/body as the HTTP answer to the upgrade (the extension "
        "says should; advertising it is the server's claim to implement it).",
        "ASGI extensions, 'Websocket Denial Response': the server should send the HTTP response",
        Layer.SERVER,
        extension=DENIAL_EXTENSION,
    ),
    # --- ordering errors: decided by Starlette before the server sees a message ----------------
    Check(
        "order.send-before-accept",
        Grade.MUST,
        "send before accept raises RuntimeError and nothing reaches the client",
        "In state CONNECTING only accept, close or a denial response may be sent.",
        f"{STARLETTE}; {WWW}, 'Connect - receive event': answered by accept or close first",
        Layer.FRAMEWORK,
    ),
    Check(
        "order.receive-before-accept",
        Grade.MUST,
        "receive_* before accept raises RuntimeError",
        "receive_text/bytes/json need the application state CONNECTED.",
        STARLETTE,
        Layer.FRAMEWORK,
    ),
    Check(
        "order.duplicate-accept",
        Grade.MUST,
        "a second accept raises RuntimeError and leaves the connection as it was",
        "In state CONNECTED only send and close may be sent.",
        STARLETTE,
        Layer.FRAMEWORK,
    ),
    Check(
        "order.duplicate-close",
        Grade.MUST,
        "a second close raises RuntimeError",
        "After a close the application state is DISCONNECTED, where every send raises.",
        f"{STARLETTE}; RFC 6455 5.5.1: MUST NOT send data after a Close frame",
        Layer.FRAMEWORK,
    ),
    Check(
        "order.send-after-close",
        Grade.MUST,
        "send after the app closed raises RuntimeError and nothing reaches the client",
        "After close every send raises; no data frame follows a close frame.",
        f"{STARLETTE}; RFC 6455 5.5.1: MUST NOT send data after a Close frame",
        Layer.FRAMEWORK,
    ),
    Check(
        "order.send-after-denial",
        Grade.MUST,
        "send after a denial response raises RuntimeError and nothing reaches the client",
        "After the denial response's last body message the application state is DISCONNECTED; "
        "no websocket message may follow the response.",
        f"{STARLETTE} (state RESPONSE); ASGI extensions, 'Websocket Denial Response': the "
        "response cannot be followed by other websocket messages",
        Layer.FRAMEWORK,
    ),
    Check(
        "order.receive-after-app-close",
        Grade.MUST,
        "receive_* after the app closed raises RuntimeError instead of waiting",
        "receive_* need the application state CONNECTED, which close leaves.",
        STARLETTE,
        Layer.FRAMEWORK,
    ),
    Check(
        "session.no-unexpected-event",
        Grade.POLICY,
        "the client sees nothing the app did not send",
        "Suite policy: no spec sentence forbids a server to invent traffic, but a data message "
        "the app never sent, or the end of a connection the app keeps open, corrupts every app "
        "protocol. A server's own close for a reason of its own (1001 going away, 1011 after a "
        "keepalive timeout, 1012 restart) is legitimate and not flagged.",
        "wsconform policy",
        Layer.SERVER,
    ),
    # --- close ---------------------------------------------------------------------------------
    Check(
        "close.code-delivered",
        Grade.MUST,
        "close after accept delivers the app's code",
        "After accept the server closes the socket with the close code of the app's message "
        "(1000 when it has none).",
        f"{WWW}, 'Close - send event': the server must close with the code passed",
        Layer.SERVER,
    ),
    Check(
        "close.reason-delivered",
        Grade.INFO,
        "close after accept delivers the app's reason (up to 123 UTF-8 bytes)",
        "The close message's reason is the reason of the close frame; 123 UTF-8 bytes fit a "
        "close frame. The spec defines the key with no keyword of its own.",
        f"{WWW}, 'Close - send event' (reason, added in 2.3); RFC 6455 5.5 (125-byte control "
        "payload)",
        Layer.SERVER,
        since="2.3",
    ),
    Check(
        "close.wire-code-valid",
        Grade.MUST,
        "every close frame the server chose carries a code an endpoint may send",
        "1005, 1006 and 1015 never appear in a close frame, nor a code outside 1000-4999 "
        "(MUST); 1004 and the unassigned 1016-2999 are reserved (graded SHOULD).",
        "RFC 6455 7.4.1: 1005/1006/1015 MUST NOT be set in a Close frame; 7.4.2: ranges",
        Layer.SERVER,
    ),
    Check(
        "close.invalid-app-code-refused",
        Grade.SHOULD,
        "a close code the app may not send is refused, not relayed to the wire",
        "The app broke the rule first: ASGI's close `code` is a WebSocket close code as RFC 6455 "
        "defines them. A server handed an invalid event should raise out of send(); relaying "
        "the code puts the app's mistake on the wire. Silence with the socket left open while "
        "send() returned is a failure too.",
        f"{CORE}, 'Error Handling': on an invalid event the server should raise; RFC 6455 7.4",
        Layer.SERVER,
    ),
    Check(
        "close.server-answers-client-close",
        Grade.MUST,
        "the server answers the client's close frame with a close frame",
        "An endpoint that receives a close frame without having sent one sends one back, as "
        "soon as practical: a drop instead is the MUST failing; no answer within the bound is "
        "graded as the SHOULD.",
        "RFC 6455 5.5.1: MUST send a Close frame in response, SHOULD do so as soon as practical",
        Layer.SERVER,
    ),
    Check(
        "close.client-code-reaches-app",
        Grade.MUST,
        "the client's close code reaches the app in WebSocketDisconnect",
        "The disconnect event's `code` is the close code of the client's close frame.",
        f"{WWW}, 'Disconnect - receive event' (code); RFC 6455 7.1.5 defines the close code",
        Layer.SERVER,
    ),
    Check(
        "close.client-reason-reaches-app",
        Grade.INFO,
        "the client's close reason reaches the app in WebSocketDisconnect",
        "The disconnect event's `reason` is the reason of the client's close frame; the spec "
        "defines the key with no keyword of its own.",
        f"{WWW}, 'Disconnect - receive event' (reason, added in 2.5)",
        Layer.SERVER,
        since="2.5",
    ),
    Check(
        "close.client-no-code-gives-1005",
        Grade.SHOULD,
        "a client close frame without a code reaches the app as 1005",
        "With no status code in the client's close frame the disconnect code is 1005.",
        f"{WWW}, 'Disconnect - receive event': the server should set 1005",
        Layer.SERVER,
    ),
    # --- disconnect ----------------------------------------------------------------------------
    Check(
        "disconnect.receive-after-client-close",
        Grade.MUST,
        "after a client close, receive raises WebSocketDisconnect once, then RuntimeError",
        "The disconnect message raises WebSocketDisconnect and moves Starlette's client state "
        "to DISCONNECTED, where receive raises RuntimeError.",
        f"{WWW}, 'Disconnect - receive event' (sent when the client closes); {STARLETTE}",
        Layer.SERVER,
    ),
    Check(
        "disconnect.drop-reaches-app",
        Grade.MUST,
        "a dropped TCP connection reaches an app blocked in receive as WebSocketDisconnect",
        "The disconnect event is sent when the connection is lost for any reason; an app "
        "blocked in receive must learn of it.",
        f"{WWW}, 'Websocket Connection Scope' and 'Disconnect - receive event'",
        Layer.SERVER,
    ),
    Check(
        "disconnect.drop-code-1006",
        Grade.INFO,
        "a dropped connection is reported to the app with code 1006",
        "RFC 6455 defines 1006 as the close code of a connection closed without a close frame; "
        "ASGI does not say which code a drop gets.",
        "RFC 6455 7.1.5 and 7.4.1 (definition of 1006)",
        Layer.SERVER,
    ),
    Check(
        "disconnect.send-after-client-gone",
        Grade.SHOULD,
        "send after the client left raises an OSError subclass (spec 2.4), or is a no-op before",
        "From spec 2.4 a send on a closed connection should raise a server-specific OSError "
        "subclass (Starlette turns it into WebSocketDisconnect); below 2.4 a send with no "
        "specified error condition should be a no-op. Any other exception fails the should.",
        f"{WWW}, 'Disconnected Client - send exception' (2.4, should); {CORE}, 'Error "
        "Handling' (send should act as a no-op)",
        Layer.SERVER,
    ),
    # --- app errors and returns ----------------------------------------------------------------
    Check(
        "app-error.exception-after-accept-closes",
        Grade.MUST,
        "an exception after accept ends the connection",
        "When the app raises, the server terminates the app instance and its connection.",
        f"{CORE}, 'Error Handling': the server must terminate the connection",
        Layer.SERVER,
    ),
    Check(
        "app-error.exception-after-accept-1011",
        Grade.INFO,
        "an exception after accept closes with 1011 (best practice)",
        "RFC 6455 defines 1011 as the server meeting an unexpected condition; no text says a "
        "crash must be reported with it.",
        "RFC 6455 7.4.1 (definition of 1011)",
        Layer.SERVER,
    ),
    Check(
        "app-error.crash-not-normal-closure",
        Grade.POLICY,
        "an exception after accept never closes with 1000 (normal closure)",
        "Suite policy: 1000 tells the client the connection's purpose was fulfilled, the "
        "opposite of a crash, so a client would not retry or report it; that misleads more than "
        "a drop.",
        "wsconform policy, from RFC 6455 7.4.1 (definition of 1000)",
        Layer.SERVER,
    ),
    Check(
        "app-error.exception-before-accept-no-upgrade",
        Grade.MUST,
        "an exception before accept never completes the handshake and ends the connection",
        "When the app raises the server terminates its connection: no 101, nothing left open.",
        f"{CORE}, 'Error Handling': the server must terminate the connection",
        Layer.SERVER,
    ),
    Check(
        "app-error.exception-before-accept-http-error",
        Grade.SHOULD,
        "an exception before accept is answered with an HTTP error status",
        "A refused upgrade should be told to the client with an HTTP status of 400 or more.",
        "RFC 6455 4.2.2: a server not accepting the connection should return an HTTP error",
        Layer.SERVER,
    ),
    Check(
        "app-error.exception-before-accept-5xx",
        Grade.INFO,
        "an exception before accept is answered as a server error (HTTP 5xx) (best practice)",
        "RFC 9110 defines 500 as the server meeting an unexpected condition and 403 as a "
        "refusal; no text says which a crash gets.",
        "RFC 9110 15.6.1 and 15.5.4 (definitions)",
        Layer.SERVER,
    ),
    Check(
        "app-error.websocket-exception-before-accept",
        Grade.MUST,
        "WebSocketException before accept denies the handshake (HTTP 403)",
        "Starlette's handler closes the websocket with the exception's code, which before "
        "accept the server must answer with HTTP 403.",
        f"Starlette docs, WebSocketException; {WWW}, 'Close - send event': must close with 403",
        Layer.SERVER,
    ),
    Check(
        "app-error.websocket-exception-after-accept",
        Grade.MUST,
        "WebSocketException after accept closes with its code",
        "Starlette's handler closes with the exception's code; after accept the server must "
        "close with that code.",
        f"Starlette docs, WebSocketException; {WWW}, 'Close - send event': must close with "
        "the code passed",
        Layer.SERVER,
    ),
    Check(
        "app-return.after-accept-closes",
        Grade.SHOULD,
        "an app that returns after accept without closing gets its connection closed",
        "The socket lives as long as the app: when the app ends the socket should be closed.",
        f"{WWW}, 'Websocket Connection Scope': if the application dies the socket should be closed",
        Layer.SERVER,
    ),
    Check(
        "app-return.before-accept-denies",
        Grade.SHOULD,
        "an app that returns before accept gets the client denied, not left hanging",
        "The socket should be closed when the app ends; nothing says which answer a "
        "never-answered handshake gets, so any refusal passes.",
        f"{WWW}, 'Websocket Connection Scope': if the application dies the socket should be closed",
        Layer.SERVER,
    ),
    # --- data ----------------------------------------------------------------------------------
    Check(
        "data.text-exact",
        Grade.MUST,
        "text messages arrive exactly and in order, both ways",
        "Exactly one of text and bytes is set in a send/receive event; the content is the "
        "message, carried in UTF-8 text frames.",
        f"{WWW}, 'Send/Receive event': exactly one of bytes or text must be non-None; RFC 6455 5.6",
        Layer.SERVER,
    ),
    Check(
        "data.bytes-exact",
        Grade.MUST,
        "binary messages arrive exactly and in order, both ways",
        "Exactly one of text and bytes is set in a send/receive event; the content is the "
        "message, carried in binary frames.",
        f"{WWW}, 'Send/Receive event': exactly one of bytes or text must be non-None; RFC 6455 5.6",
        Layer.SERVER,
    ),
    Check(
        "data.json-exact",
        Grade.MUST,
        "JSON values survive send_json/receive_json exactly",
        "send_json/receive_json encode and decode JSON text messages.",
        f"Starlette docs, send_json/receive_json; {WWW}, 'Send/Receive event'",
        Layer.SERVER,
    ),
    # --- what the server advertises ------------------------------------------------------------
    Check(
        "asgi.implements-advertised-version",
        Grade.POLICY,
        "the server implements every feature of the spec version it advertises",
        "Suite policy: apps decide what to send from scope['asgi']['spec_version'] (a 2.0 "
        "server must not be sent accept headers), so a server that advertises a version is "
        "held to each feature that version introduced (2.1 accept headers, 2.3 close reason, "
        "2.4 OSError on a send after disconnect, 2.5 disconnect reason).",
        f"wsconform policy, from {WWW}, 'Spec Versions'",
        Layer.SERVER,
    ),
)

# --- the websocket scope (conformance/scope.py; the raw ASGI route targets/raw_routes.py) ------
SCOPE_SPEC = f"{WWW}, 'Websocket Connection Scope'"


def _scope_check(check_id: str, grade: Grade, title: str, requirement: str, source: str) -> Check:
    return Check(check_id, grade, title, requirement, source, Layer.SERVER)


SCOPE_CHECKS: tuple[Check, ...] = (
    _scope_check(
        "scope.path-decoded",
        Grade.INFO,
        "path has the request target's percent-encoded UTF-8 decoded",
        "path is the request target without its query, percent-encoded sequences and UTF-8 "
        "decoded into characters (%2F becomes '/').",
        f"{SCOPE_SPEC}, path (a definition, no keyword)",
    ),
    _scope_check(
        "scope.raw-path-as-received",
        Grade.INFO,
        "raw_path is the path's bytes as received, or absent",
        "raw_path, where given, is the path component exactly as the client sent it.",
        f"{SCOPE_SPEC}, raw_path (a definition; optional)",
    ),
    _scope_check(
        "scope.query-string-as-received",
        Grade.INFO,
        "query_string is the bytes after '?', undecoded",
        "query_string is the URL portion after '?' as bytes, not decoded.",
        f"{SCOPE_SPEC}, query_string (a definition, no keyword)",
    ),
    _scope_check(
        "scope.headers-duplicates-kept",
        Grade.MUST,
        "a header sent twice reaches the app twice",
        "Duplicate headers are kept in the scope as received, not merged into one.",
        f"{SCOPE_SPEC}, headers: duplicates 'must be preserved'",
    ),
    _scope_check(
        "scope.headers-order-kept",
        Grade.SHOULD,
        "headers reach the app in the order sent",
        "The headers keep the order of the request.",
        f"{SCOPE_SPEC}, headers: order 'should be preserved'",
    ),
    _scope_check(
        "scope.subprotocols-split",
        Grade.INFO,
        "subprotocols lists every offer, from every Sec-WebSocket-Protocol line",
        "subprotocols holds each subprotocol the client offered: 'a, b' is two offers, and "
        "several header lines are one list.",
        f"{SCOPE_SPEC}, subprotocols (a definition); RFC 6455 4.1 and 11.3.4 (several lines "
        "are one field)",
    ),
    _scope_check(
        "scope.scheme-not-empty",
        Grade.MUST,
        "scheme is not empty",
        "scheme may be missing (then 'ws'), but never empty.",
        f"{SCOPE_SPEC}, scheme: 'must not be empty'",
    ),
    _scope_check(
        "scope.connection-facts",
        Grade.INFO,
        "http_version, client and server have the spec's types",
        "http_version '1.1' for an HTTP/1.1 handshake; client [host, port] and server "
        "[host, port] with integer ports (or None).",
        f"{SCOPE_SPEC}, http_version, client, server (definitions)",
    ),
)

# --- the wire (conformance/wire.py; frames written and read by targets/frames.py) ------------
RFC6455 = "RFC 6455"


def _wire_check(check_id: str, grade: Grade, title: str, requirement: str, source: str) -> Check:
    return Check(check_id, grade, title, requirement, f"{RFC6455} {source}", Layer.SERVER)


_SENDER_ONLY = "the MUST binds the sender; what the receiver does has no keyword"

WIRE_CHECKS: tuple[Check, ...] = (
    _wire_check(
        "wire.pong-echoes-ping",
        Grade.MUST,
        "a pong carries its ping's payload",
        "The pong answering a ping has the ping's application data.",
        "5.5.3: a Pong in response to a Ping must have identical Application data",
    ),
    _wire_check(
        "wire.fragments-reassembled",
        Grade.MUST,
        "a fragmented message reaches the app whole",
        "Text and binary messages sent in fragments (a UTF-8 sequence split between two) are "
        "one message to the app, echoed whole.",
        "5.4: clients and servers MUST support receiving fragmented messages",
    ),
    _wire_check(
        "wire.control-between-fragments",
        Grade.MUST,
        "a ping between fragments is answered",
        "A control frame in the middle of a fragmented message is handled.",
        "5.4: an endpoint MUST be capable of handling control frames between fragments",
    ),
    _wire_check(
        "wire.invalid-utf8-fails",
        Grade.MUST,
        "a text frame of invalid UTF-8 fails the connection",
        "The server fails the connection and the app never gets the text.",
        "8.1: an endpoint that finds invalid UTF-8 MUST Fail the WebSocket Connection",
    ),
    _wire_check(
        "wire.unmasked-frame-fails",
        Grade.MUST,
        "an unmasked client frame fails the connection",
        "A server closes the connection on a client frame that is not masked.",
        "5.1: a server MUST close the connection upon receiving an unmasked frame",
    ),
    _wire_check(
        "wire.reserved-bits-fail",
        Grade.MUST,
        "a frame with a reserved bit set fails the connection",
        "With no extension negotiated, RSV1-3 set fails the connection.",
        "5.2: a nonzero RSV bit no extension defines MUST Fail the WebSocket Connection",
    ),
    _wire_check(
        "wire.reserved-opcode-fails",
        Grade.MUST,
        "a frame with a reserved opcode fails the connection",
        "An unknown opcode fails the connection.",
        "5.2: an unknown opcode MUST Fail the WebSocket Connection",
    ),
    _wire_check(
        "wire.long-control-frame-fails",
        Grade.INFO,
        "a control frame over 125 bytes fails the connection",
        "A ping with 126 bytes of payload is a protocol error, not a ping to answer.",
        f"5.5: control frames MUST have 125 bytes of payload or less ({_SENDER_ONLY})",
    ),
    _wire_check(
        "wire.one-byte-close-fails",
        Grade.INFO,
        "a close frame with a one-byte body fails the connection",
        "A close body must start with a two-byte code, so one byte is a protocol error.",
        f"5.5.1: a close body MUST begin with a 2-byte status code ({_SENDER_ONLY})",
    ),
    _wire_check(
        "wire.failure-close-code",
        Grade.INFO,
        "a failed connection is closed with the code that names why",
        "1007 for invalid UTF-8, 1002 for a protocol error, in a close frame before TCP ends.",
        "7.4.1 (the codes' definitions); 7.1.7 lets the endpoint send a close frame (MAY)",
    ),
    _wire_check(
        "wire.server-frames-unmasked",
        Grade.MUST,
        "the server never masks its frames",
        "No frame from the server has the mask bit set.",
        "5.1: a server MUST NOT mask any frames that it sends to the client",
    ),
    _wire_check(
        "wire.server-frames-no-reserved-bits",
        Grade.MUST,
        "the server never sets a reserved bit",
        "With no extension negotiated, every server frame has RSV1-3 clear.",
        "5.2: RSV1-3 MUST be 0 unless an extension is negotiated",
    ),
    _wire_check(
        "wire.server-control-frames-short",
        Grade.MUST,
        "the server's control frames are short and whole",
        "Every close, ping and pong from the server has 125 bytes or less and is not fragmented.",
        "5.5: control frames MUST have a payload of 125 bytes or less and MUST NOT be fragmented",
    ),
    _wire_check(
        "wire.accept-key",
        Grade.MUST,
        "Sec-WebSocket-Accept answers the client's key",
        "The 101 carries the base64 SHA-1 of the key and the protocol's GUID.",
        "4.2.2 (the server's handshake); 4.1: a client MUST fail a connection whose value differs",
    ),
)

# --- raw ASGI messages, past Starlette (conformance/raw_asgi.py) -------------------------------

CLOSE_SEND = f"{WWW}, 'Close - send event'"
SEND_SEND = f"{WWW}, 'Send - send event'"
ACCEPT_SEND = f"{WWW}, 'Accept - send event'"
DISCONNECT_RECEIVE = f"{WWW}, 'Disconnect - receive event'"


def _raw_check(
    check_id: str,
    grade: Grade,
    title: str,
    requirement: str,
    source: str,
    *,
    since: str | None = None,
    extension: str | None = None,
) -> Check:
    return Check(
        check_id, grade, title, requirement, source, Layer.SERVER, since=since, extension=extension
    )


RAW_CHECKS: tuple[Check, ...] = (
    _raw_check(
        "raw.close-code-defaults-to-1000",
        Grade.MUST,
        "a close message without `code` closes with 1000",
        "After accept, a websocket.close with no code key closes the connection with 1000.",
        f"{CLOSE_SEND}: after accept the server must close with the code passed, or 1000 if "
        "none is specified",
    ),
    _raw_check(
        "raw.close-reason-none-is-empty",
        Grade.MUST,
        "a close with `reason: None` closes with its code and an empty reason",
        "A reason of None is the empty reason; the close still carries the code given.",
        f"{CLOSE_SEND}: must close with the code passed; reason, added in 2.3: missing or None "
        "means the empty string",
        since="2.3",
    ),
    _raw_check(
        "raw.close-long-reason-fits-a-frame",
        Grade.MUST,
        "a close reason over 123 UTF-8 bytes never makes a close frame over 125 bytes",
        "Whatever the server does with an over-long reason (refuse it, cut it), the close frame "
        "it sends carries at most 125 bytes.",
        "RFC 6455 5.5: all control frames MUST have a payload length of 125 bytes or less",
    ),
    _raw_check(
        "raw.send-one-key-none",
        Grade.MUST,
        "a send with both keys, one of them None, delivers the other",
        "{'text': 'x', 'bytes': None} is a text message and {'bytes': b'x', 'text': None} a "
        "binary one: both are valid messages.",
        f"{SEND_SEND}: exactly one of bytes or text must be non-None; one or both keys may be "
        "present",
    ),
    _raw_check(
        "raw.send-no-data-refused",
        Grade.POLICY,
        "a send with neither text nor bytes is refused, not sent as an empty message",
        "Suite policy: the message breaks the spec's 'exactly one must be non-None', and "
        "what the server does is unspecified; refusing it (an exception, or closing) is "
        "accepted, inventing an empty message the app never sent is not.",
        f"policy; the message is invalid per {SEND_SEND} (exactly one must be non-None)",
    ),
    _raw_check(
        "raw.accept-unoffered-subprotocol-refused",
        Grade.POLICY,
        "an accept naming a subprotocol the client did not offer gives no 101 naming it",
        "Suite policy: a 101 naming a subprotocol the client did not offer is one every "
        "conforming client must fail, so the server refuses the accept instead of sending it.",
        "policy; RFC 6455 4.1: the client MUST fail the connection if the server's "
        "subprotocol was not among those it offered",
    ),
    _raw_check(
        "raw.accept-empty-subprotocol-not-sent",
        Grade.POLICY,
        "an accept with subprotocol '' sends no empty Sec-WebSocket-Protocol",
        "Suite policy: an empty string names no subprotocol, so the 101 either has no "
        "Sec-WebSocket-Protocol or the accept is refused.",
        "policy; RFC 6455 4.2.2 and 11.3.4: the header's value is a subprotocol token, never empty",
    ),
    _raw_check(
        "raw.accept-protocol-header-not-doubled",
        Grade.POLICY,
        "a sec-websocket-protocol entry in accept's headers never gives a 101 naming two",
        "Suite policy: whatever the server does with the header the app should not have "
        "put in `headers`, the 101 names at most one subprotocol, one the client offered.",
        f"policy; {ACCEPT_SEND}, headers (2.1): must not include sec-websocket-protocol; "
        "RFC 6455 4.2.2: the server selects one subprotocol",
        since="2.1",
    ),
    _raw_check(
        "raw.receive-before-accept-waits",
        Grade.POLICY,
        "a second receive before accept yields nothing until the handshake is answered",
        "Suite policy: before the app answers websocket.connect no client message can "
        "exist, so a receive waits; a repeated websocket.connect reports a handshake that "
        "never happened.",
        f"policy; {WWW}, 'Connect - receive event': must be answered with accept or close "
        "before the server passes websocket.receive messages",
    ),
    _raw_check(
        "raw.receive-after-refusal-disconnects",
        Grade.POLICY,
        "after a close before accept, receive returns websocket.disconnect at once",
        "Suite policy: a connection the app has refused is over, so a receive returns "
        "websocket.disconnect within the bound instead of waiting for a client that is gone.",
        f"policy; {DISCONNECT_RECEIVE}: sent when the server closes the connection",
    ),
    _raw_check(
        "raw.receive-after-client-left-disconnects",
        Grade.POLICY,
        "after the client left during the handshake, receive returns websocket.disconnect",
        "Suite policy: once the client has dropped the connection before the app "
        "accepted, the app's accept does not wake a dead connection, and its next receive "
        "returns websocket.disconnect within the bound.",
        f"policy; {DISCONNECT_RECEIVE}: sent when the connection to the client is lost",
    ),
    _raw_check(
        "raw.receive-after-disconnect-returns",
        Grade.POLICY,
        "a receive after websocket.disconnect returns, never waits forever",
        "Suite policy: once the app has had its websocket.disconnect, another receive returns "
        "within the bound (the disconnect again, or an exception); nothing more can arrive, so "
        "waiting would leave the app hanging on a connection that is over.",
        f"policy; {DISCONNECT_RECEIVE}: the last message of a connection (the spec says "
        "nothing of a receive after it)",
    ),
    _raw_check(
        "raw.send-after-close-raises-oserror",
        Grade.SHOULD,
        "a send on a closed connection raises an OSError subclass",
        "After the closing handshake, or after a denial response ended, a websocket.send raises "
        "a server-specific OSError subclass.",
        f"{WWW}, 'Disconnected Client - send exception' (2.4): the server should raise a "
        "server-specific subclass of OSError",
        since="2.4",
    ),
    _raw_check(
        "raw.oversized-message-not-delivered",
        Grade.MUST,
        "a message over the server's configured limit never reaches the app",
        "A message one byte over the server's own maximum size setting is not delivered as a "
        "websocket.receive.",
        "RFC 6455 10.4: an implementation with a limit on message size MUST protect itself "
        "against messages exceeding it",
    ),
    _raw_check(
        "raw.oversized-message-close-1009",
        Grade.INFO,
        "the client of a message over the limit gets a 1009 close",
        "The server fails the connection with close code 1009 (message too big), not a bare "
        "drop or another code.",
        "RFC 6455 7.4.1: 1009 means the endpoint received a message too big to process (a "
        "definition, no keyword)",
    ),
    _raw_check(
        "raw.oversized-message-app-hears-1009",
        Grade.INFO,
        "the app of a message over the limit gets websocket.disconnect 1009",
        "The app's next receive is websocket.disconnect with code 1009, the code of the close.",
        f"{DISCONNECT_RECEIVE}: code is the WebSocket close code (a definition, no keyword)",
    ),
    _raw_check(
        "raw.denial-headers-delivered",
        Grade.SHOULD,
        "a denial response's headers reach the client",
        "The headers of websocket.http.response.start are in the HTTP response the client gets.",
        "ASGI extensions, 'Websocket Denial Response': the server should send the HTTP response "
        "(status, headers) instead of completing the handshake",
        extension=DENIAL_EXTENSION,
    ),
    _raw_check(
        "raw.denial-chunks-joined",
        Grade.SHOULD,
        "a denial body sent in several more_body chunks reaches the client whole",
        "Every websocket.http.response.body chunk, up to the one without more_body, is in the "
        "response body, in order.",
        "ASGI extensions, 'Websocket Denial Response': response body messages with more_body, "
        "as for HTTP; the server should send the response",
        extension=DENIAL_EXTENSION,
    ),
)

# --- a server stopped with connections open (conformance/shutdown.py) --------------------------

SHUTDOWN_CHECKS: tuple[Check, ...] = (
    Check(
        "shutdown.handshake-answered",
        Grade.POLICY,
        "a handshake still unanswered at shutdown gets an HTTP answer",
        "Suite policy: a server stopping while an app has not yet answered a handshake answers "
        "it with an HTTP status (503, say) instead of cutting the connection, so the client can "
        "tell a stopping server from a network failure.",
        "policy; RFC 9110 15.6.4 (503: the server is temporarily unable to handle the request)",
        Layer.SERVER,
    ),
    Check(
        "shutdown.open-connection-gets-close-frame",
        Grade.POLICY,
        "an open connection at shutdown gets a close frame, not a bare drop",
        "Suite policy: a graceful stop closes every open websocket with the closing handshake; "
        "a TCP drop is what the client of a crashed server sees.",
        "policy; RFC 6455 7.1.2 (the closing handshake is how an endpoint closes)",
        Layer.SERVER,
    ),
    Check(
        "shutdown.close-code-going-away",
        Grade.INFO,
        "the close frame at shutdown says going away (1001) or restarting (1012)",
        "The code of the close frame a stopping server sends is 1001 or 1012.",
        "RFC 6455 7.4.1: 1001 means an endpoint is going away, such as a server going down; "
        "IANA WebSocket close code registry: 1012 service restart (definitions, no keyword)",
        Layer.SERVER,
    ),
    Check(
        "shutdown.app-hears-the-end",
        Grade.SHOULD,
        "an app blocked in receive at shutdown is told (a disconnect) or cancelled",
        "When the server closes the connection, the app waiting in receive gets "
        "websocket.disconnect, or is cancelled; it is not left waiting on a dead connection.",
        f"{WWW}, 'WebSocket': if the application dies the socket should be closed, and vice-versa",
        Layer.SERVER,
    ),
    Check(
        "shutdown.ends-within-bound",
        Grade.POLICY,
        "a graceful stop with connections open ends within 5 s",
        "Suite policy: the server's own graceful stop finishes within 5 s with connections "
        "open in every state, one of them an app busy elsewhere than receive (as an app "
        "waiting on a queue is); a stop that waits for such apps to give up, or needs a kill, "
        "leaves the operator waiting or the apps' cleanup undone.",
        "policy; the bound is the suite's (shutdown.GRACEFUL_STOP_BOUND_S)",
        Layer.SERVER,
    ),
)

# --- what a page sees (conformance/browser.py; --client browser) --------------------------------

WHATWG = "WHATWG WebSockets Standard"


def _browser_check(check_id: str, title: str, requirement: str, source: str) -> Check:
    grade = Grade.CLAIM if ".claim." in check_id else Grade.INFO
    return Check(check_id, grade, title, requirement, source, Layer.SERVER)


BROWSER_CHECKS: tuple[Check, ...] = (
    _browser_check(
        "browser.open-with-subprotocol",
        "the page's socket opens with the subprotocol the app chose",
        "After accept with a subprotocol the client offered, `open` fires and `ws.protocol` is "
        "that subprotocol.",
        f"{WHATWG}, the protocol attribute: the subprotocol selected by the server (a "
        "definition for the browser)",
    ),
    _browser_check(
        "browser.app-close-code-reaches-page",
        "the page gets the app's close code and reason after accept",
        "An app that accepted and closes with 4001 'bye' gives the page a close event with that "
        "code and reason.",
        f"{WHATWG}, 'the WebSocket connection is closed': the close event carries the close "
        "frame's code and reason",
    ),
    _browser_check(
        "browser.claim.close-before-accept-code-reaches-page",
        "seed claim, from a page: a close before accept gives the client the app's code",
        "The seeds teach closing before accept with a code (4401) so the client learns why; "
        "a page can only see it if the handshake completed.",
        "the seed documents' claim (claim.close-before-accept.client-gets-the-code), re-judged "
        f"in a browser; {WHATWG}: a failed handshake is reported as close code 1006",
    ),
    _browser_check(
        "browser.denial-reaches-page",
        "a denial response is something the page can tell from a network failure",
        "Whatever status and body the app's denial carries, the page sees more than error and "
        "close 1006.",
        f"{WHATWG}: a failed WebSocket connection exposes no status or body to script (so "
        "this is informational wherever it holds)",
    ),
    _browser_check(
        "browser.error-before-accept-reaches-page",
        "an app exception before accept is something the page can tell from a network failure",
        "The page sees more than error and close 1006.",
        f"{WHATWG}: a failed WebSocket connection exposes no status to script",
    ),
    _browser_check(
        "browser.error-after-accept-is-1011",
        "an app exception after accept reaches the page as close 1011",
        "The page's close event carries 1011 (internal error), not 1006.",
        "RFC 6455 7.4.1: 1011 means an unexpected condition (a definition); "
        f"{WHATWG}: the close event carries the close frame's code",
    ),
    _browser_check(
        "browser.long-reason-close-reaches-page",
        "a close with a reason over 123 bytes still reaches the page with its code",
        "The page's close event carries the app's 4001, not the 1006 of a connection the "
        "browser failed.",
        "RFC 6455 5.5: control frames have at most 125 bytes, so the browser fails a "
        "connection whose close frame is longer",
    ),
    _browser_check(
        "browser.invalid-close-code-reaches-page",
        "a close with a code not allowed on the wire still reaches the page as a close",
        "The page's close event carries a code the server sent, not the 1006 of a connection "
        "the browser failed (a receiver may fail one whose close frame has an invalid code).",
        "RFC 6455 7.4.1 and 7.4.2: codes that may not be sent; a receiver fails the "
        "connection on one",
    ),
    _browser_check(
        "browser.page-close-reaches-app",
        "the page's close(4000, reason) reaches the app with that code and reason",
        "The app's receive gets websocket.disconnect with 4000 and 'done'.",
        f"{DISCONNECT_RECEIVE}: code and reason of the client's close (definitions)",
    ),
    _browser_check(
        "browser.navigation-reaches-app",
        "a page navigating away reaches the app as websocket.disconnect",
        "The app waiting in receive gets websocket.disconnect when the user leaves the page.",
        f"{DISCONNECT_RECEIVE}: sent when the connection to the client is lost",
    ),
)

# --- bad handshakes (conformance/upgrade.py) ---------------------------------------------------

UPGRADE_CHECKS: tuple[Check, ...] = (
    Check(
        "upgrade.missing-key-refused",
        Grade.MUST,
        "a handshake without Sec-WebSocket-Key is refused with a 4xx",
        "No 101 and no app call: the server answers an HTTP client error.",
        "RFC 6455 4.2.1: the server MUST stop processing and return an HTTP error (such as 400)",
        Layer.SERVER,
    ),
    Check(
        "upgrade.unknown-version-refused",
        Grade.MUST,
        "an unknown Sec-WebSocket-Version is refused, naming version 13",
        "A 4xx (such as 426) with a Sec-WebSocket-Version header listing 13.",
        "RFC 6455 4.2.2 and 4.4: MUST abort and send a Sec-WebSocket-Version header field "
        "with the versions it understands",
        Layer.SERVER,
    ),
    Check(
        "upgrade.non-get-refused",
        Grade.MUST,
        "an upgrade request that is not a GET is refused",
        "A POST carrying the upgrade headers gets no 101.",
        "RFC 6455 4.2.1 (the handshake is a GET; otherwise the server MUST stop processing)",
        Layer.SERVER,
    ),
    Check(
        "upgrade.space-before-colon-refused",
        Grade.MUST,
        "whitespace between a header name and its colon is refused with 400",
        "Such a request is answered 400, never passed on.",
        "RFC 9112 5.1: a server MUST reject it with 400 (Bad Request)",
        Layer.SERVER,
    ),
    Check(
        "upgrade.nul-in-value-handled",
        Grade.MUST,
        "a NUL in a header value is refused or replaced before the app",
        "400, or the app sees the value with the NUL replaced.",
        "RFC 9110 5.5: a recipient of CR, LF or NUL in a field value MUST reject the message "
        "or replace each with SP",
        Layer.SERVER,
    ),
    Check(
        "upgrade.obs-fold-handled",
        Grade.MUST,
        "an obsolete line folding is refused or unfolded before the app",
        "400, or the app sees the folded value without its line break.",
        "RFC 9112 5.2: a server MUST reject obs-fold with 400 or replace it with SP",
        Layer.SERVER,
    ),
    Check(
        "upgrade.long-header-answered",
        Grade.MUST,
        "a 9 KiB header line is answered, not met with silence",
        "The handshake is accepted (101) or answered with a 4xx such as 431; no silence.",
        "RFC 9110 5.4: a server receiving a field larger than it wishes to process MUST "
        "respond with an appropriate 4xx status code",
        Layer.SERVER,
    ),
)

SEEDS = "the seed documents' endpoint, as targets/reference.py specifies it"
REFERENCE = "the reference app's contract (targets/reference.py)"

# --- reference endpoint contracts (targets/reference.py; any app with the same routes) -------


def _contract(check_id: str, title: str, source: str = SEEDS) -> Check:
    return Check(
        check_id,
        Grade.MUST,
        title,
        f"The route behaves as {REFERENCE} specifies.",
        source,
        Layer.APP,
    )


CONTRACTS: tuple[Check, ...] = (
    _contract("contract.welcome", "/welcome greets, then closes 1000"),
    _contract("contract.echo.exact", "/echo answers every text exactly"),
    _contract("contract.echo.order", "/echo keeps the order of many messages"),
    _contract("contract.count", "/count answers the third message, then closes"),
    _contract("contract.json.original", "/json returns every JSON value unchanged"),
    _contract("contract.safe.shapes", "/safe answers one of three shapes, stays open"),
    _contract("contract.custom-close", "/custom-close closes with its codes and reasons"),
    _contract("contract.moderated", "/moderated welcomes, closes 1000 or 1008 as told"),
    _contract("contract.rooms", "/rooms greets valid members, refuses bad parameters"),
    _contract("contract.chat", "/chatroom delivers every message once to each member"),
    _contract(
        "contract.auth.rejects-before-accept",
        "secured routes refuse every bad credential before accept, without data",
        f"{SEEDS}; {WWW}, 'Close - send event': a close before accept must be an HTTP 403",
    ),
    _contract("contract.auth.accepts-valid", "secured routes accept every valid credential"),
    # The framework surface (targets/surface.py): each as the framework's documentation says.
    _contract(
        "contract.surface.router-prefix",
        "a router's prefix applies to its websocket routes, also nested",
        "FastAPI docs, 'Bigger Applications' (APIRouter prefix, include_router)",
    ),
    *(
        _contract(
            f"contract.surface.convertor-{kind}",
            f"the {kind} path convertor converts, and what it does not match is no route",
            "Starlette docs, 'Routing - Path Parameters'"
            + (" (uuid: RFC 9562 4, hex digits in any case)" if kind == "uuid" else ""),
        )
        for kind in ("int", "float", "uuid", "path")
    ),
    _contract(
        "contract.surface.fastapi-path-convertor",
        "a FastAPI websocket route with a convertor in its path gets the converted value",
        "FastAPI docs, 'Path Parameters' (a Starlette convertor in the path, {item_id:int})",
    ),
    _contract(
        "contract.surface.endpoint-class",
        "a WebSocketEndpoint gets each message and the client's close code",
        "Starlette docs, 'Endpoints - WebSocketEndpoint' (on_receive, on_disconnect)",
    ),
    _contract(
        "contract.surface.validation",
        "FastAPI parameters are validated: valid converted, invalid refused before accept",
        "FastAPI docs, 'WebSockets - Using Depends and others'; its handler closes 1008",
    ),
    _contract(
        "contract.surface.websocket-exception-before-accept",
        "WebSocketException from a route or dependency before accept refuses the handshake",
        f"Starlette docs, 'Exceptions - WebSocketException'; {WWW}, 'Close - send event'",
    ),
    _contract(
        "contract.surface.http-exception-before-accept",
        "HTTPException before accept becomes a denial response with its status",
        "Starlette 0.41.0 release notes ('Allow to raise HTTPException before "
        "websocket.accept()'); needs the server's websocket.http.response extension",
    ),
    _contract(
        "contract.surface.denial-response",
        "send_denial_response delivers plain, JSON, streaming and file responses",
        "Starlette docs, 'WebSockets - Send Denial Response' (0.37.0, streaming and file "
        "responses 1.0.0); needs the server's websocket.http.response extension",
    ),
    _contract(
        "contract.surface.mounted-app",
        "a mounted app's dependency, middleware and route serve its websockets",
        "FastAPI docs, 'Global Dependencies' and 'Sub Applications - Mounts'; Starlette "
        "docs, 'Middleware - Pure ASGI Middleware' and BaseHTTPMiddleware (HTTP only)",
    ),
    _contract(
        "contract.surface.exception-handler",
        "an exception handler closes the websocket as it says",
        "Starlette docs, 'Exceptions' (handlers receive the WebSocket; 0.21.0)",
    ),
    Check(
        "contract.no-server-error",
        Grade.POLICY,
        "no input and no client disconnect makes the app raise",
        "Suite policy: ASGI leaves errors escaping an app to the server (it must end the "
        "connection); the suite holds that nothing a client sends, and no moment it leaves at, "
        "may cause one, since each is a crash a client can trigger at will.",
        f"wsconform policy, from {CORE}, 'Error Handling'",
        Layer.APP,
    ),
)


# --- generic checks, judged on any app's routes (`--app`, `--url`; conformance.generic) ------
GENERIC_CHECKS: tuple[Check, ...] = (
    Check(
        "generic.no-unhandled-exception",
        Grade.POLICY,
        "no input and no disconnect point makes a route raise",
        "Suite policy: an exception escaping the app is a crash a client can trigger at will; "
        "ASGI only says the server must then end the connection.",
        f"wsconform policy, from {CORE}, 'Error Handling'",
        Layer.APP,
    ),
    Check(
        "generic.no-server-error",
        Grade.POLICY,
        "client input never causes an HTTP 5xx or a close 1011",
        "Suite policy: 5xx and 1011 say the server failed, so neither should be the answer to "
        "what a client sends; a client's bad input deserves a 4xx or a 1003/1007/1008 close.",
        "wsconform policy, from RFC 9110 15.6 and RFC 6455 7.4.1 (definitions)",
        Layer.APP,
    ),
    Check(
        "generic.close-code-valid",
        Grade.MUST,
        "every close code a route sends is valid on the wire",
        "1000-1003, 1007-1014 and 3000-4999 only; never 1005, 1006, 1015, an HTTP status or a "
        "code out of range.",
        "RFC 6455 7.4.1: 1005/1006/1015 MUST NOT be set in a Close frame; 7.4.2: ranges",
        Layer.APP,
    ),
    Check(
        "generic.no-data-before-denial",
        Grade.MUST,
        "a refused connection carries no message",
        "A close before accept refuses the handshake with HTTP 403; nothing the app sent "
        "before reaches the client.",
        f"{WWW}, 'Close - send event': must close with 403 and not complete the handshake",
        Layer.APP,
    ),
    Check(
        "generic.browser.refusal-visible",
        Grade.POLICY,
        "a refusal a browser frontend can act on",
        "Suite policy: a route that refuses a connection does it so a page can tell why: a "
        "close before accept (HTTP 403), a denial response or any refused handshake reaches "
        "page script as `error` and close 1006, like a network failure; accepting, then "
        "closing with a 4xxx code, gives the page that code and reason.",
        "policy; WHATWG WebSockets Standard: a failed connection is reported to script as "
        "close code 1006 with no status; RFC 6455 7.4.2: 4000-4999 are for applications",
        Layer.APP,
    ),
    Check(
        "generic.auth.rejects-bad-tokens",
        Grade.MUST,
        "an authenticated route refuses every bad token before accept",
        "The route is declared authenticated: every bad credential is refused before accept.",
        "the route's [tool.wsconform] auth declaration",
        Layer.APP,
    ),
    Check(
        "generic.auth.accepts-valid-token",
        Grade.MUST,
        "an authenticated route accepts a valid token",
        "The route is declared authenticated: a valid credential is accepted.",
        "the route's [tool.wsconform] auth declaration (valid-token or valid-token-command)",
        Layer.APP,
    ),
)

# Check IDs that were split or renamed, with the IDs that replaced them. Never reused.
RETIRED: dict[str, tuple[str, ...]] = {
    "close.code-and-reason-delivered": ("close.code-delivered", "close.reason-delivered"),
    "app-error.exception-before-accept-denies": (
        "app-error.exception-before-accept-no-upgrade",
        "app-error.exception-before-accept-http-error",
    ),
}


def _claim_checks() -> tuple[Check, ...]:
    from wsconform.conformance.claims import (
        CLAIMS,  # claims are scenarios; the catalogue lists their IDs
    )

    return tuple(claim.check() for claim in CLAIMS)


CATALOGUE: tuple[Check, ...] = (
    LIFECYCLE_CHECKS
    + SCOPE_CHECKS
    + WIRE_CHECKS
    + UPGRADE_CHECKS
    + RAW_CHECKS
    + SHUTDOWN_CHECKS
    + BROWSER_CHECKS
    + CONTRACTS
    + GENERIC_CHECKS
    + _claim_checks()
)
CHECKS: dict[str, Check] = {check.id: check for check in CATALOGUE}


def check(check_id: str) -> Check:
    try:
        return CHECKS[check_id]
    except KeyError:
        raise KeyError(f"unknown check {check_id!r}") from None


def renamed_to(check_id: str) -> str | None:
    """The retired ID that `check_id` replaced, if any."""
    return next((old for old, new in RETIRED.items() if check_id in new), None)


def catalogue_json() -> list[dict[str, str | None]]:
    """The catalogue as results.json and index.json list it."""
    return [
        {
            "id": c.id,
            "grade": c.grade.value,
            "layer": c.layer.value,
            "title": c.title,
            "requirement": c.requirement,
            "source": c.source,
            "since": c.since,
            "extension": c.extension,
        }
        for c in CATALOGUE
    ]
