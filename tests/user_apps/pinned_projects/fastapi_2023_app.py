"""A correct echo route as a FastAPI project pinned like 2023 writes it (FastAPI 0.103 on
Starlette 0.27): tests/test_install_pins.py installs wsconform beside those pins and runs it."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/echo")
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
