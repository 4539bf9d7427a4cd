"""One route, a chat room written carefully: every member hears every text, whoever leaves
(closing, dropping, sending what the room does not take) leaves the room, and a relay skips a
member that is gone. The cost of `wsconform run` on a one-route app is measured on it."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
ROOMS: dict[str, list[WebSocket]] = {}


@app.websocket("/rooms/{room}")
async def room(websocket: WebSocket, room: str) -> None:
    await websocket.accept()
    members = ROOMS.setdefault(room, [])
    members.append(websocket)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            for member in list(members):
                try:
                    if message.get("text") is not None:
                        await member.send_text(message["text"])
                    else:
                        await member.send_bytes(message.get("bytes") or b"")
                except (WebSocketDisconnect, RuntimeError):
                    members.remove(member)
    finally:
        if websocket in members:
            members.remove(websocket)
