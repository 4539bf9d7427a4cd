"""The wire family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import RFC6455, SCOPE_SPEC, WWW, Check, Grade, Layer

# --- the wire (conformance/families/wire/frames.py; frames written and read by targets/frames.py)
# ------------


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
        Grade.SHOULD,
        "a failed connection is closed with the code that names why",
        "1007 for invalid UTF-8, 1002 for a protocol error, in a close frame before TCP ends.",
        "7.1.7: the endpoint SHOULD send a Close frame with an appropriate status code; 7.4.1 "
        "(the codes' definitions)",
    ),
    _wire_check(
        "wire.no-data-after-close",
        Grade.MUST,
        "no data frame follows the server's close frame",
        "Whatever the app still sends once the server has sent its close frame (here: the echo "
        "of a message that came with the client's close) is not put on the wire.",
        "5.5.1: an endpoint MUST NOT send any more data frames after sending a Close frame",
    ),
    _wire_check(
        "wire.close-ends-tcp",
        Grade.MUST,
        "after the closing handshake the server closes the TCP connection",
        "With a close frame sent and received, the server ends TCP; a connection still open "
        "after the bound is counted as policy (the RFC sets no deadline).",
        "5.5.1: after both sending and receiving a Close message an endpoint MUST close the "
        "underlying TCP connection; 7.1.1: the server SHOULD close it first",
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
        "wire.length-boundaries-read",
        Grade.MUST,
        "messages of 125, 126, 65535 and 65536 bytes are read whole (each length encoding's ends)",
        "A binary frame with each length at the edge of the 7-, 16- and 64-bit length encodings "
        "reaches the echo route whole; the detail names the length and its side of the edge.",
        "6.2: incoming data MUST be parsed as WebSocket frames as defined in 5.2 (payload length)",
    ),
    _wire_check(
        "wire.server-length-minimal",
        Grade.MUST,
        "the server encodes every payload length in the fewest bytes",
        "A payload of up to 125 bytes has its length in 7 bits, up to 65535 in 16 more, only "
        "beyond that in 64 more.",
        "5.2: the minimal number of bytes MUST be used to encode the length",
    ),
    _wire_check(
        "wire.accept-key",
        Grade.MUST,
        "Sec-WebSocket-Accept answers the client's key",
        "The 101 carries the base64 SHA-1 of the key and the protocol's GUID.",
        "4.2.2 (the server's handshake); 4.1: a client MUST fail a connection whose value differs",
    ),
)

# --- keepalive (conformance/families/wire/frames.py, on a server served with its ping setting)

KEEPALIVE_CHECKS: tuple[Check, ...] = (
    Check(
        "wire.keepalive-pings-sent",
        Grade.SHOULD,
        "a server configured for keepalive pings sends them",
        "Served with its own keepalive setting (uvicorn --ws-ping-interval, hypercorn "
        "websocket_ping_interval, daphne --ping-interval) at a short interval, the server pings "
        "an idle connection, and pings it again once the first is answered, each within the "
        "interval plus the reply bound. Judged only where the server has such a setting: "
        "configured, pings are what its operator found necessary.",
        f"{WWW}, 'WebSocket' (its introduction): a server should send PING frames as needed to "
        "keep the connection alive; RFC 6455 5.5.2: an endpoint MAY ping while the connection "
        "is open (e.g. as a keepalive); the server's own documented setting",
        Layer.SERVER,
    ),
)

# --- bad handshakes (conformance/families/wire/handshakes.py)
# ---------------------------------------------------

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
        "RFC 6455 4.2.1: the handshake is a GET, and on any other request the server MUST stop "
        "processing it",
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
        "upgrade.cr-in-value-handled",
        Grade.MUST,
        "a bare CR in a header value is refused or replaced before the app",
        "A 4xx, or the app sees the one header with SP for the CR; never the CR, never two "
        "headers or a value cut short.",
        "RFC 9110 5.5: a recipient of CR, LF or NUL in a field value MUST reject the message "
        "or replace each with SP",
        Layer.SERVER,
    ),
    Check(
        "upgrade.control-char-in-value-handled",
        Grade.POLICY,
        "a header value with a control character reaches the app whole, or is refused",
        "Suite policy: a value with a vertical tab is refused with a 4xx, or reaches the app "
        "as one header, as sent or with SP for the character; never split, cut short or "
        "otherwise altered, which would hand the app a value the client never sent.",
        "policy; RFC 9110 5.5: other CTL characters are invalid, a recipient MAY retain them "
        "in a safe context",
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
        "upgrade.refusal-closes-as-announced",
        Grade.INFO,
        "the server's own refusal announcing Connection: close is followed by its closing",
        "Where the server's answer to a bad handshake (a 4xx of its own) carries the close "
        "connection option, the server ends the connection within the client's bound for an "
        "expected event. RFC 9112 makes the closing a MUST but gives it no time: within a "
        "bound, what the client sees is informational.",
        "RFC 9112 9.6: a server that sends close MUST initiate closure after that response "
        "(no time given)",
        Layer.SERVER,
    ),
    Check(
        "upgrade.app-refusal-closes-as-announced",
        Grade.INFO,
        "an app's close before accept announcing Connection: close is followed by the closing",
        "Where the server's 403 to a handshake the app refused with a close before accept (the "
        "app then returns at once) carries the close connection option, the server ends the "
        "connection within the client's bound for an expected event. RFC 9112 makes the "
        "closing a MUST but gives it no time: within a bound, what the client sees is "
        "informational.",
        "RFC 9112 9.6: a server that sends close MUST initiate closure after that response "
        "(no time given)",
        Layer.SERVER,
    ),
    Check(
        "upgrade.denial-closes-as-announced",
        Grade.INFO,
        "an app's denial response announcing Connection: close is followed by the closing",
        "Where the app's denial response (the app then returns at once) carries the close "
        "connection option, the server ends the connection within the client's bound for an "
        "expected event; judged where the denial reaches the client (a server offering no "
        "denial extension answers the app's close instead). RFC 9112 gives the MUST no time: "
        "within a bound, what the client sees is informational.",
        "RFC 9112 9.6: a server that sends close MUST initiate closure after that response "
        "(no time given)",
        Layer.SERVER,
    ),
    Check(
        "upgrade.long-header-answered",
        Grade.MUST,
        "header lines of 8 KiB and 16 KiB, a byte under, at and over, and of 9 KiB are answered",
        "Each handshake is accepted (101) or answered with a 4xx such as 431; no silence, no "
        "drop, no 5xx. The detail names the size, so the side of a limit that fails shows.",
        "RFC 9110 5.4: a server receiving a field larger than it wishes to process MUST "
        "respond with an appropriate 4xx status code",
        Layer.SERVER,
    ),
    Check(
        "upgrade.many-headers-answered",
        Grade.MUST,
        "handshakes of 99 to 101 and 127 to 129 header lines are answered",
        "Each handshake is accepted (101) or answered with a 4xx such as 431; no silence, no "
        "drop, no 5xx. The detail names the count, so the side of a limit that fails shows.",
        "RFC 9110 5.4: a server receiving a set of fields larger than it wishes to process "
        "MUST respond with an appropriate 4xx status code",
        Layer.SERVER,
    ),
)

# --- real clients' handshakes (conformance/families/wire/handshakes.py; the requests are data:
# conformance/data/client_handshakes.toml) -------------------------------------------------------

CLIENT_HANDSHAKE_CHECKS: tuple[Check, ...] = (
    Check(
        "upgrade.client-handshakes-upgraded",
        Grade.POLICY,
        "every recorded client's handshake is upgraded",
        "Suite policy: each handshake common clients send (Firefox's `Connection: keep-alive, "
        "Upgrade`, Go's `Sec-Websocket-Key` name case, header orders, permessage-deflate offers, "
        "subprotocols on several lines) gets a 101 on a route that accepts. RFC 6455 4.2.1 makes "
        "them all valid (the Connection field includes the token, values case-insensitive), but "
        "its MUST is only to refuse an invalid handshake and RFC 9110 7.8 lets a server ignore "
        "Upgrade (MAY), so no keyword demands the 101; a server that refuses one is unusable "
        "with that client.",
        "wsconform policy, from RFC 6455 4.2.1 items 3-6 (definitions: 'includes the token', "
        "'ASCII case-insensitive'), RFC 9110 5.1 (field names case-insensitive) and 5.3",
        Layer.SERVER,
    ),
    Check(
        "upgrade.client-subprotocols-kept",
        Grade.INFO,
        "the app is offered every subprotocol a recorded client sent, in order",
        "After a real client's 101, scope['subprotocols'] lists its offers in order, whatever "
        "their separator ('a, b' or 'a,b') and across several Sec-WebSocket-Protocol lines.",
        f"{SCOPE_SPEC}, subprotocols (a definition); RFC 6455 4.2.1 item 8 and 11.3.4, "
        "RFC 9110 5.3 (several lines are one list: definitions)",
        Layer.SERVER,
    ),
)

# --- generated variations of them (strategies/handshakes.py) ------------------------------------

VARIATION_CHECKS: tuple[Check, ...] = (
    Check(
        "upgrade.client-variations-upgraded",
        Grade.POLICY,
        "every RFC-equivalent variation of a recorded client's handshake is upgraded",
        "Suite policy: as upgrade.client-handshakes-upgraded, a recorded handshake with its field "
        "names recased, its lines reordered, its Connection tokens reordered, recased or joined "
        "by keep-alive, its Upgrade value recased, its subprotocol offers over several lines and "
        "optional whitespace around values and commas gets a 101 like the original.",
        "wsconform policy, from RFC 6455 4.2.1 items 3 and 4, RFC 9110 5.1, 5.3, 5.6.1 and "
        "7.6.1, RFC 9112 5.1 (each variation is a definition's equivalent)",
        Layer.SERVER,
    ),
    Check(
        "upgrade.client-variations-kept",
        Grade.INFO,
        "after a variation's 101 the app gets every field and subprotocol the client sent",
        "scope['headers'] holds each end-to-end field's list members as sent, however the lines "
        "were split, cased and spaced, and scope['subprotocols'] the offers in order.",
        f"{SCOPE_SPEC}, headers and subprotocols (definitions); RFC 9110 5.3 (several lines are "
        "one list: a definition)",
        Layer.SERVER,
    ),
)

# What the registry collects from this family.
CHECKS = (
    WIRE_CHECKS + KEEPALIVE_CHECKS + UPGRADE_CHECKS + CLIENT_HANDSHAKE_CHECKS + VARIATION_CHECKS
)
