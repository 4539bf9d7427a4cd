"""Print the (check, server) pairs whose verdicts differ between two results.json files.

    python -m wsconform.reports.compare BEFORE.json AFTER.json

Used to compare two `tox -e compat` runs (say a buggy release and its fix): each line names the
check, the server, both verdicts and whether AFTER is better or worse. A check BEFORE has under
an ID that was retired since (`conformance.checks.RETIRED`) and AFTER has under its replacements
is printed as renamed, with its verdicts before and after, and is not counted as a difference.
The exit status is 0 when nothing differs (renamed checks aside), 1 when something does, 2 on
bad input, so a script can branch on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wsconform.conformance.checks import RETIRED, Verdict

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


def load_verdicts(path: Path) -> dict[tuple[str, str], str]:
    """(check, server) -> verdict from a results.json written by the suite."""
    try:
        data = json.loads(path.read_text())
        return {(row["check"], row["server"]): row["verdict"] for row in data["results"]}
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ResultsFileError(f"{path}: not a wsconform results.json ({exc!r})") from None


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
        before, after = load_verdicts(args.before), load_verdicts(args.after)
    except ResultsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
