"""The report: `reports/out/index.html` (self-contained) and `reports/out/index.json` (for CI),
from the suite's results.json, the benchmarks' bench.json and the benchmark runs saved earlier.

    python -m reports.html [--results reports/out/results.json] [--storage .benchmarks]

The suite's plugin calls `write_report` at the end of every run that writes results.json, so
`tox -e suite` leaves a report behind; `tox -e report` rebuilds it with the latest benchmarks.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from conformance.checks import Verdict
from conformance.results import EXPECTED_DIR, baseline_differences
from reports import charts

RESULTS = Path("reports/out/results.json")
# pytest-benchmark's default storage: runs saved with --benchmark-autosave.
BENCHMARK_STORAGE = Path(".benchmarks")
# Order of the verdicts in the summary and the filters: what needs acting on first.
VERDICT_ORDER = [v.value for v in Verdict]
# A transcript value longer than this is cut in the report (a 64 KiB payload helps nobody).
_VALUE_LIMIT = 300


class ReportError(Exception):
    """An input is missing or unreadable; the message says which and what to run."""


@dataclass
class BenchRun:
    label: str
    benchmarks: list[dict[str, Any]]


@dataclass
class ReportInputs:
    results: dict[str, Any]
    bench: BenchRun | None = None
    # Earlier saved runs and this one, oldest first, for the ratio history.
    history: list[BenchRun] = field(default_factory=list)


def load_inputs(results_path: Path, storage: Path) -> ReportInputs:
    """results.json, bench.json beside it if there is one, and the saved benchmark runs."""
    if not results_path.exists():
        raise ReportError(f"{results_path} does not exist: run `tox -e suite` first")
    results = _read_json(results_path)
    bench_path = results_path.parent / "bench.json"
    bench = _bench_run(_read_json(bench_path), "this run") if bench_path.exists() else None
    saved = [_bench_run(_read_json(path), path.stem) for path in sorted(storage.glob("*/*.json"))]
    # A run saved with --benchmark-autosave is usually bench.json too: count it once.
    runs = {run.label: run for run in [*saved, *([bench] if bench else [])]}
    return ReportInputs(results, bench, [runs[label] for label in sorted(runs)])


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ReportError(f"cannot read {path}: {error}") from error
    return data


def _bench_run(data: Mapping[str, Any], label: str) -> BenchRun:
    stamp = str(data.get("datetime", ""))[:16].replace("T", " ")
    # Only the benchmarks that carry a figure; anything else in the file is not ours.
    benchmarks = [b for b in data.get("benchmarks", []) if "figure" in b.get("extra_info", {})]
    return BenchRun(stamp or label, benchmarks)


# --- the summary for CI ------------------------------------------------------------------------


def differences(results: Mapping[str, Any], expected_dir: Path = EXPECTED_DIR) -> list[str]:
    """Differences against the baselines, for the servers that ran (new failures first)."""
    unavailable = set(results.get("unavailable_servers") or {})
    verdicts: dict[str, dict[str, Verdict]] = {}
    for row in results["results"]:
        if row["server"] not in unavailable:
            verdicts.setdefault(row["server"], {})[row["check"]] = Verdict(row["verdict"])
    return baseline_differences(verdicts, expected_dir)


def build_index(inputs: ReportInputs, expected_dir: Path = EXPECTED_DIR) -> dict[str, Any]:
    """index.json: what a CI job gates or annotates on, in a stable order and shape."""
    results = inputs.results
    grades = {check["id"]: check["grade"] for check in results["checks"]}
    rows = sorted(results["results"], key=lambda row: (row["check"], row["server"]))
    return {
        "format": 1,
        "environment": results.get("environment", {}),
        "servers": results["servers"],
        "unavailable_servers": results.get("unavailable_servers") or {},
        "checks": [
            {"id": check["id"], "grade": check["grade"], "title": check["title"]}
            for check in results["checks"]
        ],
        "counts": _counts(rows),
        "differences": differences(results, expected_dir),
        "results": [
            {
                "check": row["check"],
                "server": row["server"],
                "grade": grades.get(row["check"]),
                "verdict": row["verdict"],
            }
            for row in rows
        ],
        "benchmarks": [
            {key: b["extra_info"].get(key) for key in charts.INDEX_KEYS}
            for b in (inputs.bench.benchmarks if inputs.bench else [])
        ],
    }


def _counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counted = Counter(row["verdict"] for row in rows)
    return {verdict: counted[verdict] for verdict in VERDICT_ORDER if counted[verdict]}


# --- the page ----------------------------------------------------------------------------------


def evidence_id(check: str, server: str) -> str:
    return f"ev--{check}--{server}"


def short(value: Any) -> str:
    """A transcript value as compact text, cut to a readable length."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > _VALUE_LIMIT:
        return f"{text[:_VALUE_LIMIT]}… ({len(text)} characters)"
    return text


def render(inputs: ReportInputs, index: Mapping[str, Any]) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["short"] = short
    environment.globals["evidence_id"] = evidence_id
    results = inputs.results
    servers: list[str] = results["servers"] + sorted(results.get("unavailable_servers") or {})
    by_pair = {(row["check"], row["server"]): row for row in results["results"]}
    checks = [c for c in results["checks"] if c["grade"] != "claim"]
    claims = [c for c in results["checks"] if c["grade"] == "claim"]
    measured = charts.records(inputs.bench.benchmarks) if inputs.bench else []
    return environment.get_template("index.html.j2").render(
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        index=index,
        servers=servers,
        checks=checks,
        claims=claims,
        by_pair=by_pair,
        verdicts=VERDICT_ORDER,
        per_server_counts={
            server: _counts(row for row in results["results"] if row["server"] == server)
            for server in servers
        },
        figure_charts=[
            (figure, Markup(charts.bar_chart(figure, figure_records)))
            for figure, figure_records in charts.by_figure(measured).items()
        ],
        ratio_table=charts.ratio_table(measured),
        history_charts=[
            (figure, Markup(svg)) for figure, svg in charts.history_charts(inputs.history).items()
        ],
        history_runs=[run.label for run in inputs.history],
    )


def write_report(
    results_path: Path = RESULTS,
    storage: Path = BENCHMARK_STORAGE,
    expected_dir: Path = EXPECTED_DIR,
) -> list[Path]:
    """Write index.html and index.json beside `results_path`; return their paths."""
    inputs = load_inputs(results_path, storage)
    index = build_index(inputs, expected_dir)
    index_json = results_path.parent / "index.json"
    index_json.write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")
    index_html = results_path.parent / "index.html"
    index_html.write_text(render(inputs, index))
    return [index_html, index_json]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.html", description=__doc__)
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="the suite's results.json; bench.json is read from and the report written to its"
        " folder (default: %(default)s)",
    )
    parser.add_argument(
        "--storage", type=Path, default=BENCHMARK_STORAGE, help="default: %(default)s"
    )
    arguments = parser.parse_args(argv)
    try:
        written = write_report(arguments.results, arguments.storage)
    except ReportError as error:
        print(f"reports.html: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
