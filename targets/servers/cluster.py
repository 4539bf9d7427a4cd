"""One app served by several instances at once, as a deployment scales it: N uvicorn processes
on N loopback ports (a client is placed on an instance of the suite's choosing), or one uvicorn
with N workers sharing one port (the kernel hands each connection to a worker: nobody can steer
it, so members' placement is unknown there). The instances share a broker where one is given.

Not in `TRANSPORTS`: a run across instances is asked for (`--instances`, the cluster suite),
never one of every transport's runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from wsconform.conformance.engine.vocabulary import Headers
from wsconform.targets.servers.base import (
    MAX_MESSAGE_BYTES,
    ClientConnection,
    HttpReply,
    Transport,
)
from wsconform.targets.servers.broker import BROKER_URL_ENV
from wsconform.targets.servers.network import (
    WITNESS_APP,
    SocketTransport,
    SubprocessTransport,
    server_process,
    witness_answers,
)
from wsconform.targets.servers.uvicorn_server import TLS_WS, uvicorn_command
from wsconform.targets.servers.witness import WITNESSED_APP_ENV

# The implementation uvicorn picks by default, the one a deployment gets unless it chooses.
CLUSTER_WS = TLS_WS


@dataclass
class Instance:
    transport: SocketTransport
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL, as a crashed or OOM-killed instance dies: no shutdown, no close frame."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)


class ClusterTransport(Transport):
    """Several served instances behind one transport: `connect` spreads clients over them in
    turn (instance 0, 1, ..., 0, ...), `connect_on` places one; `placement` says where each
    went (None where the instances share a port and the kernel chose)."""

    def __init__(self, name: str, instances: Sequence[Instance], steerable: bool) -> None:
        super().__init__()
        self.name = name
        self.instances = list(instances)
        self.steerable = steerable
        self.placement: list[int | None] = []
        self.max_message_bytes = MAX_MESSAGE_BYTES

    def live(self) -> list[Instance]:
        return [i for i in self.instances if i.process.poll() is None]

    async def connect(
        self, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        return await self.connect_on(len(self.placement) % len(self.instances), path, headers)

    async def connect_on(
        self, index: int, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        self.placement.append(index if self.steerable else None)
        return await self.instances[index].transport.connect(path, headers, subprotocols)

    async def request(
        self, method: str, path: str, *, data: dict[str, str] | None = None
    ) -> HttpReply:
        return await self.live()[0].transport.request(method, path, data=data)

    async def request_each(self, method: str, path: str) -> list[HttpReply]:
        """The same request to every live instance (presence must agree across them)."""
        return list(await asyncio.gather(*(i.transport.request(method, path) for i in self.live())))

    @property
    def sees_the_app(self) -> bool:
        return all(i.transport.sees_the_app for i in self.instances)

    def witnessed_instances(self) -> list[Instance]:
        """The live instances whose app the suite serves in a witness (not workers, whose
        server runs the app's lifespan itself)."""
        return [i for i in self.live() if i.transport.sees_the_app]

    async def prepare_app(self, *, fresh: bool = False) -> None:
        for instance in self.witnessed_instances():
            await instance.transport.prepare_app(fresh=fresh)

    async def stop_app(self) -> None:
        for instance in self.witnessed_instances():
            await instance.transport.stop_app()

    async def app_idle(self, bound: float) -> bool:
        idle = await asyncio.gather(*(i.transport.app_idle(bound) for i in self.live()))
        return all(idle)

    async def take_app_errors(self) -> list[str]:
        errors = []
        for index, instance in enumerate(self.instances):
            if instance.process.poll() is None:
                errors += [
                    f"instance {index}: {e}" for e in await instance.transport.take_app_errors()
                ]
        return errors

    async def take_handed(self) -> dict[str, Any]:
        handed: dict[str, Any] = {}
        for instance in self.instances:
            if instance.process.poll() is None:
                handed.update(await instance.transport.take_handed())
        return handed

    async def aclose(self) -> None:
        for instance in self.instances:
            await instance.transport.aclose()


def instance_env(import_string: str, broker_url: str | None) -> dict[str, str]:
    env = {WITNESSED_APP_ENV: import_string}
    if broker_url:
        env[BROKER_URL_ENV] = broker_url
    return env


@contextlib.contextmanager
def serve_instances(
    import_string: str, count: int, broker_url: str | None = None
) -> Iterator[ClusterTransport]:
    """`count` uvicorn processes, one port each, each serving the app inside its witness (its
    errors and idleness asked over its port); all stopped afterwards, also on failure."""
    name = f"uvicorn-x{count}" + ("+redis" if broker_url else "")
    command = uvicorn_command(CLUSTER_WS, "--ws-max-size", str(MAX_MESSAGE_BYTES))
    with contextlib.ExitStack() as stack:
        # Started side by side (each waits for its own port): a cluster starts in the time of
        # one instance. An instance that fails to start is an error here, and the stack stops
        # those already running.
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            started = [
                pool.submit(
                    stack.enter_context,
                    server_process(
                        f"{name} instance {index}",
                        lambda port: command(WITNESS_APP, port),
                        instance_env(import_string, broker_url),
                        witness_answers(),
                    ),
                )
                for index in range(count)
            ]
            processes = [future.result() for future in started]
        instances = [Instance(SubprocessTransport(name, port), p) for p, port in processes]
        yield ClusterTransport(name, instances, steerable=True)


@contextlib.contextmanager
def serve_workers(
    import_string: str, workers: int, broker_url: str | None = None
) -> Iterator[ClusterTransport]:
    """One uvicorn with `workers` worker processes on one port. The app is served as it is
    (uvicorn runs its lifespan in each worker): a witness per worker could not be asked which
    worker it is, so app errors are not seen here."""
    name = f"uvicorn-workers{workers}" + ("+redis" if broker_url else "")
    base = uvicorn_command(CLUSTER_WS, "--workers", str(workers), "--lifespan", "on")
    env = {BROKER_URL_ENV: broker_url} if broker_url else {}
    with server_process(name, lambda port: base(import_string, port), env) as (process, port):
        yield ClusterTransport(name, [Instance(SocketTransport(name, port), process)], False)
