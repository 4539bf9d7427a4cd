"""Shared by every server that listens on a real socket: the port, readiness, the client."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence

from conformance.vocabulary import Headers
from targets.servers.base import ClientConnection, HttpControl, Transport
from targets.wsclient import WireClientConnection


class SocketTransport(Transport):
    """A server listening on 127.0.0.1:`port`, reached by the raw wire client."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port
        self.control = HttpControl(f"http://127.0.0.1:{port}")

    async def connect(
        self, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        return WireClientConnection("127.0.0.1", self.port, path, headers, subprotocols)

    async def aclose(self) -> None:
        assert isinstance(self.control, HttpControl)
        await self.control.aclose()


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
