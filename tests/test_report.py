"""The report's files without a browser: index.json's shape, the differences against the
baseline, a page with no external resource, the benchmark charts, and a clear error."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.checks import CATALOGUE, Grade, Verdict, catalogue_json
from wsconform.conformance.engine.results import Baseline
from wsconform.reports.html import main, write_report
from wsconform.reports.summary import main as summary_main

CHECK = CATALOGUE[0].id
CLAIM = next(c.id for c in CATALOGUE if c.grade is Grade.CLAIM)
SINCE = next(c for c in CATALOGUE if c.since is not None)
EXTENSION = next(c for c in CATALOGUE if c.extension is not None)


def results_json(verdict: str = "pass") -> dict[str, Any]:
    return {
        "environment": {"starlette": "1.0"},
        "servers": ["inmemory"],
        "unavailable_servers": {"granian": "not installed: granian"},
        "advertised": {
            "inmemory": {
                "spec_version": "2.5",
                "extensions": ["websocket.http.response"],
                "reported": True,
            }
        },
        "checks": catalogue_json(),
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


def claim_row(verdict: str) -> dict[str, Any]:
    return {"check": CLAIM, "server": "inmemory", "verdict": verdict, "evidence": {}}


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


def write_inputs(
    tmp_path: Path, verdict: str = "pass", results: dict[str, Any] | None = None
) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(results or results_json(verdict)))
    return out / "results.json"


def page_of(tmp_path: Path, results: dict[str, Any]) -> str:
    path = write_inputs(tmp_path, results=results)
    write_report(path, tmp_path / "no-storage", baselines(tmp_path, "pass"))
    return (path.parent / "index.html").read_text()


def text_of(page: str) -> str:
    """The page's text with its tags dropped and its whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


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


def test_index_json_gives_each_checks_layer_and_source_and_each_servers_advertised_version(
    tmp_path: Path,
) -> None:
    results = write_inputs(tmp_path)
    write_report(results, tmp_path / "no-storage", baselines(tmp_path, "pass"))
    index = json.loads((results.parent / "index.json").read_text())
    entry = next(check for check in index["checks"] if check["id"] == SINCE.id)
    assert (entry, index["advertised"]) == (
        {
            "id": SINCE.id,
            "grade": SINCE.grade.value,
            "layer": SINCE.layer.value,
            "title": SINCE.title,
            "source": SINCE.source,
            "since": SINCE.since,
            "extension": SINCE.extension,
        },
        {
            "inmemory": {
                "spec_version": "2.5",
                "extensions": ["websocket.http.response"],
                "reported": True,
            },
            "granian": {"spec_version": None, "extensions": [], "reported": False},
        },
    )


def test_an_older_results_file_gets_layers_from_the_catalogue_and_no_advertised_version(
    tmp_path: Path,
) -> None:
    old = results_json()
    del old["advertised"]
    old["checks"] = [
        {"id": c.id, "grade": c.grade.value, "title": c.title, "requirement": c.requirement}
        for c in CATALOGUE
    ]
    page = page_of(tmp_path, old)
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert (index["checks"][0]["layer"], index["advertised"]["inmemory"]["reported"]) == (
        CATALOGUE[0].layer.value,
        False,
    )
    assert re.findall(r'<td class="spec-version"[^>]*>([^<]*)</td>', page) == [
        "not reported",
        "not reported",
    ]


def test_the_matrix_groups_server_framework_app_then_claims_with_the_framework_note(
    tmp_path: Path,
) -> None:
    page = page_of(tmp_path, results_json())
    matrix = re.search(r'<div id="matrix-table">.*?</div>', page, re.S)
    assert matrix is not None
    headings = re.findall(r"<h3>([^<]*)</h3>", matrix[0])
    note = re.search(r'id="group-framework">.*?<p class="group-note">([^<]*)</p>', page, re.S)
    assert (headings, note and note[1]) == (
        ["Server", "Framework (Starlette)", "App", "Seed claims"],
        "These verdicts are decided inside Starlette before the server sees a message, so they "
        "follow the Starlette version (here 1.0), not the server.",
    )


def test_every_row_lies_in_its_layers_group_with_its_grade_label(tmp_path: Path) -> None:
    page = page_of(tmp_path, results_json())
    sections = re.findall(r'<section class="matrix-group" id="([^"]+)">(.*?)</section>', page, re.S)
    row = r'<tr data-check="([^"]+)">.*?<span class="grade">([^<]*)</span>'
    shown = {
        check: (group, label)
        for group, body in sections
        for check, label in re.findall(row, body, re.S)
    }
    labels = {"MUST": "MUST", "SHOULD": "SHOULD", "policy": "policy"}
    labels |= {"informational": "best practice", "claim": "claim"}
    expected = {
        c.id: (
            "claims" if c.grade is Grade.CLAIM else f"group-{c.layer.value}",
            labels[c.grade.value],
        )
        for c in CATALOGUE
    }
    assert shown == expected


def test_the_summary_shows_what_each_server_advertises(tmp_path: Path) -> None:
    page = page_of(tmp_path, results_json())
    counts = re.search(r'<table id="counts">.*?</table>', page, re.S)
    assert counts is not None
    rows = [text_of(row).split(" ")[:3] for row in re.findall(r"<tr>(.*?)</tr>", counts[0], re.S)]
    assert rows[1:3] == [
        ["inmemory", "2.5", "websocket.http.response"],
        ["granian", "not", "reported"],
    ]


