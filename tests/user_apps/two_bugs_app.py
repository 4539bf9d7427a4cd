"""One route, two distinct bugs: a text that is not JSON crashes the decoder, and a binary
frame crashes `receive_text` (Starlette's KeyError on the missing "text")."""

from __future__ import annotations

import json

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/orders")
async def orders(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            order = json.loads(text)
            await websocket.send_json({"received": order})
    except WebSocketDisconnect:
        return
