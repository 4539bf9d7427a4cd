"""Pointing the suite at a user's app (`--app`, `--routes`) or a running server (`--url`), run
as a user runs it: the example app's real bugs must come out, with a minimal reproduction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.targets.servers.network import SocketTransport, server_process
from wsconform.targets.servers.uvicorn_server import uvicorn_command

from tests.runs import WITHOUT_CROWDS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples.shop:app"
# Each test runs the suite in a subprocess: seconds each (`-m "not slow"` leaves them out).
pytestmark = pytest.mark.slow


def suite(*options: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "pytest", "conformance", "--ignore=conformance/bench", "-q",
        "-p", "no:cacheprovider", "--hypothesis-profile", "ci", *options,
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def verdicts(results: Path) -> dict[str, dict[str, Any]]:
    rows = json.loads(results.read_text())["results"]
    return {row["check"]: row for row in rows if row["check"].startswith("generic.")}


def test_routes_lists_what_discovery_found() -> None:
    run = suite("--app", EXAMPLE, "--routes")
    assert run.returncode == 0, run.stderr
    assert "/support/tickets/{ticket:int}  [starlette: support_ticket]" in run.stdout
    assert "query:currency?: str" in run.stdout


def test_url_must_be_on_this_machine() -> None:
    run = suite("--url", "ws://192.0.2.7:8000/ws")
    assert (run.returncode, "a server on this machine's loopback" in run.stderr) == (4, True)


def test_the_example_apps_bugs_are_reported_with_a_minimal_plan(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = suite(
        "--app", EXAMPLE, "--server", "inmemory", "--results", str(results), *WITHOUT_CROWDS
    )
    found = verdicts(results)
    crash = found["generic.no-unhandled-exception"]
    assert run.returncode == 1, run.stdout[-3000:]
    # An app raising on client input breaks the suite's policy (non-strict, still a finding:
    # the exit status is 1); accepting a bad token breaks the route's declared MUST.
    assert (crash["verdict"], found["generic.auth.rejects-bad-tokens"]["verdict"]) == (
        "non-strict",
        "fail",
    )
    # Shrunk to the smallest connection that shows the bug: one empty message that is not JSON
    # (text or bytes: the route trusts both to be JSON, and which one the shrink ends on depends
    # on the order of the generated message shapes).
    leaf = {"send_text('')": "JSONDecodeError", "send_bytes(b'')": "KeyError"}
    connect, step = crash["evidence"]["plan"].split("\n  ")
    # An opening plan (a valid order id, 1) or a generated one shrunk to the smallest (0).
    assert connect in ("connect '/orders/0/track'", "connect '/orders/1/track'"), connect
    assert step in leaf, crash["evidence"]["plan"]
    assert leaf[step] in crash["evidence"]["app_errors"][0]
    assert "wsconform run examples.shop:app --server inmemory" in crash["evidence"]["reproduce"]
    assert "plan=ConnectionPlan(" in crash["evidence"]["hypothesis_program"]
    # Jinja2 escapes a quote as &#39;.
    assert connect.replace("'", "&#39;") in (tmp_path / "index.html").read_text()
    # The routes without bugs pass what they are judged on.
    assert found["generic.close-code-valid"]["verdict"] == "pass"


@pytest.mark.timeout(600)
def test_a_running_server_is_checked_over_the_wire(tmp_path: Path) -> None:
    with server_process("uvicorn", lambda port: uvicorn_command("wsproto")(EXAMPLE, port), {}) as (
        _,
        port,
    ):
        run = suite(
            "--url", f"ws://127.0.0.1:{port}/orders/1/track", "--results", str(tmp_path / "r.json")
        )
    found = verdicts(tmp_path / "r.json")
    # uvicorn drops the connection when the route raises: over the wire, a server error.
    assert (run.returncode, found["generic.no-server-error"]["verdict"]) == (1, "non-strict")
    assert "generic.no-unhandled-exception" not in found  # not observable over the wire


def wsconform_run(*options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from wsconform.cli import main; raise SystemExit(main())"]
    return subprocess.run(
        [*command, "run", EXAMPLE, *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.timeout(600)
def test_a_tls_server_is_checked_with_insecure_and_refused_without_it(tmp_path: Path) -> None:
    """`wsconform run APP --url wss://...`: the certificate made for the run (trustme) is
    self-signed as far as the system's store knows, so only --insecure gets past it; without
    it the run stops with a usage error naming the certificate, not a traceback."""
    from wsconform.targets.servers import all_transports

    spec = all_transports()["uvicorn-sansio+tls"]
    if (reason := spec.unavailable_reason()) is not None:
        pytest.skip(f"uvicorn-sansio+tls: {reason}")
    with spec.serve(EXAMPLE) as server:
        assert isinstance(server, SocketTransport)
        url = f"wss://127.0.0.1:{server.port}/orders/1/track"
        checked = wsconform_run("--url", url, "--insecure", "--report-dir", str(tmp_path))
        refused = wsconform_run("--url", url, "--report-dir", str(tmp_path / "refused"))
    found = verdicts(tmp_path / "results.json")
    assert (checked.returncode, found["generic.no-server-error"]["verdict"]) == (1, "non-strict")
    output = refused.stdout + refused.stderr
    assert (refused.returncode, "certificate does not verify" in output) == (2, True)
    assert ("--insecure" in output, "Traceback" in output) == (True, False)
