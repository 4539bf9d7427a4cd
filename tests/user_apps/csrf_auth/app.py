"""Authenticated routes that also require a `csrf_token` query parameter (pyproject.toml beside
it declares their tokens): /feed checks its token before accepting, /late accepts first and
checks after, the accept-before-auth bug a bad token must show."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket, status

app = FastAPI()
TOKEN = "valid-token-for-tests"


def valid_token() -> str:
    return TOKEN


@app.websocket("/feed")
async def feed(websocket: WebSocket, csrf_token: str) -> None:
    if websocket.query_params.get("token") != TOKEN:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    await websocket.send_text(f"feed for {len(csrf_token)}")
    await websocket.close()


@app.websocket("/late")
async def late(websocket: WebSocket, csrf_token: str) -> None:
    await websocket.accept()
    if websocket.query_params.get("token") != TOKEN:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.send_text("late feed")
    await websocket.close()
