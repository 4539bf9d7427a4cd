"""A correct FastAPI app whose route waits 20 ms in a sync dependency before accepting (a DB, a
file or a JWKS read): FastAPI runs it on a worker thread. A server that gives up on the
handshake before the thread is done reports a crash that is not there."""

from __future__ import annotations

import time

from fastapi import Depends, FastAPI, WebSocket

app = FastAPI()

# How long the dependency holds its worker thread: a quick database read.
LOOKUP_S = 0.02


def lookup_room() -> str:
    time.sleep(LOOKUP_S)
    return "lobby"


@app.websocket("/rooms/ws")
async def room(websocket: WebSocket, room: str = Depends(lookup_room)) -> None:
    await websocket.accept()
    while True:
        # Text or bytes, each echoed as it came: `receive_text` would raise on bytes.
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(f"{room}: {message['text']}")
        else:
            await websocket.send_bytes(message.get("bytes") or b"")
