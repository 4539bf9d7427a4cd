"""An authenticated route with a path parameter, declared in [tool.wsconform] by its template
(pyproject.toml beside it)."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket, status

app = FastAPI()
TOKEN = "valid-token-for-tests"


def valid_token() -> str:
    return TOKEN


@app.websocket("/items/{item_id}/ws")
async def item_feed(websocket: WebSocket, item_id: int) -> None:
    if websocket.query_params.get("token") != TOKEN:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    await websocket.send_text(f"item {item_id}")
    await websocket.close()
