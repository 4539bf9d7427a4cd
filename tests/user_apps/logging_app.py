"""An app whose logging module-level code configures: a file handler added at import, as many
projects do in their `main.py`. Each connection logs one line with an ID of its own, so a
handler added twice shows as that line written twice."""

from __future__ import annotations

import logging
import uuid

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

LOG_FILE = "app.log"

logger = logging.getLogger("logging_app")
logger.setLevel(logging.INFO)
logger.addHandler(logging.FileHandler(LOG_FILE))


async def feed(websocket: WebSocket) -> None:
    logger.info("connection %s", uuid.uuid4())
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


app = Starlette(routes=[WebSocketRoute("/feed", feed)])
