"""What every way of serving an app provides, so scenarios never know which one they run on.

A `TransportSpec` names a transport and says how to build it; each module in this package exports
`TRANSPORTS`, a tuple of specs, and `targets.servers.available_transports()` collects them. Adding a
server is adding one module.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from wsconform.conformance.engine.vocabulary import (
    Advertised,
    ClientEvent,
    Headers,
    NoEvent,
    ServerRecord,
    ServerStep,
    StepOutcome,
    Visibility,
    outcome_from_json,
    record_from_json,
    step_to_json,
)
from wsconform.targets.puppet import PuppetRegistry, StepFuture, find_registry
from wsconform.targets.servers.witness import APP_PREPARE_PATH, AppWitness

# Bounds, in seconds. An expected event normally arrives in milliseconds; the bound only decides
# when its absence becomes a `NoEvent` observation. A quiet bound is how long we listen to be
# confident that nothing (e.g. a leaked frame) is coming.
EXPECT_BOUND_S = 2.0
QUIET_BOUND_S = 0.2
# A reply an endpoint contract requires (a handshake answer, a greeting, an echo). Its absence
# is a failure, so this longer bound costs time only on a failing target, and it keeps a busy
# machine (two suites at once) from turning a slow reply into a verdict. The model's own waits
# keep EXPECT_BOUND_S: there some servers routinely withhold an event the model waits for
# (granian's 403 until the app returns), and every such wait costs the whole bound.
REPLY_BOUND_S = 6.0
# Starting a server is bounded too: a server that is not up by then is reported, not waited on.
STARTUP_BOUND_S = 20.0
# The largest message the suite configures each server to take (uvicorn's --ws-max-size,
# hypercorn's websocket_max_message_size; daphne's own default since 4.2.2): small enough that
# sending one byte more is cheap.
MAX_MESSAGE_BYTES = 1024 * 1024
SHUTDOWN_BOUND_S = 10.0
# Every server is stopped with the same graceful-shutdown setting wherever it has one (uvicorn's
# timeout_graceful_shutdown, hypercorn's graceful_timeout): apps still running get this long
# before they are cancelled, so shutdown verdicts compare servers, not the suite's settings of
# them. Daphne has no such setting; granian's only one, --workers-kill-timeout, kills the worker
# process (every connection dropped unanswered), which is no graceful stop, so it is left off.
GRACEFUL_TIMEOUT_S = 1


AnyFuture = asyncio.Future[Any] | concurrent.futures.Future[Any] | StepFuture


class Waiter(Protocol):
    async def __call__(self, future: AnyFuture, bound: float) -> bool: ...


async def wall_clock_wait(future: AnyFuture, bound: float) -> bool:
    """Wait up to `bound` seconds without cancelling `future` (it may complete later)."""
    if future.done():
        return True
    if isinstance(future, StepFuture):
        return await future.wait(bound)
    waitable = (
        asyncio.wrap_future(future) if isinstance(future, concurrent.futures.Future) else future
    )
    done, _ = await asyncio.wait({waitable}, timeout=bound)
    return bool(done)


class ClientConnection(ABC):
    """One client's view of one websocket. Every observation is a `ClientEvent`."""

    def __init__(self, waiter: Waiter) -> None:
        self.events: asyncio.Queue[ClientEvent] = asyncio.Queue()
        self._waiter = waiter

    async def next_event(self, bound: float = EXPECT_BOUND_S) -> ClientEvent:
        if not self.events.empty():
            return self.events.get_nowait()
        getter = asyncio.ensure_future(self.events.get())
        if await self._waiter(getter, bound):
            return getter.result()
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await getter
        return NoEvent(after_s=bound)

    def socket_addresses(self) -> tuple[tuple[str, int], tuple[str, int]] | None:
        """This connection's own socket, (local, peer) as (host, port) each, once it is
        connected; None where there is no socket (in memory) or it is not known yet."""
        return None

    async def quiet(self, bound: float) -> ClientEvent:
        """Whatever arrives, or NoEvent once silence is established. Here by listening for
        `bound` seconds; a connection with a barrier (a ping whose pong follows everything sent
        before it) proves the silence instead of waiting for it."""
        return await self.next_event(bound)

    @abstractmethod
    async def send_text(self, data: str) -> None: ...

    @abstractmethod
    async def send_bytes(self, data: bytes) -> None: ...

    @abstractmethod
    async def close(self, code: int | None, reason: str = "") -> None:
        """Start the closing handshake; `code=None` sends a close frame without a status code."""

    @abstractmethod
    async def drop(self) -> None:
        """End the connection without a close frame (TCP abort where there is TCP)."""

    @abstractmethod
    async def release(self) -> None:
        """Free everything the connection holds, within a bound, whatever state it is in."""


class PuppetControl(ABC):
    """How the test instructs the puppet and reads its record."""

    @abstractmethod
    async def submit(self, session: str, step: ServerStep) -> int: ...

    @abstractmethod
    async def outcome(self, session: str, index: int, bound: float) -> StepOutcome | None:
        """The step's outcome, or None if it has not completed within `bound`."""

    @abstractmethod
    async def record(self, session: str) -> ServerRecord: ...

    @abstractmethod
    async def forget(self, session: str) -> None: ...


