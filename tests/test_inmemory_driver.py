"""The in-memory server on its own, against small raw ASGI apps: each rule of the ASGI www spec
it claims to follow, seen from both ends of the connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage
from starlette.websockets import WebSocket
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import Accepted, ClientEvent, Closed, Denied, NoEvent
from wsconform.targets.servers.base import EXPECT_BOUND_S
from wsconform.targets.servers.inmemory import ClientGone, InMemoryConnection, websocket_scope

# How long a test listens to conclude that nothing arrives; the in-memory driver spins the loop
# instead of sleeping, so this only labels the NoEvent.
QUIET_S = 0.1


@contextlib.asynccontextmanager
async def connected_to(
    app: ASGIApp, subprotocols: Sequence[str] = ()
) -> AsyncIterator[InMemoryConnection]:
    connection = InMemoryConnection(app, websocket_scope("/ws", (), subprotocols))
    try:
        yield connection
    finally:
        await connection.release()


async def first_events(app: ASGIApp, count: int) -> list[ClientEvent]:
    async with connected_to(app) as connection:
        return [await connection.next_event() for _ in range(count)]


def test_close_before_accept_denies_with_403(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.close()

    assert loop_runner.run(first_events(app, 1)) == [Denied(status=403)]


def test_accept_delivers_subprotocol_and_headers(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept(subprotocol="chat", headers=[(b"X-Custom", b"yes")])
        await websocket.close()

    async def scenario() -> ClientEvent:
        async with connected_to(app, subprotocols=("superchat", "chat")) as connection:
            return await connection.next_event()

    assert loop_runner.run(scenario()) == Accepted("chat", (("x-custom", "yes"),))


def test_app_raising_after_accept_closes_with_1011(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        raise RuntimeError("app bug")

    assert loop_runner.run(first_events(app, 2)) == [Accepted(None), Closed(code=1011)]


def test_app_returning_after_accept_without_closing_drops_the_connection(
    loop_runner: LoopRunner,
) -> None:
    """As uvicorn does; a clean 1000 would hide the app's bug (hypercorn sends 1011)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()

    assert loop_runner.run(first_events(app, 2)) == [
        Accepted(None),
        Closed(code=1006, close_frame_seen=False),
    ]


