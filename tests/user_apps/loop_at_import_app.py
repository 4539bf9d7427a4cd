"""An app that needs a running event loop at import: it starts a background task at module
level, which `uvicorn loop_at_import_app:app` allows (uvicorn imports the app inside its loop)."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

heartbeats: list[int] = []


async def heartbeat() -> None:
    heartbeats.append(1)


background = asyncio.get_running_loop().create_task(heartbeat())


async def echo(websocket: WebSocket) -> None:
    """Echoes every text, and as many `beat`s as the import-time task has run."""
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        await websocket.send_text(message.get("text") or "beat" * len(heartbeats))


app = Starlette(routes=[WebSocketRoute("/echo", echo)])