class DirectControl(PuppetControl):
    """Control for apps running in this process (any thread): the registry itself."""

    def __init__(self, registry: PuppetRegistry, waiter: Waiter) -> None:
        self.registry = registry
        self._waiter = waiter

    async def submit(self, session: str, step: ServerStep) -> int:
        return self.registry.session(session).submit(step)

    async def outcome(self, session: str, index: int, bound: float) -> StepOutcome | None:
        future = self.registry.session(session).outcome_future(index)
        if not await self._waiter(future, bound):
            return None
        return future.result()

    async def record(self, session: str) -> ServerRecord:
        return self.registry.session(session).snapshot()

    async def forget(self, session: str) -> None:
        self.registry.forget(session)


# How long the control client keeps an idle connection for reuse: under the shortest idle
# timeout of the servers (gunicorn's --keep-alive, 2 s by default; uvicorn's and hypercorn's
# are 5 s). Kept longer, a request can go out on a connection the server is closing at that
# moment, and fails with "Server disconnected without sending a response" (seen once in a
# gunicorn lifecycle machine on a loaded run).
CONTROL_KEEPALIVE_S = 1.0


class HttpControl(PuppetControl):
    """Control over the puppet app's HTTP routes: works for a server in any process."""

    def __init__(self, base_url: str, tls: ssl.SSLContext | None = None) -> None:
        # Also used for the app's own HTTP routes (the transport's `request`). Over TLS it
        # trusts what `tls` trusts (the suite's CA), never the system's store alone.
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=EXPECT_BOUND_S + 5.0,
            verify=tls or True,
            limits=httpx.Limits(keepalive_expiry=CONTROL_KEEPALIVE_S),
        )

    async def submit(self, session: str, step: ServerStep) -> int:
        response = await self.http.post(f"/_puppet/{session}/steps", json=step_to_json(step))
        response.raise_for_status()
        index: int = response.json()["index"]
        return index

    async def outcome(self, session: str, index: int, bound: float) -> StepOutcome | None:
        response = await self.http.get(
            f"/_puppet/{session}/steps/{index}", params={"wait": str(bound)}
        )
        response.raise_for_status()
        payload = response.json()
        return outcome_from_json(payload["outcome"]) if payload["done"] else None

    async def record(self, session: str) -> ServerRecord:
        response = await self.http.get(f"/_puppet/{session}/record")
        response.raise_for_status()
        return record_from_json(response.json())

    async def forget(self, session: str) -> None:
        await self.http.delete(f"/_puppet/{session}")

    async def aclose(self) -> None:
        await self.http.aclose()


class NoPuppet(PuppetControl):
    """The control of an app without the puppet route: any use is a clear error."""

    def _refuse(self) -> RuntimeError:
        return RuntimeError(
            "this app is not the puppet app (targets.puppet:app): no steps to dictate"
        )

    async def submit(self, session: str, step: ServerStep) -> int:
        raise self._refuse()

    async def outcome(self, session: str, index: int, bound: float) -> StepOutcome | None:
        raise self._refuse()

    async def record(self, session: str) -> ServerRecord:
        raise self._refuse()

    async def forget(self, session: str) -> None:
        raise self._refuse()


def control_for(app: Any, waiter: Waiter) -> PuppetControl:
    registry = find_registry(app)
    return NoPuppet() if registry is None else DirectControl(registry, waiter)


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# How long the app may go on with connections the client has left before the test asks for
# their errors anyway; an app still busy then is not judged for it, only no longer waited on.
APP_IDLE_BOUND_S = EXPECT_BOUND_S


class AppStartupFailed(Exception):
    """The app under test could not be started (its lifespan startup failed): a usage error,
    shown with the app's own exception."""


