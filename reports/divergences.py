"""Markdown tables of where the servers diverge from the checks, from a suite run's results.json.

    python -m wsconform.reports.divergences RESULTS.json [--readme README.md]

One table per group of at most four servers, in results.json's order (`inmemory`, the suite's
own reference transport, is left out), with a row per cause (the observed behaviour) behind a
verdict that is `fail`, `non-strict` or `informational` on at least one server of the group,
and the checks it fails: one behaviour failing three checks is one row. A cell is the worst
verdict the cause has on that server, with the checks it fails there when they are not all the
row's. A results.json from before causes were recorded has a row per diverging check instead,
its cells adding the detail of the judgement behind each verdict. Above the tables: the package
versions of the run and the ASGI spec version each server advertised.

Without --readme the tables are printed. With it they replace what is between the lines
`<!-- divergences:start -->` and `<!-- divergences:end -->` of that file; the exit status is 2
when the file lacks them, or on an unreadable results.json.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import Verdict
from wsconform.reports.html import GRADE_LABELS, advertised
from wsconform.reports.layers import layer_changes, process_mode_note
from wsconform.reports.results_file import (
    DIVERGING,
    ResultsFileError,
    load_results,
    row_causes,
)

START = "<!-- divergences:start -->"
END = "<!-- divergences:end -->"
# Four servers keep a table readable on GitHub next to the check column.
SERVERS_PER_TABLE = 4
# The suite's own transport: it runs the model, so its verdicts say nothing about a server.
REFERENCE_TRANSPORT = "inmemory"
PACKAGES = (
    "starlette", "uvicorn", "hypercorn", "daphne", "granian", "gunicorn", "uvicorn-worker",
    "websockets", "wsproto",
)  # fmt: skip
QUIET = {Verdict.PASS.value, Verdict.UNIMPLEMENTED.value}  # cells with no detail
# Worst first (conformance.engine.results.SEVERITY's order of the diverging verdicts).
_WORST_FIRST = [Verdict.FAIL.value, Verdict.NON_STRICT.value, Verdict.INFORMATIONAL.value]
DETAIL_LIMIT = 70


class DivergencesError(ResultsFileError):
    """An input is missing or unusable; the message says which and why."""


def server_groups(results: Mapping[str, Any]) -> list[list[str]]:
    servers = [server for server in results["servers"] if server != REFERENCE_TRANSPORT]
    return [
        servers[start : start + SERVERS_PER_TABLE]
        for start in range(0, len(servers), SERVERS_PER_TABLE)
    ]


def cell_text(text: str) -> str:
    """Text fit for one table cell: one line, at most DETAIL_LIMIT characters, `|` escaped."""
    line = " ".join(text.split())
    if len(line) > DETAIL_LIMIT:
        line = line[: DETAIL_LIMIT - 1].rstrip() + "…"
    return line.replace("|", "\\|")


def cell(row: Mapping[str, Any] | None) -> str:
    if row is None:
        return "not run"
    verdict: str = row["verdict"]
    evidence = row.get("evidence") or {}
    # `detail` is the judgement behind the verdict; `details` may start with passing ones.
    detail = evidence.get("detail") or (evidence.get("details") or [""])[0]
    if verdict in QUIET or not detail:
        return verdict
    return f"{verdict}: {cell_text(str(detail))}"


@dataclass
class CauseRow:
    """One cause and, per server of the table, the verdicts and checks it has there."""

    cause: str
    # A stand-in for a result without recorded causes: its cell shows the judgement's detail.
    recorded: bool
    checks: list[str] = field(default_factory=list)
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)  # server -> check -> row


def cause_rows(
    servers: Sequence[str],
    check_ids: Sequence[str],
    by_pair: Mapping[tuple[str, str], Mapping[str, Any]],
) -> list[CauseRow]:
    """The causes behind the diverging verdicts of `servers`, ordered by their first check in
    catalogue order."""
    rows: dict[str, CauseRow] = {}
    for check in check_ids:
        for server in servers:
            result = by_pair.get((check, server))
            if result is None or result["verdict"] not in DIVERGING:
                continue
            for cause in row_causes(result):
                entry = rows.setdefault(cause, CauseRow(cause, bool(result.get("causes"))))
                if check not in entry.checks:
                    entry.checks.append(check)
                entry.cells.setdefault(server, {})[check] = result
    return list(rows.values())


def cause_cell(
    row: CauseRow, server: str, by_pair: Mapping[tuple[str, str], Mapping[str, Any]]
) -> str:
    if not row.recorded:  # one check's stand-in: its verdict and detail, as per check
        return cell(by_pair.get((row.checks[0], server)))
    results = row.cells.get(server)
    if not results:
        return ""
    verdict: str = min((r["verdict"] for r in results.values()), key=_WORST_FIRST.index)
    if len(results) == len(row.checks):
        return verdict
    return f"{verdict} ({', '.join(f'`{check}`' for check in results)})"


def cause_table(
    servers: Sequence[str],
    check_ids: Sequence[str],
    grades: Mapping[str, str],
    by_pair: Mapping[tuple[str, str], Mapping[str, Any]],
) -> list[str]:
    rows = cause_rows(servers, check_ids, by_pair)
    if not rows:
        return [_no_divergences(servers)]
    lines = _table_head("cause", "checks it fails", servers)
    for row in rows:
        checks = ", ".join(f"`{check}` ({_grade_label(grades, check)})" for check in row.checks)
        cause = _escaped(row.cause) if row.recorded else "no cause recorded"
        cells = " | ".join(cause_cell(row, server, by_pair) for server in servers)
        lines.append(f"| {cause} | {checks} | {cells} |")
    return lines


def check_table(
    servers: Sequence[str],
    check_ids: Sequence[str],
    grades: Mapping[str, str],
    by_pair: Mapping[tuple[str, str], Mapping[str, Any]],
) -> list[str]:
    """A row per diverging check: the table of a results.json without causes."""
    diverging = [
        check
        for check in check_ids
        if any(by_pair.get((check, server), {}).get("verdict") in DIVERGING for server in servers)
    ]
    if not diverging:
        return [_no_divergences(servers)]
    lines = _table_head("check", "grade", servers)
    for check in diverging:
        cells = " | ".join(cell(by_pair.get((check, server))) for server in servers)
        lines.append(f"| `{check}` | {_grade_label(grades, check)} | {cells} |")
    return lines


def _no_divergences(servers: Sequence[str]) -> str:
    return f"No divergences on {', '.join(f'`{server}`' for server in servers)}."


def _table_head(first: str, second: str, servers: Sequence[str]) -> list[str]:
    """A markdown table's header: two columns of its own, then one per server."""
    return [
        f"| {first} | {second} | " + " | ".join(f"`{server}`" for server in servers) + " |",
        "|---" * (len(servers) + 2) + "|",
    ]


