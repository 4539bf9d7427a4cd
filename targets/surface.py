"""Reference routes for the rest of what Starlette and FastAPI let a WebSocket route declare.

`targets/reference.py` holds the endpoints the seeds teach; this module adds one small route (or
family) for each other documented way to declare, guard, deny, handle and end a WebSocket route,
all under `/surface`, so that a framework regression in any of them changes a verdict
(`conformance/surface.py` holds their contracts). Every route is written the way the framework's
documentation says; where a feature is missing from the installed release, `targets/compat.py`
says so and the contract is `unimplemented` there rather than failed.

    /surface/prefixed/echo               APIRouter(prefix=...)
    /surface/outer/inner/echo            a router with a prefix inside another
    /surface/starlette/...               a Starlette Mount of WebSocketRoutes: path convertors
                                         (int, float, uuid, path) and a WebSocketEndpoint class
    /surface/items/{item_id:int}         a FastAPI route with a convertor in its path
    /surface/validated/{number}          FastAPI path, query and header parameters, validated
    /surface/asgi                        the server's ASGI spec version and extensions (a probe)
    /surface/raise/http                  HTTPException before accept (a denial response)
    /surface/raise/websocket             WebSocketException before accept, from the route
    /surface/depends/websocket           ... and from a route-level dependency
    /surface/denial/{kind}               send_denial_response with each kind of Response
    /surface/app/echo                    a mounted FastAPI app with an app-level dependency,
                                         an exception handler and middleware around the scope
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, WebSocket
from starlette.endpoints import WebSocketEndpoint
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Router, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from wsconform.targets.compat import (
    HAS_DENIAL_RESPONSE,
    HAS_WEBSOCKET_EXCEPTION,
    WebSocketException,
    handle_websocket_exceptions,
)
from wsconform.targets.messages import UNSUPPORTED_DATA, receive_text

# What the contracts expect; a user's app with the same routes must answer the same way.
PREFIX_REPLY = "routed: {text}"
DENIAL_STATUS = 401
DENIAL_BODY = b"denied by wsconform"
DENIAL_FILE = Path(__file__).with_name("denial_body.txt")  # holds DENIAL_BODY
HTTP_EXCEPTION_STATUS = 401
HTTP_EXCEPTION_DETAIL = "login required"
REFUSAL_CODE = 4403  # WebSocketException before accept: the client gets HTTP 403 anyway
HANDLED_CODE, HANDLED_REASON = 4013, "try again later"
MIDDLEWARE_MARK = "wsconform.surface.middleware"
MIDDLEWARE_HEADER = ("x-wsconform-middleware", "1")  # added to every accept by MarkScope
ALLOW_HEADER = "x-wsconform-allow"
DENIAL_EXTENSION = "websocket.http.response"


async def echo_with(websocket: WebSocket, reply: str, greeting: str | None = None) -> None:
    await websocket.accept()
    try:
        if greeting is not None:
            await websocket.send_text(greeting)
        while True:
            await websocket.send_text(reply.format(text=await receive_text(websocket)))
    except WebSocketDisconnect:
        return


async def send_and_close(websocket: WebSocket, payload: Any) -> None:
    """Accept, send `payload` as JSON, close normally; a client gone by then ends it quietly."""
    await websocket.accept()
    try:
        await websocket.send_json(payload)
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return


async def send_value_and_close(websocket: WebSocket, value: Any) -> None:
    """What a path convertor produced: the value's type and text."""
    await send_and_close(websocket, {"type": type(value).__name__, "value": str(value)})


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

# --- a Starlette Mount: convertors and a WebSocketEndpoint class ------------------------------


async def converted(websocket: WebSocket) -> None:
    await send_value_and_close(websocket, websocket.path_params["value"])


# The close code each EchoEndpoint connection's on_disconnect got, by the key in its path;
# GET /surface/endpoint-closes/{key} reads it.
endpoint_closes: dict[str, int | None] = {}


class EchoEndpoint(WebSocketEndpoint):
    # Not encoding = "text": on a binary message Starlette then closes 1003 but also raises.
    encoding = None

    async def on_receive(self, websocket: WebSocket, data: Any) -> None:
        if isinstance(data, bytes):
            await websocket.close(code=UNSUPPORTED_DATA)
            return
        await websocket.send_text(f"endpoint: {data}")

    async def on_disconnect(self, websocket: WebSocket, close_code: int) -> None:
        endpoint_closes[websocket.path_params["key"]] = close_code


