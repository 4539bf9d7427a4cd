"""Print the (check, server) pairs whose verdicts differ between two results.json files.

    python -m reports.compare BEFORE.json AFTER.json

Used to compare two `tox -e compat` runs (say a buggy release and its fix): each line names the
check, the server, both verdicts and whether AFTER is better or worse. The exit status is 0 when
nothing differs, 1 when something does, 2 on bad input, so a script can branch on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.checks import Verdict

# Higher is better; the order the gate uses, from the worst verdict to the least informative.
_RANK = {
    Verdict.FAIL: 0,
    Verdict.NON_STRICT: 1,
    Verdict.UNIMPLEMENTED: 2,
    Verdict.INFORMATIONAL: 3,
    Verdict.PASS: 3,
}
MISSING = "absent"


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


def load_verdicts(path: Path) -> dict[tuple[str, str], str]:
    """(check, server) -> verdict from a results.json written by the suite."""
    try:
        data = json.loads(path.read_text())
        return {(row["check"], row["server"]): row["verdict"] for row in data["results"]}
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ResultsFileError(f"{path}: not a wsconform results.json ({exc!r})") from None


def differences(
    before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]
) -> list[Difference]:
    found = [
        Difference(check, server, before.get(key, MISSING), after.get(key, MISSING))
        for key in sorted(before.keys() | after.keys())
        for check, server in [key]
        if before.get(key) != after.get(key)
    ]
    # What got worse first: that is what a regression hunt looks for.
    return sorted(found, key=lambda d: (d.direction != "worse", d.check, d.server))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.compare", description=__doc__)
    parser.add_argument("before", type=Path, help="results.json of the first run")
    parser.add_argument("after", type=Path, help="results.json of the second run")
    args = parser.parse_args(argv)
    try:
        found = differences(load_verdicts(args.before), load_verdicts(args.after))
    except ResultsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not found:
        print(f"no verdict differs between {args.before} and {args.after}")
        return 0
    print(
        f"{len(found)} verdict(s) differ between {args.before} (BEFORE) and {args.after} (AFTER):"
    )
    for difference in found:
        print(difference.line())
    return 1


if __name__ == "__main__":
    sys.exit(main())
