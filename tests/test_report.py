"""The report's files without a browser: index.json's shape, the differences against the
baseline, a page with no external resource, the benchmark charts, and a clear error."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.checks import CATALOGUE, Verdict
from conformance.results import Baseline
from reports.html import main, write_report
from reports.summary import main as summary_main

CHECK = CATALOGUE[0].id


def results_json(verdict: str = "pass") -> dict[str, Any]:
    return {
        "environment": {"starlette": "1.0"},
        "servers": ["inmemory"],
        "unavailable_servers": {"granian": "not installed: granian"},
        "checks": [
            {"id": c.id, "grade": c.grade.value, "title": c.title, "requirement": c.requirement}
            for c in CATALOGUE
        ],
        "results": [
            {
                "check": CHECK,
                "server": "inmemory",
                "verdict": verdict,
                "evidence": {
                    "details": ["client saw Accepted()"],
                    "source": "state machine",
                    "reproduce": "tox -e suite -- --server inmemory -k test_lifecycle_machine",
                    "hypothesis_program": "state = LifecycleMachine()\nstate.accept()",
                    "transcript": [
                        {
                            "actor": "app",
                            "action": {"kind": "Accept"},
                            "outcome": None,
                            "client_saw": {"kind": "Accepted", "payload": "x" * 70000},
                            "judged": [{"check": CHECK, "verdict": verdict, "detail": "d"}],
                        }
                    ],
                },
            },
            {"check": CHECK, "server": "granian", "verdict": "unimplemented", "evidence": {}},
        ],
    }


def bench_json(stamp: str, uvicorn_value: float) -> dict[str, Any]:
    def benchmark(server: str, role: str, value: float, ratio: float) -> dict[str, Any]:
        info = {"figure": "echo-32B", "server": server, "role": role, "value": value}
        info |= {"unit": "round trips/s", "higher_is_better": True}
        info |= {"ratio_to_baseline": ratio, "ratio_to_ceiling": value / 2000}
        return {"name": f"test_echo[{server}]", "extra_info": info}

    return {
        "datetime": stamp,
        "benchmarks": [
            benchmark("websockets", "baseline", 1000.0, 1.0),
            benchmark("picows", "ceiling", 2000.0, 2.0),
            benchmark("uvicorn-sansio", "server", uvicorn_value, uvicorn_value / 1000),
        ],
    }


def write_inputs(tmp_path: Path, verdict: str = "pass") -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(results_json(verdict)))
    return out / "results.json"


def baselines(tmp_path: Path, verdict: str) -> Path:
    Baseline.write("inmemory", {CHECK: Verdict(verdict)}, tmp_path / "expected")
    return tmp_path / "expected"


def test_index_json_gives_every_verdict_with_its_grade_and_the_differences(
    tmp_path: Path,
) -> None:
    results = write_inputs(tmp_path, verdict="fail")
    write_report(results, tmp_path / "no-storage", baselines(tmp_path, "pass"))
    index = json.loads((results.parent / "index.json").read_text())
    assert (index["counts"], index["differences"], index["results"][1]) == (
        {"fail": 1, "unimplemented": 1},
        [f"inmemory: {CHECK} pass -> fail (new failure)"],
        {
            "check": CHECK,
            "server": "inmemory",
            "grade": CATALOGUE[0].grade.value,
            "verdict": "fail",
        },
    )


def test_the_page_needs_nothing_from_outside_and_shows_the_evidence(tmp_path: Path) -> None:
    results = write_inputs(tmp_path)
    write_report(results, tmp_path / "no-storage", baselines(tmp_path, "pass"))
    page = (results.parent / "index.html").read_text()
    external = re.findall(r'(?:src|href)="(?!#)[^"]*"|<link\b|@import|url\(', page)
    assert external == []
    assert "state.accept()" in page  # the shrunk program
    assert "tox -e suite -- --server inmemory -k test_lifecycle_machine" in page
    assert "(70" in page and "x" * 70000 not in page  # long values are cut, with their length


def test_benchmark_charts_and_the_ratio_history(tmp_path: Path) -> None:
    results = write_inputs(tmp_path)
    (results.parent / "bench.json").write_text(json.dumps(bench_json("2026-11-21T10:00", 1500)))
    storage = tmp_path / "storage" / "Linux-CPython-3.11-64bit"
    storage.mkdir(parents=True)
    (storage / "0001_old.json").write_text(json.dumps(bench_json("2026-11-20T10:00", 900)))
    # The same run saved with --benchmark-autosave: counted once.
    (storage / "0002_same.json").write_text(json.dumps(bench_json("2026-11-21T10:00", 1500)))
    write_report(results, tmp_path / "storage", baselines(tmp_path, "pass"))
    page = (results.parent / "index.html").read_text()
    bars = re.findall(r"<rect [^>]*><title>([^<]*)</title>", page)
    history = re.search(r'<h3 id="history">.*?</svg>', page, re.S)
    assert bars == [
        "websockets (baseline): 1,000.0 round trips/s",
        "picows (ceiling): 2,000.0 round trips/s",
        "uvicorn-sansio: 1,500.0 round trips/s",
    ]
    assert history is not None and "1 = 2026-11-20 10:00; 2 = 2026-11-21 10:00." in history[0]
    assert history[0].count("<polyline") == 1
    assert "1.50 / 0.75" in page  # the ratio table


def test_no_results_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--results", str(tmp_path / "results.json")])
    assert (status, "run `tox -e suite` first" in capsys.readouterr().err) == (2, True)


def test_a_suite_run_writes_the_report_beside_its_results(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    command = [
        sys.executable, "-m", "pytest", "conformance/test_scenarios.py", "-q",
        "-p", "no:cacheprovider", "--server", "inmemory", "-k", "text-both-ways",
        "--results", str(tmp_path / "results.json"),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    written = sorted(path.name for path in tmp_path.iterdir())
    assert (run.returncode, written) == (0, ["index.html", "index.json", "results.json"])
    assert f"report: {tmp_path / 'index.html'}" in run.stdout


def test_the_markdown_summary_counts_verdicts_and_lists_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = write_inputs(tmp_path, verdict="fail")
    (results.parent / "bench.json").write_text(json.dumps(bench_json("2026-11-21T10:00", 1500)))
    write_report(results, tmp_path / "no-storage", baselines(tmp_path, "pass"))
    status = summary_main([str(results.parent / "index.json")])
    text = capsys.readouterr().out
    assert status == 0
    assert "| `inmemory` |  | 1 |  |  |  |" in text
    assert f"- inmemory: {CHECK} pass -> fail (new failure)" in text
    assert "| `uvicorn-sansio` | 1.50 / 0.75 |" in text
