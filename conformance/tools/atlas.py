"""The regression atlas: historic WebSocket-behaviour fixes of the stack
(conformance/data/atlas.toml),
each run as a pair — the suite on the buggy release, then on the release that fixed it — and
judged: would this suite have caught it?

    python -m wsconform.conformance.tools.atlas [--jobs 2] [--only ID,...] [--out reports/out/atlas]

A pair is *detected* when the fixed side fixes a failure of the buggy side, and no check gets worse
on the fixed side. A failure is fixed when its check passes there, or when its cause (the behaviour
observed, as the gate compares it) is gone there while every check it failed gains no new cause: a
bug behind a check that still fails for another reason is caught too, and a cause that only changed
its wording between releases (an exception's line number) is not counted. Each side runs in a
virtual environment of its own (`uv venv`, then the project with its `fastapi`, `servers` and `dev`
extras and the side's pins, resolved together as `tox -e compat` does), on the transports the pair
names, in recording mode (no verdict fails a test, so both sides explore the same examples). A side
whose pins no FastAPI release accepts (starlette 0.33.x, 0.36.x, 0.37.x: FastAPI pins Starlette
tightly) makes the pair run without the `fastapi` extra, on both sides so that their verdicts
compare: the reference app is then Starlette only, and the contracts of its FastAPI routes are
skipped. Writes `atlas.json` (`{"pairs": [{"id", "package", "buggy", "fixed", "reference",
"detected", "flips", "causes": {"fixed", "new"}, "why_not", ...}]}`) beside the sides' results, and
the report shows it as a table.

The atlas is data, never code: no check exists for a row. A pair the suite does not detect
stays, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsconform.conformance.data import ATLAS, read_toml
from wsconform.conformance.engine.lock import unlocked_environ
from wsconform.reports.compare import differences, load_rows, renames, verdicts_of
from wsconform.reports.results_file import cause_changes, records_causes

ROOT = Path(__file__).resolve().parents[2]
OUT = Path("reports/out/atlas")
# One side: resolving and installing an old stack, then the suite on a few transports.
SIDE_BOUND_S = 900
# The whole atlas must fit in a CI job of 90 minutes: a pair not started by then is reported
# as not run, with that reason, and each side is cut at the deadline.
BUDGET_MIN = 80
# pytest-xdist workers per side: most of a side's time is bounded waits on a server, which
# overlap well even with two pairs at once on two cores.
SIDE_WORKERS = 3
_FAILING = ("fail", "non-strict")
# The project's extras on each side; without FastAPI when no FastAPI release accepts a side.
WITH_FASTAPI = "fastapi,servers,dev"
WITHOUT_FASTAPI = "servers,dev"


@dataclass(frozen=True)
class Pair:
    id: str
    package: str
    buggy: str
    fixed: str
    reference: str
    difference: str
    servers: tuple[str, ...]
    # Requirement specifiers installed with the project on each side (the package's release
    # and the companions it needs); by default just the package at each release.
    buggy_pins: tuple[str, ...]
    fixed_pins: tuple[str, ...]
    notes: str = ""

    @classmethod
    def from_toml(cls, entry: dict[str, Any]) -> Pair:
        companions = tuple(entry.get("companions", ()))
        package = entry["package"]
        return cls(
            id=entry["id"],
            package=package,
            buggy=entry["buggy"],
            fixed=entry["fixed"],
            reference=entry["reference"],
            difference=entry["difference"],
            servers=tuple(entry["servers"]),
            buggy_pins=(f"{package}=={entry['buggy']}", *companions, *entry.get("buggy_pins", ())),
            fixed_pins=(f"{package}=={entry['fixed']}", *companions, *entry.get("fixed_pins", ())),
            notes=entry.get("notes", ""),
        )


def load_atlas(path: Path = ATLAS) -> list[Pair]:
    pairs = [Pair.from_toml(entry) for entry in read_toml(path)["pair"]]
    ids = [pair.id for pair in pairs]
    duplicated = sorted({pair_id for pair_id in ids if ids.count(pair_id) > 1})
    if duplicated:
        raise ValueError(f"{path}: ids used twice: {', '.join(duplicated)}")
    return pairs


@dataclass
class Side:
    """One release's run: its results file, or why there is none."""

    results: Path | None
    failure: str = ""
    seconds: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)


def project_with(extras: str) -> str:
    return f"{ROOT}[{extras}]"