starlette_routes = Router(
    routes=[
        WebSocketRoute(f"/{kind}/{{value:{kind}}}", converted)
        for kind in ("int", "float", "uuid", "path")
    ]
    + [WebSocketRoute("/endpoint/{key}", EchoEndpoint)]
)

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


def offers_denial(websocket: WebSocket) -> bool:
    return HAS_DENIAL_RESPONSE and DENIAL_EXTENSION in websocket.scope.get("extensions", {})


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


async def allowed(websocket: WebSocket) -> None:
    """Lets a connection through only with the allow header; raising here is before accept."""
    if websocket.headers.get(ALLOW_HEADER) != "yes":
        raise WebSocketException(code=REFUSAL_CODE, reason="not allowed")


@fastapi_routes.websocket("/depends/websocket")
async def depends_websocket(websocket: WebSocket, _: None = Depends(allowed)) -> None:
    await echo_with(websocket, PREFIX_REPLY, greeting="allowed")


async def _streamed_denial() -> Any:
    for start in range(0, len(DENIAL_BODY), 5):
        yield DENIAL_BODY[start : start + 5]


def denial(kind: str) -> Response:
    headers = {"x-wsconform-denied": kind}
    if kind == "plain":
        return PlainTextResponse(DENIAL_BODY.decode(), DENIAL_STATUS, headers=headers)
    if kind == "json":
        return JSONResponse({"detail": DENIAL_BODY.decode()}, DENIAL_STATUS, headers=headers)
    if kind == "streaming":
        return StreamingResponse(_streamed_denial(), DENIAL_STATUS, headers=headers)
    if kind == "file":
        return FileResponse(DENIAL_FILE, DENIAL_STATUS, headers=headers)
    raise ValueError(kind)


DENIAL_KINDS = ("plain", "json", "streaming", "file")


@fastapi_routes.websocket("/denial/{kind}")
async def deny(websocket: WebSocket, kind: str) -> None:
    if kind not in DENIAL_KINDS or not offers_denial(websocket):
        await websocket.close(code=1008)
        return
    await websocket.send_denial_response(denial(kind))


# --- a mounted app: app-level dependency, exception handler, middleware ------------------------


class Overloaded(Exception):
    """Raised by /surface/app/echo on "overload"; the app's handler closes with HANDLED_CODE."""


async def close_overloaded(websocket: WebSocket, exc: Exception) -> None:
    await websocket.close(code=HANDLED_CODE, reason=HANDLED_REASON)


class MarkScope:
    """Pure ASGI middleware: marks the scope, and adds a header to the accept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def marked_send(message: Message) -> None:
            if message["type"] == "websocket.accept":
                headers = list(message.get("headers") or [])
                added = tuple(part.encode() for part in MIDDLEWARE_HEADER)
                message = {**message, "headers": [*headers, added]}
            await send(message)

        await self.app({**scope, MIDDLEWARE_MARK: "seen"}, receive, marked_send)


class PassThrough(BaseHTTPMiddleware):
    """Documented as HTTP-only: it must leave websocket scopes alone."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return await call_next(request)


# FastAPI types its handlers as HTTP ones; Starlette calls them with the WebSocket (0.21 on).
HANDLERS: dict[Any, Any] = {Overloaded: close_overloaded} if HAS_WEBSOCKET_EXCEPTION else {}
mounted_app = FastAPI(dependencies=[Depends(allowed)], exception_handlers=HANDLERS)
mounted_app.add_middleware(PassThrough)
mounted_app.add_middleware(MarkScope)
handle_websocket_exceptions(mounted_app)


@mounted_app.websocket("/echo")
async def mounted_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        await websocket.send_text(f"middleware: {websocket.scope.get(MIDDLEWARE_MARK)}")
        while True:
            text = await receive_text(websocket)
            if text == "overload":
                raise Overloaded(text)
            await websocket.send_text(PREFIX_REPLY.format(text=text))
    except WebSocketDisconnect:
        return


def install(app: FastAPI) -> None:
    """Add every surface route to `app` (the reference app)."""
    app.include_router(prefixed)
    app.include_router(outer)
    app.include_router(fastapi_routes)
    app.router.routes.append(Mount("/surface/starlette", app=starlette_routes))
    app.mount("/surface/app", mounted_app)
