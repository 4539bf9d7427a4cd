"""A Markdown summary of index.json, for a CI job summary or a pull-request comment.

python -m wsconform.reports.summary [reports/out/index.json] >> "$GITHUB_STEP_SUMMARY"
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import Verdict
from wsconform.reports import charts

INDEX = Path("reports/out/index.json")
# The verdicts whose causes the summary counts (a best practice's or claim's are listed in the
# report, not counted as failures).
FAILING = (Verdict.FAIL.value, Verdict.NON_STRICT.value)


def markdown(index: Mapping[str, Any]) -> str:
    verdicts = ["pass", "fail", "non-strict", "informational", "unimplemented"]
    per_server = Counter((row["server"], row["verdict"]) for row in index["results"])
    servers = index["servers"] + sorted(index["unavailable_servers"])
    lines = [
        "## wsconform",
        "",
        "| server | " + " | ".join(verdicts) + " |",
        "|---" * (len(verdicts) + 1) + "|",
    ]
    for server in servers:
        counts = " | ".join(str(per_server[(server, v)] or "") for v in verdicts)
        lines.append(f"| `{server}` | {counts} |")
    lines += _cause_lines(index.get("causes") or [])
    lines += ["", f"**Differences against the baseline:** {len(index['differences'])}"]
    lines += [f"- {line}" for line in index["differences"]]
    if index["benchmarks"]:
        lines += ["", "**Benchmarks** (ratio to baseline / to ceiling)", ""]
        lines += _ratio_table(index["benchmarks"])
    lines += ["", "The full report is `reports/out/index.html` in the run's artifact."]
    return "\n".join(lines) + "\n"


def _cause_lines(causes: Sequence[Mapping[str, Any]]) -> list[str]:
    """How many behaviours the failures rest on, and each one with the checks it fails: a
    behaviour failing three checks is one thing to fix, not three."""
    failing = [entry for entry in causes if entry["verdict"] in FAILING]
    if not failing:
        return []
    per_server = Counter(entry["server"] for entry in failing)
    counts = ", ".join(f"`{server}` {count}" for server, count in sorted(per_server.items()))
    verdicts = {(entry["server"], check) for entry in failing for check in entry["checks"]}
    lines = [
        "",
        f"**Causes of failures:** {len(failing)} ({counts}) behind {len(verdicts)} failing"
        " verdicts",
        "",
        "| server | verdict | cause | checks it fails |",
        "|---|---|---|---|",
    ]
    for entry in failing:
        cause = str(entry["cause"]).replace("|", "\\|")
        named = ", ".join(f"`{check}`" for check in entry["checks"])
        lines.append(f"| `{entry['server']}` | {entry['verdict']} | {cause} | {named} |")
    return lines


def _ratio_table(benchmarks: Sequence[Mapping[str, Any]]) -> list[str]:
    table = charts.ratio_table(benchmarks)

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        "| server | " + " | ".join(table["figures"]) + " |",
        "|---" * (len(table["figures"]) + 1) + "|",
    ]
    for server in table["servers"]:
        row = [
            f"{ratio(cell[0])} / {ratio(cell[1])}"
            if (cell := table["cells"].get((server, figure)))
            else ""
            for figure in table["figures"]
        ]
        lines.append(f"| `{server}` | " + " | ".join(row) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    path = Path(arguments[0]) if arguments else INDEX
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        print(f"wsconform.reports.summary: cannot read {path}: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(index))
    return 0


if __name__ == "__main__":
    sys.exit(main())
