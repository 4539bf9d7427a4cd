"""`wsconform run` and `routes` as a user meets them: the app imported as a server imports it
(inside a running event loop), an import failure shown as the app's own error, a fresh app per
example that leaves no growing state and nothing in the project, and output that says what
happened without stray lines."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.engine.findings import Finding
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.reports.html import write_report
from wsconform.reports.sarif import sarif_log
from wsconform.targets.servers.witness import AppWitness, describe_exception, error_signature

from tests.runs import WITHOUT_CROWDS
from wsconform.cli import parse_arguments, pytest_arguments

ROOT = Path(__file__).resolve().parents[1]
APPS = "tests.user_apps"
USER_APPS = ROOT / "tests" / "user_apps"


def wsconform(
    *arguments: str, cwd: Path = ROOT, report: Path | None = None, crowds: bool = True
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """The command as a user types it (without the crowd pass unless `crowds`: see
    tests/runs.py); its exit status, output and results.json."""
    command = [sys.executable, "-m", "wsconform.cli", *arguments]
    if report is not None:
        command += ["--report-dir", str(report)]
    if not crowds:
        command += ["--", *WITHOUT_CROWDS]
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


def test_a_fresh_app_per_example_does_not_add_the_apps_log_handlers_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where the app's log file goes
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
    # Python's own bytecode cache is the interpreter's (tox keeps it elsewhere), not the run's.
    left = sorted(path.name for path in project.iterdir() if path.name != "__pycache__")
    assert left == ["app.log", "logging_app.py"]
    assert len(lines) == len(set(lines)) > 1, lines[:5]


def test_routes_prints_the_routes_and_nothing_else() -> None:
    run, _ = wsconform("routes", f"{APPS}.two_bugs_app:app")
    assert (run.returncode, run.stdout, run.stderr) == (
        0,
        f"WebSocket routes of {APPS}.two_bugs_app:app:\n/orders  [fastapi: orders]\n",
        "",
    )


def test_pytest_options_after_a_double_dash_may_follow_any_option_of_ours() -> None:
    """The order the report's reproduce command uses: the app, then options, then `--`."""
    arguments = parse_arguments(
        ["run", "app:app", "--server", "inmemory", "--", "-k", "orders", "-x"]
    )
    assert (arguments.app, arguments.server) == ("app:app", "inmemory")
    assert pytest_arguments(arguments)[-3:] == ["-k", "orders", "-x"]


# The testclient transport made unavailable, as a server that is not installed is.
_WITHOUT_TESTCLIENT = """
import dataclasses, sys
from wsconform.targets.servers import testclient
testclient.TRANSPORTS = tuple(
    dataclasses.replace(spec, unavailable_reason=lambda: "not installed: pretend-client")
    for spec in testclient.TRANSPORTS
)
from wsconform.cli import main
sys.exit(main(sys.argv[1:]))
"""


def logging_app_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(USER_APPS / "logging_app.py", project)
    return project


