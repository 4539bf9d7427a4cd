"""A bare ASGI echo app: what `/echo` of the reference app does, without Starlette or FastAPI.

Benchmarks serve it beside the reference app on every server, so the difference between the
two is the framework's cost and what is left is the server's. It answers every path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from wsconform.targets.servers.witness import answer_lifespan_without_app

# The reference app's `/echo` reply; the load generator checks each reply against it.
ECHO_PREFIX = "Message text was: "

Message = MutableMapping[str, Any]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        # Nothing to start or stop, but servers that run lifespan want each step answered.
        await answer_lifespan_without_app(receive, send)
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            # Only text is echoed; bytes are refused as unsupported data (RFC 6455 7.4.1).
            await send({"type": "websocket.close", "code": 1003})
            return
        await send({"type": "websocket.send", "text": ECHO_PREFIX + text})
