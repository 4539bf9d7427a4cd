"""A chat whose broker is connected by the app's lifespan: correct, so no finding, unless the
lifespan is skipped (then every message fails on the missing broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect


class Broker:
    def __init__(self) -> None:
        self.connected = False

    async def publish(self, text: str) -> str:
        if not self.connected:
            raise ConnectionError("the broker is not connected")
        return text


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    broker = Broker()
    broker.connected = True
    yield {"broker": broker}
    broker.connected = False


app = FastAPI(lifespan=lifespan)


def failing_startup() -> FastAPI:
    """The same app, with a broker that refuses the connection at startup."""

    @asynccontextmanager
    async def refused(app: FastAPI) -> AsyncIterator[None]:
        raise ConnectionError("the broker refused the connection")
        yield

    failing = FastAPI(lifespan=refused)
    failing.router.routes.extend(app.router.routes)
    return failing


@app.websocket("/chat")
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    broker: Broker = websocket.state.broker
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await websocket.send_text(await broker.publish(message.get("text") or ""))
    except WebSocketDisconnect:
        return
