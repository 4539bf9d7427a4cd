"""Transports in parallel (pytest-xdist): the controller merges what each worker recorded, and
the merged results equal those of a serial run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder

ROOT = Path(__file__).resolve().parents[1]


def run_suite(results: Path, *extra: str) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "pytest", "conformance/suite/test_scenarios.py",
        "conformance/suite/test_claims.py", "-q", "-p", "no:cacheprovider",
        "--server", "inmemory,testclient", "--results", str(results), *extra,
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:]
    loaded: dict[str, Any] = json.loads(results.read_text())
    return loaded


def verdicts(results: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(row["check"], row["server"]): row["verdict"] for row in results["results"]}


@pytest.mark.slow
def test_a_parallel_run_gives_the_verdicts_of_a_serial_run(tmp_path: Path) -> None:
    serial = run_suite(tmp_path / "serial.json", "-p", "no:xdist")
    parallel = run_suite(tmp_path / "parallel.json", "-n", "2", "--dist", "loadgroup")
    assert (verdicts(parallel), parallel["advertised"], parallel["servers"]) == (
        verdicts(serial),
        serial["advertised"],
        serial["servers"],
    )


def test_merging_recorders_equals_recording_in_one() -> None:
    first = [Judgement("data.text-exact", True, "ok"), Judgement("close.code-delivered", True, "")]
    second = [
        Judgement("data.text-exact", False, "stripped"),
        Judgement("data.bytes-exact", True, ""),
    ]
    alone, left, right = ResultsRecorder(), ResultsRecorder(), ResultsRecorder()
    alone.add("inmemory", first, lambda: {"session": "a"})
    alone.add("inmemory", second, lambda: {"session": "b"})
    left.add("inmemory", first, lambda: {"session": "a"})
    right.add("inmemory", second, lambda: {"session": "b"})
    merged = ResultsRecorder()
    merged.merge(left.state())
    merged.merge(right.state())
    assert merged.state() == alone.state()
