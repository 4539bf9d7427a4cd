"""A real Redis broker for runs across instances: `redis-server` on a free loopback port, with no
persistence and a temporary directory of its own, always stopped.

Not a transport (no `TRANSPORTS` here): several instances of an app share it
(targets/servers/cluster.py). A machine without the binary skips those runs with the reason
and the command that installs it (`BROKER_MISSING`).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from wsconform.targets.servers.base import STARTUP_BOUND_S
from wsconform.targets.servers.network import (
    free_loopback_port,
    stop_process_group,
    wait_until,
)

REDIS_SERVER = "redis-server"
INSTALL_COMMAND = "apt-get install redis-server"
# How the suite tells an app under test where its broker is: set in each instance's
# environment (a user's app reads it from its own settings, docs/cluster.md).
BROKER_URL_ENV = "WSCONFORM_BROKER_URL"


def broker_missing() -> str | None:
    """Why no broker can run here (None where one can): the server binary, then the client."""
    from importlib.util import find_spec

    if shutil.which(REDIS_SERVER) is None:
        return f"{REDIS_SERVER} is not installed (install it: {INSTALL_COMMAND})"
    if find_spec("redis") is None:
        return "the redis client is not installed (install it: pip install 'wsconform[cluster]')"
    return None


def answers_ping(port: int) -> bool:
    """Redis's inline PING answered with +PONG: the server is up and serving, not only bound."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as sock:
        sock.settimeout(0.5)
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


class RedisBroker:
    """One `redis-server`; `restart()` stops it and starts a new one on the same port, as a
    broker restarted by its operator comes back at the same address (its subscriptions gone)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_loopback_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            REDIS_SERVER,
            "--bind", "127.0.0.1", "--port", str(self.port),
            # Nothing outlives the run: no snapshots, no append-only file.
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
            "--protected-mode", "yes", "--loglevel", "warning",
        ]  # fmt: skip
        log = (self.directory / "redis.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        process = self.process
        wait_until(lambda: process.poll() is not None or answers_ping(self.port), STARTUP_BOUND_S)
        if process.poll() is not None or not answers_ping(self.port):
            output = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"redis-server did not answer within {STARTUP_BOUND_S}s:\n{output}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def redis_broker() -> Iterator[RedisBroker]:
    """A running broker for the duration of the context; stopped afterwards, also on failure."""
    reason = broker_missing()
    if reason is not None:
        raise RuntimeError(reason)
    with tempfile.TemporaryDirectory(prefix="wsconform-redis-") as directory:
        broker = RedisBroker(Path(directory))
        try:
            broker.start()
            yield broker
        finally:
            broker.stop()
