"""Deliberately broken apps the load generator must refuse to score (served by a real uvicorn)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _accept(scope: dict[str, Any], receive: Receive, send: Send) -> bool:
    if scope["type"] != "websocket":
        return False
    await receive()
    await send({"type": "websocket.accept"})
    return True


async def truncating_echo(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Fast because it cuts every reply to 16 characters."""
    if not await _accept(scope, receive, send):
        return
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": f"Message text was: {message['text']}"[:16]})


async def crashes_after_accept(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Raises once accepted; uvicorn then drops the connection without a close frame."""
    if await _accept(scope, receive, send):
        raise RuntimeError("deliberately broken")


async def silent_chatroom(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Accepts every member and never broadcasts: a fan-out that delivers nothing."""
    if not await _accept(scope, receive, send):
        return
    while (await receive())["type"] == "websocket.receive":
        pass
