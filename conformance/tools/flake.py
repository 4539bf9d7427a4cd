"""Is every verdict steady? Run the gated suite several times, some of them at once (two suites
on two cores load the machine the way a busy CI runner does), and list every (check, server)
whose verdict ever differed.

    python -m wsconform.conformance.tools.flake [--runs 10] [--at-once 2] [--out DIR] [-- ARGS]

ARGS go to each pytest run (e.g. `--server daphne`). Each run writes `run-N.json` in --out.
Exit status: 0 when every run passed its gate and no verdict differed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The suite as `tox -e suite` runs it.
SUITE = [
    "conformance", "--ignore=conformance/bench", "--hypothesis-profile", "ci",
    "-n", "6", "--dist", "loadgroup", "-q", "-p", "no:cacheprovider",
]  # fmt: skip
# A whole suite run is a few minutes; a run past this is itself a finding, not a wait.
RUN_BOUND_S = 1800


def run_batch(indices: Sequence[int], out: Path, extra: Sequence[str]) -> dict[int, int]:
    """Start the runs of one batch at once and wait for all; their exit statuses."""
    started = {}
    for index in indices:
        log = (out / f"run-{index}.log").open("w")
        command = [
            sys.executable,
            "-m",
            "pytest",
            *SUITE,
            "--results",
            str(out / f"run-{index}.json"),
        ]
        started[index] = (
            subprocess.Popen([*command, *extra], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT),
            log,
        )
    statuses = {}
    for index, (process, log) in started.items():
        try:
            statuses[index] = process.wait(RUN_BOUND_S)
        except subprocess.TimeoutExpired:
            process.kill()
            statuses[index] = process.wait()
        log.close()
    return statuses


def differing_verdicts(runs: Sequence[Path]) -> dict[tuple[str, str], list[str]]:
    """(check, server) -> the verdict of each run, for the pairs that were not always the same
    (a pair missing from a run counts as "absent")."""
    per_run = [
        {
            (row["check"], row["server"]): row["verdict"]
            for row in json.loads(path.read_text())["results"]
        }
        for path in runs
    ]
    pairs = sorted(set().union(*per_run))
    return {
        pair: values
        for pair in pairs
        if len(set(values := [verdicts.get(pair, "absent") for verdicts in per_run])) > 1
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsconform.conformance.tools.flake", description=__doc__
    )
    parser.add_argument("--runs", type=int, default=10, help="suite runs in all (%(default)s)")
    parser.add_argument("--at-once", type=int, default=2, help="runs side by side (%(default)s)")
    parser.add_argument("--out", type=Path, default=Path("reports/out/flake"))
    parser.add_argument("pytest_args", nargs="*", help="passed to every run (after --)")
    arguments = parser.parse_args(argv)
    if arguments.runs < 2 or arguments.at_once < 1:
        parser.error("--runs must be at least 2 and --at-once at least 1")
    arguments.out.mkdir(parents=True, exist_ok=True)
    statuses: dict[int, int] = {}
    indices = list(range(1, arguments.runs + 1))
    for start in range(0, len(indices), arguments.at_once):
        batch = indices[start : start + arguments.at_once]
        began = time.monotonic()
        statuses.update(run_batch(batch, arguments.out, arguments.pytest_args))
        took = time.monotonic() - began
        print(f"runs {batch}: exit {[statuses[i] for i in batch]} in {took:.0f} s", flush=True)
    written = [arguments.out / f"run-{index}.json" for index in indices]
    missing = [path.name for path in written if not path.exists()]
    if missing:
        print(f"no results from {', '.join(missing)} (see the .log beside them)")
        return 1
    differing = differing_verdicts(written)
    for (check, server), values in differing.items():
        print(f"{check} on {server}: {' '.join(values)}")
    gate_failures = sorted(index for index, status in statuses.items() if status != 0)
    print(
        f"{len(written)} runs, {len(differing)} verdict(s) differed, "
        f"gate failed in runs {gate_failures or 'none'}"
    )
    return 1 if differing or gate_failures else 0


if __name__ == "__main__":
    sys.exit(main())
