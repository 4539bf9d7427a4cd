"""Routes with one generic bug each, for `tests/test_generic_checks.py`, and the broken
in-memory servers some checks need (a correct server never lets those bugs reach the wire)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, WebSocketRoute
from starlette.types import Message as AsgiMessage
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from wsconform.conformance.engine.vocabulary import Message
from wsconform.targets.servers.inmemory import InMemoryConnection

GOOD_TOKEN = "good-token"


async def correct(websocket: WebSocket) -> None:
    """What every route below gets wrong, done right: text echoed, bytes refused with 1003."""
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is None:
                await websocket.close(1003)
                return
            await websocket.send_text(message["text"])
    except WebSocketDisconnect:
        return


async def crashes_on_bytes(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())  # KeyError on bytes
    except WebSocketDisconnect:
        return


async def closes_1011_on_input(websocket: WebSocket) -> None:
    """Never raises, but answers any message with "internal error"."""
    await websocket.accept()
    try:
        await websocket.receive()
        await websocket.close(1011)
    except WebSocketDisconnect:
        return


async def closes_with_401(websocket: WebSocket) -> None:
    """An HTTP status as a close code, the seeds' classic."""
    await websocket.accept()
    try:
        await websocket.receive()
        await websocket.close(401)
    except WebSocketDisconnect:
        return


async def greets_then_refuses(scope: Scope, receive: Receive, send: Send) -> None:
    """Raw ASGI (Starlette's WebSocket would stop it): sends before accepting, then refuses.
    Only a broken server lets the text through."""
    await receive()
    await send({"type": "websocket.send", "text": "hello"})
    await send({"type": "websocket.close", "code": 1008})


async def accepts_then_checks(websocket: WebSocket) -> None:
    await websocket.accept()
    if websocket.query_params.get("token") != GOOD_TOKEN:
        await websocket.close(1008)
        return
    await websocket.close(1000)


async def checks_then_accepts(websocket: WebSocket) -> None:
    if websocket.query_params.get("token") != GOOD_TOKEN:
        await websocket.close(1008)
        return
    await websocket.accept()
    await websocket.close(1000)


async def refuses_everyone(websocket: WebSocket) -> None:
    await websocket.close(1008)


def good_token() -> str:
    return GOOD_TOKEN


app = Starlette(
    routes=[
        WebSocketRoute("/correct/{n:int}", correct),
        WebSocketRoute("/crashes-on-bytes", crashes_on_bytes),
        WebSocketRoute("/closes-1011", closes_1011_on_input),
        WebSocketRoute("/closes-401", closes_with_401),
        Mount("/greets-then-refuses", app=greets_then_refuses),
        WebSocketRoute("/accepts-then-checks", accepts_then_checks),
        WebSocketRoute("/checks-then-accepts", checks_then_accepts),
        WebSocketRoute("/refuses-everyone", refuses_everyone),
    ]
)


class DeliversDataBeforeAccept(InMemoryConnection):
    """A server that passes a send before accept on to the client instead of failing it."""

    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.send":
            self.events.put_nowait(Message(message.get("text") or message.get("bytes") or ""))
        else:
            super()._send_during_handshake(kind, message)
