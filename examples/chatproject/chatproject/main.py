"""Rooms whose messages go through a broker the lifespan connects (as an app connects Redis or
a pool at startup), named with `python-slugify`, the project's own dependency.

The bug wsconform finds here: a binary frame reaches `receive_text`, which raises KeyError
(Starlette's message has no "text"), so the app crashes instead of refusing the frame.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from slugify import slugify


class Broker:
    """Stands in for a pub/sub service: usable only between connect and close."""

    def __init__(self) -> None:
        self.rooms: dict[str, list[WebSocket]] = {}
        self.connected = False

    async def publish(self, room: str, text: str) -> None:
        if not self.connected:
            raise ConnectionError("the broker is not connected")
        for member in list(self.rooms.get(room, [])):
            await member.send_text(text)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    broker = Broker()
    broker.connected = True
    yield {"broker": broker}
    broker.connected = False


app = FastAPI(lifespan=lifespan)


@app.websocket("/rooms/{name}")
async def room(websocket: WebSocket, name: str) -> None:
    broker: Broker = websocket.state.broker
    slug = slugify(name) or "lobby"
    await websocket.accept()
    members = broker.rooms.setdefault(slug, [])
    members.append(websocket)
    try:
        while True:
            text = await websocket.receive_text()
            await broker.publish(slug, f"[{slug}] {text}")
    except WebSocketDisconnect:
        members.remove(websocket)
