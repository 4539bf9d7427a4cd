"""An exception the server's own `send` raises on an open websocket, where ASGI 2.4 asks for an
OSError subclass (gunicorn's ASGI worker lets uvloop's RuntimeError through after a drop), is
the server's: `disconnect.send-after-client-gone` judges it. A correct app that lets it escape
is not charged with a crash of its own by the contracts, the generic checks or a crowd; an
exception the app raises itself, or an OSError it does not catch, still is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from wsconform.conformance.engine.plans import ClientDoes, CrowdPlan, Drop, Join, SendText
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import Accepted, ClientEvent, Closed
from wsconform.conformance.families.contracts import endpoints as contracts
from wsconform.conformance.families.generic.crowd import (
    CrowdObservation,
    Member,
    StepRecord,
    judge_crowd,
)
from wsconform.targets.servers.witness import (
    AppWitness,
    app_exceptions,
    is_server_send_failure,
)


async def sends_after_accept(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")


async def raises_after_accept(websocket: WebSocket) -> None:
    await websocket.accept()
    raise RuntimeError("the app's own bug")


async def sends_after_its_own_close(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()
    await websocket.send({"type": "websocket.send", "text": "late"})


async def closes_with_1011(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close(code=1011)


async def closes_with_1005(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close(code=1005)  # reserved: never on the wire (RFC 6455 7.4.1)


async def sends_nothing(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send({"type": "websocket.send"})  # neither text nor bytes


async def denies(websocket: WebSocket) -> None:
    await websocket.send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    await websocket.send({"type": "websocket.http.response.body", "body": b"no"})


APPS = {
    "sends": sends_after_accept,
    "raises": raises_after_accept,
    "sends-after-close": sends_after_its_own_close,
    "closes-1011": closes_with_1011,
    "closes-1005": closes_with_1005,
    "sends-nothing": sends_nothing,
    "denies": denies,
}


class ClosedTransport(OSError):
    pass


def serve_once(
    route: str,
    refusal: type[Exception],
    refuses: tuple[str, ...] = ("websocket.send", "websocket.close"),
    extensions: dict[str, Any] | None = None,
) -> list[str]:
    """One websocket to `route`, on a server that raises `refusal` for every message of the
    kinds it `refuses` (daphne's autobahn refuses a close 1011 with a plain Exception); the
    witness's reports."""
    app = Starlette(routes=[WebSocketRoute("/ws", APPS[route])])
    witness = AppWitness(app)
    scope: dict[str, Any] = {"type": "websocket", "path": "/ws", "headers": []}
    scope |= {"query_string": b"", "extensions": extensions or {}}
    scope |= {"scheme": "ws", "subprotocols": [], "root_path": "", "asgi": {"version": "3.0"}}

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] in refuses:
            raise refusal("unable to perform operation: the handler is closed")

    runner = LoopRunner()
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever escapes, the witness re-raises
            runner.run(witness(scope, receive, send))
    finally:
        runner.close()
    return witness.errors


DENIAL = ("websocket.http.response.body",)
OFFERS_DENIAL: dict[str, Any] = {"websocket.http.response": {}}


@pytest.mark.parametrize(
    ("route", "refuses", "extensions"),
    [
        ("sends", ("websocket.send",), None),
        ("closes-1011", ("websocket.close",), None),
        # granian offers the denial extension, then refuses the body: "Unsupported ASGI message".
        ("denies", DENIAL, OFFERS_DENIAL),
    ],
)
def test_the_servers_exception_for_a_message_it_had_to_take_is_marked_as_the_servers(
    route: str, refuses: tuple[str, ...], extensions: dict[str, Any] | None
) -> None:
    errors = serve_once(route, RuntimeError, refuses, extensions)
    assert [is_server_send_failure(error) for error in errors] == [True], errors
    assert app_exceptions(errors) == []


SENDS = ("websocket.send",)
BOTH = ("websocket.send", "websocket.close")


