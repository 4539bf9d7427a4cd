"""An example app to point wsconform at: a small shop with live order tracking, a support desk
mounted as a Starlette sub-app, and an account feed that needs a token.

It is not a reference target: it has the kinds of bugs real apps have, for the suite to find.

    tox -e suite -- --app examples.shop:app --server inmemory,uvicorn-sansio

Known bugs (the generic checks find both):
- `/orders/{order_id}/track` trusts the client to send JSON: any other text (or bytes) raises
  out of the route (`generic.no-unhandled-exception`, and on real servers a close 1011).
- `/account/ws` accepts the connection before it looks at the token, then closes with 1008:
  a bad token gets an open WebSocket first (`generic.auth.rejects-bad-tokens`).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Query, WebSocket, WebSocketDisconnect
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket as StarletteWebSocket

app = FastAPI(title="wsconform example: a small shop")

DEMO_TOKEN = "shop-demo-token-7f3a"


def demo_token() -> str:
    """A valid account token; [tool.wsconform] in examples/pyproject.toml points here."""
    return DEMO_TOKEN


@app.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is None:
            await websocket.close(code=1003)  # text only: bytes are unsupported data
            return
        await websocket.send_text(message["text"])


orders = APIRouter(prefix="/orders")


@orders.websocket("/{order_id}/track")
async def track_order(websocket: WebSocket, order_id: int, currency: str = "EUR") -> None:
    await websocket.accept()
    await websocket.send_json({"order": order_id, "status": "packed", "currency": currency})
    try:
        while True:
            request = await websocket.receive_json()  # BUG: not JSON -> the exception escapes
            express = isinstance(request, dict) and request.get("express") is True
            await websocket.send_json({"order": order_id, "eta_days": 1 if express else 3})
    except WebSocketDisconnect:
        return


app.include_router(orders)


async def support_ticket(websocket: StarletteWebSocket) -> None:
    ticket = websocket.path_params["ticket"]
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        note = message.get("text") or ""
        await websocket.send_text(f"ticket {ticket}: noted ({len(note)} characters)")


support = Starlette(routes=[WebSocketRoute("/tickets/{ticket:int}", support_ticket)])
app.mount("/support", support)


@app.websocket("/account/ws")
async def account_feed(websocket: WebSocket, token: str | None = Query(default=None)) -> None:
    await websocket.accept()  # BUG: accepted before the token is checked
    if token != DEMO_TOKEN:
        await websocket.close(code=1008)
        return
    await websocket.send_json({"balance": 42})
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
