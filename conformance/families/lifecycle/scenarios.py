"""Directed scenarios: fixed step lists, like Autobahn cases, so that every (check, transport)
pair gets a verdict whatever the state machine happens to explore.

Each scenario names the checks it exists for; `tests/test_catalogue.py` proves every check in the
catalogue is covered and that each scenario really produces a judgement for the checks it names.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsconform.conformance.engine.vocabulary import (
    Accept,
    Action,
    ClientClose,
    ClientDrop,
    ClientListen,
    ClientSendBytes,
    ClientSendJson,
    ClientSendText,
    Close,
    Connect,
    RaiseError,
    RaiseWebSocketException,
    ReceiveBytes,
    ReceiveJson,
    ReceiveText,
    Return,
    SendBytes,
    SendDenialResponse,
    SendJson,
    SendText,
)

# The longest reason a close frame can carry (RFC 6455 5.5): 61 two-byte characters and one more.
LONGEST_REASON = "é" * 61 + "!"


@dataclass(frozen=True)
class Scenario:
    name: str
    checks: tuple[str, ...]
    actions: tuple[Action, ...]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "accept-with-subprotocol-and-headers",
        (
            "handshake.accept-completes",
            "handshake.subprotocol-negotiated",
            "handshake.accept-headers",
        ),
        (
            Connect(subprotocols=("chat.v2", "chat.v1")),
            # ASGI keeps header order and duplicates: the 101 must too.
            Accept(
                "chat.v1",
                (
                    ("x-conformance", "accepted"),
                    ("x-conformance-list", "1"),
                    ("x-conformance-list", "2"),
                ),
            ),
            ClientListen(),
            Close(),
        ),
    ),
    Scenario(
        "accept-without-subprotocol",
        ("handshake.subprotocol-negotiated",),
        # RFC 6455 4.2.2: when the app picks none of the offers, the 101 names none.
        (Connect(subprotocols=("chat.v1",)), Accept(), ClientListen(), Close()),
    ),
    Scenario(
        "close-before-accept",
        ("handshake.close-before-accept-403",),
        (Connect(), Close(1008, "not welcome")),
    ),
    Scenario(
        "denial-response",
        ("handshake.denial-response",),
        (Connect(), SendDenialResponse(401, b"token expired")),
    ),
    Scenario(
        "send-after-denial",
        ("order.send-after-denial",),
        (Connect(), SendDenialResponse(403, b"refused"), SendText("late")),
    ),
    Scenario(
        "send-before-accept",
        ("order.send-before-accept", "session.no-unexpected-event"),
        (Connect(), SendText("too early"), Accept(), ClientListen(), Close()),
    ),
    Scenario(
        "receive-before-accept",
        ("order.receive-before-accept",),
        (Connect(), ReceiveText(), Accept(), Close()),
    ),
    Scenario(
        "duplicate-accept",
        ("order.duplicate-accept",),
        (Connect(), Accept(), Accept(), SendText("still open"), Close()),
    ),
    Scenario(
        "duplicate-close",
        ("order.duplicate-close",),
        (Connect(), Accept(), Close(), Close()),
    ),
    Scenario(
        "send-after-close",
        ("order.send-after-close",),
        (Connect(), Accept(), Close(4000, "done"), SendText("late")),
    ),
    Scenario(
        "receive-after-app-close",
        ("order.receive-after-app-close",),
        (Connect(), Accept(), Close(), ReceiveText()),
    ),
    Scenario(
        "close-with-code-and-reason",
        ("close.code-delivered", "close.reason-delivered", "close.wire-code-valid"),
        (Connect(), Accept(), Close(4001, "bye-reason")),
    ),
    # RFC 6455 7.4.1 defines 1001 for an endpoint going away; a server must relay it like any
    # other valid code (autobahn, under daphne, only lets an application send 1000 or 3000+).
    Scenario(
        "close-going-away",
        ("close.code-delivered",),
        (Connect(), Accept(), Close(1001, "going away")),
    ),
    Scenario(
        "close-with-longest-reason",
        ("close.reason-delivered",),
        (Connect(), Accept(), Close(3000, LONGEST_REASON)),
    ),
    Scenario(
        "close-with-http-status-as-code",
        ("close.invalid-app-code-refused",),
        # The seeds' OAuth2 example closes with 401, an HTTP status, which RFC 6455 forbids.
        (Connect(), Accept(), Close(401, "unauthorized")),
    ),
    Scenario(
        "client-close-with-code-and-reason",
        (
            "close.client-code-reaches-app",
            "close.client-reason-reaches-app",
            "disconnect.receive-after-client-close",
            "close.server-answers-client-close",
            "close.wire-code-valid",
        ),
        (Connect(), Accept(), ClientClose(4000, "bye"), ReceiveText(), ReceiveText()),
    ),
    Scenario(
        "client-close-without-code",
        ("close.client-no-code-gives-1005",),
        (Connect(), Accept(), ClientClose(None), ReceiveText()),
    ),
    Scenario(
        "client-drop-while-app-receives",
        ("disconnect.drop-reaches-app", "disconnect.drop-code-1006"),
        (Connect(), Accept(), ReceiveText(), ClientDrop()),
    ),
    Scenario(
        "send-after-client-close",
        ("disconnect.send-after-client-gone", "disconnect.send-after-client-gone-code"),
        (Connect(), Accept(), ClientClose(1000), ReceiveText(), SendText("anyone there?")),
    ),
    Scenario(
        "send-after-client-drop",
        ("disconnect.send-after-client-gone", "disconnect.send-after-client-gone-code"),
        (Connect(), Accept(), ReceiveText(), ClientDrop(), SendText("anyone there?")),
    ),
    Scenario(
        "exception-after-accept",
        (
            "app-error.exception-after-accept-closes",
            "app-error.exception-after-accept-1011",
            "app-error.crash-not-normal-closure",
        ),
        (Connect(), Accept(), RaiseError()),
    ),
    Scenario(
        "exception-before-accept",
        (
            "app-error.exception-before-accept-no-upgrade",
            "app-error.exception-before-accept-http-error",
            "app-error.exception-before-accept-5xx",
        ),
        (Connect(), RaiseError()),
    ),
    Scenario(
        "websocket-exception-before-accept",
        ("app-error.websocket-exception-before-accept",),
        (Connect(), RaiseWebSocketException(1008, "policy")),
    ),
    Scenario(
        "websocket-exception-after-accept",
        ("app-error.websocket-exception-after-accept",),
        (Connect(), Accept(), RaiseWebSocketException(4003, "Inappropriate message")),
    ),
    Scenario(
        "websocket-exception-after-accept-going-away",
        ("app-error.websocket-exception-after-accept",),
        (Connect(), Accept(), RaiseWebSocketException(1001, "going away")),
    ),
    Scenario(
        "return-after-accept",
        ("app-return.after-accept-closes",),
        (Connect(), Accept(), Return()),
    ),
    Scenario(
        "return-before-accept",
        ("app-return.before-accept-denies",),
        (Connect(), Return()),
    ),
    Scenario(
        "text-both-ways",
        ("data.text-exact",),
        (
            Connect(),
            Accept(),
            SendText("héllo 🌍"),
            SendText(""),
            ClientSendText("ping 𝄞"),
            ClientSendText(" "),
            ReceiveText(),
            ReceiveText(),
            Close(),
        ),
    ),
    Scenario(
        "bytes-both-ways",
        ("data.bytes-exact",),
        (
            Connect(),
            Accept(),
            SendBytes(b"\x00\xff\x80binary"),
            SendBytes(b""),  # an empty message is still a message (a falsy-check drops it)
            SendBytes(bytes(range(256)) * 300),
            ClientSendBytes(b""),
            ClientSendBytes(b"\x00\x01\x02"),
            ReceiveBytes(),
            ReceiveBytes(),
            Close(),
        ),
    ),
    Scenario(
        "json-both-ways",
        ("data.json-exact",),
        (
            Connect(),
            Accept(),
            SendJson({"nested": [1, 2.5, None, True, "ü"], "empty": {}}),
            ClientSendJson(["a", {"b": -1}]),
            ReceiveJson(),
            Close(),
        ),
    ),
)
