"""The puppet's record reaches the test process from a server in another process, and the
server is gone afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from wsconform.conformance.engine.sessions import LoopRunner, run_actions
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Action,
    ClientClose,
    Connect,
    ReceiveText,
)
from wsconform.conformance.families.contracts.endpoints import leave_midway
from wsconform.targets.servers import network
from wsconform.targets.servers.network import (
    PROJECT_ROOT,
    WITNESS_APP,
    SubprocessTransport,
    accepts_connections,
    loopback_socket,
    serve_in_subprocess,
    wait_until,
    witness_answers,
)
from wsconform.targets.servers.witness import WITNESSED_APP_ENV


def uvicorn_command(app: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port), "--ws", "wsproto", "--log-level", "warning",
    ]  # fmt: skip


def test_record_of_a_server_in_another_process_reaches_the_test(loop_runner: LoopRunner) -> None:
    actions: list[Action] = [
        Connect(),
        Accept(),
        ClientClose(4000, "bye"),
        ReceiveText(),
    ]
    with serve_in_subprocess(
        "uvicorn-subprocess", "wsconform.targets.puppet:app", uvicorn_command
    ) as transport:
        session = loop_runner.run(run_actions(transport, actions, "subprocess"))
        loop_runner.run(transport.aclose())
    assert session.record is not None
    last_received = [
        message for direction, message in session.record.asgi if direction == "receive"
    ][-1]
    receive_outcome = session.record.steps[1][1]
    assert receive_outcome is not None
    assert (last_received, receive_outcome.exc_type, receive_outcome.value) == (
        {"type": "websocket.disconnect", "code": 4000, "reason": "bye"},
        "WebSocketDisconnect",
        {"code": 4000, "reason": "bye"},
    )


def test_the_server_process_is_gone_after_the_session(loop_runner: LoopRunner) -> None:
    with serve_in_subprocess(
        "uvicorn-subprocess", "wsconform.targets.puppet:app", uvicorn_command
    ) as transport:
        port = transport.port
        loop_runner.run(transport.aclose())
        serving = accepts_connections(port)
    assert (serving, accepts_connections(port)) == (True, False)


def test_a_server_that_cannot_start_is_reported_not_waited_on() -> None:
    failing = [sys.executable, "-c", "raise SystemExit('no server here')"]
    with (
        pytest.raises(RuntimeError, match="no server here"),
        serve_in_subprocess("broken", "wsconform.targets.puppet:app", lambda app, port: failing),
    ):
        pass


def test_app_errors_in_the_server_process_reach_the_test(loop_runner: LoopRunner) -> None:
    async def leave_and_ask(transport: SubprocessTransport) -> tuple[list[str], list[str]]:
        await leave_midway(transport, "/echo", ["hello"], "close")
        return await transport.drain_app_errors(), await transport.drain_app_errors()

    with serve_in_subprocess(
        "uvicorn-subprocess", "tests.broken_apps:echo_raises_on_disconnect", uvicorn_command
    ) as transport:
        try:
            first, second = loop_runner.run(leave_and_ask(transport))
        finally:
            loop_runner.run(transport.aclose())
    assert len(first) == 1 and "WebSocketDisconnect" in first[0], first
    assert second == []  # drained: each error is reported once


# A "server" that starts a worker process, as granian does, then serves HTTP on the given port,
# answering who it is as the witness does (the token it was started with, on every path).
SPAWNS_A_WORKER = """
import http.server, json, os, pathlib, subprocess, sys
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
pathlib.Path(sys.argv[2]).write_text(str(worker.pid))
class Witness(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"token": os.environ["WSCONFORM_SERVER_TOKEN"]}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Witness)
server.serve_forever()
"""


def test_workers_the_server_started_are_stopped_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker-pid"

    def command(app: str, port: int) -> list[str]:
        return [sys.executable, "-c", SPAWNS_A_WORKER, str(port), str(pid_file)]

    with serve_in_subprocess("spawner", "wsconform.targets.puppet:app", command):
        worker = int(pid_file.read_text())
        assert process_exists(worker)
    assert wait_until(lambda: not process_exists(worker), 5.0)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; it has stopped all the same.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def test_the_witness_app_says_which_variable_it_needs() -> None:
    env = {key: value for key, value in os.environ.items() if key != WITNESSED_APP_ENV}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", f"import {WITNESS_APP.partition(':')[0]}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and WITNESSED_APP_ENV in result.stderr


def test_a_port_taken_before_the_server_binds_it_is_not_mistaken_for_the_server(
    monkeypatch: pytest.MonkeyPatch, loop_runner: LoopRunner
) -> None:
    """Another process takes the free port first (here a socket that listens and never
    answers): the server fails to bind it while the squatter accepts connections there. The
    server is started again on another port, and the transport talks to it, not to the
    squatter."""
    squatter = loopback_socket()
    taken = squatter.getsockname()[1]
    ports = iter([taken])
    free_port = network.free_loopback_port
    monkeypatch.setattr(network, "free_loopback_port", lambda: next(ports, None) or free_port())
    try:
        with serve_in_subprocess(
            "uvicorn-subprocess", "wsconform.targets.puppet:app", uvicorn_command
        ) as transport:
            reply = loop_runner.run(transport.request("GET", "/_puppet/health"))
            loop_runner.run(transport.aclose())
    finally:
        squatter.close()
    assert (transport.port != taken, reply.status) == (True, 200)


def test_the_witness_tells_its_own_server_from_another_process() -> None:
    squatter = loopback_socket()
    try:
        assert not witness_answers()(squatter.getsockname()[1], "a token")
    finally:
        squatter.close()
