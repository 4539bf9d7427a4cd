"""The raw asgi family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import (
    ACCEPT_SEND,
    CLOSE_SEND,
    CORE,
    DENIAL_EXTENSION,
    DISCONNECT_RECEIVE,
    SEND_SEND,
    WWW,
    Check,
    Grade,
    Layer,
)

# --- raw ASGI messages, past Starlette (conformance/families/raw_asgi/probes.py)
# -------------------------------


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
        "raw.close-reason-up-to-limit-kept",
        Grade.INFO,
        "a close reason of 121 or exactly 123 UTF-8 bytes reaches the client whole",
        "A reason the close frame can hold (125 bytes less the code's two) is not cut: the "
        "client gets the app's code and reason (the over-long side is "
        "raw.close-long-reason-fits-a-frame's, probed at 124 and 200 bytes).",
        f"{WWW}, 'Close - send event' (reason, 2.3: a definition, no keyword); RFC 6455 5.5 "
        "(125-byte control frames) and 7.1.6 (the reason the close frame carries)",
        since="2.3",
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
        "raw.escaped-send-error-caught",
        Grade.MUST,
        "the OSError of a send after the client left, let escape by the app, breaks nothing",
        "The app does not catch the exception its send raised once the client had gone and "
        "lets it propagate; the server catches it, and the next connection is served.",
        f"{WWW}, 'Disconnected Client - send exception' (2.4): an app may let the exception "
        f"propagate, and the server must be prepared to catch it; {CORE}, 'Error Handling'",
        since="2.4",
    ),
    _raw_check(
        "raw.extra-keys-ignored",
        Grade.SHOULD,
        "a message with a key the server does not know is served, not refused",
        "An accept, send and close each carrying a key no ASGI version defines take effect as "
        "without it: an event is invalid for an unknown type, a missing key or a wrong type, "
        "not for an extra key (what an app written for a newer spec version sends an older "
        "server, such as close's 2.3 `reason`).",
        f"{CORE}, 'Error Handling': the server should raise only for an invalid event (unknown "
        "type, missing keys, wrong types); extra keys are not among them",
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
        Grade.SHOULD,
        "an accept naming a subprotocol the client did not offer gives no 101 naming it",
        "The app broke the rule first, asking for a subprotocol the server may not select; "
        "the server should refuse that accept (raise) rather than put the MUST violation on "
        "the wire.",
        "RFC 6455 4.2.2: the subprotocol the server selects MUST be one of the values of the "
        f"client's Sec-WebSocket-Protocol; {CORE}, 'Error Handling': on an invalid event the "
        "server should raise",
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
        "raw.message-at-limit-delivered",
        Grade.INFO,
        "messages one byte under and exactly at the server's configured limit reach the app",
        "Judged only where the suite set or knows the server's maximum message size: the limit "
        "is what the server takes, so a refusal at it is the limit enforced a byte early (the "
        "oversized checks judge the other side).",
        "the servers' own settings (uvicorn ws_max_size, hypercorn websocket_max_message_size, "
        "daphne and gunicorn's maximum message size): the largest message accepted, a "
        "definition with no keyword",
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
        "ASGI extensions, 'Websocket Denial Response': the server should send the response, "
        "its body messages with more_body joined as for HTTP",
        extension=DENIAL_EXTENSION,
    ),
)

# What the registry collects from this family.
CHECKS = RAW_CHECKS
