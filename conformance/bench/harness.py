"""What the throughput benchmarks are built from: the servers, the load generator process, the
figures and their ratios to the baseline and ceiling measured in the same run."""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import psutil
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import StackLayer, missing_module
from wsconform.targets.servers.daphne_server import daphne_command
from wsconform.targets.servers.granian_server import granian_command
from wsconform.targets.servers.hypercorn_server import hypercorn_command
from wsconform.targets.servers.network import project_env, server_process, stop_process_group
from wsconform.targets.servers.nginx_server import nginx_in_front, upstream_command
from wsconform.targets.servers.tls import server_certificate
from wsconform.targets.servers.uvicorn_server import (
    TLS_WS,
    WS_IMPLEMENTATIONS,
    uvicorn_command,
    uvicorn_tls_command,
    uvicorn_transport_name,
)

Role = Literal["baseline", "ceiling", "server"]

REFERENCE_APP = "wsconform.targets.reference:app"
BARE_APP = "wsconform.targets.bare_echo:app"
# The reference servers serve their own echo and chat room, not an ASGI app.
OWN_APP = "own"


@dataclass(frozen=True)
class BenchServer:
    name: str
    role: Role
    # `argv_for(app import string, port)`: the command that serves the app on 127.0.0.1:port.
    argv_for: Callable[[str, int], list[str]]
    # None when the server can run here, else why not (the same reasons as its transport).
    unavailable_reason: Callable[[], str | None]
    # A stack (a proxy, TLS) over another bench server: each of its figures is also divided by
    # that server's in the same run (the layer's price).
    stack: StackLayer | None = None
    # How the server starts when it is more than `argv_for` (a certificate, a proxy in front).
    start: Callable[[BenchTarget], contextlib.AbstractContextManager[RunningServer]] | None = None


def _reference_server(name: str, role: Role, *modules: str) -> BenchServer:
    def argv_for(_app: str, port: int) -> list[str]:
        return [sys.executable, "-m", "wsconform.targets.bench_references", name, str(port)]

    return BenchServer(f"{name} ({role})", role, argv_for, missing_module(*modules))


def bench_servers() -> list[BenchServer]:
    """Baseline and ceiling first, so each server's progress line can show its ratios."""
    transports = all_transports()

    def asgi_server(
        name: str,
        argv_for: Callable[[str, int], list[str]],
        start: Callable[[BenchTarget], contextlib.AbstractContextManager[RunningServer]]
        | None = None,
    ) -> BenchServer:
        # Run only where the conformance suite would run it, so "every installed server" means
        # the same in both; a transport name unknown here would be a typo, loudly.
        spec = transports[name]
        return BenchServer(
            name, "server", argv_for, spec.unavailable_reason, spec.stack_layer, start
        )

    return [
        _reference_server("websockets", "baseline", "websockets"),
        _reference_server("picows", "ceiling", "picows", "uvloop"),
        *(
            asgi_server(uvicorn_transport_name(ws), uvicorn_command(ws))
            for ws in WS_IMPLEMENTATIONS
        ),
        asgi_server("hypercorn", hypercorn_command),
        asgi_server("daphne", daphne_command),
        asgi_server("granian", granian_command),
        # After the server they are stacked on, whose figures their ratios need.
        asgi_server(f"{uvicorn_transport_name(TLS_WS)}+tls", uvicorn_command(TLS_WS), tls_stack),
        asgi_server("nginx", upstream_command, nginx_stack),
    ]


@dataclass(frozen=True)
class BenchTarget:
    """A server serving one app: what a benchmark connects to."""

    server: BenchServer
    app: str

    @property
    def run_order(self) -> int:
        """Baseline, then ceiling, then the servers: their ratios need the references first."""
        return ("baseline", "ceiling", "server").index(self.server.role)

    @property
    def id(self) -> str:
        if self.server.role != "server":
            return self.server.name.split(" ")[0]
        return self.id_of(self.server.name)

    def id_of(self, server: str) -> str:
        return f"{server}-{'bare' if self.app == BARE_APP else 'fastapi'}"

    @property
    def without_layer(self) -> str | None:
        """The id of the same app on the server this stack is over (None: not a stack)."""
        return None if self.server.stack is None else self.id_of(self.server.stack.over)


