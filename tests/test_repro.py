"""Repro scripts: built from a failing cell's evidence, they replay the steps with a raw ASGI
app and a plain socket on the server's own command line, and say whether they saw the same."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from wsconform.conformance.engine.probes import run_probe
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner, run_actions
from wsconform.conformance.families.lifecycle.scenarios import SCENARIOS
from wsconform.conformance.families.raw_asgi import probes as raw_asgi
from wsconform.conformance.families.shutdown import probes as shutdown
from wsconform.conformance.families.wire import handshakes as upgrade
from wsconform.reports import repro
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.network import SocketTransport

SCRIPT_BOUND_S = 90
T = TypeVar("T")


def _run_script(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=SCRIPT_BOUND_S,
    )


def _reproduced(script: Path) -> str:
    """Run a script that must reproduce what wsconform saw; its output."""
    done = _run_script(script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "REPRODUCED: the same as wsconform observed" in done.stdout
    return done.stdout


def _on_server(
    server: str, runner: LoopRunner, work: Callable[[SocketTransport], Awaitable[T]]
) -> T:
    """`work` done on a fresh `server` serving the puppet, which is then stopped."""
    spec = all_transports()[server]
    if spec.unavailable_reason():
        pytest.skip(f"{server}: {spec.unavailable_reason()}")
    with spec.serve(PUPPET_APP) as transport:
        assert isinstance(transport, SocketTransport)
        try:
            return runner.run(work(transport))
        finally:
            runner.run(transport.aclose())


def _probe_result(server: str, probe_name: str, runner: LoopRunner) -> dict[str, Any]:
    probe = next(probe for probe in raw_asgi.RAW_PROBES if probe.name == probe_name)
    run, judgements = _on_server(server, runner, lambda t: run_probe(t, probe))
    evidence = {"program": probe.program_json(), **run.evidence()}
    return {"check": judgements[0].check_id, "server": server, "verdict": "fail",
            "evidence": {"details": [judgements[0].detail], **evidence}}  # fmt: skip


def test_a_raw_probe_program_becomes_steps_and_expectations() -> None:
    evidence = {
        "program": [{"kind": "Connect", "query": "", "headers": [], "subprotocols": []},
                    {"kind": "RawReceive"},
                    {"kind": "RawSend", "message": {"type": "websocket.accept"}},
                    {"kind": "Observe"}, {"kind": "Briefly", "step": {"kind": "RawReceive"}}],
        "app_steps": [{"outcome": {"exc_type": None}}, {"outcome": {"exc_type": "RuntimeError"}},
                      {"outcome": None}],
        "client_saw": [{"kind": "Closed", "code": None, "close_frame_seen": False}],
    }  # fmt: skip
    program = repro.program_from_evidence(evidence)
    assert [actor for actor, _ in program.steps] == ["client", "app", "app", "client", "app"]
    assert program.steps[2][1] == {"send": [{"type": "websocket.accept"}]}
    assert program.expected == {
        "app": ["ok", "RuntimeError", "pending"],
        "client": [["Closed", 1006, None]],
    }


def test_evidence_without_steps_gets_no_script(tmp_path: Path) -> None:
    results = [{"check": "scope.path-decoded", "server": "granian", "verdict": "fail",
                "evidence": {"details": ["no steps here"]}}]  # fmt: skip
    assert repro.write_scripts(results, tmp_path) == []
    assert "repro_script" not in results[0]["evidence"]


def test_a_raw_probe_divergence_reproduces_on_its_own(
    tmp_path: Path, loop_runner: LoopRunner
) -> None:
    # granian puts a 200-byte reason in a close frame (RFC 6455 5.5 allows 125 bytes).
    result = _probe_result("granian", "close-long-reason", loop_runner)
    [script] = repro.write_scripts([result], tmp_path)
    assert script.name == f"{result['check']}--granian.py"
    stdout = _reproduced(script)
    assert "'frame_bytes': 202" in stdout  # the oversized close frame, seen again


def test_a_script_says_when_the_run_differs(tmp_path: Path, loop_runner: LoopRunner) -> None:
    result = _probe_result("granian", "close-long-reason", loop_runner)
    result["evidence"]["client_saw"][-1]["code"] = 1000  # not what granian does
    [script] = repro.write_scripts([result], tmp_path)
    done = _run_script(script)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "NOT REPRODUCED" in done.stdout


@pytest.mark.slow
def test_a_lifecycle_transcript_reproduces_on_its_own(
    tmp_path: Path, loop_runner: LoopRunner
) -> None:
    # uvicorn's wsproto implementation puts the app's close code 401 on the wire.
    scenario = next(s for s in SCENARIOS if s.name == "close-with-http-status-as-code")
    session = _on_server(
        "uvicorn-wsproto", loop_runner, lambda t: run_actions(t, scenario.actions, "repro")
    )
    evidence = json.loads(json.dumps(session.evidence()))
    result = {"check": "close.invalid-app-code-refused", "server": "uvicorn-wsproto",
              "verdict": "fail", "evidence": evidence}  # fmt: skip
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps({"results": [result]}))
    [script] = repro.add_scripts(results_path)
    linked = json.loads(results_path.read_text())["results"][0]["evidence"]["repro_script"]
    assert linked == f"repro/{script.name}"
    stdout = _reproduced(script)
    assert "'code': 401" in stdout


def test_a_handshake_probe_replays_its_bytes_on_its_own(
    tmp_path: Path, loop_runner: LoopRunner
) -> None:
    # granian answers a version-12 handshake with 400 and no Sec-WebSocket-Version (RFC 6455
    # 4.4 asks for 426 with the versions it supports).
    probes = _on_server("granian", loop_runner, lambda t: upgrade.run_probes(t.endpoint))
    [(judgements, replay)] = [
        (judged, replay)
        for judged, replay in probes
        if judged[0].check_id == "upgrade.unknown-version-refused"
    ]
    result = {"check": judgements[0].check_id, "server": "granian", "verdict": "fail",
              "evidence": {"details": [judgements[0].detail], **replay}}  # fmt: skip
    [script] = repro.write_scripts([result], tmp_path)
    stdout = _reproduced(script)
    assert "wrote the handshake: b'GET /scope-echo/upgrade HTTP/1.1'" in stdout


@pytest.mark.slow
def test_a_shutdown_reproduces_on_its_own(tmp_path: Path, loop_runner: LoopRunner) -> None:
    # daphne on SIGTERM drops every connection without an HTTP answer or a close frame.
    spec = all_transports()["daphne"]
    if spec.unavailable_reason():
        pytest.skip(f"daphne: {spec.unavailable_reason()}")
    with contextlib.ExitStack() as serving:
        fresh = serving.enter_context(spec.serve(PUPPET_APP))
        run = loop_runner.run(shutdown.stop_with_connections(fresh, serving.close))
        loop_runner.run(fresh.aclose())
    evidence = json.loads(json.dumps(run.evidence()))
    evidence["details"] = ["dropped"]
    result = {"check": "shutdown.open-connection-gets-close-frame", "server": "daphne",
              "verdict": "non-strict", "evidence": evidence}  # fmt: skip
    [script] = repro.write_scripts([result], tmp_path)
    stdout = _reproduced(script)
    assert "after SIGTERM, the open-idle client got ['drop']" in stdout
