"""Broken implementations of the reference routes, one mistake each, the kind the seeds make or
invite. Each app is the reference app with one route shadowed by a broken one (Starlette matches
routes in order), so `--app tests.broken_apps:<name>` serves it like any user's app.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from wsconform.targets import reference

Endpoint = Callable[[WebSocket], Any]


def shadowing(path: str, endpoint: Endpoint) -> FastAPI:
    app = FastAPI()
    app.add_api_websocket_route(path, endpoint)
    app.router.routes.extend(reference.app.router.routes)
    return app


async def _echo_stripping_whitespace(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = (await websocket.receive_text()).strip()
            await websocket.send_text(f"Message text was: {text}")
    except WebSocketDisconnect:
        return


async def _echo_raising_on_disconnect(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:  # the seeds' loop without `except WebSocketDisconnect`
        await websocket.send_text(f"Message text was: {await websocket.receive_text()}")


async def _echo_raising_after_slow_cleanup(websocket: WebSocket) -> None:
    """Raises well after the client has gone, as an app whose cleanup awaits a broker does:
    the error must still be charged to the connection that caused it."""
    await websocket.accept()
    try:
        while True:  # reads only: its one error is the late one
            await websocket.receive_text()
    except WebSocketDisconnect:
        await asyncio.sleep(SLOW_CLEANUP_S)  # the slow cleanup this target stands for
        raise RuntimeError("cleanup failed after the client left") from None


SLOW_CLEANUP_S = 0.5


async def _welcome_going_away(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(reference.WELCOME)
    await websocket.close(code=1001)


async def _count_off_by_one(websocket: WebSocket) -> None:
    await websocket.accept()
    for _ in range(2):
        await websocket.receive_text()
    await websocket.send_text("Messages received: 3")
    await websocket.close()


async def _json_stringifying(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_json(
                {"type": "response", "original_message": text, "timestamp": "now"}
            )
    except WebSocketDisconnect:
        return


async def _safe_closing_on_bad_json(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            reply = reference.safe_reply(text)
            if reply.get("error") == "Invalid JSON format":
                await websocket.close(code=1003)
                return
            await websocket.send_json(reply)
    except WebSocketDisconnect:
        return


async def _custom_close_always_1000(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    while text not in {"close", "error"}:
        await websocket.send_text(f"Received: {text}")
        text = await websocket.receive_text()
    await websocket.close(code=1000, reason="Client requested close")


async def _moderated_crashing(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(reference.WELCOME)
    while True:
        text = await websocket.receive_text()
        if text == "disconnect":
            await websocket.close(code=1000, reason="Disconnecting...")
            return
        if "bad message" in text:
            raise ValueError("Inappropriate message")  # not a WebSocketException: a 1011 or a drop
        await websocket.send_text("Message received!")


async def _rooms_without_validation(websocket: WebSocket) -> None:
    room, user_id = websocket.query_params.get("room"), websocket.query_params.get("user_id")
    await websocket.accept()
    await websocket.send_text(f"Welcome to room {room}, user {user_id}!")
    try:
        while True:
            await websocket.send_text(f"[{room}] User {user_id}: {await websocket.receive_text()}")
    except WebSocketDisconnect:
        return


class NameKeyedManager:
    """The seeds' manager keyed by user name: a second tab replaces the first."""

    def __init__(self) -> None:
        self.connections: dict[str, WebSocket] = {}

    async def broadcast(self, payload: dict[str, str], *, skip: str | None = None) -> None:
        for name, websocket in list(self.connections.items()):
            if name != skip:
                await websocket.send_json(payload)


name_keyed = NameKeyedManager()


async def _chat_keyed_by_name(websocket: WebSocket) -> None:
    username = websocket.path_params["username"]
    await websocket.accept()
    await name_keyed.broadcast(
        {"sender": "system", "message": f"{username} joined the chat"}, skip=username
    )
    name_keyed.connections[username] = websocket
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_json({"sender": "You", "message": text})
            await name_keyed.broadcast({"sender": username, "message": text}, skip=username)
    except WebSocketDisconnect:
        name_keyed.connections.pop(username, None)
        await name_keyed.broadcast(
            {"sender": "system", "message": f"Client #{username} left the chat"}
        )


class SeedsRoom:
    """The chat room as the seeds write one: members in a dict by number, a broadcast looping
    over it, the handler leaving in `finally`. Correct as it stands (the crowd machine's
    broken rooms below each get one thing wrong); its crash on a binary message (Starlette's
    `receive_text`) is another check's finding, not the room's."""

    leaves_on_crash = True

    def __init__(self) -> None:
        self.members: dict[int, tuple[str, WebSocket]] = {}

    async def join(self, number: int, name: str, websocket: WebSocket) -> None:
        await websocket.accept()
        self.members[number] = (name, websocket)
        await self.broadcast(
            {"sender": "system", "message": f"{name} joined the chat"}, skip=number
        )

    async def leave(self, number: int) -> None:
        gone = self.members.pop(number, None)
        if gone is not None:
            await self.broadcast(
                {"sender": "system", "message": f"Client #{gone[0]} left the chat"}
            )

    async def broadcast(self, payload: dict[str, str], skip: int | None = None) -> None:
        dead = []
        for number, (_, websocket) in list(self.members.items()):
            if number != skip:
                try:
                    await websocket.send_json(payload)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    dead.append(number)
        for number in dead:
            await self.leave(number)

    async def converse(self, websocket: WebSocket) -> None:
        number, name = next(_member_numbers), websocket.path_params["username"]
        await self.join(number, name, websocket)
        try:
            while number in self.members:
                text = await websocket.receive_text()
                await websocket.send_json({"sender": "You", "message": text})
                await self.broadcast({"sender": name, "message": text}, skip=number)
        except WebSocketDisconnect:
            await self.leave(number)
        finally:
            if self.leaves_on_crash:  # a crash leaves too
                await self.leave(number)


