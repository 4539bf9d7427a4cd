"""`inmemory`: our own ASGI websocket server, reduced to two queues on one event loop.

No sockets, no threads, no portal: the app runs as a task on the test's own loop, so a lifecycle
session costs microseconds and is fully deterministic. It still obeys the ASGI www spec (2.5,
the version it advertises) as a real server must: HTTP 403 for a close before accept, HTTP 500
when the app ends before accepting, close 1011 when it raises after accepting, a drop (1006)
when it returns after accepting without closing (as uvicorn does), 1005 for a client close
without a code, 1006 for a drop, and an `OSError` subclass for a send to a client that is gone.

Every wait is bounded in time, with the real servers' bounds: the app may be waiting on a worker
thread (a sync FastAPI dependency) or a timer, which the loop cannot see. Only when every app is
suspended on the test itself (the client's next message, the puppet's next instruction) is
silence proven at once, without the clock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import weakref
from collections.abc import Callable, Collection, Coroutine, Iterator, Sequence
from enum import Enum
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.types import ASGIApp
from starlette.types import Message as AsgiMessage
from wsconform.conformance.engine.checks import DENIAL_EXTENSION
from wsconform.conformance.engine.rfc6455 import MAX_CLOSE_REASON_BYTES, is_valid_wire_close_code
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    Closed,
    Denied,
    Headers,
    Message,
    NoEvent,
    Visibility,
    decode_headers,
    subprotocols_offered,
)
from wsconform.targets.puppet import WAITING_FOR_THE_TEST, PuppetRegistry
from wsconform.targets.servers.base import (
    EXPECT_BOUND_S,
    MAX_MESSAGE_BYTES,
    QUIET_BOUND_S,
    AnyFuture,
    AppStartupFailed,
    ClientConnection,
    DirectControl,
    HttpReply,
    Transport,
    TransportSpec,
    Waiter,
    control_for,
)
from wsconform.targets.servers.witness import describe_exception

# How many times the loop may run other ready callbacks before the clock is consulted. Every hop
# inside one lifecycle step takes a handful of iterations, so an app that answers at once is
# seen without a timer; past this, the wait is bounded in time, never in turns.
SPIN_LIMIT = 200
# How often an app still at work is looked at again: what it waits on (a worker thread, a timer)
# signals nothing this loop can await, so its progress is polled, until the bound.
POLL_S = 0.001


class ClientGone(OSError):
    """ASGI 2.4: a send to a connection the client has left raises an OSError subclass."""


class Phase(Enum):
    HANDSHAKE = "handshake"
    RESPONDING = "responding"  # a denial response is being streamed
    OPEN = "open"
    CLOSED = "closed"


def nobody_else_waits() -> bool:
    return False


# The tasks inside `_spin` now: clients listened to at once (a crowd's members) each spin, and
# their turns keep asyncio's queue from ever being empty.
_SPINNING: set[asyncio.Future[Any]] = set()


def _only_spinners_ready(pending: Collection[asyncio.Handle]) -> bool:
    """Is every callback asyncio has queued the next turn of a task inside `_spin`?"""
    return all(
        getattr(getattr(handle, "_callback", None), "__self__", None) in _SPINNING
        for handle in pending
    )


async def _spin(ready: Callable[[], bool]) -> bool:
    """Run the loop until `ready()` (just found false), as long as an app has a hop in flight.
    The commonest wait is one hop of an app's: one turn, without the bookkeeping below."""
    # (While this task is not counted a spinner, another spinner only spins on: never wrong.)
    await asyncio.sleep(0)
    if ready():
        return True
    # asyncio's queue of callbacks to run (uvloop has none to read: it spins the whole limit).
    # Resumed with nothing in that queue but other spinners, no hop of an app's is in flight,
    # and more turns cannot make `ready` true; only a timer, a thread or the test can, which
    # the caller's clock-bounded wait covers.
    pending = getattr(asyncio.get_running_loop(), "_ready", None)
    if pending is not None and (not pending or _only_spinners_ready(pending)):
        return False
    task = asyncio.current_task()
    assert task is not None  # a coroutine runs in a task
    _SPINNING.add(task)
    try:
        for _ in range(SPIN_LIMIT - 1):
            await asyncio.sleep(0)
            if ready():
                return True
            if pending is not None and (not pending or _only_spinners_ready(pending)):
                return False
        return False
    finally:
        _SPINNING.discard(task)


