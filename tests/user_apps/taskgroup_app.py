"""A route that handles each message in a task group: a bad message makes a task raise, and
what escapes the app is an exception group whose only leaf is the ValueError."""

from __future__ import annotations

import anyio
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


async def handle(text: str) -> None:
    if not text.isdigit():
        raise ValueError(f"not a quantity: {text!r}")


@app.websocket("/quantities")
async def quantities(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            async with anyio.create_task_group() as group:
                group.start_soon(handle, text)
            await websocket.send_text("ok")
    except WebSocketDisconnect:
        return
