"""The generic family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import CORE, SCOPE_SPEC, WWW, Check, Grade, Layer

# --- generic checks, judged on any app's routes (`--app`, `--url`;
# conformance.families.generic.routes) ------
# The user's own requirement: declaring a route authenticated asks for what docs/your-app.md
# says a declared route does.
AUTH_DECLARATION = (
    "the route's [tool.wsconform] auth declaration, as docs/your-app.md 'Authenticated routes' "
    "defines it"
)

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
        "generic.app-closes-before-returning",
        Grade.POLICY,
        "a route that accepted closes the websocket before it returns",
        "Suite policy: a route that returns after accept without closing leaves the ending to "
        "the server, and servers differ: uvicorn drops the connection (the client sees 1006), "
        "hypercorn closes with 1011, daphne leaves it open; its clients see a close on one "
        "server and a drop on another. Close it (`await websocket.close()`) before returning.",
        f"wsconform policy, from {WWW}, 'Websocket Connection Scope': when the application "
        "dies the socket should be closed (no code given)",
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
        f"{AUTH_DECLARATION}: a declared route must refuse every bad token before accept",
        Layer.APP,
    ),
    Check(
        "generic.auth.bad-token-no-crash",
        Grade.POLICY,
        "no bad token makes an authenticated route raise",
        "Suite policy: a bad credential, crafted ones included (`alg: none`, a JWT header "
        "without `alg`, RS256 with no key), is refused, never a crash; one that gets past the "
        "check and then crashes the route is a bug of its own, apart from letting it in.",
        "wsconform policy, from the route's [tool.wsconform] auth declaration",
        Layer.APP,
    ),
    Check(
        "generic.auth.accepts-valid-token",
        Grade.MUST,
        "an authenticated route accepts a valid token",
        "The route is declared authenticated: a valid credential is accepted.",
        f"{AUTH_DECLARATION} (valid-token or valid-token-command): a declared route must "
        "accept the valid token",
        Layer.APP,
    ),
)

# --- what the route is handed, predicted from what the client sent
# (conformance.families.generic.values) ------
VALUE_CHECKS: tuple[Check, ...] = (
    Check(
        "generic.values.request-target",
        Grade.INFO,
        "the scope's path and query_string are the request's",
        "path is the request's path with percent-encoding decoded (UTF-8) and query_string the "
        "bytes after '?', as the client sent them to the route.",
        f"{SCOPE_SPEC}, path and query_string (definitions, no keyword)",
        Layer.SERVER,
    ),
    Check(
        "generic.values.request-headers",
        Grade.INFO,
        "every header the client sent is in the scope with its value",
        "Each request header reaches the app's scope with its value (names may be lowercased).",
        f"{SCOPE_SPEC}, headers (a definition, no keyword)",
        Layer.SERVER,
    ),
    Check(
        "generic.values.path-params",
        Grade.INFO,
        "the route's path parameters are the values in the path",
        "The route that matched gets each path parameter, of its own template and of the "
        "mounts above it, with the value the client put in the path, as its convertor reads "
        "it.",
        "Starlette documentation, 'Routing': path parameters and mounts (a definition, no keyword)",
        Layer.FRAMEWORK,
    ),
    Check(
        "generic.values.messages",
        Grade.POLICY,
        "the route receives each message as the client sent it, in order",
        "Suite policy: each text or binary message the client sends reaches the route whole, "
        "unchanged and in order, as the kind it was sent as (data.text-exact, for the "
        "reference routes).",
        f"wsconform policy, from {WWW}, 'Receive - receive event' and RFC 6455 5.6 (data frames)",
        Layer.SERVER,
    ),
    Check(
        "generic.values.client-close-code",
        Grade.INFO,
        "the route's disconnect event carries the client's close code",
        "After the client closes with a code, the disconnect event the route receives has "
        "that code, as close.client-code-reaches-app for the reference routes.",
        f"{WWW}, 'Disconnect - receive event' (code, a definition); RFC 6455 7.1.5",
        Layer.SERVER,
    ),
    Check(
        "generic.values.subprotocols",
        Grade.INFO,
        "the scope lists the subprotocols the client offered, in its order",
        "The scope's subprotocols are the tokens of the client's Sec-WebSocket-Protocol "
        "offer, in the order offered, as scope.subprotocols-split for the reference routes.",
        f"{SCOPE_SPEC}, subprotocols (a definition, no keyword); RFC 6455 4.1 and 11.3.4",
        Layer.SERVER,
    ),
    Check(
        "generic.values.addresses",
        Grade.INFO,
        "the scope's client and server are the two ends of the client's socket",
        "Where the server is handed the client's own socket (no proxy in between), the "
        "scope's client is that socket's local [host, port] and its server the address the "
        "client connected to, each port an integer; either may be left out. The client "
        "address is not judged where the request carries a forwarding header a server may be "
        "set to trust.",
        f"{SCOPE_SPEC}, client and server: [host, port], the port an integer (definitions, "
        "optional, no keyword)",
        Layer.SERVER,
    ),
    Check(
        "generic.values.client-close-reason",
        Grade.INFO,
        "the route's disconnect event carries the client's close reason",
        "After the client closes with a reason, the disconnect event the route receives has "
        "that reason, as close.client-reason-reaches-app for the reference routes. Judged "
        "where the server claims spec 2.5.",
        f"{WWW}, 'Disconnect - receive event' (reason, added in 2.5, a definition)",
        Layer.SERVER,
        since="2.5",
    ),
    Check(
        "generic.values.client-no-code-1005",
        Grade.SHOULD,
        "a client close without a code reaches the route as 1005",
        "After the client closes with an empty close frame, the disconnect event the route "
        "receives has code 1005, as close.client-no-code-gives-1005 for the reference routes.",
        f"{WWW}, 'Disconnect - receive event': the server should set 1005",
        Layer.SERVER,
    ),
    Check(
        "generic.values.drop-code-1006",
        Grade.INFO,
        "a dropped connection reaches the route as 1006",
        "After the client drops the connection without a close frame, the disconnect event "
        "the route receives has code 1006, as disconnect.drop-code-1006 for the reference "
        "routes; ASGI does not say which code a drop gets.",
        "RFC 6455 7.1.5 and 7.4.1 (definition of 1006)",
        Layer.SERVER,
    ),
    Check(
        "generic.values.app-close-code",
        Grade.MUST,
        "the route's close code reaches the client",
        "After accept, a close the route sends with a code and a reason a close frame can "
        "carry reaches the client as a close frame with that code (1000 when the route gives "
        "none), as close.code-delivered for the reference routes. Judged where the server's "
        "close frame is the first end the client sees, before it leaves.",
        f"{WWW}, 'Close - send event': the server must close with the code passed",
        Layer.SERVER,
    ),
    Check(
        "generic.values.refused-send-raises-oserror",
        Grade.SHOULD,
        "a send the server refuses raises an OSError subclass in the route",
        "When the server's send refuses a message the route was allowed to send (text or "
        "bytes, or a close, on a connection it accepted and has not closed), which leaves a "
        "connection already gone as the only reason, it raises an OSError subclass, as "
        "disconnect.send-after-client-gone for the reference routes. Judged where the server "
        "claims spec 2.4.",
        f"{WWW}, 'Disconnected Client - send exception' (2.4, should)",
        Layer.SERVER,
        since="2.4",
    ),
)

# --- crowd checks: several clients on one route (conformance.families.generic.crowd) -------
# No spec speaks of several connections to one app: ASGI and RFC 6455 each describe one
# connection. Each rule is the suite's own robustness policy, and each says why.
CROWD_POLICY = "wsconform policy; no specification covers several connections to one app"
CROWD_CHECKS: tuple[Check, ...] = (
    Check(
        "generic.crowd.no-collateral-failure",
        Grade.POLICY,
        "no connection fails because of what another client did",
        "Suite policy: a client's leaving, quitting, crashing or dropping never makes another "
        "client's connection end with an exception in the app, a close 1011 or a drop; the "
        "same client's own steps, alone on a fresh app, do not fail. The classic cause: a "
        "member whose handler ended without leaving the room, and the next broadcast raising "
        "on its socket in an innocent handler.",
        CROWD_POLICY,
        Layer.APP,
    ),
    Check(
        "generic.crowd.survivors-keep-working",
        Grade.POLICY,
        "after a member leaves, a newcomer is let in as before",
        "Suite policy: a room that let a newcomer in with n members present lets one in "
        "with n or fewer later, whichever way members left: a member counted after it left "
        "keeps everyone out once the room looks full.",
        CROWD_POLICY,
        Layer.APP,
    ),
    Check(
        "generic.crowd.broadcast-reaches-all",
        Grade.POLICY,
        "a broadcast reaches every live member, whoever died",
        "Suite policy: where a message reached every other member of its room (two at "
        "least), the same message from another member reaches every live member too; a "
        "member that is gone (closed, dropped, crashed) never stops the delivery to those "
        "after it.",
        CROWD_POLICY,
        Layer.APP,
    ),
    Check(
        "generic.crowd.handlers-finish",
        Grade.POLICY,
        "every handler returns once every client has left",
        "Suite policy: when every client is gone, no handler is left waiting (on a partner, "
        "a queue, an event) within a bound of a second: one that waits leaks a task per "
        "connection. A timing bound, so never a MUST.",
        CROWD_POLICY,
        Layer.APP,
    ),
)

# Check IDs that were split or renamed, with the IDs that replaced them. Never reused.

# What the registry collects from this family.
CHECKS = GENERIC_CHECKS + VALUE_CHECKS + CROWD_CHECKS
