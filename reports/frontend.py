"""'What your frontend sees': for each lifecycle outcome the browser probes ran, what the raw
socket client saw and what a page in Chromium saw, per server — from the `browser.*` results of a
run with `--client browser` (`conformance/families/browser/probes.py`).

    python -m wsconform.reports.frontend reports/out/results.json   (a Markdown table)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BROWSER_SUFFIX = "+browser"
# Transports no page can reach: they have no browser column, and the table says so.
NO_BROWSER = ("inmemory", "testclient")


@dataclass
class FrontendTable:
    outcomes: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    # (outcome, server) -> (what the raw client saw, what the page saw)
    cells: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # outcome -> the fact it shows (results.json's "facts"): the same for a page on every
    # server, so no verdict judges it.
    facts: dict[str, str] = field(default_factory=dict)


def _raw_event(event: Mapping[str, Any]) -> str:
    kind = event.get("kind", "?")
    if kind == "Denied":
        return f"HTTP {event.get('status')}"
    if kind == "Closed":
        code = event.get("code")
        return f"close {code}" if event.get("close_frame_seen", True) else "dropped (1006)"
    if kind == "Accepted":
        return "open" + (f" ({event['subprotocol']})" if event.get("subprotocol") else "")
    if kind == "NoEvent":
        return "nothing"
    return str(kind).lower()


def _app_heard(outcomes: list[Any]) -> str:
    """Where the probe ends in the app's receive (the client left): what the app heard."""
    last = outcomes[-1] if outcomes else None
    value = last.get("value") if isinstance(last, dict) else None
    if isinstance(value, dict) and value.get("type") == "websocket.disconnect":
        return f"; the app heard disconnect {value.get('code')}"
    return ""


def frontend_table(
    results: Iterable[Mapping[str, Any]], facts: Iterable[Mapping[str, Any]] = ()
) -> FrontendTable:
    """The table from a run's browser results and its facts (rows of the same shape, each
    with its `fact` where a check would have been)."""
    table = FrontendTable()
    for row in [*results, *facts]:
        server = str(row.get("server", ""))
        evidence = row.get("evidence") or {}
        if not server.endswith(BROWSER_SUFFIX) or "outcome" not in evidence:
            continue
        outcome, base = str(evidence["outcome"]), server.removesuffix(BROWSER_SUFFIX)
        if outcome not in table.outcomes:
            table.outcomes.append(outcome)
        if "fact" in row:
            table.facts[outcome] = str(row["fact"])
        if base not in table.servers:
            table.servers.append(base)
        raw = ", ".join(_raw_event(event) for event in evidence.get("raw_client_saw", []))
        raw += _app_heard(evidence.get("raw_app_outcomes", []))
        page = ", ".join(event for event in evidence.get("page_saw", []) if event != "none")
        page += _app_heard(evidence.get("app_outcomes", []))
        table.cells[(outcome, base)] = (raw or "nothing", page or "nothing")
    return table


def markdown(table: FrontendTable) -> str:
    lines = [
        "| lifecycle outcome | " + " | ".join(table.servers) + " |",
        "|---|" + "---|" * len(table.servers),
    ]
    for outcome in table.outcomes:
        cells = []
        for server in table.servers:
            raw, page = table.cells.get((outcome, server), ("", ""))
            cells.append(f"raw: {raw}<br>page: {page}" if raw or page else "")
        fact = table.facts.get(outcome)
        label = f"{outcome}<br>fact: `{fact}`" if fact else outcome
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsconform.reports.frontend", description=__doc__
    )
    parser.add_argument("results", type=Path)
    arguments = parser.parse_args(argv)
    run = json.loads(arguments.results.read_text())
    table = frontend_table(run.get("results", []), run.get("facts", []))
    if not table.outcomes:
        print("no browser results here: run the suite with --client browser", file=sys.stderr)
        return 1
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
