"""The report: `reports/out/index.html` (self-contained) and `reports/out/index.json` (for CI),
from the suite's results.json, the benchmarks' bench.json and the benchmark runs saved earlier.

    python -m wsconform.reports.html [--results reports/out/results.json] [--storage .benchmarks]

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
from wsconform.conformance.checks import Grade, Layer, Verdict, catalogue_json
from wsconform.conformance.data import EXPECTED_DIR
from wsconform.conformance.engine.results import (
    baseline_differences,
    gated_causes,
    is_improvement,
)
from wsconform.reports import charts
from wsconform.reports.frontend import NO_BROWSER, frontend_table
from wsconform.reports.layers import layer_changes, process_mode_note, stack_labels
from wsconform.reports.results_file import cause_table, unexplained_divergences

RESULTS = Path("reports/out/results.json")
# pytest-benchmark's default storage: runs saved with --benchmark-autosave.
BENCHMARK_STORAGE = Path(".benchmarks")
# Order of the verdicts in the summary and the filters: what needs acting on first.
VERDICT_ORDER = [v.value for v in Verdict]
# A transcript value longer than this is cut in the report (a 64 KiB payload helps nobody).
_VALUE_LIMIT = 300
# How a grade reads in the report: an informational check is a best practice, not a finding.
GRADE_LABELS = {
    Grade.MUST.value: "MUST",
    Grade.SHOULD.value: "SHOULD",
    Grade.POLICY.value: "policy",
    Grade.INFO.value: "best practice",
    Grade.CLAIM.value: "claim",
}
# How a claim's verdict reads: a claim holds or it does not; it is never a failure.
CLAIM_VERDICT_LABELS = {Verdict.PASS.value: "holds", Verdict.INFORMATIONAL.value: "does not hold"}
# What index.json keeps of each check (the requirement is long and the report shows it).
INDEX_CHECK_KEYS = ("id", "grade", "layer", "title", "source", "since", "extension")
# A results.json written before the catalogue had these keys gets them from the catalogue, or
# these defaults for an ID the catalogue no longer has.
_CHECK_DEFAULTS: dict[str, str | None] = {
    "layer": Layer.SERVER.value,
    "requirement": "",
    "source": "",
    "since": None,
    "extension": None,
}


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
    # The regression atlas's pairs (atlas.json beside results.json), if it was run.
    atlas: list[dict[str, Any]] = field(default_factory=list)
    # What the newest releases changed (latest.json beside results.json, from `tox -e latest`).
    upstream: dict[str, Any] = field(default_factory=dict)


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
    atlas_path = results_path.parent / "atlas.json"
    atlas = _read_json(atlas_path)["pairs"] if atlas_path.exists() else []
    latest_path = results_path.parent / "latest.json"
    upstream = _read_json(latest_path) if latest_path.exists() else {}
    history = [runs[label] for label in sorted(runs)]
    return ReportInputs(results, bench, history, atlas, upstream)


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


def check_entries(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """results.json's checks, each with every key of the catalogue's entries."""
    catalogue = {entry["id"]: entry for entry in catalogue_json()}
    return [
        {**_CHECK_DEFAULTS, **catalogue.get(entry["id"], {}), **entry}
        for entry in results["checks"]
    ]


def advertised(results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per server, what it advertised in the websocket scope. `reported` is false where the
    suite could not ask (no puppet: the spec's default version is what was assumed), and where
    results.json has nothing for the server (an older file, an unavailable server: no version)."""
    given = results.get("advertised") or {}
    servers = results["servers"] + sorted(results.get("unavailable_servers") or {})
    return {server: _advertised_entry(given.get(server)) for server in servers}


def _advertised_entry(entry: Mapping[str, Any] | None) -> dict[str, Any]:
    if entry is None:
        return {"spec_version": None, "extensions": [], "reported": False}
    return {
        "spec_version": entry.get("spec_version"),
        "extensions": list(entry.get("extensions") or []),
        "reported": bool(entry.get("reported", True)),
    }


