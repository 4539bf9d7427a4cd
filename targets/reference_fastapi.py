"""The reference routes that need FastAPI: validated query parameters (/rooms), a router-level
dependency (/secure/router) and an OAuth2 password form (/token). `targets/reference.py` adds
them to its app when FastAPI imports; this module never imports it back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Query
from fastapi.security import OAuth2PasswordRequestForm
from starlette.websockets import WebSocket, WebSocketDisconnect
from wsconform.targets.messages import receive_text

Endpoint = Callable[[WebSocket], Awaitable[None]]

# Parameters are declared with defaults rather than `Annotated`, which FastAPI < 0.95 ignores.


async def rooms(websocket: WebSocket, user_id: int, room: str = Query(..., min_length=1)) -> None:
    # FastAPI validates `room` and `user_id` before this runs and closes with 1008 otherwise.
    await websocket.accept()
    try:
        await websocket.send_text(f"Welcome to room {room}, user {user_id}!")
        while True:
            text = await receive_text(websocket)
            await websocket.send_text(f"[{room}] User {user_id}: {text}")
    except WebSocketDisconnect:
        return


def secured_router(verify: Endpoint, endpoint: Endpoint) -> APIRouter:
    """/secure/router, guarded by `verify`. The dependency is declared on the router, not the
    route: FastAPI < 0.97 skipped router- and app-level dependencies for websocket routes, so a
    bad token got in."""
    router = APIRouter(dependencies=[Depends(verify)])
    router.websocket("/secure/router")(endpoint)
    return router


def token_route(
    issue: Callable[[str, str], dict[str, str]],
) -> Callable[..., Awaitable[dict[str, str]]]:
    """POST /token: the seeds' OAuth2 password form, answered by `issue(username, password)`."""

    async def token(form: OAuth2PasswordRequestForm = Depends()) -> dict[str, str]:
        return issue(form.username, form.password)

    return token
