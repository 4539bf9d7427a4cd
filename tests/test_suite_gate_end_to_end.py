"""The suite's exit status is the baseline gate, in both directions (run as a user runs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from wsconform.conformance.checks import Verdict
from wsconform.conformance.data import EXPECTED_DIR
from wsconform.conformance.engine.results import Baseline

ROOT = Path(__file__).resolve().parents[1]
# Each test runs the suite in a subprocess: seconds each (`-m "not slow"` leaves them out).
pytestmark = pytest.mark.slow
SCENARIO = "close-before-accept"


def run_suite(baselines: Path, results: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "pytest", "conformance/suite/test_scenarios.py", "-q",
        "-p", "no:cacheprovider", "--server", "inmemory", "-k", SCENARIO,
        "--baselines", str(baselines), "--results", str(results),
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_recorded_failure_that_now_passes_fails_the_run(tmp_path: Path) -> None:
    baseline = Baseline.load("inmemory")
    assert baseline is not None
    verdicts = dict(baseline.verdicts)
    verdicts["handshake.close-before-accept-403"] = Verdict.FAIL
    Baseline.write("inmemory", verdicts, tmp_path)
    run = run_suite(tmp_path, tmp_path / "results.json")
    assert (
        run.returncode,
        "handshake.close-before-accept-403 fail -> pass (now passes)" in run.stdout,
    ) == (1, True)


def test_matching_baseline_passes_and_writes_results(tmp_path: Path) -> None:
    run = run_suite(EXPECTED_DIR, tmp_path / "results.json")
    results = json.loads((tmp_path / "results.json").read_text())
    verdicts = {(r["check"], r["server"]): r["verdict"] for r in results["results"]}
    assert (run.returncode, verdicts[("handshake.close-before-accept-403", "inmemory")]) == (
        0,
        "pass",
    )


def test_unknown_server_name_is_a_usage_error(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest", "conformance", "--server", "lighttpd", "-q"]
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert (run.returncode, "unknown --server lighttpd" in run.stderr) == (4, True)


def test_a_baseline_without_causes_gates_on_verdicts_and_says_to_re_record(tmp_path: Path) -> None:
    baseline = Baseline.load("inmemory")
    assert baseline is not None
    Baseline.write("inmemory", baseline.verdicts, tmp_path)  # no causes: the older format
    run = run_suite(tmp_path, tmp_path / "results.json")
    assert (run.returncode, "inmemory record no causes" in run.stdout) == (0, True)