def differences(results: Mapping[str, Any], expected_dir: Path = EXPECTED_DIR) -> list[str]:
    """Differences against the baselines, for the servers that ran (new failures first)."""
    unavailable = set(results.get("unavailable_servers") or {})
    verdicts: dict[str, dict[str, Verdict]] = {}
    causes: dict[str, dict[str, list[str]]] = {}
    for row in results["results"]:
        if row["server"] not in unavailable:
            verdicts.setdefault(row["server"], {})[row["check"]] = Verdict(row["verdict"])
            causes.setdefault(row["server"], {})[row["check"]] = gated_causes(
                row.get("causes") or {}
            )
    # A results.json written before causes were recorded is compared on verdicts only.
    recorded = any("causes" in row for row in results["results"])
    return baseline_differences(verdicts, expected_dir, causes=causes if recorded else None)


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
        "advertised": advertised(results),
        "checks": [{key: c[key] for key in INDEX_CHECK_KEYS} for c in check_entries(results)],
        "counts": _counts(rows),
        # What the failures rest on: one behaviour failing several checks is one cause.
        "causes": cause_table(rows),
        # A user's app is judged on its findings: wsconform's baselines record its reference
        # targets, so differences against them say nothing about the app.
        "differences": [] if results.get("mode") == "app" else differences(results, expected_dir),
        "results": [
            {
                "check": row["check"],
                "server": row["server"],
                "grade": grades.get(row["check"]),
                "verdict": row["verdict"],
                **({"causes": row["causes"]} if row.get("causes") else {}),
            }
            for row in rows
        ],
        # Informational: programs the transports ran with equal verdicts and observed
        # differently (the transcripts are in the report).
        "unexplained_divergences": [
            {key: entry[key] for key in ("program", "servers", "first_difference")}
            for entry in unexplained_divergences(results.get("observations") or {})
        ],
        "findings": [
            {key: finding[key] for key in ("id", "route", "checks", "leaf", "plan")}
            | {"servers": sorted(finding["servers"])}
            for finding in results.get("findings") or []
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


def without_replay_hint(hypothesis_report: str) -> str:
    """Hypothesis's report without its `@reproduce_failure(...)` hint: a decorator for a test
    of wsconform's, of no use to a reader of the report (results.json keeps it, for replay)."""
    lines = hypothesis_report.splitlines()
    return "\n".join(line for line in lines if "@reproduce_failure(" not in line)


def evidence_id(check: str, server: str) -> str:
    return f"ev--{check}--{server}"


def short(value: Any) -> str:
    """A transcript value as compact text, cut to a readable length."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > _VALUE_LIMIT:
        return f"{text[:_VALUE_LIMIT]}… ({len(text)} characters)"
    return text


@dataclass(frozen=True)
class Group:
    """A block of the matrix: the checks of one layer, or the seed claims."""

    id: str
    heading: str
    note: str | None
    checks: list[dict[str, Any]]


def groups(entries: list[dict[str, Any]], starlette: str | None) -> list[Group]:
    """Server checks first (what tells servers apart), then framework, app and the claims;
    a group with no check is left out."""
    claims = [c for c in entries if c["grade"] == Grade.CLAIM.value]
    by_layer = {
        layer: [c for c in entries if c["grade"] != Grade.CLAIM.value and c["layer"] == layer]
        for layer in (Layer.SERVER.value, Layer.FRAMEWORK.value, Layer.APP.value)
    }
    release = f" (here {starlette})" if starlette else ""
    candidates = [
        Group("group-server", "Server", None, by_layer[Layer.SERVER.value]),
        Group(
            "group-framework",
            "Framework (Starlette)",
            "These verdicts are decided inside Starlette before the server sees a message, so "
            f"they follow the Starlette version{release}, not the server.",
            by_layer[Layer.FRAMEWORK.value],
        ),
        Group("group-app", "App", None, by_layer[Layer.APP.value]),
        Group(
            "claims",
            "Seed claims",
            "What the seed documents state, and on which servers it holds.",
            claims,
        ),
    ]
    return [group for group in candidates if group.checks]


def verdict_label(check: Mapping[str, Any], verdict: str) -> str:
    if check["grade"] == Grade.CLAIM.value:
        return CLAIM_VERDICT_LABELS.get(verdict, verdict)
    return verdict


def render(inputs: ReportInputs, index: Mapping[str, Any]) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["short"] = short
    environment.filters["without_replay_hint"] = without_replay_hint
    environment.globals["evidence_id"] = evidence_id
    environment.globals["is_improvement"] = is_improvement
    environment.globals["verdict_label"] = verdict_label
    environment.globals["grade_labels"] = GRADE_LABELS
    results = inputs.results
    servers: list[str] = results["servers"] + sorted(results.get("unavailable_servers") or {})
    by_pair = {(row["check"], row["server"]): row for row in results["results"]}
    measured = charts.records(inputs.bench.benchmarks) if inputs.bench else []
    # A user's app: its findings lead, and what did not run (the puppet's checks, the seed
    # claims, benchmarks) is left out rather than shown as "not run".
    app_mode = results.get("mode") == "app"
    entries = check_entries(results)
    shown_groups = groups(entries, index["environment"].get("starlette"))
    if app_mode:
        ran = {check for check, server in by_pair if server in results["servers"]}
        shown_groups = [
            Group(group.id, group.heading, group.note, checks)
            for group in shown_groups
            if group.id != "claims"
            and (checks := [check for check in group.checks if check["id"] in ran])
        ]
    changes = layer_changes(results["servers"], [check["id"] for check in entries], by_pair)
    return environment.get_template("index.html.j2").render(
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        index=index,
        servers=servers,
        groups=shown_groups,
        app_mode=app_mode,
        findings=results.get("findings") or [],
        unexplained=unexplained_divergences(results.get("observations") or {}),
        # A stack's verdicts are its layer's where they differ from its base transport's.
        stack_labels=stack_labels(servers),
        layer_changes=changes,
        layer_note=process_mode_note(changes),
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
        atlas=inputs.atlas,
        upstream=inputs.upstream,
        frontend=frontend_table(results["results"], results.get("facts", [])),
        no_browser=[server for server in servers if server in NO_BROWSER],
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
    parser = argparse.ArgumentParser(prog="python -m wsconform.reports.html", description=__doc__)
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
        print(f"wsconform.reports.html: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
