"""The puppet's record reaches the test process from a server in another process, and the
server is gone afterwards."""

from __future__ import annotations

import sys

import pytest

from conformance.engine import LoopRunner, run_actions
from conformance.vocabulary import (
    Accept,
    Action,
    ClientClose,
    Connect,
    ReceiveText,
)
from targets.servers.network import accepts_connections, serve_in_subprocess


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "targets.puppet:app",
        "--host", "127.0.0.1", "--port", str(port), "--ws", "wsproto", "--log-level", "warning",
    ]  # fmt: skip


def test_record_of_a_server_in_another_process_reaches_the_test(loop_runner: LoopRunner) -> None:
    actions: list[Action] = [
        Connect(),
        Accept(),
        ClientClose(4000, "bye"),
        ReceiveText(),
    ]
    with serve_in_subprocess("uvicorn-subprocess", uvicorn_command) as transport:
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
    with serve_in_subprocess("uvicorn-subprocess", uvicorn_command) as transport:
        port = transport.port
        loop_runner.run(transport.aclose())
        serving = accepts_connections(port)
    assert (serving, accepts_connections(port)) == (True, False)


def test_a_server_that_cannot_start_is_reported_not_waited_on() -> None:
    failing = [sys.executable, "-c", "raise SystemExit('no server here')"]
    with (
        pytest.raises(RuntimeError, match="no server here"),
        serve_in_subprocess("broken", lambda port: failing),
    ):
        pass
