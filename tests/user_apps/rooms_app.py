"""Chat rooms whose bugs only several clients show, each beside its correct twin (the crowd
checks' self-test: each buggy route gives one `generic.crowd.*` finding, its twin none).

Every route: a client joins the room named in the path, each text it sends is relayed to every
member (`{"from": id, "text": ...}`), "quit" makes the server close it, and a text that is not
JSON fails the handler (a `json.loads` the route trusts).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import defaultdict
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_ids = itertools.count(1)


class Members:
    """A room's members in join order, keyed by a number of the room's own."""

    def __init__(self) -> None:
        self.sockets: dict[int, WebSocket] = {}

    def add(self, websocket: WebSocket) -> int:
        number = next(_ids)
        self.sockets[number] = websocket
        return number

    def remove(self, number: int) -> None:
        self.sockets.pop(number, None)


def rooms() -> defaultdict[str, Members]:
    return defaultdict(Members)


async def relay_unguarded(members: Members, text: str) -> None:
    """Each member in turn; the first send that fails raises out of the loop."""
    for websocket in list(members.sockets.values()):
        await websocket.send_text(text)


async def relay_guarded(members: Members, text: str) -> None:
    """Each member in turn; a member whose send fails is skipped and forgotten."""
    for number, websocket in list(members.sockets.items()):
        try:
            await websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            members.remove(number)


def message(number: int, text: str) -> str:
    return json.dumps({"from": number, "text": json.loads(text)})


# --- a quit path that does not leave ----------------------------------------------------------

QUIT_ROOMS = rooms()


async def quit_stays(websocket: WebSocket) -> None:
    await _quit_route(websocket, leaves_on_quit=False)


async def quit_leaves(websocket: WebSocket) -> None:
    await _quit_route(websocket, leaves_on_quit=True)


async def _quit_route(websocket: WebSocket, *, leaves_on_quit: bool) -> None:
    members = QUIT_ROOMS[websocket.path_params["room"] + str(leaves_on_quit)]
    await websocket.accept()
    number = members.add(websocket)
    try:
        while True:
            text = await websocket.receive_text()
            if text == "quit":
                if leaves_on_quit:
                    members.remove(number)
                await websocket.close(1000)
                return
            await relay_unguarded(members, json.dumps({"from": number, "text": text}))
    except WebSocketDisconnect:
        members.remove(number)
    except Exception:
        members.remove(number)  # a crash leaves too: only the quit path is wrong
        raise


# --- a crash that does not leave --------------------------------------------------------------

CRASH_ROOMS = rooms()


async def crash_stays(websocket: WebSocket) -> None:
    members = CRASH_ROOMS["stays" + websocket.path_params["room"]]
    await websocket.accept()
    number = members.add(websocket)
    try:
        while True:
            await relay_unguarded(members, message(number, await websocket.receive_text()))
    except WebSocketDisconnect:
        members.remove(number)


async def crash_leaves(websocket: WebSocket) -> None:
    members = CRASH_ROOMS["leaves" + websocket.path_params["room"]]
    await websocket.accept()
    number = members.add(websocket)
    try:
        while True:
            await relay_unguarded(members, message(number, await websocket.receive_text()))
    except WebSocketDisconnect:
        return
    finally:
        members.remove(number)


# --- a broadcast that stops at the first dead member ------------------------------------------
# Both routes keep a crashed member (its handler never leaves): only the relay differs.

BROADCAST_ROOMS = rooms()


async def broadcast_stops(websocket: WebSocket) -> None:
    await _keeps_the_crashed(websocket, "stops", guarded=False)


async def broadcast_skips(websocket: WebSocket) -> None:
    await _keeps_the_crashed(websocket, "skips", guarded=True)


async def _keeps_the_crashed(websocket: WebSocket, kind: str, *, guarded: bool) -> None:
    members = BROADCAST_ROOMS[kind + websocket.path_params["room"]]
    await websocket.accept()
    number = members.add(websocket)
    try:
        while True:
            text = message(number, await websocket.receive_text())
            if guarded:
                await relay_guarded(members, text)
            else:
                # The whole relay in one try: a dead member ends it for everyone after it.
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await relay_unguarded(members, text)
    except WebSocketDisconnect:
        members.remove(number)


# --- members in a dict, changed while it is iterated ------------------------------------------

DICT_ROOMS = rooms()


async def dict_mutated(websocket: WebSocket) -> None:
    await _dict_route(websocket, "mutated", copies=False)


async def dict_copied(websocket: WebSocket) -> None:
    await _dict_route(websocket, "copied", copies=True)


async def _dict_route(websocket: WebSocket, kind: str, *, copies: bool) -> None:
    members = DICT_ROOMS[kind + websocket.path_params["room"]]
    await websocket.accept()
    number = members.add(websocket)
    try:
        while True:
            text = message(number, await websocket.receive_text())
            sockets = members.sockets
            # A member whose send fails is removed from the very dict being iterated.
            for other, member in list(sockets.items()) if copies else sockets.items():
                try:
                    await member.send_text(text)
                except WebSocketDisconnect:
                    del sockets[other]
    except WebSocketDisconnect:
        members.remove(number)


# --- seats counted on join, given back on one way of leaving only ----------------------------

SEATS = 2
TAKEN: defaultdict[str, int] = defaultdict(int)


async def seats_kept(websocket: WebSocket) -> None:
    await _seated(websocket, "kept", every_leaving=False)


async def seats_freed(websocket: WebSocket) -> None:
    await _seated(websocket, "freed", every_leaving=True)


async def _seated(websocket: WebSocket, kind: str, *, every_leaving: bool) -> None:
    room = kind + websocket.path_params["room"]
    await websocket.accept()
    if TAKEN[room] >= SEATS:
        await websocket.close(1013, "room full")
        return
    TAKEN[room] += 1
    clean = False
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect as leaving:
        clean = leaving.code == 1000
    finally:
        # The bug: only a clean close gives the seat back; a drop or a crash keeps it taken.
        if every_leaving or clean:
            TAKEN[room] -= 1


# --- a leaving that takes the wrong member out: a survivor silently stops hearing -------------
# Both routes relay guarded (a dead member is skipped and forgotten) and leave on every path:
# only which member a leaving removes differs. No error anywhere, only a silence.

POPPED_ROOMS: defaultdict[str, list[WebSocket]] = defaultdict(list)


async def pops_last(websocket: WebSocket) -> None:
    await _popping(websocket, "last", own=False)


async def pops_own(websocket: WebSocket) -> None:
    await _popping(websocket, "own", own=True)


async def _popping(websocket: WebSocket, kind: str, *, own: bool) -> None:
    members = POPPED_ROOMS[kind + websocket.path_params["room"]]
    await websocket.accept()
    members.append(websocket)
    number = next(_ids)
    try:
        while True:
            text = message(number, await websocket.receive_text())
            for member in list(members):
                try:
                    await member.send_text(text)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    members.remove(member)
    except WebSocketDisconnect:
        return
    finally:
        if own and websocket in members:
            members.remove(websocket)
        elif not own and members:
            # The bug: the newest member goes, not the leaving one, whose dead socket the
            # relay forgets later; the newest stays connected and hears nothing more.
            members.pop()


# --- a partner awaited forever -----------------------------------------------------------------

WAITING: list[asyncio.Future[WebSocket]] = []


async def waits_forever(websocket: WebSocket) -> None:
    await _paired(websocket, hears_its_client=False)


async def waits_or_leaves(websocket: WebSocket) -> None:
    await _paired(websocket, hears_its_client=True)


async def _paired(websocket: WebSocket, *, hears_its_client: bool) -> None:
    """The first client waits for a second; the pair then hear each other once."""
    await websocket.accept()
    if WAITING:
        partner = WAITING.pop(0)
        partner.set_result(websocket)
        await websocket.send_text("paired")
    else:
        found: asyncio.Future[WebSocket] = asyncio.get_running_loop().create_future()
        WAITING.append(found)
        if hears_its_client:
            # Wait for a partner, listening meanwhile for this client's own leaving.
            while not found.done():
                heard: asyncio.Future[Any] = asyncio.ensure_future(websocket.receive())
                await asyncio.wait([found, heard], return_when=asyncio.FIRST_COMPLETED)
                if not heard.done():
                    heard.cancel()
                elif heard.result()["type"] == "websocket.disconnect":
                    WAITING.remove(found)
                    return
        else:
            await found
        await websocket.send_text("paired")
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        WebSocketRoute("/quit-stays/{room}", quit_stays),
        WebSocketRoute("/quit-leaves/{room}", quit_leaves),
        WebSocketRoute("/crash-stays/{room}", crash_stays),
        WebSocketRoute("/crash-leaves/{room}", crash_leaves),
        WebSocketRoute("/broadcast-stops/{room}", broadcast_stops),
        WebSocketRoute("/broadcast-skips/{room}", broadcast_skips),
        WebSocketRoute("/dict-mutated/{room}", dict_mutated),
        WebSocketRoute("/dict-copied/{room}", dict_copied),
        WebSocketRoute("/seats-kept/{room}", seats_kept),
        WebSocketRoute("/seats-freed/{room}", seats_freed),
        WebSocketRoute("/pops-last/{room}", pops_last),
        WebSocketRoute("/pops-own/{room}", pops_own),
        WebSocketRoute("/waits-forever", waits_forever),
        WebSocketRoute("/waits-or-leaves", waits_or_leaves),
    ]
)
