"""A correct echo route of a project on Starlette alone (no FastAPI):
tests/test_install_pins.py installs wsconform beside it and runs it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await websocket.send_bytes(message["bytes"])
        else:
            await websocket.send_text(message.get("text") or "")


app = Starlette(routes=[WebSocketRoute("/echo", echo)])