def test_a_skipped_server_is_listed_with_its_reason(tmp_path: Path) -> None:
    report = tmp_path / "report"
    command = [
        sys.executable, "-c", _WITHOUT_TESTCLIENT, "run", "logging_app:app",
        "--server", "inmemory,testclient", "--report-dir", str(report), "--", *WITHOUT_CROWDS,
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=logging_app_project(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    assert "skipped server testclient: not installed: pretend-client" in run.stdout.splitlines()


# A run of every server where only inmemory runs: testclient is missing, every real server
# runs only when named.
_ONLY_INMEMORY = """
import dataclasses, importlib, pkgutil, sys
from wsconform.targets import servers
for info in pkgutil.iter_modules(servers.__path__):
    module = importlib.import_module(f"wsconform.targets.servers.{info.name}")
    module.TRANSPORTS = tuple(
        spec if spec.name == "inmemory"
        else dataclasses.replace(spec, unavailable_reason=lambda: "not installed: pretend-client")
        if spec.name == "testclient"
        else dataclasses.replace(spec, opt_in_reason="pretend: named only")
        for spec in getattr(module, "TRANSPORTS", ())
    )
from wsconform.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_of_every_server_lists_the_opt_in_and_missing_ones_as_skipped(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report"
    command = [
        sys.executable, "-c", _ONLY_INMEMORY, "run", "logging_app:app", "--report-dir", str(report),
        "--", *WITHOUT_CROWDS,
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=logging_app_project(tmp_path), capture_output=True, text=True, timeout=300
    )
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    assert "skipped server testclient: not installed: pretend-client" in lines
    for server in ("nginx", "gunicorn", "uvicorn-sansio"):
        assert f"skipped server {server}: runs only when named: pretend: named only" in lines


def test_a_leaf_no_app_frame_raised_is_shown_at_the_library_frame_that_raised_it() -> None:
    try:
        json.loads("")
    except ValueError as exc:
        # From json's own frames on: no frame of the app's code (this test) is left.
        raised_in_a_library = exc.with_traceback(exc.__traceback__.tb_next)  # type: ignore[union-attr]
    leaf = describe_exception(raised_in_a_library).partition("\n")[0]
    assert re.fullmatch(r"JSONDecodeError at json/decoder\.py:\d+ in raw_decode: .*", leaf), leaf
    assert error_signature(f"websocket /x: {leaf}").startswith("JSONDecodeError at json/decoder")


def test_the_app_mode_report_has_no_baseline_differences_nor_hypothesis_replay_hints(
    tmp_path: Path,
) -> None:
    """Against an app, wsconform's own baselines (its reference targets') differ from every
    verdict; and `@reproduce_failure` is a decorator for wsconform's test, not the reader's."""
    report = tmp_path / "report"
    run, results = wsconform(
        "run", "logging_app:app", "--server", "inmemory",
        cwd=logging_app_project(tmp_path), report=report, crowds=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    finding = Finding(
        id="0123abcd",
        route="/feed",
        checks=["generic.no-unhandled-exception"],
        plan="connect '/feed'\n  send_text('')",
        steps=[["send_text", ""]],
        target="/feed",
        headers=[],
        leaf="websocket /feed: KeyError at logging_app.py:23 in feed: 'text'",
        servers={"inmemory": {"client_events": [], "app_errors": [], "confirmed": True}},
        reproduce={"inmemory": "wsconform run logging_app:app --server inmemory"},
        hypothesis="Falsifying example: ...\n" + HINT,
    )
    results["findings"] = [finding.to_json()]
    (report / "results.json").write_text(json.dumps(results))
    write_report(report / "results.json")
    page = (report / "index.html").read_text()
    assert "Falsifying example" in page
    assert "@reproduce_failure" not in page
    assert "Differences against the baseline" not in page
    assert json.loads((report / "index.json").read_text())["differences"] == []
    assert HINT in (report / "results.json").read_text()


HINT = (
    "You can reproduce this example by temporarily adding @reproduce_failure('6.170.17',"
    " b'AXicY2BgAAAAAwAB') as a decorator on your test case"
)


def test_a_run_writes_a_sarif_log_of_its_findings(tmp_path: Path) -> None:
    report = tmp_path / "report"
    run, _ = wsconform(
        "run", "logging_app:app", "--server", "inmemory",
        cwd=logging_app_project(tmp_path), report=report, crowds=False,
    )  # fmt: skip
    log = json.loads((report / "wsconform.sarif").read_text())
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    assert (log["version"], log["runs"][0]["tool"]["driver"]["name"]) == ("2.1.0", "wsconform")
    assert log["runs"][0]["results"] == []


def test_the_sarif_log_locates_each_finding_at_the_apps_leaf_frame() -> None:
    finding = Finding(
        id="0123abcd",
        route="/orders",
        checks=["generic.no-unhandled-exception", "generic.no-server-error"],
        plan="connect '/orders'\n  send_bytes(b'')",
        steps=[["send_bytes", ""]],
        target="/orders",
        headers=[],
        leaf="websocket /orders: KeyError at tests/user_apps/two_bugs_app.py:18 in orders: 'text'",
    )
    checks = [{"id": "generic.no-unhandled-exception", "title": "no input makes a route raise"}]
    log = sarif_log({"findings": [finding.to_json()], "checks": checks}, ROOT)
    assert set(log) >= {"$schema", "version", "runs"} and log["version"] == "2.1.0"
    (sarif_run,) = log["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["generic.no-unhandled-exception"]
    assert rules[0]["shortDescription"]["text"] == "no input makes a route raise"
    (result,) = sarif_run["results"]
    assert result["ruleId"] == "generic.no-unhandled-exception"
    assert "KeyError" in result["message"]["text"]
    (location,) = result["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "tests/user_apps/two_bugs_app.py"
    assert physical["region"]["startLine"] == 18
