"""`wsconform run` and `routes` as a user meets them: the app imported as a server imports it
(inside a running event loop), an import failure shown as the app's own error, a fresh app per
example that leaves no growing state and nothing in the project, and output that says what
happened without stray lines."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.targets.servers.witness import AppWitness

ROOT = Path(__file__).resolve().parents[1]
APPS = "tests.user_apps"
USER_APPS = ROOT / "tests" / "user_apps"


def wsconform(
    *arguments: str, cwd: Path = ROOT, report: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """The command as a user types it; its exit status, output and results.json."""
    command = [sys.executable, "-m", "wsconform.cli", *arguments]
    if report is not None:
        command += ["--report-dir", str(report)]
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    results = report / "results.json" if report else None
    return run, json.loads(results.read_text()) if results and results.exists() else None


def test_an_app_that_does_not_import_is_a_usage_error_with_its_own_traceback(
    tmp_path: Path,
) -> None:
    run, _ = wsconform(
        "run", f"{APPS}.broken_import_app:app", "--server", "inmemory", report=tmp_path
    )
    first, *traceback = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stdout + run.stderr
    assert first == (
        f"ERROR: app {APPS}.broken_import_app:app does not import: KeyError at"
        " tests/user_apps/broken_import_app.py:9 in <module>: 'DATABASE_URL'"
    )
    assert traceback[1] == f'  File "{USER_APPS / "broken_import_app.py"}", line 9, in <module>'
    assert "INTERNALERROR" not in run.stdout + run.stderr
    assert not any("_pytest" in line or "importlib" in line for line in traceback), traceback


def test_routes_of_an_app_that_needs_a_running_loop_at_import_are_listed() -> None:
    run, _ = wsconform("routes", f"{APPS}.loop_at_import_app:app")
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    assert run.stdout.splitlines()[-1].split() == ["/echo", "[starlette:", "echo]"]


@pytest.mark.slow
def test_an_app_that_needs_a_running_loop_at_import_is_run_and_served_on_it(
    tmp_path: Path,
) -> None:
    """A task the module creates at import runs on the loop that serves the app, as under
    `uvicorn module:app`."""
    run, results = wsconform(
        "run", f"{APPS}.loop_at_import_app:app", "--server", "inmemory", report=tmp_path
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    assert results["findings"] == []


def test_a_fresh_app_per_example_does_not_add_the_apps_log_handlers_again() -> None:
    runner = LoopRunner()
    witness = AppWitness(f"{APPS}.logging_app:app")
    try:
        for _ in range(5):
            runner.run(witness.prepare(fresh=True))
        handlers = logging.getLogger("logging_app").handlers
    finally:
        runner.run(witness.shutdown())
        runner.close()
    assert len(handlers) == 1, handlers


def test_a_run_leaves_nothing_in_the_project_and_logs_each_connection_once(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(USER_APPS / "logging_app.py", project)
    run, _ = wsconform(
        "run", "logging_app:app", "--server", "inmemory", cwd=project, report=tmp_path / "report"
    )
    lines = (project / "app.log").read_text().splitlines()
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    assert sorted(path.name for path in project.iterdir()) == ["app.log", "logging_app.py"]
    assert len(lines) == len(set(lines)) > 1, lines[:5]
