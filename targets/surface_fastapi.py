"""The framework-surface routes that need FastAPI (`targets/surface.py` holds the rest and what
they share): routers with prefixes, FastAPI path, query and header parameters, refusals before
accept from a route and from a dependency, denial responses, and a mounted FastAPI app."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query
from starlette.routing import Mount
from starlette.websockets import WebSocket
from wsconform.targets.compat import WebSocketException, handle_websocket_exceptions
from wsconform.targets.surface import (
    DENIAL_KINDS,
    HANDLERS,
    HTTP_EXCEPTION_DETAIL,
    HTTP_EXCEPTION_STATUS,
    PREFIX_REPLY,
    REFUSAL_CODE,
    MarkScope,
    PassThrough,
    allowed,
    denial,
    echo_with,
    endpoint_closes,
    mounted_echo,
    offers_denial,
    routing_values,
    send_and_close,
    send_value_and_close,
    starlette_routes,
)

# --- routers with prefixes ---------------------------------------------------------------------

prefixed = APIRouter(prefix="/surface/prefixed")


@prefixed.websocket("/echo")
async def prefixed_echo(websocket: WebSocket) -> None:
    await echo_with(websocket, PREFIX_REPLY)


outer = APIRouter(prefix="/surface/outer")
inner = APIRouter(prefix="/inner")


@inner.websocket("/echo")
async def nested_echo(websocket: WebSocket) -> None:
    await echo_with(websocket, PREFIX_REPLY)


outer.include_router(inner)

# A prefix with a parameter, given where the router is included (FastAPI docs, 'Bigger
# Applications'): the route declares none of it, and gets it in its path parameters.
team_members = APIRouter()
team_members.websocket("/members/{member}")(routing_values)

# --- FastAPI parameters -----------------------------------------------------------------------

fastapi_routes = APIRouter(prefix="/surface")


@fastapi_routes.get("/endpoint-closes/{key}")
async def endpoint_close(key: str) -> dict[str, int | None]:
    return {"code": endpoint_closes.get(key)}


@fastapi_routes.websocket("/items/{item_id:int}")
async def item(websocket: WebSocket, item_id: int) -> None:
    await send_value_and_close(websocket, item_id)


@fastapi_routes.websocket("/validated/{number}")
async def validated(
    websocket: WebSocket,
    number: int,
    limit: int = Query(..., ge=1),
    x_client: str = Header(...),
) -> None:
    # FastAPI refuses the connection before this runs when a parameter is invalid (close 1008).
    await send_and_close(websocket, {"number": number, "limit": limit, "client": x_client})


@fastapi_routes.websocket("/asgi")
async def asgi_claims(websocket: WebSocket) -> None:
    """What the server claims to this app: its ASGI spec version and extensions. Contracts of
    features that need either read it first."""
    claims = websocket.scope.get("asgi") or {}
    await send_and_close(
        websocket,
        {
            "spec_version": claims.get("spec_version", "2.0"),  # the spec's default
            "extensions": sorted(websocket.scope.get("extensions") or {}),
        },
    )


# --- refusing before accept -------------------------------------------------------------------


@fastapi_routes.websocket("/raise/http")
async def raise_http(websocket: WebSocket) -> None:
    # Starlette turns an HTTPException into a denial response, which only a server offering
    # the extension can send; without it the documented way to refuse is a close.
    if not offers_denial(websocket):
        raise WebSocketException(code=1008, reason="no denial responses here")
    raise HTTPException(
        status_code=HTTP_EXCEPTION_STATUS,
        detail=HTTP_EXCEPTION_DETAIL,
        headers={"www-authenticate": "Bearer"},
    )


@fastapi_routes.websocket("/raise/websocket")
async def raise_websocket(websocket: WebSocket) -> None:
    raise WebSocketException(code=REFUSAL_CODE, reason="forbidden")


@fastapi_routes.websocket("/depends/websocket")
async def depends_websocket(websocket: WebSocket, _: None = Depends(allowed)) -> None:
    await echo_with(websocket, PREFIX_REPLY, greeting="allowed")


@fastapi_routes.websocket("/denial/{kind}")
async def deny(websocket: WebSocket, kind: str) -> None:
    if kind not in DENIAL_KINDS or not offers_denial(websocket):
        await websocket.close(code=1008)
        return
    await websocket.send_denial_response(denial(kind))


# --- a mounted app: app-level dependency, exception handler, middleware ------------------------

mounted_app = FastAPI(dependencies=[Depends(allowed)], exception_handlers=HANDLERS)
mounted_app.add_middleware(PassThrough)
mounted_app.add_middleware(MarkScope)
handle_websocket_exceptions(mounted_app)
mounted_app.websocket("/echo")(mounted_echo)


def install(app: FastAPI) -> None:
    """Add every surface route to `app` (the reference app)."""
    app.include_router(prefixed)
    app.include_router(outer)
    app.include_router(team_members, prefix="/surface/teams/{team}")
    app.include_router(fastapi_routes)
    app.router.routes.append(Mount("/surface/starlette", app=starlette_routes))
    app.mount("/surface/app", mounted_app)
