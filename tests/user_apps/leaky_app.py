"""A room whose module-level manager never forgets a member: every connection greets all the
earlier ones, so once one has left, the next greeting fails on its dead socket. Each connection
alone is fine; only state left behind by an earlier example makes it fail."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket

app = FastAPI()
members: list[WebSocket] = []


@app.websocket("/room")
async def room(websocket: WebSocket) -> None:
    await websocket.accept()
    members.append(websocket)  # never removed: the leak
    for member in members:
        await member.send_text("someone joined")
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
