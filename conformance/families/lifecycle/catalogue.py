"""The lifecycle family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import (
    CORE,
    DENIAL_EXTENSION,
    STARLETTE,
    WWW,
    Check,
    Grade,
    Layer,
)

# Where the www spec binds the app to answer the connect event before anything else (Starlette
# enforces it with RuntimeError).
CONNECT_ANSWERED_FIRST = (
    f"{WWW}, 'Connect - receive event': the app must answer it with accept or close before "
    "the socket passes it any received message"
)
# Why the ordering checks no keyword covers are policy.
STATE_MACHINE_POLICY = (
    "Suite policy: Starlette's own state machine, which no spec sentence requires; the suite "
    "holds Starlette to it, since what it refuses would otherwise reach the server as events "
    "the spec gives no meaning in that state."
)

# The www spec's rule that ties an app's scope to its socket, both ways.
SCOPE_LIFETIME = (
    f"{WWW}, 'Websocket Connection Scope': the scope lives as long as its socket, and when "
    "either ends the other should end too"
)

# --- the lifecycle checks, judged by conformance.engine.model on the puppet app
# -----------------------
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
        Grade.SHOULD,
        "a denial response reaches the client with its status and body",
        "A server that advertises the denial-response extension sends the app's "
        "websocket.http.response.start/body as the HTTP answer to the upgrade; judged only "
        "where the server advertises the extension, at the extension's own keyword.",
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
        f"{STARLETTE}; {CONNECT_ANSWERED_FIRST}",
        Layer.FRAMEWORK,
    ),
    Check(
        "order.receive-before-accept",
        Grade.MUST,
        "receive_* before accept raises RuntimeError",
        "receive_text/bytes/json need the application state CONNECTED.",
        f"{STARLETTE}; {CONNECT_ANSWERED_FIRST}",
        Layer.FRAMEWORK,
    ),
    Check(
        "order.duplicate-accept",
        Grade.POLICY,
        "a second accept raises RuntimeError and leaves the connection as it was",
        f"{STATE_MACHINE_POLICY} In state CONNECTED only send and close may be sent.",
        f"wsconform policy, from {STARLETTE}",
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
        Grade.POLICY,
        "send after a denial response raises RuntimeError and nothing reaches the client",
        f"{STATE_MACHINE_POLICY} After the denial response's last body message the application "
        "state is DISCONNECTED; no websocket message may follow the response.",
        f"wsconform policy, from {STARLETTE} (state RESPONSE); ASGI extensions, 'Websocket "
        "Denial Response' (the response ends the connection: a definition)",
        Layer.FRAMEWORK,
    ),
    Check(
        "order.receive-after-app-close",
        Grade.POLICY,
        "receive_* after the app closed raises RuntimeError instead of waiting",
        f"{STATE_MACHINE_POLICY} receive_* need the application state CONNECTED, which close "
        "leaves.",
        f"wsconform policy, from {STARLETTE}",
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
        "1005, 1006 and 1015 never appear in a close frame (MUST). A code outside 1000-4999, "
        "1004 or one of the unassigned 1016-2999 is graded as the suite's policy: section 7.4.2 "
        "only sorts codes into ranges, with no keyword (and 5.5.1's MUST fixes the body's "
        "layout, a two-byte code, not which codes), yet such a code means nothing a client can "
        "act on, and clients such as the websockets library fail the connection on it.",
        "RFC 6455 7.4.1: an endpoint MUST NOT set 1005/1006/1015 in a Close frame; 7.4.2 "
        "(ranges, no keyword: policy)",
        Layer.SERVER,
    ),
    Check(
        "close.invalid-app-code-refused",
        Grade.SHOULD,
        "a close code the app may not send is refused, not relayed to the wire",
        "The app broke the rule first: ASGI's close `code` is a WebSocket close code as RFC 6455 "
        "defines them. A server handed an invalid event should raise out of send(); relaying "
        "the code puts the app's mistake on the wire. Silence with the socket left open while "
        "send() returned is a failure too. SHOULD for 1005, 1006 and 1015, which no endpoint "
        "may set in a close frame; for the codes RFC 6455 only calls unused (0-999), reserved "
        "(1004, 1016-2999) or leaves undefined (5000+) the rule is the suite's policy.",
        f"{CORE}, 'Error Handling': on an invalid event the server should raise; RFC 6455 "
        "7.4.1: 1005/1006/1015 MUST NOT be set in a Close frame; 7.4.2 (ranges, no keyword)",
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
        Grade.INFO,
        "the client's close code reaches the app in WebSocketDisconnect (best practice)",
        "The disconnect event's `code` is the close code of the client's close frame. The spec "
        "defines the key's meaning with no keyword of its own.",
        f"{WWW}, 'Disconnect - receive event' (code, a definition); RFC 6455 7.1.5 defines "
        "the close code",
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
        Grade.SHOULD,
        "after a client close, receive raises WebSocketDisconnect once, then RuntimeError",
        "The disconnect message raises WebSocketDisconnect and moves Starlette's client state "
        "to DISCONNECTED, where receive raises RuntimeError. SHOULD: the disconnect event's "
        "own section only describes when it is sent; the keyword is the scope's, which ends "
        "the app's scope with its socket.",
        f"{SCOPE_LIFETIME}; {WWW}, 'Disconnect - receive event' (sent when the client closes: "
        f"a definition); {STARLETTE}",
        Layer.SERVER,
    ),
    Check(
        "disconnect.drop-reaches-app",
        Grade.SHOULD,
        "a dropped TCP connection reaches an app blocked in receive as WebSocketDisconnect",
        "The disconnect event is sent when the connection is lost for any reason; an app "
        "blocked in receive learns of it. SHOULD, by the scope's lifetime rule: the "
        "disconnect event's section has no keyword.",
        f"{SCOPE_LIFETIME}; {WWW}, 'Disconnect - receive event' (a definition)",
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
    Check(
        "disconnect.send-after-client-gone-code",
        Grade.INFO,
        "the WebSocketDisconnect a send to a gone client raises carries 1006",
        "Where Starlette turns the server's OSError from a send into WebSocketDisconnect (0.36.0), "
        "its code is 1006, the code of a connection that ended without the app closing it; "
        "a release raising another code tells the app the client closed normally. Starlette "
        "states the conversion, not the code, with no keyword.",
        "Starlette 0.36.0 release notes ('Raise WebSocketDisconnect when WebSocket.send() "
        "excepts IOError', #2425); RFC 6455 7.1.5 and 7.4.1 (definition of 1006)",
        Layer.FRAMEWORK,
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
        Grade.POLICY,
        "text messages arrive exactly and in order, both ways",
        "Suite policy: a text message the app sends reaches the client, and one the client "
        "sends reaches the app, whole and unchanged (an empty one too). No keyword binds a "
        "server's delivery: the spec's 'exactly one must be non-None' binds the event's shape, "
        "which the app builds for a send; but a server that drops or alters a message breaks "
        "every app protocol.",
        f"wsconform policy, from {WWW}, 'Send/Receive event' and RFC 6455 5.6 (data frames)",
        Layer.SERVER,
    ),
    Check(
        "data.bytes-exact",
        Grade.POLICY,
        "binary messages arrive exactly and in order, both ways",
        "Suite policy: as data.text-exact, a binary message reaches the other side whole and "
        "unchanged (an empty one too); no keyword binds a server's delivery.",
        f"wsconform policy, from {WWW}, 'Send/Receive event' and RFC 6455 5.6 (data frames)",
        Layer.SERVER,
    ),
    Check(
        "data.json-exact",
        Grade.POLICY,
        "JSON values survive send_json/receive_json exactly",
        "Suite policy: send_json/receive_json encode and decode JSON text messages, and the "
        "value reaches the other side unchanged; as for data.text-exact, no keyword binds a "
        "server's delivery of the text that carries it.",
        f"wsconform policy, from Starlette docs, send_json/receive_json; {WWW}, 'Send/Receive "
        "event'",
        Layer.SERVER,
    ),
)

# What the registry collects from this family.
CHECKS = LIFECYCLE_CHECKS
