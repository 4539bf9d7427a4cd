"""The puppet target: a websocket route whose server-side steps the running test dictates.

`/puppet/{session}` runs one lifecycle. Each step the test submits (accept, send, receive, close,
raise, return, deny) is executed through Starlette's `WebSocket`, exactly as an app would, and its
outcome is recorded together with every ASGI message that crossed the app boundary.

Servers that run the app in another process are driven over HTTP control routes on the same app
(`/_puppet/...`); they run on the server's own event loop, next to the websocket handler. In-process
transports (in-memory, TestClient) use `DirectControl`, which talks to the same registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message as AsgiMessage
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from wsconform.conformance.engine.checks import DENIAL_EXTENSION
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Advertised,
    Close,
    RaiseError,
    RaiseWebSocketException,
    RawReceive,
    RawSend,
    ReceiveBytes,
    ReceiveJson,
    ReceiveText,
    Return,
    SendBytes,
    SendDenialResponse,
    SendJson,
    SendText,
    ServerRecord,
    ServerStep,
    StepOutcome,
    jsonable,
    outcome_to_json,
    record_to_json,
    step_from_json,
)
from wsconform.targets import compat
from wsconform.targets.raw_routes import (
    REFUSAL_ROUTE,
    SCOPE_ECHO_ROUTE,
    WIRE_ECHO_ROUTE,
    Refusal,
    ScopeEcho,
    WireEcho,
)

T = TypeVar("T")

# A puppet never waits longer than this for its next instruction or for a client message, so a
# test that lost track of a session cannot leave a handler (and its server) hanging.
PUPPET_STEP_BOUND_S = 10.0
# How a session the watchdog ended says so in its record (`ServerRecord.ended`).
IDLE_TIMEOUT = "idle-timeout"

# Longest a control request waits for a step's outcome; the test asks again if it needs to.
CONTROL_WAIT_LIMIT_S = 5.0


# How a wait for a client message is bounded in time (`PuppetSession.within_bound`).
Bounded = Callable[[Awaitable[Any]], Awaitable[Any]]

# The outcome of most steps (an accept, a send, a close), built once: it is immutable, and
# building a frozen dataclass per step is a good part of an in-memory step's cost.
RETURNED_NOTHING = StepOutcome()
# Steps that end the handler, and the raw-ASGI ones, as tuples: `isinstance` with `A | B`
# builds the union anew at every step.
_ENDING_STEPS = (Return, RaiseError, RaiseWebSocketException)
_RAW_STEPS = (RawSend, RawReceive)
_RECEIVES = (ReceiveText, ReceiveBytes, ReceiveJson)


class Unsupported(Exception):
    """The installed Starlette or server lacks what a step needs; checks grade `unimplemented`."""


class PuppetError(Exception):
    """The exception the puppet raises when told to fail (the `RaiseError` step)."""


# Tasks suspended on something only the test can give them: the next instruction here, the
# client's next message in the in-memory server. Such a task cannot make progress on its own,
# which is how the in-memory server tells silence from an app still at work (on a worker thread,
# on a timer) without waiting for it.
WAITING_FOR_THE_TEST: set[asyncio.Task[Any]] = set()


class StepFuture:
    """One step's outcome, which any thread or event loop can wait for.

    A `concurrent.futures.Future` would do, but its Condition costs more to build and to
    settle than a whole in-memory step; the in-memory driver polls `done()` on its own loop,
    and the others `await wait(bound)`, woken through their loop's `call_soon_threadsafe`.
    """

    __slots__ = ("_lock", "_outcome", "_wakers")

    def __init__(self) -> None:
        self._outcome: StepOutcome | None = None
        self._lock = threading.Lock()
        self._wakers: list[Callable[[], None]] = []

    def done(self) -> bool:
        return self._outcome is not None

    def result(self) -> StepOutcome:
        if self._outcome is None:
            raise RuntimeError("the step has no outcome yet")
        return self._outcome

    def set_result(self, outcome: StepOutcome) -> None:
        with self._lock:
            self._outcome = outcome
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            wake()

    async def wait(self, bound: float) -> bool:
        """Wait up to `bound` seconds for the outcome; True once there is one."""
        if self._outcome is not None:
            return True
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
                loop.call_soon_threadsafe(_settle, woken)

        with self._lock:
            if self._outcome is not None:
                return True
            self._wakers.append(wake)
        await asyncio.wait({woken}, timeout=bound)
        return self._outcome is not None


def _settle(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


class PuppetSession:
    """One websocket lifecycle: the queue of instructions and the record of what happened.

    The test side may live on another thread or event loop (TestClient runs the app in a portal
    thread), so instructions cross over with `call_soon_threadsafe` and outcomes come back as
    `StepFuture`s, which any thread or loop can wait on.
    """

    def __init__(self) -> None:
        self.record = ServerRecord()
        self._lock = threading.Lock()
        self._pending: list[tuple[int, ServerStep]] = []
        self._outcomes: list[StepFuture] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # What the handler awaits while it waits for an instruction; `submit` completes it.
        self._instruction_waiter: asyncio.Future[None] | None = None
        # One long-lived watchdog bounds every wait of the handler (the next instruction, a
        # client message) instead of a timer per wait: moving its deadline is a float
        # assignment, which keeps the in-memory driver's steps cheap.
        self._watchdog: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._idle = False
        # The handler's task while it waits for a client message, which the watchdog cancels
        # when the bound passes.
        self._receiving: asyncio.Task[Any] | None = None
        self._receive_expired = False

    def submit(self, step: ServerStep) -> int:
        future = StepFuture()
        with self._lock:
            index = len(self._outcomes)
            self._outcomes.append(future)
            if self.record.ended is not None:
                gone = StepOutcome(
                    exc_type="AppGone", exc_message=f"the app has {self.record.ended}"
                )
                self.record.steps.append((step, gone))
                future.set_result(gone)
                return index
            self.record.steps.append((step, None))
            self._pending.append((index, step))
            if self._loop is not None and not self._loop.is_closed():
                # (asyncio's getter that answers None rather than raising: asked at every step.)
                if asyncio.events._get_running_loop() is self._loop:
                    self._wake()  # same thread: no need to wake the loop's selector
                else:
                    self._loop.call_soon_threadsafe(self._wake)
        return index

    def _wake(self) -> None:
        waiter = self._instruction_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def outcome_future(self, index: int) -> StepFuture:
        # Without the lock: the list only grows, and reading an item of it is atomic.
        if not 0 <= index < len(self._outcomes):
            raise KeyError(f"no step {index} in this session")
        return self._outcomes[index]

    def snapshot(self) -> ServerRecord:
        """A copy safe to read while the session goes on (steps and outcomes are immutable)."""
        with self._lock:
            return ServerRecord(
                steps=list(self.record.steps),
                asgi=[(direction, dict(message)) for direction, message in self.record.asgi],
                ended=self.record.ended,
                advertised=self.record.advertised,
            )

    def note_scope(self, scope: Scope) -> None:
        """Keep what the server advertises about itself in the scope of this connection."""
        with self._lock:
            self.record.advertised = Advertised.from_scope(scope)

    def log_asgi(self, direction: str, message: AsgiMessage) -> None:
        with self._lock:
            self.record.asgi.append((direction, dict(message)))

    def _finish(self, index: int, outcome: StepOutcome) -> None:
        with self._lock:
            step, _ = self.record.steps[index]
            self.record.steps[index] = (step, outcome)
            future = self._outcomes[index]
        future.set_result(outcome)

    def end(self, how: str) -> None:
        with self._lock:
            if self.record.ended is None:
                self.record.ended = how

    async def next_instruction(self) -> tuple[int, ServerStep] | None:
        """The next step, or None when none came within PUPPET_STEP_BOUND_S."""
        loop = self._loop
        if loop is None:
            with self._lock:
                loop = self._loop = asyncio.get_running_loop()
        self._arm_watchdog(loop)
        self._idle = False
        while True:
            with self._lock:
                if self._pending:
                    return self._pending.pop(0)
                if self._idle:
                    return None
                waiter = self._instruction_waiter = loop.create_future()
            task = asyncio.current_task()
            assert task is not None  # a coroutine runs in a task
            WAITING_FOR_THE_TEST.add(task)
            try:
                await waiter
            finally:
                WAITING_FOR_THE_TEST.discard(task)

    async def within_bound(self, receive: Awaitable[T]) -> T:
        """`receive` (a wait for a client message), ended with TimeoutError once
        PUPPET_STEP_BOUND_S has passed."""
        task = asyncio.current_task()
        assert task is not None and self._loop is not None  # the handler asked for a step
        self._arm_watchdog(self._loop)
        self._receiving = task
        try:
            return await receive
        except asyncio.CancelledError:
            if not self._receive_expired:
                raise
            self._receive_expired = False
            # Cancelled by someone else as well (the server stopping the app): theirs wins.
            if sys.version_info >= (3, 11) and task.uncancel() > 0:
                raise
            raise TimeoutError from None
        finally:
            self._receiving = None

    def _arm_watchdog(self, loop: asyncio.AbstractEventLoop) -> None:
        self._deadline = loop.time() + PUPPET_STEP_BOUND_S
        if self._watchdog is None:
            self._watchdog = loop.call_at(self._deadline, self._watch)

    def _watch(self) -> None:
        """Past the deadline, a wait for a client message ends in TimeoutError, and a wait for
        the next instruction ends the session (idle)."""
        assert self._loop is not None
        if self._loop.time() < self._deadline:
            self._watchdog = self._loop.call_at(self._deadline, self._watch)
            return
        self._watchdog = None
        if self._receiving is not None:
            self._receive_expired = True
            self._receiving.cancel()
            return
        self._idle = True
        self._wake()

    async def run(self, websocket: WebSocket, raw: RawChannel | None = None) -> None:
        """Execute the test's steps until it says return or raise; `raw` carries the raw-ASGI
        steps (the server's own receive and send, recorded)."""
        try:
            while True:
                instruction = await self.next_instruction()
                if instruction is None:
                    self.end(IDLE_TIMEOUT)
                    return
                index, step = instruction
                if isinstance(step, _ENDING_STEPS):
                    if self._end_with(index, step):
                        return
                    continue
                try:
                    if isinstance(step, _RAW_STEPS):
                        if raw is None:
                            raise Unsupported("this route has no raw ASGI channel")
                        value = await raw.execute(step, self.within_bound)
                    else:
                        value = await execute_step(websocket, step, self.within_bound)
                except Exception as exc:  # the outcome is the observation, whatever it is
                    self._finish(index, StepOutcome.from_exception(exc))
                    if isinstance(step, RawSend) and step.escapes:
                        self.end(f"let {type(exc).__name__} from send escape")
                        raise
                else:
                    if value is None:
                        done = RETURNED_NOTHING
                    elif isinstance(value, StepOutcome):
                        done = value
                    else:
                        done = StepOutcome(value=value)
                    self._finish(index, done)
        except asyncio.CancelledError:
            self.end("cancelled by the server")
            raise
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()

    def _end_with(self, index: int, step: Return | RaiseError | RaiseWebSocketException) -> bool:
        """Return (True) or raise as `step` says; False, with the step's outcome recorded, when
        the installed release cannot."""
        if isinstance(step, Return):
            self._finish(index, RETURNED_NOTHING)
            self.end("returned")
            return True
        if isinstance(step, RaiseError):
            self._finish(index, StepOutcome(value="raising"))
            self.end("raised PuppetError")
            raise PuppetError(step.message)
        # The stand-in of older releases is not Starlette's: nothing would close.
        if not compat.HAS_WEBSOCKET_EXCEPTION:
            missing = Unsupported("WebSocketException needs Starlette >= 0.21")
            self._finish(index, StepOutcome.from_exception(missing))
            return False
        self._finish(index, StepOutcome(value="raising"))
        self.end("raised WebSocketException")
        raise compat.WebSocketException(code=step.code, reason=step.reason or None)


class RawChannel:
    """The server's receive and send with nothing between them and the test: raw steps reach
    the server exactly as written, whatever Starlette would have refused or filled in."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send

    async def execute(self, step: RawSend | RawReceive, bounded: Bounded) -> Any:
        if isinstance(step, RawSend):
            await self._send(dict(step.message))
            return None
        # Bounded like every puppet wait: a receive the server never answers is an outcome
        # (TimeoutError), not a handler left hanging.
        message = await bounded(self._receive())
        return jsonable(message)


async def execute_step(websocket: WebSocket, step: ServerStep, bounded: Bounded) -> Any:
    """Perform one instruction through Starlette's public WebSocket API; `bounded` bounds a
    wait for a client message. A part of it the installed release lacks (accept headers, a
    close reason) is left out and reported, so the rest of the lifecycle is still exercised."""
    if isinstance(step, Accept):
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in step.headers
        ]
        if not headers:
            await websocket.accept(subprotocol=step.subprotocol)
            return None
        if not compat.ACCEPT_TAKES_HEADERS:
            await websocket.accept(subprotocol=step.subprotocol)
            return StepOutcome.partly_unsupported("accept(headers=...) needs Starlette >= 0.18")
        advertised = Advertised.from_scope(websocket.scope)
        if not advertised.at_least("2.1"):
            # ASGI www 'Spec Versions': accept headers sent to a 2.0 server are an error.
            await websocket.accept(subprotocol=step.subprotocol)
            return StepOutcome.partly_unsupported(
                f"the server advertises ASGI spec {advertised.spec_version}; accept headers "
                "need 2.1"
            )
        await websocket.accept(subprotocol=step.subprotocol, headers=headers)
        return None
    if isinstance(step, SendText):
        await websocket.send_text(step.data)
        return None
    if isinstance(step, SendBytes):
        await websocket.send_bytes(step.data)
        return None
    if isinstance(step, SendJson):
        await websocket.send_json(step.data)
        return None
    if isinstance(step, _RECEIVES):
        return await bounded(_receive(websocket, step))
    if isinstance(step, Close):
        if not step.reason:
            await websocket.close(code=step.code)
            return None
        if not compat.CLOSE_TAKES_REASON:
            await websocket.close(code=step.code)
            return StepOutcome.partly_unsupported("close(reason=...) needs Starlette >= 0.18")
        await websocket.close(code=step.code, reason=step.reason)
        return None
    if isinstance(step, SendDenialResponse):
        return await _send_denial(websocket, step)
    raise TypeError(f"the puppet cannot execute {step!r} here")


async def _receive(websocket: WebSocket, step: ReceiveText | ReceiveBytes | ReceiveJson) -> Any:
    if isinstance(step, ReceiveText):
        return await websocket.receive_text()
    if isinstance(step, ReceiveBytes):
        return await websocket.receive_bytes()
    return await websocket.receive_json()


async def _send_denial(websocket: WebSocket, step: SendDenialResponse) -> None:
    response = Response(content=step.body, status_code=step.status, media_type="text/plain")
    if not hasattr(websocket, "send_denial_response"):
        raise Unsupported("WebSocket.send_denial_response needs Starlette >= 0.37")
    if DENIAL_EXTENSION not in websocket.scope.get("extensions", {}):
        raise Unsupported("the server does not offer the websocket.http.response extension")
    await websocket.send_denial_response(response)


class PuppetRegistry:
    """Sessions by id, shared by the websocket route and both kinds of control."""

    def __init__(self) -> None:
        self._sessions: dict[str, PuppetSession] = {}
        self._lock = threading.Lock()

    def session(self, session_id: str) -> PuppetSession:
        # Every step looks its session up twice: a session that exists is read without the
        # lock (a dict read is atomic), which only guards creating one.
        session = self._sessions.get(session_id)
        if session is not None:
            return session
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = PuppetSession()
            return session

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


class PuppetEndpoint:
    """Raw ASGI endpoint so that every message is recorded before Starlette's WebSocket sees it."""

    def __init__(
        self, registry: PuppetRegistry, websocket_class: type[WebSocket] = WebSocket
    ) -> None:
        self.registry = registry
        self.websocket_class = websocket_class

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self.registry.session(scope["path_params"]["session_id"])
        session.note_scope(scope)

        async def recording_receive() -> AsgiMessage:
            message = await receive()
            session.log_asgi("receive", message)
            return message

        async def recording_send(message: AsgiMessage) -> None:
            session.log_asgi("send", message)
            await send(message)

        await session.run(
            self.websocket_class(scope, recording_receive, recording_send),
            RawChannel(recording_receive, recording_send),
        )


def build_puppet_app(
    registry: PuppetRegistry | None = None,
    websocket_class: type[WebSocket] = WebSocket,
    exception_handlers: dict[Any, Any] | None = None,
) -> Starlette:
    """The puppet app; the self-tests swap in a broken `websocket_class` or exception handler
    to prove each check catches what it claims to."""
    registry = registry or PuppetRegistry()

    async def submit(request: Request) -> Response:
        try:
            step = step_from_json(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        index = registry.session(request.path_params["session_id"]).submit(step)
        return JSONResponse({"index": index})

    async def outcome(request: Request) -> Response:
        session = registry.session(request.path_params["session_id"])
        wait = min(float(request.query_params.get("wait", "0")), CONTROL_WAIT_LIMIT_S)
        try:
            future = session.outcome_future(int(request.path_params["index"]))
        except KeyError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        if not await future.wait(wait):
            return JSONResponse({"done": False})
        return JSONResponse({"done": True, "outcome": outcome_to_json(future.result())})

    async def record(request: Request) -> Response:
        snapshot = registry.session(request.path_params["session_id"]).snapshot()
        return JSONResponse(record_to_json(snapshot))

    async def forget(request: Request) -> Response:
        registry.forget(request.path_params["session_id"])
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            WebSocketRoute("/puppet/{session_id}", PuppetEndpoint(registry, websocket_class)),
            WebSocketRoute(SCOPE_ECHO_ROUTE + "/{rest:path}", ScopeEcho()),
            WebSocketRoute(WIRE_ECHO_ROUTE, WireEcho()),
            WebSocketRoute(REFUSAL_ROUTE + "/{how}", Refusal()),
            Route("/_puppet/health", health),
            Route("/_puppet/{session_id}/steps", submit, methods=["POST"]),
            Route("/_puppet/{session_id}/steps/{index:int}", outcome),
            Route("/_puppet/{session_id}/record", record),
            Route("/_puppet/{session_id}", forget, methods=["DELETE"]),
        ],
        exception_handlers=exception_handlers,
    )
    app.state.puppet_registry = registry
    return app


def find_registry(app: Any) -> PuppetRegistry | None:
    """The registry of a puppet app built by `build_puppet_app`; None for any other app."""
    registry = getattr(getattr(app, "state", None), "puppet_registry", None)
    return registry if isinstance(registry, PuppetRegistry) else None


# The import string servers load in their own process (`targets.puppet:app`).
app = build_puppet_app()