def fastapi_accepts(pair: Pair, out: Path) -> bool:
    """Does some FastAPI release resolve with each side's pins? False only where a side resolves
    without FastAPI but not with it; dry runs (`uv pip compile`), logged in `<id>-fastapi.log`."""
    uv = shutil.which("uv")
    if uv is None:
        return True  # run_side says what is missing
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    with (out / f"{pair.id}-fastapi.log").open("w") as output:

        def resolves(extras: str, pins: Sequence[str]) -> bool:
            wanted = out / f"{pair.id}.resolve.in"
            wanted.write_text("\n".join([f"-e {project_with(extras)}", *pins]) + "\n")
            command = [uv, "pip", "compile", "--quiet", "--python-version", python,
                       str(wanted), "-o", os.devnull]  # fmt: skip
            return not _run_logged(command, output, SIDE_BOUND_S)

        return not any(
            not resolves(WITH_FASTAPI, pins) and resolves(WITHOUT_FASTAPI, pins)
            for pins in (pair.buggy_pins, pair.fixed_pins)
        )


def run_side(
    pair: Pair, side: str, pins: Sequence[str], out: Path, deadline: float, extras: str
) -> Side:
    began = time.monotonic()
    if began >= deadline:
        return Side(None, "the atlas's time budget (--budget) ran out before this side")
    uv = shutil.which("uv")
    if uv is None:
        return Side(None, "uv is not on PATH (tox-uv brings it)")
    venv = out / "venvs" / f"{pair.id}-{side}"
    results = out / f"{pair.id}-{side}.json"
    log = out / f"{pair.id}-{side}.log"
    python = venv / "bin" / "python"
    install = [uv, "pip", "install", "--quiet", "--python", str(python),
               "-e", project_with(extras), *pins]  # fmt: skip
    # Pins the project's own requirements refuse: the release under test forced as an override.
    overrides = out / f"{pair.id}-{side}.overrides.txt"
    overrides.write_text(pins[0] + "\n")
    steps = [
        [[uv, "venv", "--quiet", "--python", sys.executable, str(venv)]],
        [install, [*install, "--override", str(overrides)]],
        # Recording mode, into a folder of its own: no verdict is a finding, so no test fails
        # and Hypothesis explores the same examples on both sides instead of shrinking.
        [[str(python), "-m", "pytest", "conformance", "--ignore=conformance/bench",
          "--hypothesis-profile", "ci", "--record-baseline", "--baselines",
          str(out / "baselines" / f"{pair.id}-{side}"), "-q", "-p", "no:cacheprovider",
          # Old servers leave sockets to the garbage collector; the suite's warnings-as-errors
          # would turn that into test errors that say nothing about the pair.
          "-p", "no:unraisableexception",
          # Old releases warn about their companions' new releases (an old Starlette about
          # the newest anyio): never an error there, only in the suite's own code.
          "--upstream-warnings", "ignore",
          "-n", str(SIDE_WORKERS), "--dist", "loadgroup", "--server", ",".join(pair.servers),
          "--results", str(results),
          # Where a side's time went, at the end of its log.
          "--durations", "15"]],
    ]  # fmt: skip
    with log.open("w") as output:
        for attempts in steps:
            failure = ""
            for command in attempts:  # the first that succeeds
                left = deadline - time.monotonic()
                failure = _run_logged(command, output, min(SIDE_BOUND_S, left))
                # pytest's 1 (a test that errored) still leaves verdicts.
                if not failure or (failure == "exited 1" and attempts is steps[-1]):
                    failure = ""
                    break
            if failure:
                return Side(None, f"{Path(attempts[-1][0]).name} {failure} (see {log})")
    if not results.exists():
        return Side(None, f"no results written (see {log})")
    versions = json.loads(results.read_text()).get("environment", {})
    return Side(results, seconds=time.monotonic() - began, versions=versions)


def _run_logged(command: list[str], output: Any, bound: float) -> str:
    """Run `command` with its output in the side's log; "" or what went wrong."""
    output.write(f"$ {' '.join(command)}\n")
    output.flush()
    try:
        # Unlocked: a side installs old releases on purpose, which the gate's lock would refuse.
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=unlocked_environ(),
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=max(bound, 1),
        )
    except subprocess.TimeoutExpired:
        return f"ran past {round(bound)} s"
    return "" if done.returncode == 0 else f"exited {done.returncode}"


