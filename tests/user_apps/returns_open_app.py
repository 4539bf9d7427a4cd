"""A Starlette app with a route that returns after accepting without closing: its clients see
a close on one server and a dropped connection on another."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket


async def greet(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    # The bug: no `await websocket.close()` before returning.


app = Starlette(routes=[WebSocketRoute("/greet/ws", greet)])