async def wait_until(
    ready: Callable[[], bool], bound: float, stalled: Callable[[], bool] = nobody_else_waits
) -> bool:
    """True once `ready()`; False after `bound` seconds, or as soon as `stalled()` proves that
    nothing but the test can make it ready. The loop runs first without a clock, so an app that
    answers at once costs no timer."""
    if ready() or await _spin(ready):
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while not stalled():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return ready()
        await asyncio.sleep(min(POLL_S, remaining))
        if ready():
            return True
    # Stalled: what the apps did last may still be a few hops from `ready`.
    return ready() or await _spin(ready)


def future_waiter(stalled: Callable[[], bool]) -> Waiter:
    """A wait for a future (a step's outcome, a client event) by `wait_until`."""

    def wait(future: AnyFuture, bound: float) -> Coroutine[Any, Any, bool]:
        # `wait_until` itself, not a coroutine awaiting it: one frame less on every step.
        return wait_until(future.done, bound, stalled)

    return wait


class InMemoryConnection(ClientConnection):
    def __init__(
        self,
        app: ASGIApp,
        scope: dict[str, Any],
        lingering: set[asyncio.Task[None]] | None = None,
        stalled: Callable[[], bool] | None = None,
    ) -> None:
        # Silence is proven when every app the transport serves waits on the test (`stalled`);
        # a connection on its own knows only its app.
        self._stalled = stalled or self.app_waits_for_the_test
        # Not a bound method of this connection: the reference cycle would leave every finished
        # connection to the garbage collector.
        super().__init__(future_waiter(self._stalled))
        # Where an app still running when the client is released is handed over (the
        # transport's), so it can finish on its own, as on a real server.
        self._lingering = lingering
        self._app = app
        self._scope = scope
        self._to_app: asyncio.Queue[AsgiMessage] = asyncio.Queue()
        self._phase = Phase.HANDSHAKE
        self._client_gone = False
        self._disconnect: AsgiMessage | None = None
        self._denial_status = 0
        self._denial_body = b""
        self._denial_headers: Headers = ()
        self._receiving = False
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.ensure_future(self._run())

    def app_waits_for_the_test(self) -> bool:
        """Can this connection's app make progress only when the test acts? Not once a
        message is queued for its waiting receive: it has been woken, it has not run yet."""
        if self._task.done():
            return True
        woken = self._receiving and not self._to_app.empty()
        return self._task in WAITING_FOR_THE_TEST and not woken

    # --- the server side, as the app sees it --------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        except Exception:
            self._app_ended(raised=True)
        else:
            self._app_ended(raised=False)

    def _app_ended(self, *, raised: bool) -> None:
        if self._phase in (Phase.HANDSHAKE, Phase.RESPONDING):
            # An app that ends without answering the handshake is a server error, never a hang.
            self._finish(Denied(status=500, body=b"Internal Server Error"))
        elif self._phase is Phase.OPEN and not self._client_gone and raised:
            # RFC 6455 7.4.1: 1011 is "unexpected condition".
            self._finish(Closed(code=1011))
        elif self._phase is Phase.OPEN and not self._client_gone:
            # An app that returns without closing: ASGI only says the socket should then be
            # closed ('Websocket Connection Scope'), and servers differ (uvicorn closes the
            # transport without a close frame, hypercorn sends 1011, daphne leaves it open). A
            # drop, like the commonest, rather than a clean 1000 that would hide the bug.
            self._finish(Closed(code=1006, close_frame_seen=False))

    def _finish(self, event: Accepted | Denied | Closed) -> None:
        self._phase = Phase.CLOSED
        self.events.put_nowait(event)

    async def _receive(self) -> AsgiMessage:
        if self._to_app.empty() and self._disconnect is not None:
            # Repeat the disconnect, as servers do, but yield first: an app that keeps
            # receiving must not starve the loop.
            await asyncio.sleep(0)
            return dict(self._disconnect)
        if not self._to_app.empty():
            return self._to_app.get_nowait()
        # Until the client acts, this app can do nothing: silence is proven, not waited for.
        task = asyncio.current_task()
        assert task is not None  # a coroutine runs in a task
        WAITING_FOR_THE_TEST.add(task)
        self._receiving = True
        try:
            return await self._to_app.get()
        finally:
            self._receiving = False
            WAITING_FOR_THE_TEST.discard(task)

    async def _send(self, message: AsgiMessage) -> None:
        kind = message["type"]
        if self._phase is Phase.HANDSHAKE:
            self._send_during_handshake(kind, message)
        elif self._phase is Phase.RESPONDING:
            self._send_denial_body(kind, message)
        elif self._phase is Phase.OPEN:
            self._send_while_open(kind, message)
        else:
            # ASGI 2.4: a send on a closed connection raises an OSError subclass, whoever
            # closed it.
            raise ClientGone(f"{kind!r} after the connection was closed")

    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.accept":
            subprotocol = message.get("subprotocol")
            headers = decode_headers(message.get("headers"))
            # RFC 6455 4.1: a client must fail a 101 naming a subprotocol it did not offer, so
            # such an accept (or an empty name, or a second one smuggled in `headers`, which
            # ASGI 2.1 forbids) is refused rather than put on the wire.
            if subprotocol is not None and subprotocol not in self._scope["subprotocols"]:
                raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
            if any(name.lower() == "sec-websocket-protocol" for name, _ in headers):
                raise ValueError("accept headers may not include sec-websocket-protocol")
            self._phase = Phase.OPEN
            self.events.put_nowait(Accepted(subprotocol, headers))
        elif kind == "websocket.close":
            # ASGI www spec, "Close - send event": before accept the server answers HTTP 403.
            self._disconnect = {"type": "websocket.disconnect", "code": 1006, "reason": ""}
            self._finish(Denied(status=403))
        elif kind == "websocket.http.response.start":
            self._phase = Phase.RESPONDING
            self._denial_status = int(message["status"])
            self._denial_headers = decode_headers(message.get("headers"))
        else:
            raise RuntimeError(
                "Expected ASGI message 'websocket.accept', 'websocket.close' or "
                f"'websocket.http.response.start', but got {kind!r}"
            )

    def _send_denial_body(self, kind: str, message: AsgiMessage) -> None:
        if kind != "websocket.http.response.body":
            raise RuntimeError(f"Expected 'websocket.http.response.body', but got {kind!r}")
        self._denial_body += message.get("body", b"")
        if not message.get("more_body", False):
            self._disconnect = {"type": "websocket.disconnect", "code": 1006, "reason": ""}
            self._finish(
                Denied(self._denial_status, self._denial_body, headers=self._denial_headers)
            )

    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if self._client_gone:
            raise ClientGone("the client has disconnected")
        if kind == "websocket.send":
            data = message.get("bytes")
            if data is None:
                data = message.get("text")
            if data is None:
                raise ValueError("websocket.send needs one of 'bytes' or 'text' (ASGI www)")
            self.events.put_nowait(Message(data))
        elif kind == "websocket.close":
            # ASGI defaults exactly: a missing code is 1000, any code given is taken as given.
            code = message.get("code", 1000)
            reason = message.get("reason") or ""
            if not isinstance(code, int):
                raise TypeError(f"close code must be an int, got {code!r}")
            if not is_valid_wire_close_code(code):
                raise ValueError(f"close code {code} may not be sent on the wire (RFC 6455 7.4)")
            if len(reason.encode()) > MAX_CLOSE_REASON_BYTES:
                raise ValueError("close reason longer than 123 UTF-8 bytes (RFC 6455 5.5)")
            # The client answers the closing handshake with the same code (RFC 6455 5.5.1).
            self._end(code, reason, Closed(code=code, reason=reason))
        else:
            raise RuntimeError(f"Expected 'websocket.send' or 'websocket.close', but got {kind!r}")

    # --- the server going down -------------------------------------------------------------------

    def server_shutdown(self) -> bool:
        """The server is stopping: a handshake still unanswered gets HTTP 503, an open connection
        the closing handshake with 1001 (going away), and the app a disconnect with the same
        code. True once this connection is over."""
        if self._phase is Phase.HANDSHAKE and not self._client_gone:
            self._end(1001, "", Denied(503, b"Service Unavailable"))
        elif self._phase is Phase.OPEN and not self._client_gone:
            self._end(1001, "", Closed(code=1001))
        return True

    def _end(self, code: int, reason: str, event: Denied | Closed) -> None:
        """The server ends the connection: the app hears `code` (and keeps hearing it on every
        later receive), the client gets `event`."""
        self._disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self._to_app.put_nowait(dict(self._disconnect))
        self._finish(event)

    # --- the client side ------------------------------------------------------------------------

    async def next_event(self, bound: float = EXPECT_BOUND_S) -> ClientEvent:
        if await wait_until(lambda: not self.events.empty(), bound, self._stalled):
            return self.events.get_nowait()
        return NoEvent(after_s=bound)

    async def send_text(self, data: str) -> None:
        self._client_sends({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        self._client_sends({"type": "websocket.receive", "bytes": data})

    def _client_sends(self, message: AsgiMessage) -> None:
        # A client cannot send data before the handshake or after the connection ended.
        if self._phase is not Phase.OPEN or self._client_gone:
            return
        data = message.get("bytes") or message.get("text") or ""
        size = len(data.encode() if isinstance(data, str) else data)
        if self._over_limit(size):
            self._refuse_message(size)
            return
        self._to_app.put_nowait(message)

    def _over_limit(self, size: int) -> bool:
        return size > MAX_MESSAGE_BYTES  # the limit itself is a size the server takes

    def _refuse_message(self, size: int) -> None:
        """RFC 6455 10.4 and 7.4.1: a message over the limit is not passed on; the server
        closes with 1009, and the app hears the same code."""
        reason = f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}"
        self._end(1009, reason, Closed(code=1009, reason=reason))

    async def close(self, code: int | None, reason: str = "") -> None:
        if self._phase is not Phase.OPEN or self._client_gone:
            await self.drop()
            return
        # RFC 6455 7.1.5: a close frame without a status code is reported as 1005; the server
        # echoes the client's frame (5.5.1), code or no code.
        self._leave(code if code is not None else 1005, reason)
        self._finish(Closed(code=code, reason=reason))

    async def drop(self) -> None:
        if not self._client_gone:
            # RFC 6455 7.1.5: a connection closed without a close frame reports 1006.
            self._leave(1006, "")
            self._phase = Phase.CLOSED

    def _leave(self, code: int, reason: str) -> None:
        self._client_gone = True
        self._disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self._to_app.put_nowait(dict(self._disconnect))

    async def release(self) -> None:
        await self.drop()
        # Give the app the chance to end on its own (it has been told the client left). One
        # that goes on (a slow cleanup) is left to the transport, which waits for it when the
        # app's errors are asked for; with nobody to wait, it is cancelled, as a real server's
        # shutdown would.
        if await wait_until(self._task.done, 0.0):
            return
        if self._lingering is not None:
            self._lingering.add(self._task)
            return
        await cancel_app(self._task)


async def cancel_app(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        # A task on a worker thread ends only when the thread is done with it.
        await wait_until(task.done, EXPECT_BOUND_S)


class InMemoryTransport(Transport):
    name = "inmemory"
    visibility = Visibility(waits_for_threads=False)
    max_message_bytes = MAX_MESSAGE_BYTES

    # The self-tests substitute a deliberately broken server here.
    connection_class: type[InMemoryConnection] = InMemoryConnection

    def __init__(self, app: str | ASGIApp, registry: PuppetRegistry | None = None) -> None:
        """`app`: an import string (loaded fresh) or an app object. `registry` is the
        puppet's, when `app` wraps the puppet app in middleware."""
        super().__init__()
        self.app = self.witnessed(app)
        self._lingering: set[asyncio.Task[None]] = set()
        # Weakly: a transport serves thousands of sessions; only the live ones need stopping.
        self._connections: weakref.WeakSet[InMemoryConnection] = weakref.WeakSet()
        waiter = future_waiter(self.apps_wait_for_the_test)
        self.control = (
            DirectControl(registry, waiter) if registry else control_for(self.app.app, waiter)
        )

    def apps_wait_for_the_test(self) -> bool:
        """Is every app this transport runs suspended on the test (or done)? Then nothing will
        happen until the test acts."""
        return all(
            connection.app_waits_for_the_test() for connection in list(self._connections)
        ) and all(task.done() or task in WAITING_FOR_THE_TEST for task in self._lingering)

    async def app_idle(self, bound: float) -> bool:
        # The app runs on this loop: usually running the loop leaves no websocket in it. An app
        # waiting on a timer (a slow cleanup) needs the clock, so then wait on the witness's
        # event from a thread while this loop goes on running the app.
        witness = self.witness
        if witness is None or await wait_until(lambda: witness.open_websockets == 0, 0.0):
            idle = True
        else:
            idle = await super().app_idle(bound)
        await self._cancel_lingering()
        return idle

    async def _cancel_lingering(self) -> None:
        """Apps still running after their bound go, so none leaks into the next connection."""
        for task in list(self._lingering):
            if not task.done():
                await cancel_app(task)
        self._lingering.clear()

    async def aclose(self) -> None:
        await self._cancel_lingering()
        await self.app.shutdown()

    async def connect(
        self, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        scope = websocket_scope(path, headers, subprotocols)
        connection = self.connection_class(
            self.app, scope, self._lingering, self.apps_wait_for_the_test
        )
        self._connections.add(connection)
        return connection

    async def shut_down(self) -> bool:
        """Stop serving as a server does on its graceful signal; True if every connection
        ended (the wait runs the apps' reactions)."""
        ended = all([connection.server_shutdown() for connection in list(self._connections)])
        # The apps are told at once; how long they take to react is theirs. Those that hear the
        # end (a receive) react within the spin; one busy elsewhere (on its own queue) is given
        # the quiet bound, as a listening client would, not the whole shutdown bound.
        await wait_until(self.apps_wait_for_the_test, QUIET_BOUND_S)
        self._connections.clear()
        return ended

    async def prepare_app(self, *, fresh: bool = False) -> None:
        # The app runs on this loop, so it is asked directly rather than over an HTTP request
        # to the witness: a fresh app per generated example makes this the commonest request.
        try:
            await self.app.prepare(fresh=fresh)
        except Exception as exc:
            raise AppStartupFailed(f"{self.name}: {describe_exception(exc)}") from exc

    async def stop_app(self) -> None:
        await self.app.shutdown()

    async def request(
        self, method: str, path: str, *, data: dict[str, str] | None = None
    ) -> HttpReply:
        # httpx drives the app in-process on this loop, like the websocket driver.
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://inmemory") as client:
            response = await client.request(method, path, data=data)
        return HttpReply(response.status_code, response.content)


def websocket_scope(path: str, headers: Headers, subprotocols: Sequence[str]) -> dict[str, Any]:
    """The scope a spec-following server builds for this handshake (ASGI www 2.5)."""
    route, _, query = path.partition("?")
    key = base64.b64encode(os.urandom(16))
    raw_headers = [
        (b"host", b"inmemory"),
        (b"connection", b"Upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-key", key),
    ]
    if subprotocols:
        raw_headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
    raw_headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
    ]
    # The client's own header lines, as text: the same tokens as in `raw_headers`.
    offered = subprotocols_offered(
        (("sec-websocket-protocol", ", ".join(subprotocols)), *headers) if subprotocols else headers
    )
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.5"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("inmemory", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": unquote(route),  # percent-encoded UTF-8 decoded into characters
        "raw_path": route.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "headers": raw_headers,
        "subprotocols": offered,
        "extensions": {DENIAL_EXTENSION: {}},
        "state": {},
    }


@contextlib.contextmanager
def serve(import_string: str) -> Iterator[Transport]:
    yield InMemoryTransport(import_string)


# The suite's own server: no upstream package but the framework (see upstream.FRAMEWORK).
TRANSPORTS = (TransportSpec("inmemory", lambda: None, serve, ()),)
