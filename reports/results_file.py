"""Reading a results.json the suite wrote: one place for what makes a file one, and for
reading the causes of its results."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import Verdict


class ResultsFileError(ValueError):
    """The file is missing, unreadable or not a wsconform results.json; the message says why."""


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ResultsFileError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict) or not {"servers", "checks", "results"} <= data.keys():
        raise ResultsFileError(f"{path} is not a wsconform results.json")
    return data


# Verdicts a report lists causes for: what diverges from the checks (a pass has no cause, an
# unimplemented feature was not judged).
DIVERGING = (Verdict.FAIL.value, Verdict.NON_STRICT.value, Verdict.INFORMATIONAL.value)
# Worst first, as the recorder ranks one pair's verdicts (conformance.engine.results.SEVERITY).
_RANK = {verdict: rank for rank, verdict in enumerate(DIVERGING)}


def row_causes(row: Mapping[str, Any]) -> dict[str, str]:
    """A result's causes (cause -> the verdict it was judged at). A diverging result of a
    results.json written before causes were recorded stands for one cause of its own."""
    causes: dict[str, str] = row.get("causes") or {}
    if causes or row["verdict"] not in _RANK:
        return causes
    return {f"{row['check']} (no cause recorded)": row["verdict"]}


def cause_table(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (server, cause) behind a diverging verdict: the checks it fails there and
    the worst verdict it was judged at, worst first, then by server and cause."""
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row["verdict"] not in _RANK:
            continue
        for cause, verdict in row_causes(row).items():
            entry = table.setdefault(
                (row["server"], cause),
                {"server": row["server"], "cause": cause, "verdict": verdict, "checks": []},
            )
            entry["checks"] = sorted({*entry["checks"], row["check"]})
            if _RANK.get(verdict, len(_RANK)) < _RANK.get(entry["verdict"], len(_RANK)):
                entry["verdict"] = verdict
    return sorted(
        table.values(),
        key=lambda e: (_RANK.get(e["verdict"], len(_RANK)), e["server"], e["cause"]),
    )


# Verdicts whose causes the gate compares (conformance.engine.results.gated_causes): a best
# practice or a claim not followed is shown, never gated.
GATED = (Verdict.FAIL.value, Verdict.NON_STRICT.value)


def records_causes(rows: Iterable[Mapping[str, Any]]) -> bool:
    """Does every failing result carry its causes? (Not so for a file written before causes
    were kept: comparing its causes with a newer file's would list every one as changed.)"""
    return all(row.get("causes") for row in rows if row["verdict"] in GATED)


def gated_cause_table(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(server, cause) -> its `cause_table` entry, for the causes of `fail` and `non-strict`
    verdicts only: each cause once per server, with every check it fails there."""
    gated = [
        {**row, "causes": {c: v for c, v in row_causes(row).items() if v in GATED}}
        for row in rows
        if row["verdict"] in GATED
    ]
    return {(entry["server"], entry["cause"]): entry for entry in cause_table(gated)}


def cause_changes(
    before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The causes of failures that are new in AFTER, and those gone since BEFORE (each once
    per server, with the checks it fails), as `cause_table` entries in its order."""
    # Each table keeps cause_table's order: worst first, then by server and cause.
    old, new = gated_cause_table(before), gated_cause_table(after)
    return (
        [entry for key, entry in new.items() if key not in old],
        [entry for key, entry in old.items() if key not in new],
    )


def unexplained_divergences(observations: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The servers as each other's oracle: per program of the lifecycle machine that several
    transports ran, among the transports whose clients see the same things and that got the
    same verdicts, those whose observations differ (what the app's steps did, what the
    client saw). The model gave every one the same verdicts, so it does not explain the
    difference: informational, where unknown bugs surface first. Each entry: the program, the
    transports grouped by what they observed, the first step where two groups differ and one
    transcript per group."""
    entries = []
    for program, by_transport in sorted(observations.items()):
        # Transports are compared within a group that sees alike and got the same verdicts: a
        # difference between groups of different verdicts is the model's to explain (the
        # checks and the gate report it).
        groups: dict[str, dict[str, Mapping[str, Any]]] = {}
        for transport, observation in sorted(by_transport.items()):
            key = json.dumps([observation["visibility"], observation["verdicts"]])
            groups.setdefault(key, {})[transport] = observation
        for members in groups.values():
            alike: dict[str, list[str]] = {}
            for transport, seen in members.items():
                alike.setdefault(json.dumps(seen["observed"]), []).append(transport)
            if len(alike) < 2:
                continue
            firsts = [members[transports[0]] for transports in alike.values()]
            step = next(
                index
                for index, (one, other) in enumerate(
                    zip(firsts[0]["observed"], firsts[1]["observed"], strict=False)
                )
                if one != other
            )  # the same program: as many steps on each, and the groups differ in one
            entries.append(
                {
                    "program": json.loads(program),
                    "servers": list(alike.values()),
                    "verdicts": firsts[0]["verdicts"],
                    "first_difference": {
                        "step": step,
                        **{
                            transports[0]: seen["observed"][step]
                            for transports, seen in zip(alike.values(), firsts, strict=True)
                        },
                    },
                    "transcripts": {
                        transports[0]: seen["transcript"]
                        for transports, seen in zip(alike.values(), firsts, strict=True)
                    },
                }
            )
    return entries
