"""Print the (check, server) pairs whose verdicts differ between two results.json files.

    python -m wsconform.reports.compare BEFORE.json AFTER.json

Used to compare two `tox -e compat` runs (say a buggy release and its fix): each line names the
check, the server, both verdicts and whether AFTER is better or worse. A check BEFORE has under
an ID that was retired since (`conformance.checks.RETIRED`) and AFTER has under its replacements
is printed as renamed, with its verdicts before and after, and is not counted as a difference.

Then the causes, as the gate compares them: each behaviour behind a `fail` or `non-strict`
(its cause) that is new in AFTER or gone since BEFORE, once per server with every check it
fails, so a new bug behind a check that already failed is named, and one behaviour failing three
checks is one line. A file written before causes were kept has none to compare: skipped (said
when the other file has them).
The exit status is 0 when nothing differs (renamed checks aside), 1 when a verdict or a cause
does, 2 on bad input, so a script can branch on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import RETIRED, Verdict
from wsconform.reports.results_file import cause_changes, records_causes

# Higher is better. `unimplemented` (not judged) sits above the failures it may hide and below
# every verdict that was judged, and a best practice not followed is below `pass`.
_RANK = {
    Verdict.FAIL: 0,
    Verdict.NON_STRICT: 1,
    Verdict.UNIMPLEMENTED: 2,
    Verdict.INFORMATIONAL: 3,
    Verdict.PASS: 4,
}
MISSING = "absent"

Verdicts = Mapping[tuple[str, str], str]


class ResultsFileError(ValueError):
    pass


@dataclass(frozen=True)
class Difference:
    check: str
    server: str
    before: str
    after: str

    @property
    def direction(self) -> str:
        if MISSING in (self.before, self.after):
            return "only in " + ("AFTER" if self.before == MISSING else "BEFORE")
        worse = _RANK[Verdict(self.after)] < _RANK[Verdict(self.before)]
        return "worse" if worse else "better"

    def line(self) -> str:
        return f"{self.check:<52} {self.server:<18} {self.before:>13} -> {self.after:<13} " + (
            f"({self.direction})"
        )


@dataclass(frozen=True)
class Rename:
    """A retired check in BEFORE and the checks that replaced it in AFTER, on one server."""

    old: str
    server: str
    before: str
    # Each replacement AFTER has, with its verdict there.
    after: tuple[tuple[str, str], ...]

    def line(self) -> str:
        replacements = ", ".join(f"{check} {verdict}" for check, verdict in self.after)
        return f"{self.old:<52} {self.server:<18} {self.before:>13} -> {replacements} (renamed)"


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The results of a results.json written by the suite (check, server, verdict, causes)."""
    try:
        rows: list[dict[str, Any]] = json.loads(path.read_text())["results"]
        verdicts_of(rows)  # each row names its check, server and verdict
        return rows
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ResultsFileError(f"{path}: not a wsconform results.json ({exc!r})") from None


def verdicts_of(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(check, server) -> verdict."""
    return {(row["check"], row["server"]): row["verdict"] for row in rows}


def load_verdicts(path: Path) -> dict[tuple[str, str], str]:
    """(check, server) -> verdict from a results.json written by the suite."""
    return verdicts_of(load_rows(path))


def cause_line(entry: Mapping[str, Any]) -> str:
    """One cause on one server: its worst verdict, the behaviour, the checks it fails."""
    return (
        f"{entry['server']:<18} {entry['verdict']:>10}  {entry['cause']}  "
        f"[{', '.join(entry['checks'])}]"
    )


def renames(before: Verdicts, after: Verdicts) -> list[Rename]:
    """Retired checks of BEFORE whose replacements AFTER has (and BEFORE had not), per server."""
    found = []
    for check, server in sorted(before):
        if check not in RETIRED or (check, server) in after:
            continue
        replaced = tuple(
            (new, after[(new, server)])
            for new in RETIRED[check]
            if (new, server) in after and (new, server) not in before
        )
        if replaced:
            found.append(Rename(check, server, before[(check, server)], replaced))
    return found


def differences(before: Verdicts, after: Verdicts, renamed: Sequence[Rename]) -> list[Difference]:
    """Changed pairs, leaving out the pairs `renamed` accounts for."""
    explained = {(r.old, r.server) for r in renamed}
    explained |= {(check, r.server) for r in renamed for check, _ in r.after}
    found = [
        Difference(check, server, before.get(key, MISSING), after.get(key, MISSING))
        for key in sorted(before.keys() | after.keys())
        for check, server in [key]
        if before.get(key) != after.get(key) and key not in explained
    ]
    # What got worse first: that is what a regression hunt looks for.
    return sorted(found, key=lambda d: (d.direction != "worse", d.check, d.server))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsconform.reports.compare", description=__doc__
    )
    parser.add_argument("before", type=Path, help="results.json of the first run")
    parser.add_argument("after", type=Path, help="results.json of the second run")
    args = parser.parse_args(argv)
    try:
        before_rows, after_rows = load_rows(args.before), load_rows(args.after)
    except ResultsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    before, after = verdicts_of(before_rows), verdicts_of(after_rows)
    renamed = renames(before, after)
    found = differences(before, after, renamed)
    if found:
        print(
            f"{len(found)} verdict(s) differ between {args.before} (BEFORE) and {args.after}"
            " (AFTER):"
        )
        for difference in found:
            print(difference.line())
    else:
        print(f"no verdict differs between {args.before} and {args.after}")
    if renamed:
        print(f"{len(renamed)} check(s) renamed since BEFORE (not counted as differences):")
        for rename in renamed:
            print(rename.line())
    without = [
        name
        for name, rows in (("BEFORE", before_rows), ("AFTER", after_rows))
        if not records_causes(rows)
    ]
    if without:
        # Runs from before causes were kept compare as they always did, on verdicts; said where
        # the other run has causes to compare.
        if any(row.get("causes") for row in [*before_rows, *after_rows]):
            print(f"causes not compared: {' and '.join(without)} recorded none (an older run)")
        return 1 if found else 0
    new, gone = cause_changes(before_rows, after_rows)
    for entries, what in ((new, "new in AFTER"), (gone, "gone since BEFORE")):
        if entries:
            print(f"{len(entries)} cause(s) of a failure {what} (each once, with its checks):")
            for entry in entries:
                print(cause_line(entry))
    if not (new or gone):
        print("no cause of a failure differs")
    return 1 if found or new or gone else 0


if __name__ == "__main__":
    sys.exit(main())