_member_numbers = itertools.count()


class DeadMemberStays(SeedsRoom):
    """The seeds' handler: it leaves on WebSocketDisconnect only, so a member whose handler
    crashed stays in the room (until a broadcast finds its socket dead), unannounced."""

    leaves_on_crash = False


class BroadcastStopsAtFirstFailure(SeedsRoom):
    """One dead member ends the broadcast: those after it never hear the message."""

    async def broadcast(self, payload: dict[str, str], skip: int | None = None) -> None:
        for number, (_, websocket) in list(self.members.items()):
            if number != skip:
                try:
                    await websocket.send_json(payload)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    await self.leave(number)
                    return


class DictMutatedDuringBroadcast(SeedsRoom):
    """The broadcast iterates the members' dict itself and deletes a dead member from it
    mid-loop: the next step of the loop raises RuntimeError in the sender's handler."""

    async def broadcast(self, payload: dict[str, str], skip: int | None = None) -> None:
        for number, (_, websocket) in self.members.items():
            if number != skip:
                try:
                    await websocket.send_json(payload)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    del self.members[number]


class NamesakeRemoved(SeedsRoom):
    """Leaving removes the member by name: a second tab with the same name goes too."""

    async def leave(self, number: int) -> None:
        gone = self.members.pop(number, None)
        if gone is not None:
            for other, (name, _) in list(self.members.items()):
                if name == gone[0]:
                    del self.members[other]
            await self.broadcast(
                {"sender": "system", "message": f"Client #{gone[0]} left the chat"}
            )


def chat_in(room: SeedsRoom) -> FastAPI:
    return shadowing("/chatroom/{username}", room.converse)


async def _header_check_with_startswith(websocket: WebSocket) -> None:
    authorization = websocket.headers.get("authorization", "")
    if not authorization.startswith("Bearer wsconform-token"):
        await websocket.close(code=1008)
        return
    await reference.echo_after(websocket, "Welcome!", "Message text was: {text}")


async def _header_auth_accepting_then_closing(websocket: WebSocket) -> None:
    await websocket.accept()
    if reference.bearer_token(websocket.headers.get("authorization")) not in reference.VALID_TOKENS:
        await websocket.close(code=1008)
        return
    await websocket.send_text("Welcome!")
    await websocket.close()


async def _header_scheme_case_sensitive(websocket: WebSocket) -> None:
    authorization = websocket.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme != "Bearer" or token not in reference.VALID_TOKENS:
        await websocket.close(code=1008)
        return
    await reference.echo_after(websocket, "Welcome!", "Message text was: {text}")


echo_strips_whitespace = shadowing("/echo", _echo_stripping_whitespace)
echo_raises_on_disconnect = shadowing("/echo", _echo_raising_on_disconnect)
echo_raises_after_slow_cleanup = shadowing("/echo", _echo_raising_after_slow_cleanup)
welcome_going_away = shadowing("/welcome", _welcome_going_away)
count_off_by_one = shadowing("/count", _count_off_by_one)
json_stringifies = shadowing("/json", _json_stringifying)
safe_closes_on_bad_json = shadowing("/safe", _safe_closing_on_bad_json)
custom_close_always_1000 = shadowing("/custom-close", _custom_close_always_1000)
moderated_crashes = shadowing("/moderated", _moderated_crashing)
rooms_unvalidated = shadowing("/rooms", _rooms_without_validation)
chat_keyed_by_name = shadowing("/chatroom/{username}", _chat_keyed_by_name)
# A broken room keeps dead members from one run to the next: a test empties them between runs.
SEEDS_ROOMS = (
    DeadMemberStays(),
    BroadcastStopsAtFirstFailure(),
    DictMutatedDuringBroadcast(),
    NamesakeRemoved(),
    SeedsRoom(),
)
chat_dead_member_stays, chat_broadcast_stops, chat_dict_mutated, chat_namesake_removed = (
    chat_in(room) for room in SEEDS_ROOMS[:4]
)
# The broken rooms' own correct base: it proves they are caught for their one mistake.
chat_seeds_room = chat_in(SEEDS_ROOMS[4])
header_startswith = shadowing("/secure/header", _header_check_with_startswith)
header_accepts_then_closes = shadowing("/secure/header", _header_auth_accepting_then_closing)
header_scheme_case_sensitive = shadowing("/secure/header", _header_scheme_case_sensitive)
# /secure/router as FastAPI < 0.97 served it: the endpoint without its router's dependency.
router_dependency_skipped = shadowing("/secure/router", reference.secure_router)