def _grade_label(grades: Mapping[str, str], check: str) -> str:
    grade = grades.get(check, "")
    return GRADE_LABELS.get(grade, grade)


def _escaped(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def header(results: Mapping[str, Any], servers: Sequence[str]) -> list[str]:
    environment = results.get("environment") or {}
    versions = [f"{name} {environment[name]}" for name in PACKAGES if name in environment]
    spec = advertised(results)
    specs = [
        f"`{server}` {spec[server]['spec_version'] if spec[server]['reported'] else 'not reported'}"
        for server in servers
    ]
    lines = [
        "Generated by `python -m wsconform.reports.divergences` from a suite run's results.json.",
        f"Versions: {', '.join(versions) or 'not recorded'}.",
        f"ASGI spec version advertised: {', '.join(specs)}.",
    ]
    unavailable = results.get("unavailable_servers") or {}
    if unavailable:
        names = "; ".join(f"`{server}` ({reason})" for server, reason in unavailable.items())
        lines.append(f"Not available in that run: {names}.")
    return lines


def markdown(results: Mapping[str, Any]) -> str:
    grades = {check["id"]: check["grade"] for check in results["checks"]}
    by_pair = {(row["check"], row["server"]): row for row in results["results"]}
    # Catalogue order, then any check results.json has verdicts for but does not list.
    check_ids = list(grades) + sorted({check for check, _ in by_pair} - grades.keys())
    groups = server_groups(results)
    lines = header(results, [server for group in groups for server in group])
    # A results.json written before causes were recorded: a row per check, as it was then.
    table = cause_table if any("causes" in row for row in results["results"]) else check_table
    for servers in groups:
        lines += ["", *table(servers, check_ids, grades, by_pair)]
    if layers := layer_table(results, check_ids, by_pair):
        lines += ["", *layers]
    return "\n".join(lines) + "\n"


def layer_table(
    results: Mapping[str, Any],
    check_ids: Sequence[str],
    by_pair: Mapping[tuple[str, str], Mapping[str, Any]],
) -> list[str]:
    """What each stack's layer changes (`reports.layers`), as a table: such a difference is the
    layer's finding, not the server's."""
    changes = layer_changes(results["servers"], check_ids, by_pair)
    if not changes:
        return []
    lines = [
        "What a layer changes (a stack beside the same server without its layer, in this run): "
        "these verdicts are the layer's, not the server's.",
        "",
        "| stack | layer | check | without the layer | with it |",
        "|---|---|---|---|---|",
    ]
    for stack in changes:
        for check in stack.checks:
            lines.append(
                f"| `{stack.stack}` | {stack.layer} over `{stack.over}` | `{check}` "
                f"| {cell(by_pair[(check, stack.over)])} | {cell(by_pair[(check, stack.stack)])} |"
            )
        if not stack.checks:
            lines.append(
                f"| `{stack.stack}` | {stack.layer} over `{stack.over}` | none differ | | |"
            )
    if (note := process_mode_note(changes)) is not None:
        lines += ["", note]
    return lines


def replace_between_markers(text: str, block: str, name: str) -> str:
    """`text` with the lines between its START and END lines replaced by `block`."""
    lines = text.splitlines(keepends=True)
    stripped = [line.strip() for line in lines]
    if START not in stripped or END not in stripped[stripped.index(START) :]:
        raise DivergencesError(
            f"{name} has no `{START}` line followed by an `{END}` line: add both where the"
            " divergence tables go"
        )
    start = stripped.index(START)
    end = stripped.index(END, start)
    return "".join([*lines[: start + 1], "\n", block, "\n", *lines[end:]])


def update_readme(path: Path, block: str) -> None:
    try:
        text = path.read_text()
    except OSError as error:
        raise DivergencesError(f"cannot read {path}: {error}") from error
    path.write_text(replace_between_markers(text, block, str(path)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsconform.reports.divergences", description=__doc__
    )
    parser.add_argument("results", type=Path, help="the suite's results.json")
    parser.add_argument(
        "--readme", type=Path, help="write the tables between the markers of this file"
    )
    arguments = parser.parse_args(argv)
    try:
        block = markdown(load_results(arguments.results))
        if arguments.readme is not None:
            update_readme(arguments.readme, block)
    except ResultsFileError as error:
        print(f"wsconform.reports.divergences: {error}", file=sys.stderr)
        return 2
    if arguments.readme is None:
        sys.stdout.write(block)
    else:
        print(f"wsconform.reports.divergences: updated {arguments.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
