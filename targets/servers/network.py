"""Shared by every server that listens on a real socket: the port, readiness, the client."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from wsconform.conformance.engine.vocabulary import Headers
from wsconform.targets.servers.base import (
    SHUTDOWN_BOUND_S,
    STARTUP_BOUND_S,
    ClientConnection,
    HttpControl,
    HttpReply,
    Transport,
    TransportSpec,
    missing_module,
)
from wsconform.targets.servers.witness import (
    APP_ERRORS_PATH,
    APP_IDLE_PATH,
    HANDED_PATH,
    SERVER_TOKEN_ENV,
    WHOAMI_PATH,
    WITNESSED_APP_ENV,
)
from wsconform.targets.wsclient import Endpoint, WireClientConnection

# Where the ping barrier is sound (see SocketTransport.ping_barrier); the others keep a timed
# quiet wait. granian is not here: it sent no pong within the bound in the self-test.
PING_BARRIER_SERVERS = frozenset(
    {
        "uvicorn-sansio", "uvicorn-wsproto", "uvicorn-websockets", "hypercorn", "daphne",
        "gunicorn", "gunicorn-uvicorn",
    }
)  # fmt: skip


class SocketTransport(Transport):
    """A server listening on 127.0.0.1:`port` (a `--url`'s host otherwise), reached by the raw
    wire client; over TLS when `tls` is given (a client context trusting the server's
    certificate, targets/servers/tls.py)."""

    serves_the_clients_socket = True

    def __init__(
        self, name: str, port: int, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
    ) -> None:
        super().__init__()
        self.name = name
        self.port = port
        self.endpoint = Endpoint(port, tls, host)
        # Servers proven to answer a ping only after every frame the app sent before it: quiet
        # listens end at the pong instead of after a fixed wait (tests/test_ping_barrier.py).
        # TLS carries the frames in order, so `<server>+tls` keeps its server's barrier.
        self.ping_barrier = name.partition("+")[0] in PING_BARRIER_SERVERS
        self._http_control = HttpControl(self.endpoint.url("http"), tls)
        self.control = self._http_control

    async def connect(
        self, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        return WireClientConnection(
            self.endpoint, path, headers, subprotocols, ping_barrier=self.ping_barrier
        )

    async def request(
        self, method: str, path: str, *, data: dict[str, str] | None = None
    ) -> HttpReply:
        response = await self._http_control.http.request(method, path, data=data)
        return HttpReply(response.status_code, response.content)

    async def aclose(self) -> None:
        await self._http_control.aclose()


def loopback_socket() -> socket.socket:
    """A listening socket on a free loopback port, bound before the server starts so the port
    is known without a race and released with the socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def wait_until(condition: Callable[[], bool], bound: float) -> bool:
    """Wake on a short tick until `condition` holds; uvicorn offers no startup event to wait on.
    The bound is wall-clock time, not a count of ticks: a condition that is slow to check (a
    connection attempt with its own timeout) must not stretch it."""
    ticker = threading.Event()
    deadline = time.monotonic() + bound
    while not condition():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ticker.wait(min(0.02, remaining))
    return True


def accepts_connections(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def free_loopback_port() -> int:
    """For servers in another process, which must bind the port themselves. The port could be
    taken between this call and the server's bind (see `server_process`)."""
    with loopback_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


# The folder the run started in (the repository, or the user's project): a server process
# imports apps by their import strings from there, as `uvicorn module:app` run there would;
# wsconform itself (the witness app) comes from the environment it is installed in.
PROJECT_ROOT = Path.cwd()
WITNESS_APP = "wsconform.targets.witness_app:app"


class SubprocessTransport(SocketTransport):
    """A server in another process. It serves `targets.witness_app:app`, which wraps the app
    under test and answers the app errors it saw over HTTP, so they are asked for, not shared."""

    @property
    def sees_the_app(self) -> bool:
        return True

    async def app_idle(self, bound: float) -> bool:
        # The witness waits on the server's side (see targets.witness_app).
        response = await self._http_control.http.get(
            APP_IDLE_PATH, params={"within": str(bound)}, timeout=bound + 5.0
        )
        response.raise_for_status()
        idle: bool = response.json()["idle"]
        return idle

    async def take_app_errors(self) -> list[str]:
        response = await self._http_control.http.get(APP_ERRORS_PATH)
        response.raise_for_status()
        errors: list[str] = response.json()
        return errors

    async def take_handed(self) -> dict[str, Any]:
        response = await self._http_control.http.get(HANDED_PATH)
        response.raise_for_status()
        handed: dict[str, Any] = response.json()
        return handed


class ProxiedTransport(SubprocessTransport):
    """A server reached through a proxy in front of it. `upstream` reaches the same server (the
    same app, the same puppet) around the proxy, so what the proxy changes is measured by playing
    one program both ways (conformance/families/proxy)."""

    serves_the_clients_socket = False  # the server gets the proxy's socket

    def __init__(self, name: str, port: int, upstream: SocketTransport) -> None:
        super().__init__(name, port)
        self.upstream = upstream
        self.max_message_bytes = upstream.max_message_bytes
        # The puppet is driven around the proxy: a proxy's limits (its read timeout) are what
        # the checks observe on the connections under test, never on the suite's own requests.
        self.control = upstream.control

    async def aclose(self) -> None:
        await self.upstream.aclose()
        await super().aclose()


@contextlib.contextmanager
def serve_in_subprocess(
    name: str,
    import_string: str,
    argv_for: Callable[[str, int], list[str]],
    max_message_bytes: int | None = None,
    tls: ssl.SSLContext | None = None,
    ping_interval_s: float | None = None,
) -> Iterator[SubprocessTransport]:
    """Run a server command, given the witness app's import string and a free loopback port,
    serving `import_string`; always stop it and every process it started. `tls`: the client
    context for a server the command starts on TLS; `ping_interval_s`: the keepalive interval
    the command sets."""
    with server_process(
        name,
        lambda port: argv_for(WITNESS_APP, port),
        {WITNESSED_APP_ENV: import_string},
        witness_answers(tls),
    ) as (_, port):
        transport = SubprocessTransport(name, port, tls)
        transport.max_message_bytes = max_message_bytes
        transport.ping_interval_s = ping_interval_s
        yield transport


# How many free ports a server is started on before it is reported as not starting: the port
# can be taken by another process between `free_loopback_port()` and the server's bind (several
# suites, or xdist workers, starting servers at once).
START_ATTEMPTS = 3
# Tells whether what answers on `port` is the server started with `token`.
IsOurs = Callable[[int, str], bool]


@contextlib.contextmanager
def server_process(
    name: str,
    argv_for_port: Callable[[int], list[str]],
    extra_env: Mapping[str, str],
    is_ours: IsOurs | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start `argv_for_port(free loopback port)` with the project importable, wait until it
    accepts connections, and always stop it and every process it started. A server that ends
    before it accepts, or, where it can say who it is (`is_ours`: the witness answers the
    token it was started with), one whose port is answered by another process, is started
    again on another port, up to START_ATTEMPTS times."""
    output = ""
    for _ in range(START_ATTEMPTS):
        token = uuid.uuid4().hex
        port = free_loopback_port()
        with tempfile.TemporaryFile() as log:
            # A session of its own, so the server's workers can be stopped as one process group.
            process = subprocess.Popen(
                argv_for_port(port),
                env=project_env({**extra_env, SERVER_TOKEN_ENV: token}),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                if _started_as_ours(process, port, token, is_ours):
                    yield process, port
                    return
            finally:
                stop_process_group(process)
            log.seek(0)
            output = log.read().decode(errors="replace")[-2000:]
    raise RuntimeError(
        f"{name} did not start within {STARTUP_BOUND_S}s on any of {START_ATTEMPTS} ports:\n"
        f"{output}"
    )


def _started_as_ours(
    process: subprocess.Popen[bytes], port: int, token: str, is_ours: IsOurs | None
) -> bool:
    """Is `process` up, and is it what answers on `port`? A listener of another process may
    answer there while `process` is still failing to bind it."""
    wait_until(lambda: process.poll() is not None or accepts_connections(port), STARTUP_BOUND_S)
    if process.poll() is not None or not accepts_connections(port):
        return False
    if is_ours is None:
        return True  # it cannot say: the port answers, and `process` is still running
    answered = wait_until(
        lambda: process.poll() is not None or is_ours(port, token), STARTUP_BOUND_S
    )
    return answered and process.poll() is None


def witness_answers(tls: ssl.SSLContext | None = None) -> IsOurs:
    """`is_ours` for a server of the witness app: it answers the token it was started with."""

    def is_ours(port: int, token: str) -> bool:
        url = Endpoint(port, tls).url("http") + WHOAMI_PATH
        try:
            response = httpx.get(url, timeout=1.0, verify=tls or True)
            return response.status_code == 200 and response.json().get("token") == token
        except (httpx.HTTPError, ValueError, AttributeError):
            return False  # not answering HTTP (yet), or not the witness

    return is_ours


def project_env(extra_env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus `extra_env`, with the project root importable."""
    python_path = [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]
    return {**os.environ, **extra_env, "PYTHONPATH": os.pathsep.join(filter(None, python_path))}


def subprocess_transport(
    name: str,
    argv_for: Callable[[str, int], list[str]],
    *required_modules: str,
    max_message_bytes: Callable[[], int | None] = lambda: None,
) -> TransportSpec:
    """The spec of a server that runs as `argv_for(app import string, port)`; its message
    limit, where it has one the suite knows, from `max_message_bytes()`."""

    def serve(import_string: str) -> contextlib.AbstractContextManager[Transport]:
        return serve_in_subprocess(name, import_string, argv_for, max_message_bytes())

    # Here the modules a server needs are its distributions' names too.
    return TransportSpec(name, missing_module(*required_modules), serve, required_modules)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group (a server's workers too), then SIGKILL what is left after the bound."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(SHUTDOWN_BOUND_S)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; workers it did not reap still get the stronger signal, and are
        # waited for: a signal is delivered after killpg returns, and a worker still dying
        # would hold the port for a moment after "stopped".
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        wait_until(lambda: not group_alive(process.pid), SHUTDOWN_BOUND_S)
        return


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member exists, owned by someone else
        return True
    return True
