"""Shared by every server that listens on a real socket: the port, readiness, the client."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from conformance.vocabulary import Headers
from targets.servers.base import (
    SHUTDOWN_BOUND_S,
    STARTUP_BOUND_S,
    ClientConnection,
    HttpControl,
    HttpReply,
    Transport,
)
from targets.wsclient import WireClientConnection


class SocketTransport(Transport):
    """A server listening on 127.0.0.1:`port`, reached by the raw wire client."""

    def __init__(self, name: str, port: int) -> None:
        super().__init__()
        self.name = name
        self.port = port
        self._http_control = HttpControl(f"http://127.0.0.1:{port}")
        self.control = self._http_control

    async def connect(
        self, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        return WireClientConnection("127.0.0.1", self.port, path, headers, subprotocols)

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
    """Wake on a short tick until `condition` holds; uvicorn offers no startup event to wait on."""
    ticker = threading.Event()
    deadline = bound / 0.02
    for _ in range(int(deadline)):
        if condition():
            return True
        ticker.wait(0.02)
    return condition()


def accepts_connections(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def free_loopback_port() -> int:
    """For servers in another process, which must bind the port themselves. The port could be
    taken between this call and the server's bind; the server then fails to start, loudly."""
    with loopback_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


# The project root, so a server process can import the app by its import string.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serve_in_subprocess(
    name: str, argv_for_port: Callable[[int], list[str]]
) -> Iterator[SocketTransport]:
    """Run a server command on a free loopback port; always stop it (terminate, then kill)."""
    port = free_loopback_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            argv_for_port(port),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(
                lambda: process.poll() is not None or accepts_connections(port), STARTUP_BOUND_S
            )
            if process.poll() is not None or not accepts_connections(port):
                log.seek(0)
                output = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{name} did not start within {STARTUP_BOUND_S}s:\n{output}")
            yield SocketTransport(name, port)
        finally:
            process.terminate()
            try:
                process.wait(SHUTDOWN_BOUND_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(SHUTDOWN_BOUND_S)
