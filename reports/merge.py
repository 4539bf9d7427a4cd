"""Merge the results.json of several runs (e.g. one CI job per transport) into one.

    python -m wsconform.reports.merge OUT.json IN.json [IN.json ...] [--report]

Each input normally holds different servers. A (check, server) pair found in several inputs
keeps the worst verdict and that verdict's evidence, and the causes of every input, which is what
one run recording every session would have kept. A server unavailable in one input but run in
another counts as run. The inputs' package versions must agree (they describe one stack); a
difference is an error, since a report mixing two stacks would attribute one release's verdicts
to another. With --report the HTML report and index.json are written beside OUT. Exit status:
0 written, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import Verdict
from wsconform.conformance.engine.results import SEVERITY
from wsconform.reports.results_file import ResultsFileError, load_results


class MergeError(ResultsFileError):
    pass


def _worse(verdict: str, than: str) -> bool:
    """The recorder's ranking of one pair's verdicts (conformance.engine.results.SEVERITY)."""
    return SEVERITY.index(Verdict(verdict)) < SEVERITY.index(Verdict(than))


def _united_causes(kept: Mapping[str, Any] | None, row: Mapping[str, Any]) -> dict[str, str]:
    """Both rows' causes, each at the worse verdict it was judged at."""
    causes: dict[str, str] = dict((kept or {}).get("causes") or {})
    for cause, verdict in (row.get("causes") or {}).items():
        if cause not in causes or _worse(verdict, causes[cause]):
            causes[cause] = verdict
    return dict(sorted(causes.items()))


def merge(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if not runs:
        raise MergeError("nothing to merge")
    environment = runs[0].get("environment", {})
    for run in runs[1:]:
        other = run.get("environment", {})
        differing = sorted(
            name
            for name in environment.keys() & other.keys()
            if environment[name] != other[name] and name != "python"
        )
        if differing:
            raise MergeError(
                "the runs were made with different packages: "
                + ", ".join(f"{name} {environment[name]} vs {other[name]}" for name in differing)
            )
    servers = sorted({server for run in runs for server in run["servers"]})
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        # A server run in another input has real verdicts there: this input's "unavailable"
        # rows for it are not kept.
        stand_ins = set(run.get("unavailable_servers", {})) & set(servers)
        for row in run["results"]:
            key = (row["check"], row["server"])
            kept = rows.get(key)
            if row["server"] in stand_ins:
                continue
            if kept is None or _worse(row["verdict"], kept["verdict"]):
                rows[key] = row
            causes = _united_causes(kept, row)
            if causes:
                rows[key] = {**rows[key], "causes": causes}
    unavailable = {
        name: reason
        for run in runs
        for name, reason in run.get("unavailable_servers", {}).items()
        if name not in servers
    }
    merged_rows = [row for _, row in sorted(rows.items())]
    advertised: dict[str, Any] = {}
    facts: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        advertised.update(run.get("advertised", {}))
        # A fact has no verdict to rank: the later run's observation is kept.
        facts.update({(row["fact"], row["server"]): row for row in run.get("facts", [])})
    # What each transport observed per lifecycle program: the first run of a (program,
    # transport) is kept, as the recorder keeps it (ResultsRecorder.add_observation).
    observations: dict[str, dict[str, Any]] = {}
    for run in runs:
        for program, by_transport in (run.get("observations") or {}).items():
            for transport, observation in by_transport.items():
                observations.setdefault(program, {}).setdefault(transport, observation)
    return {
        **runs[0],
        "servers": servers,
        "unavailable_servers": unavailable,
        "advertised": dict(sorted(advertised.items())),
        "observations": observations,
        "results": merged_rows,
        "facts": [row for _, row in sorted(facts.items())],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wsconform.reports.merge", description=__doc__)
    parser.add_argument("output", type=Path, help="where the merged results.json is written")
    parser.add_argument("inputs", type=Path, nargs="+", help="results.json of each run")
    parser.add_argument(
        "--report", action="store_true", help="also write index.html and index.json beside it"
    )
    arguments = parser.parse_args(argv)
    try:
        merged = merge([load_results(path) for path in arguments.inputs])
    except ResultsFileError as exc:
        print(f"wsconform.reports.merge: {exc}", file=sys.stderr)
        return 2
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(merged, indent=1, ensure_ascii=False))
    servers = ", ".join(merged["servers"])
    print(f"wsconform.reports.merge: {len(arguments.inputs)} runs, servers {servers}")
    if arguments.report:
        from wsconform.reports.html import write_report

        for path in write_report(arguments.output):
            print(f"wsconform.reports.merge: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
