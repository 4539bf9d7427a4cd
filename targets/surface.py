"""Reference routes for the rest of what Starlette and FastAPI let a WebSocket route declare.

`targets/reference.py` holds the endpoints the seeds teach; this module adds one small route (or
family) for each other documented way to declare, guard, deny, handle and end a WebSocket route,
all under `/surface`, so that a framework regression in any of them changes a verdict
(`conformance/families/contracts/surface.py` holds their contracts). Every route is written the way
the framework's
documentation says; where a feature is missing from the installed release, `targets/compat.py`
says so and the contract is `unimplemented` there rather than failed. This module needs Starlette
only (the contracts import its constants in a run without FastAPI); the routers, FastAPI routes
and mounted FastAPI app are declared in `targets/surface_fastapi.py`.

    /surface/prefixed/echo               APIRouter(prefix=...)
    /surface/outer/inner/echo            a router with a prefix inside another
    /surface/starlette/...               a Starlette Mount of WebSocketRoutes: path convertors
                                         (int, float, uuid, path), a WebSocketEndpoint class and
                                         a Mount with a parameter (rooms/{room}/members/{member})
                                         and /values: what the WebSocket object hands the app
    /surface/teams/{team}/members/{m}    include_router with a parameter in its prefix
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
from starlette.websockets import WebSocket, WebSocketDisconnect
from wsconform.conformance.engine.checks import DENIAL_EXTENSION
from wsconform.targets.compat import (
    HAS_DENIAL_RESPONSE,
    HAS_WEBSOCKET_EXCEPTION,
    WebSocketException,
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


async def routing_values(websocket: WebSocket) -> None:
    """What routing handed the route: its path parameters (a Mount's and a prefix's with its
    own), the URL's path and query."""
    url = websocket.url
    await send_and_close(
        websocket,
        {"path_params": dict(websocket.path_params), "path": url.path, "query": url.query},
    )


# The request headers /values reports, by name (a lookup is case-insensitive: Starlette docs,
# 'Requests - Headers').
VALUE_HEADER_NAMES = ("x-wsconform-case", "x-wsconform-dup")


def _address(pair: Any) -> list[Any] | None:
    return None if pair is None else list(pair)


async def framework_values(websocket: WebSocket) -> None:
    """What Starlette's WebSocket object hands the app (client, url host and port, headers,
    query params, subprotocols), beside the raw scope values the server gave, from which the
    contract predicts them."""
    scope = websocket.scope
    url = websocket.url
    await send_and_close(
        websocket,
        {
            "scope": {
                "client": _address(scope.get("client")),
                "server": _address(scope.get("server")),
                "scheme": scope.get("scheme", "ws"),
                "headers": [
                    [name.decode("latin-1"), value.decode("latin-1")]
                    for name, value in scope["headers"]
                ],
                "query_string": scope["query_string"].decode("latin-1"),
            },
            "client": _address(websocket.client),
            "url": {"hostname": url.hostname, "port": url.port},
            "headers": {name: websocket.headers.getlist(name) for name in VALUE_HEADER_NAMES},
            "query_params": websocket.query_params.multi_items(),
            "subprotocols": scope.get("subprotocols"),
        },
    )


starlette_routes = Router(
    routes=[
        WebSocketRoute(f"/{kind}/{{value:{kind}}}", converted)
        for kind in ("int", "float", "uuid", "path")
    ]
    + [
        WebSocketRoute("/endpoint/{key}", EchoEndpoint),
        # A Mount with a parameter, inside the Mount at /surface/starlette.
        Mount("/rooms/{room}", routes=[WebSocketRoute("/members/{member}", routing_values)]),
        WebSocketRoute("/values", framework_values),
    ]
)


# --- refusing before accept -------------------------------------------------------------------


def offers_denial(websocket: WebSocket) -> bool:
    return HAS_DENIAL_RESPONSE and DENIAL_EXTENSION in websocket.scope.get("extensions", {})


async def allowed(websocket: WebSocket) -> None:
    """Lets a connection through only with the allow header; raising here is before accept."""
    if websocket.headers.get(ALLOW_HEADER) != "yes":
        raise WebSocketException(code=REFUSAL_CODE, reason="not allowed")


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