def test_a_claim_reads_holds_or_does_not_hold(tmp_path: Path) -> None:
    results = results_json()
    results["results"].append(claim_row("informational"))
    results["servers"] = ["inmemory", "uvicorn-sansio"]
    results["results"].append({**claim_row("pass"), "server": "uvicorn-sansio"})
    page = page_of(tmp_path, results)
    row = re.search(rf'<tr data-check="{re.escape(CLAIM)}">.*?</tr>', page, re.S)
    evidence = rf'<details class="evidence" id="ev--{re.escape(CLAIM)}--[^"]+"[^>]*>\s*<summary>'
    summaries = re.findall(evidence + "(.*?)</summary>", page)
    assert row is not None
    cells = re.findall(r'<a class="v [^"]+" href="[^"]+">([^<]*)</a>', row[0])
    assert (cells, [text_of(summary) for summary in summaries]) == (
        ["does not hold", "holds"],
        ["does not hold (informational) on inmemory", "holds (pass) on uvicorn-sansio"],
    )


def test_the_evidence_gives_the_requirement_its_source_and_what_introduced_it(
    tmp_path: Path,
) -> None:
    page = page_of(tmp_path, results_json())

    def header(check_id: str) -> list[str]:
        section = re.search(rf'<section id="check-{re.escape(check_id)}".*?</section>', page, re.S)
        assert section is not None
        return [text_of(p) for p in re.findall(r"<p>(.*?)</p>", section[0], re.S)]

    since = f"since ASGI spec {SINCE.since} · layer {SINCE.layer.value}"
    extension = f"extension {EXTENSION.extension} · layer {EXTENSION.layer.value}"
    assert (header(SINCE.id), header(EXTENSION.id)) == (
        [f"Requirement: {SINCE.requirement}", f"Source: {SINCE.source} · {since}"],
        [f"Requirement: {EXTENSION.requirement}", f"Source: {EXTENSION.source} · {extension}"],
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


@pytest.mark.slow
def test_a_suite_run_writes_the_report_beside_its_results(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    command = [
        sys.executable, "-m", "pytest", "conformance/suite/test_scenarios.py", "-q",
        "-p", "no:cacheprovider", "--server", "inmemory", "-k", "text-both-ways",
        "--results", str(tmp_path / "results.json"),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    written = sorted(path.name for path in tmp_path.iterdir())
    expected = ["index.html", "index.json", "results.json", "wsconform.sarif"]
    assert (run.returncode, written) == (0, expected)
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


def test_what_changed_upstream_is_shown_when_the_watch_ran(tmp_path: Path) -> None:
    sentence = (
        "uvicorn 0.54.0 → 0.55.0: on uvicorn-sansio, upgrade.long-header-answered fail → pass"
    )
    latest = {
        "locked": {"uvicorn": "0.54.0"},
        "latest": {"uvicorn": "0.55.0"},
        "changes": [{"check": "upgrade.long-header-answered", "server": "uvicorn-sansio",
                     "sentence": sentence}],
        "update": "tox -e lock && tox -r -e update",
    }  # fmt: skip
    without, with_news = tmp_path / "without", tmp_path / "with"
    without.mkdir()
    (with_news / "out").mkdir(parents=True)
    assert "What changed upstream" not in text_of(page_of(without, results_json()))
    (with_news / "out" / "latest.json").write_text(json.dumps(latest))
    path = with_news / "out" / "results.json"
    path.write_text(json.dumps(results_json()))
    write_report(path, with_news / "no-storage", baselines(with_news, "pass"))
    shown = text_of((path.parent / "index.html").read_text())
    assert "What changed upstream" in shown and sentence in shown
    assert "tox -e lock && tox -r -e update" in shown


def test_a_stacks_verdicts_are_marked_as_its_layers(tmp_path: Path) -> None:
    """nginx beside the uvicorn-sansio it proxies: its column names the layer, and the check
    whose verdict differs between the two is listed as the proxy's, the other not at all."""
    results = results_json()
    other = next(c.id for c in CATALOGUE if c.id != CHECK and c.grade is not Grade.CLAIM)
    results["servers"] = ["uvicorn-sansio", "nginx"]
    results["unavailable_servers"] = {}
    results["advertised"] = {}
    results["results"] = [
        {"check": check, "server": server, "verdict": verdict, "evidence": {}}
        for check, server, verdict in [
            (CHECK, "uvicorn-sansio", "pass"),
            (CHECK, "nginx", "non-strict"),
            (other, "uvicorn-sansio", "pass"),
            (other, "nginx", "pass"),
        ]
    ]
    page = page_of(tmp_path, results)
    header = re.search(r'<th data-server="nginx">(.*?)</th>', page, re.S)
    assert header is not None and "proxy (nginx) over uvicorn-sansio" in text_of(header[1])
    table = re.search(r'<table id="layer-table">.*?</table>', page, re.S)
    assert table is not None
    rows = [
        text_of(row) for row in re.findall(r'<tr class="layer-change">(.*?)</tr>', table[0], re.S)
    ]
    assert rows == [f"nginx proxy (nginx) over uvicorn-sansio {CHECK} pass non-strict"]


def test_a_stack_without_its_base_transport_has_no_layer_table(tmp_path: Path) -> None:
    results = results_json()
    results["servers"] = ["nginx"]
    results["advertised"] = {}
    for row in results["results"]:
        row["server"] = "nginx"
    page = page_of(tmp_path, results)
    assert 'id="layer-table"' not in page
