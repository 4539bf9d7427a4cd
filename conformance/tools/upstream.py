"""Upstream news: which verdicts the newest releases move, and which release can explain each.

    python -m wsconform.conformance.tools.upstream reports/out/latest/results.json \
        [--out reports/out/latest.json] [--baselines conformance/data/expected]

`tox -e latest` runs the suite on the newest releases (not the lock), then this. A *change* is a
(check, server) whose verdict on the newest releases differs from the one its baseline records
(the locked verdict). Its `moved` names the packages that changed release (locked → newest) in
the stack that can explain it: the server's own distributions and everything they depend on,
plus the framework (Starlette, FastAPI, pydantic and their dependencies) for framework- and
app-layer checks and for the suite's own in-memory server. A change whose stack did not move is
reported with `moved` empty: something else (timing, a package outside the stack) moved it.

Causes too, as the gate compares them: a cause of a `fail` or `non-strict` on the newest
releases that the baseline does not record for its check is news even where the verdict did not
move (a new bug behind a check that already failed), and one the baseline records that is gone
is news as well; each cause is one item per server, with the checks it fails and the moved
packages of their stacks (a baseline recorded before causes were kept gives none).

Writes `latest.json` (`{"locked", "latest", "changes": [{"check", "server", "locked_verdict",
"latest_verdict", "moved"}], "causes": [{"server", "cause", "state", "checks", "moved"}]}`),
`latest.md` (the same in words, for a CI job summary) and `latest-atlas.toml` (each change that
fixes a failure as a ready-to-review atlas pair), and never fails on a verdict: the news is not a
regression of anyone's change.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import CHECKS, Verdict
from wsconform.conformance.data import EXPECTED_DIR, LOCK
from wsconform.conformance.engine.lock import (
    describe_moves,
    installed_versions,
    locked_versions,
    moved,
)
from wsconform.conformance.engine.results import Baseline
from wsconform.conformance.engine.stacks import installed_stack
from wsconform.reports.compare import load_rows, verdicts_of
from wsconform.reports.results_file import GATED, row_causes

_FAILING = ("fail", "non-strict")
# What takes the news: a fresh lock, the baselines and the generated docs pages recorded on it.
UPDATE_COMMAND = "tox -e lock && tox -r -e update"


@dataclass(frozen=True)
class Change:
    check: str
    server: str
    locked_verdict: str | None
    latest_verdict: str
    moved: dict[str, tuple[str, str]]

    @property
    def fixes(self) -> bool:
        """Did a failure become a pass? (What an atlas pair records.)"""
        return self.locked_verdict in _FAILING and self.latest_verdict == "pass"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "server": self.server,
            "locked_verdict": self.locked_verdict,
            "latest_verdict": self.latest_verdict,
            "moved": {name: list(versions) for name, versions in self.moved.items()},
            # The same in words, as the report and the job summary show it.
            "sentence": self.sentence(),
        }

    def sentence(self) -> str:
        """`uvicorn 0.54.0 → 0.55.0: on uvicorn-sansio, upgrade.long-header-answered fail →
        pass (a handshake header line of 8 KiB is answered)`."""
        known = CHECKS.get(self.check)
        title = f" ({known.title})" if known else ""
        cause = describe_moves(self.moved) if self.moved else "no package of its stack moved"
        return (
            f"{cause}: on {self.server}, {self.check} {self.locked_verdict or 'not recorded'}"
            f" → {self.latest_verdict}{title}"
        )


def find_changes(
    latest: Mapping[str, Mapping[str, str]],
    locked_for: Callable[[str], Mapping[str, str]],
    newest: Mapping[str, str],
    stack: Callable[[str, str], Set[str]] = installed_stack,
    baselines: Path = EXPECTED_DIR,
) -> list[Change]:
    """Every verdict of `latest` (server → check → verdict) that its baseline does not record,
    with the packages of its stack whose locked version (`locked_for(server)`) is not the
    newest one. Checks a baseline does not know yet are the code's news, not upstream's."""
    changes = []
    for server, verdicts in sorted(latest.items()):
        baseline = Baseline.load(server, baselines)
        if baseline is None:
            continue
        moves = moved(locked_for(server), newest)
        for check, verdict in sorted(verdicts.items()):
            recorded = baseline.verdicts.get(check)
            if recorded is None or baseline.accepts(check, Verdict(verdict)):
                continue
            in_stack = stack(server, check)
            explaining = {name: pair for name, pair in moves.items() if name in in_stack}
            changes.append(Change(check, server, recorded.value, verdict, explaining))
    return changes


@dataclass(frozen=True)
class CauseChange:
    """A cause of a failure that the newest releases add ("new") or remove ("gone") on a
    server, once, with the checks it is new or gone for there."""

    server: str
    cause: str
    state: str
    checks: tuple[str, ...]
    moved: dict[str, tuple[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "cause": self.cause,
            "state": self.state,
            "checks": list(self.checks),
            "moved": {name: list(versions) for name, versions in self.moved.items()},
            "sentence": self.sentence(),
        }

    def sentence(self) -> str:
        """`uvicorn 0.54.0 → 0.55.0: on daphne, a new cause: <behaviour> (close.code-delivered)`."""
        why = describe_moves(self.moved) if self.moved else "no package of its stack moved"
        return (
            f"{why}: on {self.server}, a {self.state} cause: {self.cause} "
            f"({', '.join(self.checks)})"
        )


def find_cause_changes(
    rows: Sequence[Mapping[str, Any]],
    locked_for: Callable[[str], Mapping[str, str]],
    newest: Mapping[str, str],
    stack: Callable[[str, str], Set[str]] = installed_stack,
    baselines: Path = EXPECTED_DIR,
) -> list[CauseChange]:
    """The causes of failures in `rows` (a results.json's results) that a server's baseline
    does not record for their check, and those it records that the run no longer saw on a
    check it judged: each cause once per server and state."""
    seen: dict[str, dict[str, list[str]]] = {}  # server -> check -> its failures' causes
    for row in rows:
        causes = [c for c, v in row_causes(row).items() if v in GATED]
        seen.setdefault(row["server"], {})[row["check"]] = causes if row["verdict"] in GATED else []
    found = []
    for server, checks in sorted(seen.items()):
        baseline = Baseline.load(server, baselines)
        if baseline is None or baseline.causes is None:
            continue
        moves = moved(locked_for(server), newest)
        grouped: dict[tuple[str, str], list[str]] = {}
        for check, causes in sorted(checks.items()):
            for cause in baseline.new_causes(check, causes):
                grouped.setdefault(("new", cause), []).append(check)
            for cause in baseline.gone_causes(check, causes):
                grouped.setdefault(("gone", cause), []).append(check)
        for (state, cause), with_checks in sorted(grouped.items()):
            in_stack = set().union(*(stack(server, check) for check in with_checks))
            explaining = {name: pair for name, pair in moves.items() if name in in_stack}
            found.append(CauseChange(server, cause, state, tuple(with_checks), explaining))
    return found


def locked_versions_of(server: str, baselines: Path = EXPECTED_DIR) -> dict[str, str]:
    """What the server's locked verdicts were obtained with: the lock, overridden by what its
    baseline says it was recorded with (the two agree when the baseline was made on the lock)."""
    baseline = Baseline.load(server, baselines)
    return {**locked_versions(LOCK), **(baseline.releases if baseline is not None else {})}


def atlas_stanza(change: Change) -> str:
    """A change that fixes a failure, as an atlas pair to review (conformance/data/atlas.toml)."""
    (package, (old, new)), *others = change.moved.items()
    slug = re.sub(r"[^a-z0-9]+", "-", change.check.lower()).strip("-")
    also = f" Also moved in its stack: {describe_moves(dict(others))}." if others else ""
    lines = [
        "[[pair]]",
        f'id = "{package}-{old}-{slug}"',
        f'package = "{package}"',
        f'buggy = "{old}"',
        f'fixed = "{new}"',
        f'reference = "{package} {new} release notes (to fill in: the upstream change)"',
        f'difference = "{CHECKS[change.check].title if change.check in CHECKS else change.check}"',
        f'servers = ["{change.server.partition("+")[0]}"]',
        f'notes = "Found by tox -e latest: {change.check} {change.locked_verdict} → '
        f'{change.latest_verdict} on {change.server}.{also}"',
    ]
    return "\n".join(lines) + "\n"


def summary(changes: Sequence[Change], causes: Sequence[CauseChange] = ()) -> str:
    """The news in words (Markdown): the verdicts that moved, then the causes, each once."""
    if not (changes or causes):
        return (
            "## What changed upstream\n\nNo verdict and no cause of a failure moved on the"
            " newest releases.\n"
        )
    lines = ["## What changed upstream", ""]
    if changes:
        lines += [f"{len(changes)} verdict(s) moved:", ""]
        lines += [f"- {change.sentence()}" for change in changes]
        lines.append("")
    if causes:
        lines += [f"{len(causes)} cause(s) of a failure new or gone (each once per server):", ""]
        lines += [f"- {change.sentence()}" for change in causes]
        lines.append("")
    lines.append(f"To take these releases: `{UPDATE_COMMAND}`")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsconform.conformance.tools.upstream", description=__doc__
    )
    parser.add_argument("results", type=Path, help="results.json of a run on the newest releases")
    parser.add_argument("--out", type=Path, default=Path("reports/out/latest.json"))
    parser.add_argument("--baselines", type=Path, default=EXPECTED_DIR)
    arguments = parser.parse_args(argv)
    if not arguments.results.exists():
        parser.error(f"{arguments.results} does not exist: run the suite on the newest first")
    newest = installed_versions()
    rows = load_rows(arguments.results)
    by_server: dict[str, dict[str, str]] = {}
    for (check, server), verdict in verdicts_of(rows).items():
        by_server.setdefault(server, {})[check] = verdict

    def locked_for(server: str) -> dict[str, str]:
        return locked_versions_of(server, arguments.baselines)

    changes = find_changes(by_server, locked_for, newest, baselines=arguments.baselines)
    causes = find_cause_changes(rows, locked_for, newest, baselines=arguments.baselines)
    locked = locked_versions(LOCK)
    payload = {
        "locked": locked,
        "latest": {name: newest[name] for name in locked if name in newest},
        "changes": [change.to_json() for change in changes],
        "causes": [change.to_json() for change in causes],
        "update": UPDATE_COMMAND,
    }
    out: Path = arguments.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    words = summary(changes, causes)
    out.with_suffix(".md").write_text(words)
    stanzas = [atlas_stanza(change) for change in changes if change.fixes and change.moved]
    atlas = out.with_name(out.stem + "-atlas.toml")
    atlas.write_text("\n".join(stanzas))
    print(words)
    print(f"wrote {out}, {out.with_suffix('.md')} and {atlas} ({len(stanzas)} atlas pair(s))")
    if changes or causes:
        print(f"to take these releases (re-lock, re-record, docs pages): {UPDATE_COMMAND}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