def bench_targets(apps: Iterable[str]) -> list[BenchTarget]:
    """Every server with each of `apps`; a reference server once, with its own app."""
    targets = []
    for server in bench_servers():
        if server.role != "server":
            targets.append(BenchTarget(server, OWN_APP))
        else:
            targets.extend(BenchTarget(server, app) for app in apps)
    return targets


@dataclass
class RunningServer:
    target: BenchTarget
    # The server's processes: one, or a proxy's and its server's.
    processes: list[subprocess.Popen[bytes]]
    port: int
    # The CA a client trusts the server's certificate with (None: no TLS).
    ca_file: Path | None = None

    def url(self, path: str) -> str:
        return f"{'wss' if self.ca_file else 'ws'}://127.0.0.1:{self.port}{path}"

    def rss_bytes(self) -> int:
        """Resident memory of the server's processes and every process they started (granian's
        workers, nginx's)."""
        leaders = [psutil.Process(process.pid) for process in self.processes]
        return sum(
            process.memory_info().rss
            for leader in leaders
            for process in [leader, *leader.children(recursive=True)]
        )


@contextlib.contextmanager
def run_server(target: BenchTarget) -> Iterator[RunningServer]:
    if target.server.start is not None:
        with target.server.start(target) as running:
            yield running
        return
    command = target.server.argv_for
    with server_process(target.id, lambda port: command(target.app, port), extra_env={}) as (
        process,
        port,
    ):
        yield RunningServer(target, [process], port)


@contextlib.contextmanager
def tls_stack(target: BenchTarget) -> Iterator[RunningServer]:
    """uvicorn serving wss:// with a certificate made for the run (the load generator is told to
    trust its CA)."""
    with (
        server_certificate() as certificate,
        server_process(
            target.id, lambda port: uvicorn_tls_command(certificate)(target.app, port), {}
        ) as (process, port),
    ):
        yield RunningServer(target, [process], port, certificate.ca_file)


@contextlib.contextmanager
def nginx_stack(target: BenchTarget) -> Iterator[RunningServer]:
    """nginx, with the suite's recommended proxy configuration, in front of the server that
    `argv_for` starts."""
    upstream_argv = target.server.argv_for
    with (
        server_process(
            f"{target.id} upstream", lambda port: upstream_argv(target.app, port), {}
        ) as (upstream, upstream_port),
        nginx_in_front(upstream_port, name=target.id) as (proxy, port),
    ):
        yield RunningServer(target, [proxy, upstream], port)


# --- the load generator ------------------------------------------------------------------------


class LoadFailure(Exception):
    """The load generator could not do what it was asked: the server answered wrongly or late."""


# Beyond a command's own bound: the time the load generator takes to notice and answer.
_ANSWER_GRACE_S = 5.0


class LoadGeneratorProcess:
    """`conformance.bench.loadgen` in its own process, asked one command at a time."""

    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self._process = process
        self._stderr = stderr

    def call(self, op: str, bound_s: float, **arguments: Any) -> dict[str, Any]:
        """Run one command; raise `LoadFailure` with the reason if it fails or overruns."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        if self._process.poll() is not None:
            raise LoadFailure(f"the load generator has exited: {self._stderr_tail()}")
        stdin.write(json.dumps({"op": op, "bound_s": bound_s, **arguments}).encode() + b"\n")
        stdin.flush()
        ready, _, _ = select.select([stdout], [], [], bound_s + _ANSWER_GRACE_S)
        line = stdout.readline() if ready else b""
        if not line:
            stop_process_group(self._process)
            raise LoadFailure(f"the load generator gave no answer to {op!r}: {self._stderr_tail()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise LoadFailure(f"{op}: {answer['error']}")
        return answer

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:] or "(nothing on stderr)"


@contextlib.contextmanager
def load_generator() -> Iterator[LoadGeneratorProcess]:
    """Start the load generator; always stop it, with every connection it holds."""
    # Popen as a context manager closes its pipes on the way out.
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(
            [sys.executable, "-m", "conformance.bench.loadgen"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=project_env({}),
            start_new_session=True,
        ) as process,
    ):
        try:
            yield LoadGeneratorProcess(process, stderr)
        finally:
            if process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
            stop_process_group(process)