@pytest.mark.parametrize(
    ("route", "refusal", "refuses"),
    [
        # The app's own exception: its crash.
        ("raises", RuntimeError, BOTH),
        # The OSError ASGI asks for, which Starlette turns into WebSocketDisconnect: an app
        # that does not catch it has crashed.
        ("sends", ClosedTransport, BOTH),
        # A send after the app's own close (which the server took): its misuse, whatever the
        # server raises.
        ("sends-after-close", RuntimeError, SENDS),
        # Messages no server must take: a code that may not go on the wire, a send of nothing.
        ("closes-1005", RuntimeError, BOTH),
        ("sends-nothing", RuntimeError, BOTH),
        # A denial response on a server that does not offer the extension for it.
        ("denies", RuntimeError, DENIAL),
    ],
)
def test_the_apps_own_exceptions_stay_the_apps(
    route: str, refusal: type[Exception], refuses: tuple[str, ...]
) -> None:
    errors = serve_once(route, refusal, refuses)
    assert [is_server_send_failure(error) for error in errors] == [False], errors
    assert app_exceptions(errors) == errors


class Reports:
    """A transport as far as `contracts.server_errors` reads one."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors

    async def drain_app_errors(self) -> list[str]:
        return self.errors


def test_the_contract_counts_the_apps_crashes_not_the_servers_sends() -> None:
    servers = serve_once("sends", RuntimeError)
    apps = serve_once("raises", RuntimeError)
    runner = LoopRunner()
    try:
        server_only = runner.run(contracts.server_errors(Reports(servers), "x"))  # type: ignore[arg-type]
        both = runner.run(contracts.server_errors(Reports(servers + apps), "x"))  # type: ignore[arg-type]
    finally:
        runner.close()
    assert [j.ok for j in server_only] == [True], server_only
    assert "the server's failed sends" in server_only[0].detail
    assert [j.ok for j in both] == [False], both
    assert both[0].cause == (
        "the app raised RuntimeError at tests/test_server_send_failure.py in raises_after_accept"
    )


def _crowd_where_the_sender_crashed(errors: list[str]) -> tuple[CrowdPlan, CrowdObservation]:
    """Two members of one room; the second drops, then the first speaks and its connection
    ends badly, with `errors` raised meanwhile (its handler relaying to the dead member)."""
    plan = CrowdPlan(
        "/room",
        (("/room", ()),),
        (
            ClientDoes(0, Join(0)),
            ClientDoes(1, Join(0)),
            ClientDoes(1, Drop()),
            ClientDoes(0, SendText("hi")),
        ),
    )
    crashed = Closed(1011, "")
    speaker = Member(0, 0, None, [Accepted(None, ()), crashed])  # type: ignore[arg-type]
    dropped = Member(1, 0, None, [Accepted(None, ())], ended=True, dropped=True)  # type: ignore[arg-type]
    record = StepRecord(3, plan.steps[3], {0: 0}, {0: [crashed]}, errors)
    return plan, CrowdObservation([record], {0: speaker, 1: dropped}, True, [])


def _alone_nothing_fails(plan: CrowdPlan) -> CrowdObservation:
    return CrowdObservation([], {}, True, [])


def test_a_crowd_crash_that_the_servers_send_caused_is_not_the_rooms_collateral_failure() -> None:
    servers = serve_once("sends", RuntimeError)
    apps = serve_once("raises", RuntimeError)
    verdicts = {
        which: {
            j.check_id: j.ok
            for j in judge_crowd(
                *_crowd_where_the_sender_crashed(errors), _alone_nothing_fails
            ).judgements
        }
        for which, errors in (("server's", servers), ("app's", apps))
    }
    assert verdicts["server's"]["generic.crowd.no-collateral-failure"] is True, verdicts
    assert verdicts["app's"]["generic.crowd.no-collateral-failure"] is False, verdicts


ROOM: list[WebSocket] = []


async def member(websocket: WebSocket) -> None:
    """The first member waits in the room; the second relays to it."""
    await websocket.accept()
    if not ROOM:
        ROOM.append(websocket)
        await websocket.receive()  # until the server says it is over
        return
    await ROOM[0].send_text("relayed")


def test_a_relay_to_another_members_websocket_that_the_server_refuses_is_the_servers() -> None:
    """The exception comes from the first member's websocket and escapes from the second
    member's handler, as in a room's broadcast to a dead member on gunicorn."""
    ROOM.clear()
    witness = AppWitness(Starlette(routes=[WebSocketRoute("/room", member)]))
    first_may_end = asyncio.Event()

    def connection(refuses: bool) -> tuple[Any, Any, Any]:
        scope: dict[str, Any] = {"type": "websocket", "path": "/room", "headers": []}
        scope |= {"query_string": b"", "scheme": "ws", "subprotocols": [], "root_path": ""}
        connected = False

        async def receive() -> dict[str, Any]:
            nonlocal connected
            if not connected:
                connected = True
                return {"type": "websocket.connect"}
            await first_may_end.wait()
            return {"type": "websocket.disconnect", "code": 1006}

        async def send(message: dict[str, Any]) -> None:
            if refuses and message["type"] == "websocket.send":
                raise RuntimeError("unable to perform operation: the handler is closed")

        return scope, receive, send

    async def two_members() -> None:
        first = asyncio.ensure_future(witness(*connection(refuses=True)))
        while not ROOM:
            await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            await witness(*connection(refuses=False))
        first_may_end.set()
        await first

    runner = LoopRunner()
    try:
        runner.run(asyncio.wait_for(two_members(), 5))
    finally:
        runner.close()
    assert [is_server_send_failure(error) for error in witness.errors] == [True], witness.errors


def _room_where_a_late_join_ended(errors: list[str]) -> tuple[CrowdPlan, CrowdObservation]:
    """Client 0 joins and is let in, drops; client 1 joins the emptier room and its connection
    ends at once with a close 1011; `errors` are what the app raised at each join."""
    plan = CrowdPlan(
        "/account",
        (("/account", ()),),
        (ClientDoes(0, Join(0)), ClientDoes(0, Drop()), ClientDoes(1, Join(0))),
    )
    welcomed: list[ClientEvent] = [Accepted(None, ())]
    ended: list[ClientEvent] = [Accepted(None, ()), Closed(1011, "")]
    first = Member(0, 0, None, welcomed, ended=True, dropped=True)  # type: ignore[arg-type]
    late = Member(1, 0, None, ended)  # type: ignore[arg-type]
    records = [
        StepRecord(0, plan.steps[0], {}, {0: welcomed}, errors),
        StepRecord(1, plan.steps[1], {0: 0}, {}, []),
        StepRecord(2, plan.steps[2], {}, {1: ended}, errors),
    ]
    return plan, CrowdObservation(records, {0: first, 1: late}, True, [])


def _alone_it_ends(plan: CrowdPlan) -> CrowdObservation:
    """Alone, the late join ends the same way: not another client's doing."""
    alone = Member(1, 0, None, [Accepted(None, ()), Closed(1011, "")])  # type: ignore[arg-type]
    return CrowdObservation([], {1: alone}, True, [])


def test_a_join_the_servers_refusal_ended_is_not_the_room_refusing_a_newcomer() -> None:
    """daphne refuses the route's close 1008 at every join, and closes with 1011 only when its
    once-a-second check sees the crashed app: one join looks let in, the next refused. The
    server's doing, not survivors the room stopped serving; an app's own crash still is."""
    servers = serve_once("closes-1011", RuntimeError, ("websocket.close",))
    apps = serve_once("raises", RuntimeError)
    verdicts = {
        which: {
            j.check_id: j.ok
            for j in judge_crowd(*_room_where_a_late_join_ended(errors), _alone_it_ends).judgements
        }
        for which, errors in (("server's", servers), ("app's", apps))
    }
    assert verdicts["server's"]["generic.crowd.survivors-keep-working"] is True, verdicts
    assert verdicts["app's"]["generic.crowd.survivors-keep-working"] is False, verdicts
