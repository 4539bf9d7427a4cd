"""The contracts family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import (
    CORE,
    REFERENCE,
    SCOPE_SPEC,
    SEEDS,
    WWW,
    Check,
    Grade,
    Layer,
)

# --- reference endpoint contracts (targets/reference.py; any app with the same routes) -------


# A contract is this suite's reading of the seeds and the frameworks' documentation, none of
# which says MUST: the suite's policy. Where a server breaks a contract, the server check that
# names the broken rule (e.g. close.code-delivered, handshake.accept-headers) grades the cause at
# its own keyword; a contract whose rule has a keyword of its own says so and takes its grade.
CONTRACT_POLICY = (
    f"Suite policy: the route behaves as {REFERENCE} specifies. The contract is the suite's "
    "own (the seeds and the framework docs carry no keyword); a server rule it rests on is "
    "graded at its keyword by the server check that names it."
)


def _contract(check_id: str, title: str, source: str = SEEDS, grade: Grade = Grade.POLICY) -> Check:
    if grade is Grade.POLICY:
        return Check(
            check_id, grade, title, CONTRACT_POLICY, f"wsconform policy, from {source}", Layer.APP
        )
    if grade is Grade.INFO:
        requirement = (
            "The framework hands the route the value the ASGI spec defines (a definition, no "
            "keyword): informational where it does not."
        )
    else:
        requirement = (
            f"The route behaves as {REFERENCE} specifies, a rule with a keyword of its own."
        )
    return Check(check_id, grade, title, requirement, source, Layer.APP)


FASTAPI_SECURITY = "FastAPI reference, 'Security Tools'"
# Each guard: how the route is guarded, and the documentation saying it guards a route.
GUARDS = (
    (
        "route-dependencies",
        "dependencies=[Depends(...)] on the route",
        "FastAPI docs, 'Dependencies in path operation decorators'; on websocket routes since "
        "FastAPI 0.97.0 (#4534)",
    ),
    (
        "parameter",
        "a parameter with Depends(...)",
        "FastAPI docs, 'WebSockets - Using Depends and others'",
    ),
    ("http-bearer", "HTTPBearer (seed 003's shape)", f"{SEEDS}; {FASTAPI_SECURITY} (HTTPBearer)"),
    ("api-key-query", "APIKeyQuery", f"{FASTAPI_SECURITY} (APIKeyQuery)"),
    ("api-key-header", "APIKeyHeader", f"{FASTAPI_SECURITY} (APIKeyHeader)"),
    ("api-key-cookie", "APIKeyCookie", f"{FASTAPI_SECURITY} (APIKeyCookie)"),
    (
        "oauth2",
        "OAuth2PasswordBearer",
        "FastAPI docs, 'Security - Simple OAuth2 with Password and Bearer'",
    ),
    (
        "scopes",
        "Security(..., scopes=[...])",
        "FastAPI docs, 'Advanced Security - OAuth2 scopes' (Security, SecurityScopes)",
    ),
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
    _contract(
        "contract.chat",
        "/chatroom delivers every message once, in order, to each live member; the dead leave",
    ),
    _contract(
        "contract.auth.rejects-before-accept",
        "secured routes refuse every bad credential before accept, without data",
        f"{SEEDS}; {WWW}, 'Close - send event': a close before accept must be an HTTP 403",
        Grade.MUST,
    ),
    _contract("contract.auth.accepts-valid", "secured routes accept every valid credential"),
    # The framework surface (targets/surface.py): each as the framework's documentation says.
    _contract(
        "contract.surface.router-prefix",
        "a router's prefix applies to its websocket routes, also nested",
        "FastAPI docs, 'Bigger Applications' (APIRouter prefix, include_router)",
    ),
    _contract(
        "contract.surface.mount-path-params",
        "a Mount's path parameters, path and query reach the routes inside it, nested too",
        "Starlette docs, 'Routing - Submounting routes' (a Mount's path may hold parameters)",
    ),
    _contract(
        "contract.surface.prefix-path-params",
        "a parameter in include_router's prefix reaches the route with its own",
        "FastAPI docs, 'Bigger Applications' (include_router prefix); Starlette docs, "
        "'Routing - Path Parameters'",
    ),
    # What Starlette's WebSocket object hands the app, predicted from the raw scope the server
    # gave (the scope family judges that) and from what the client offered.
    _contract(
        "contract.surface.client-address",
        "websocket.client is the scope's client; websocket.url's host and port the Host header's",
        f"{SCOPE_SPEC}, client, server (definitions, no keyword); Starlette docs, 'Requests - "
        "Client Address', 'URL' (websocket.client is None where the scope has none since "
        "Starlette 0.19, Address(None, None) before)",
        Grade.INFO,
    ),
    _contract(
        "contract.surface.headers-multi",
        "websocket.headers finds a header by any case, and every line of a repeated one",
        "Starlette docs, 'Requests - Headers' (an immutable, case-insensitive multi-dict; getlist)",
    ),
    _contract(
        "contract.surface.query-params-multi",
        "websocket.query_params holds every value of a repeated key, decoded, in order",
        "Starlette docs, 'Requests - Query Parameters' (an immutable multi-dict)",
    ),
    _contract(
        "contract.surface.subprotocols-offered",
        "websocket.scope['subprotocols'] holds every subprotocol the client offered, in order",
        f"{SCOPE_SPEC}, subprotocols (a definition, no keyword); RFC 6455 4.1",
        Grade.INFO,
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
        "Starlette docs, 'Endpoints - WebSocketEndpoint' (on_receive, on_disconnect); a wrong "
        "close code alone counts as close.client-code-reaches-app does (informational: ASGI "
        "defines the disconnect code with no keyword)",
    ),
    _contract(
        "contract.surface.validation",
        "FastAPI parameters are validated: valid converted, invalid refused before accept",
        "FastAPI docs, 'WebSockets - Using Depends and others'; its handler closes 1008",
    ),
    _contract(
        "contract.surface.websocket-exception-before-accept",
        "WebSocketException from a route or dependency before accept refuses the handshake",
        f"Starlette docs, 'Exceptions - WebSocketException' (before accept it is a close); "
        f"{WWW}, 'Close - send event': a close before accept must be an HTTP 403",
        Grade.MUST,
    ),
    _contract(
        "contract.surface.http-exception-before-accept",
        "HTTPException before accept becomes a denial response with its status",
        "Starlette 0.41.0 release notes ('Allow to raise HTTPException before "
        "websocket.accept()'); judged only where the server advertises websocket.http.response: "
        "ASGI extensions, 'Websocket Denial Response': the server should send the HTTP response",
        Grade.SHOULD,
    ),
    Check(
        "contract.surface.denial-response",
        Grade.SHOULD,
        "send_denial_response delivers plain, JSON, streaming and file responses",
        f"The route behaves as {REFERENCE} specifies; judged only where the server advertises "
        "websocket.http.response, at the extension's keyword.",
        "Starlette docs, 'WebSockets - Send Denial Response' (0.37.0, streaming and file "
        "responses 1.0.0); ASGI extensions, 'Websocket Denial Response': the server should "
        "send the HTTP response",
        Layer.APP,
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
    # The guarded routes (targets/guards.py): each way FastAPI documents to guard a route.
    *(
        _contract(
            f"contract.guard.{guard}",
            f"a route guarded by {how} lets a valid credential in, refuses others before accept",
            source,
        )
        for guard, how, source in GUARDS
    ),
    _contract(
        "contract.guard.overridden",
        "app.dependency_overrides replace a websocket route's guard (as users' tests do)",
        "FastAPI docs, 'Testing Dependencies with Overrides'; honoured on websocket routes since "
        "FastAPI 0.53.2 (#1122)",
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

# What the registry collects from this family.
CHECKS = CONTRACTS
