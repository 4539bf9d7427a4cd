"""A JSON command handler that guards against binary frames, text that is not JSON and JSON
that is not an object, but reads `message["action"]` as if every object had it: `{}` crashes it."""

from __future__ import annotations

import json

from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/commands")
async def commands(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            return
        try:
            message = json.loads(event.get("text") or "")
        except ValueError:
            await websocket.send_json({"error": "send a JSON text"})
            continue
        if not isinstance(message, dict):
            await websocket.send_json({"error": "send a JSON object"})
            continue
        if message["action"] == "join":
            await websocket.send_json({"joined": message.get("room", "lobby")})
        elif message["action"] == "leave":
            await websocket.send_json({"left": True})