def judge_pair(pair: Pair, buggy: Side, fixed: Side, fastapi: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": pair.id,
        "package": pair.package,
        "buggy": pair.buggy,
        "fixed": pair.fixed,
        "reference": pair.reference,
        "difference": pair.difference,
        "servers": list(pair.servers),
        # The reference app both sides ran: FastAPI's, or Starlette's alone.
        "reference_app": "fastapi" if fastapi else "starlette",
        "installed": {
            "buggy": buggy.versions.get(pair.package),
            "fixed": fixed.versions.get(pair.package),
        },
        "seconds": round(buggy.seconds + fixed.seconds),
        "flips": [],
        # Causes of failures, each once per server with the checks it fails: the buggy side's
        # that the fixed side has not, and the fixed side's new ones.
        "causes": {"fixed": [], "new": []},
        "detected": False,
        "why_not": "",
    }
    if buggy.results is None or fixed.results is None:
        entry["why_not"] = f"not run: {buggy.failure or fixed.failure}"
        return entry
    before_rows, after_rows = load_rows(buggy.results), load_rows(fixed.results)
    before, after = verdicts_of(before_rows), verdicts_of(after_rows)
    changed = differences(before, after, renames(before, after))
    entry["flips"] = [
        {"check": d.check, "server": d.server, "buggy": d.before, "fixed": d.after,
         "direction": d.direction}
        for d in changed
    ]  # fmt: skip
    caught = [d for d in changed if d.before in _FAILING and d.after == "pass"]
    worse = [d for d in changed if d.direction == "worse"]
    fixed_causes: list[dict[str, Any]] = []
    if records_causes(before_rows) and records_causes(after_rows):
        new, gone = cause_changes(before_rows, after_rows)
        renewed = {(e["server"], check) for e in new for check in e["checks"]}
        fixed_causes = [
            e for e in gone if not any((e["server"], check) in renewed for check in e["checks"])
        ]
        entry["causes"] = {"fixed": fixed_causes, "new": new}
    entry["detected"] = bool(caught or fixed_causes) and not worse
    if not changed and not fixed_causes:
        entry["why_not"] = "identical verdicts on both releases: no check observes this difference"
    elif not (caught or fixed_causes):
        entry["why_not"] = "verdicts differ, but none goes from a failure to a pass"
    elif worse:
        shown = ", ".join(f"{d.check} on {d.server}" for d in worse)
        entry["why_not"] = f"the fixed release is worse elsewhere: {shown}"
    return entry


def run_pair(pair: Pair, out: Path, deadline: float) -> dict[str, Any]:
    fastapi = fastapi_accepts(pair, out)
    extras = WITH_FASTAPI if fastapi else WITHOUT_FASTAPI
    buggy = run_side(pair, "buggy", pair.buggy_pins, out, deadline, extras)
    fixed = run_side(pair, "fixed", pair.fixed_pins, out, deadline, extras)
    entry = judge_pair(pair, buggy, fixed, fastapi)
    print(
        f"{pair.id}: {'detected' if entry['detected'] else 'not detected'}"
        f"{'' if entry['detected'] else ' (' + entry['why_not'] + ')'} in {entry['seconds']} s",
        flush=True,
    )
    return entry


def merge_atlas(paths: Sequence[Path]) -> dict[str, Any]:
    """The atlas.json of several runs (one CI job per pair) as one, in the atlas's order."""
    order = {pair.id: index for index, pair in enumerate(load_atlas())}
    pairs = [entry for path in paths for entry in json.loads(path.read_text())["pairs"]]
    return {"pairs": sorted(pairs, key=lambda entry: order.get(entry["id"], len(order)))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsconform.conformance.tools.atlas", description=__doc__
    )
    parser.add_argument("--jobs", type=int, default=2, help="pairs run at once (%(default)s)")
    parser.add_argument("--only", default="", help="comma-separated pair ids")
    parser.add_argument("--out", type=Path, default=OUT, help="default: %(default)s")
    parser.add_argument(
        "--atlas", type=Path, default=ATLAS, help="default: conformance/data/atlas.toml"
    )
    parser.add_argument(
        "--budget", type=float, default=BUDGET_MIN, help="minutes for all pairs (%(default)s)"
    )
    parser.add_argument(
        "--merge", type=Path, nargs="+", help="only merge these atlas.json files into --out's"
    )
    arguments = parser.parse_args(argv)
    if arguments.merge:
        merged = arguments.out.resolve().parent / "atlas.json"
        merged.parent.mkdir(parents=True, exist_ok=True)
        merged.write_text(json.dumps(merge_atlas(arguments.merge), indent=1) + "\n")
        print(f"merged {len(arguments.merge)} atlas runs into {merged}")
        return 0
    pairs = load_atlas(arguments.atlas)
    if arguments.only:
        wanted = set(arguments.only.split(","))
        unknown = wanted - {pair.id for pair in pairs}
        if unknown:
            parser.error(f"no such pair: {', '.join(sorted(unknown))}")
        pairs = [pair for pair in pairs if pair.id in wanted]
    out = arguments.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + arguments.budget * 60
    atlas_json = out.parent / "atlas.json"
    done: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def run_and_keep(pair: Pair) -> dict[str, Any]:
        entry = run_pair(pair, out, deadline)
        with lock:  # after every pair, so that a run cut short still leaves its results
            done[pair.id] = entry
            kept = [done[p.id] for p in pairs if p.id in done]
            atlas_json.write_text(json.dumps({"pairs": kept}, indent=1) + "\n")
        return entry

    with ThreadPoolExecutor(max_workers=max(1, arguments.jobs)) as pool:
        entries = list(pool.map(run_and_keep, pairs))
    detected = sum(entry["detected"] for entry in entries)
    print(f"{detected} of {len(entries)} pairs detected; wrote {atlas_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