class Transport(ABC):
    """A served app plus the client that reaches it."""

    name: str
    control: PuppetControl
    # What its client can observe (TestClient sees neither HTTP statuses nor frames).
    visibility = Visibility()
    # The largest message the server is configured to take, or None where it has no limit
    # (or none the suite can set and know).
    max_message_bytes: int | None = None
    # The keepalive ping interval this instance was served with by `Keepalive.serve` (the
    # server's own setting may round what was asked, e.g. daphne's whole seconds); None on an
    # instance served without one, whatever the server's default.
    ping_interval_s: float | None = None

    def __init__(self) -> None:
        # Failures the server saw escape the app ("Exception in ASGI application"), in order.
        self.app_errors: list[str] = []
        # What the server advertises in the websocket scope, once a probe has asked
        # (conformance.engine.sessions.advertised_by).
        self.advertised: Advertised | None = None

    @abstractmethod
    async def connect(
        self, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        """Start a handshake and return at once; its result arrives as the first event."""

    @abstractmethod
    async def request(
        self, method: str, path: str, *, data: dict[str, str] | None = None
    ) -> HttpReply:
        """A plain HTTP request to the served app (e.g. POST /token, GET /chatroom/stats)."""

    # The witness of the app this transport serves in this process, if it serves one here.
    witness: AppWitness | None = None

    def witnessed(self, source: str | Any) -> AppWitness:
        """The app (an import string, loaded fresh, or an app object) wrapped so this
        transport sees its errors, knows when it is idle, and runs its lifespan."""
        self.witness = AppWitness(source, self.app_errors.append)
        return self.witness

    async def prepare_app(self, *, fresh: bool = False) -> None:
        """Have the served app built (from scratch if `fresh`: no state of an earlier
        connection survives) and its lifespan started, on the loop that serves it. Asked over
        the app's own port, so it runs where the server runs the app."""
        reply = await self.request("POST", APP_PREPARE_PATH + ("?fresh=1" if fresh else ""))
        if reply.status != 200:
            raise AppStartupFailed(f"{self.name}: {reply.json().get('error', reply.body)}")

    async def stop_app(self) -> None:
        """Shut the app's lifespan down (its resources closed), where the app is served."""
        await self.request("POST", APP_PREPARE_PATH + "?stop=1")

    async def drain_app_errors(self) -> list[str]:
        """The app errors seen since the last drain, once the app has finished with every
        websocket (bounded by APP_IDLE_BOUND_S). Async: a server in another process is asked
        over HTTP."""
        await self.app_idle(APP_IDLE_BOUND_S)
        return await self.take_app_errors()

    async def take_app_errors(self) -> list[str]:
        """The app errors seen since the last take, at once, without waiting for the app to
        finish (several clients still connected: it never would)."""
        # Emptied in place: the app's witness holds this very list's `append`.
        errors = list(self.app_errors)
        self.app_errors.clear()
        return errors

    async def take_handed(self) -> dict[str, Any]:
        """What each websocket followed since the last take was handed by the server, by its
        mark (targets/servers/handed.py); nothing where the app is not seen."""
        return {} if self.witness is None else self.witness.take_handed()

    # Does the server get this client's own socket (no proxy or balancer in between)? Then
    # the scope's client and server addresses are its two ends (generic.values.addresses).
    serves_the_clients_socket = False

    @property
    def sees_the_app(self) -> bool:
        """Does `app_idle` report on the app (a witness here, or in the server's process)? A
        bare server reached by its URL cannot tell."""
        return self.witness is not None

    async def app_idle(self, bound: float) -> bool:
        """Wait until no websocket is left in the app; False if one still is after `bound`."""
        if self.witness is None:
            return True
        return await asyncio.to_thread(self.witness.idle.wait, bound)

    async def aclose(self) -> None:  # noqa: B027 - most transports hold nothing per loop
        """Release per-loop resources (HTTP clients) before the event loop closes."""


@dataclass(frozen=True)
class ProxySettings:
    """The proxy configuration's knobs the suite varies; the defaults are the recommended one."""

    # HTTP/1.1 to the upstream and the Upgrade/Connection headers passed on: without them (the
    # classic misconfiguration) a proxy forwards a plain GET and no websocket is ever opened.
    upgrade_headers: bool = True
    # How long the proxy waits for the server to send before it ends the connection; None for
    # the proxy's default.
    read_timeout_ms: int | None = None


@dataclass(frozen=True)
class StackLayer:
    """A layer a transport adds in front of another transport's server (a proxy, TLS): a verdict
    that differs between the two is the layer's finding, not the server's."""

    name: str  # what the layer is, as reports name it: "proxy (nginx)", "TLS"
    over: str  # the transport serving the same server without the layer
    # For a proxy: the same stack, serving an app import string, with other proxy settings.
    proxy_variant: (
        Callable[[str, ProxySettings], contextlib.AbstractContextManager[Transport]] | None
    ) = None


@dataclass(frozen=True)
class Keepalive:
    """A server's own setting for keepalive pings (RFC 6455 5.5.2 lets an endpoint ping at any
    time), and how to serve an app with it set to an interval in seconds."""

    setting: str  # as the server documents it: "uvicorn --ws-ping-interval"
    serve: Callable[[str, float], contextlib.AbstractContextManager[Transport]]


@dataclass(frozen=True)
class TransportSpec:
    name: str
    # None when usable, otherwise the reason it is skipped (e.g. a package is not installed).
    unavailable_reason: Callable[[], str | None]
    # Given the ASGI app's import string, serve it for the duration of the context.
    serve: Callable[[str], contextlib.AbstractContextManager[Transport]]
    # The distributions this way of serving is made of (their dependencies follow): a verdict
    # that moves when one of them changes release is attributed to it
    # (conformance/tools/upstream.py).
    packages: tuple[str, ...] = ()
    # Run only when asked for by name (`--server`), not in a run of every installed transport:
    # a transport the gate cannot yet rely on, with the reason.
    opt_in_reason: str | None = None
    # The layer this transport adds to another one's server, if it is such a stack.
    stack_layer: StackLayer | None = None
    # The server's keepalive ping setting, where it has one the suite can set; None otherwise.
    keepalive: Keepalive | None = None


def missing_module(*modules: str) -> Callable[[], str | None]:
    from importlib.util import find_spec

    def reason() -> str | None:
        absent = [name for name in modules if find_spec(name) is None]
        return f"not installed: {', '.join(absent)}" if absent else None

    return reason
