"""Receiving on the reference routes, written correctly for every message a client may send."""

from __future__ import annotations

from starlette.websockets import WebSocket, WebSocketDisconnect

# RFC 6455 7.4.1: 1003 is for data of a type the endpoint cannot accept.
UNSUPPORTED_DATA = 1003


async def receive_text(websocket: WebSocket) -> str:
    """The next text message. Starlette's own `receive_text` raises KeyError on a binary one,
    a crash any client can cause; a text-only route closes with 1003 instead, and the
    conversation ends as if the client had left (WebSocketDisconnect)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code") or 1000)
    text = message.get("text")
    if text is None:
        await websocket.close(code=UNSUPPORTED_DATA)
        raise WebSocketDisconnect(UNSUPPORTED_DATA)
    return str(text)