def test_app_returning_before_accept_denies_with_500(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.receive()

    assert loop_runner.run(first_events(app, 1)) == [
        Denied(status=500, body=b"Internal Server Error")
    ]


def test_app_raising_before_accept_denies_with_500(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("app bug")

    assert loop_runner.run(first_events(app, 1)) == [
        Denied(status=500, body=b"Internal Server Error")
    ]


def test_denial_response_reaches_the_client_with_status_and_body(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.send_denial_response(PlainTextResponse("go away", status_code=401))

    [denied] = loop_runner.run(first_events(app, 1))
    assert isinstance(denied, Denied)
    assert (denied.status, denied.body) == (401, b"go away")
    assert ("content-type", "text/plain; charset=utf-8") in denied.headers


async def message_after_client_leaves(*, drop: bool) -> AsgiMessage:
    """What an accepted app receives once the client closes without a code, or drops."""
    received: asyncio.Future[AsgiMessage] = asyncio.get_running_loop().create_future()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        received.set_result(await websocket.receive())

    async with connected_to(app) as connection:
        await connection.next_event()
        await (connection.drop() if drop else connection.close(None))
        return await asyncio.wait_for(received, EXPECT_BOUND_S)


def test_client_close_without_a_code_reaches_the_app_as_1005(loop_runner: LoopRunner) -> None:
    message = loop_runner.run(message_after_client_leaves(drop=False))
    assert message == {"type": "websocket.disconnect", "code": 1005, "reason": ""}


def test_client_drop_reaches_the_app_as_1006(loop_runner: LoopRunner) -> None:
    message = loop_runner.run(message_after_client_leaves(drop=True))
    assert message == {"type": "websocket.disconnect", "code": 1006, "reason": ""}


def test_app_send_after_the_client_dropped_raises_an_oserror(loop_runner: LoopRunner) -> None:
    async def scenario() -> BaseException | None:
        raised: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            websocket = WebSocket(scope, receive, send)
            await websocket.accept()
            await websocket.receive()
            # The raw `send`: Starlette's WebSocket would turn the OSError into a disconnect.
            try:
                await send({"type": "websocket.send", "text": "too late"})
            except Exception as exc:
                raised.set_result(exc)
            else:
                raised.set_result(None)

        async with connected_to(app) as connection:
            await connection.next_event()
            await connection.drop()
            return await asyncio.wait_for(raised, EXPECT_BOUND_S)

    error = loop_runner.run(scenario())
    assert (type(error), isinstance(error, OSError)) == (ClientGone, True)


def test_invalid_close_code_raises_and_nothing_reaches_the_client(
    loop_runner: LoopRunner,
) -> None:
    async def scenario() -> tuple[BaseException | None, ClientEvent]:
        raised: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            websocket = WebSocket(scope, receive, send)
            await websocket.accept()
            try:
                await websocket.close(code=401)
            except Exception as exc:
                raised.set_result(exc)
            else:
                raised.set_result(None)
            # Stay connected: returning would close the connection normally.
            await websocket.receive()

        async with connected_to(app) as connection:
            await connection.next_event()
            error = await asyncio.wait_for(raised, EXPECT_BOUND_S)
            return error, await connection.next_event(QUIET_S)

    error, event = loop_runner.run(scenario())
    assert (type(error), event) == (ValueError, NoEvent(after_s=QUIET_S))


def test_next_event_reports_no_event_while_the_app_is_idle(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        await websocket.receive()

    async def scenario() -> list[ClientEvent]:
        async with connected_to(app) as connection:
            return [await connection.next_event(), await connection.next_event(QUIET_S)]

    assert loop_runner.run(scenario()) == [Accepted(None), NoEvent(after_s=QUIET_S)]


def test_release_cancels_an_app_that_never_returns(loop_runner: LoopRunner) -> None:
    async def scenario() -> bool:
        cancelled = asyncio.Event()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            websocket = WebSocket(scope, receive, send)
            await websocket.accept()
            try:
                await asyncio.Event().wait()  # ignores the disconnect on purpose
            except asyncio.CancelledError:
                cancelled.set()
                raise

        async with connected_to(app) as connection:
            await connection.next_event()
        return cancelled.is_set()

    assert loop_runner.run(scenario()) is True


def test_websocket_scope_splits_path_and_query_and_offers_subprotocols() -> None:
    scope = websocket_scope("/room?token=abc", (("X-Token", "t"),), ("chat",))
    assert (
        scope["path"],
        scope["query_string"],
        scope["subprotocols"],
        (b"x-token", b"t") in scope["headers"],
        (b"sec-websocket-protocol", b"chat") in scope["headers"],
    ) == ("/room", b"token=abc", ["chat"], True, True)


def test_a_close_message_without_a_code_closes_with_1000(loop_runner: LoopRunner) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})  # ASGI www: a missing code means 1000

    assert loop_runner.run(first_events(app, 2))[1] == Closed(code=1000)


def test_a_close_code_of_0_is_refused_not_rewritten_to_1000(loop_runner: LoopRunner) -> None:
    raised: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        try:
            await send({"type": "websocket.close", "code": 0})
        except ValueError as exc:
            raised.append(str(exc))

    events = loop_runner.run(first_events(app, 2))
    # The refused close leaves the app returning with the websocket open: a drop, no 1000.
    assert (events[1], raised) == (
        Closed(code=1006, close_frame_seen=False),
        ["close code 0 may not be sent on the wire (RFC 6455 7.4)"],
    )


def test_the_scope_advertises_spec_2_5_and_the_denial_extension() -> None:
    scope = websocket_scope("/ws", (), ())
    assert (scope["asgi"]["spec_version"], sorted(scope["extensions"])) == (
        "2.5",
        ["websocket.http.response"],
    )
