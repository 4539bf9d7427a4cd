"""Systematic short orderings on every transport: exhaustive on `inmemory`, a covering set (one
program per ordering class) elsewhere. See `conformance/families/lifecycle/orderings.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LifecycleSession, LoopRunner
from wsconform.conformance.families.lifecycle import orderings
from wsconform.targets.servers.base import Transport

# Each transport's programs are split in four, so that a real server's share runs on four
# xdist workers (the shards share the lifecycle machine's worker groups).
ORDERING_SHARDS = 4


def programs_for(transport_name: str) -> list[tuple[str, ...]]:
    if transport_name == "inmemory":
        return list(orderings.programs())
    return orderings.covering_set()


def evidence_of(
    session: LifecycleSession, transport: str, program: tuple[str, ...]
) -> Callable[[], dict[str, Any]]:
    def evidence() -> dict[str, Any]:
        return {
            "source": f"ordering {orderings.describe(program)}",
            "reproduce": orderings.reproduce_command(transport, program),
            **session.evidence(),
        }

    return evidence


@pytest.mark.parametrize("shard", range(ORDERING_SHARDS), ids=lambda shard: f"shard{shard}")
def test_short_orderings(
    transport: Transport,
    shard: int,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    everything: list[Judgement] = []
    first_finding = ""
    for program in programs_for(transport.name)[shard::ORDERING_SHARDS]:
        session = loop_runner.run(orderings.run_program(transport, program))
        judgements = [j for line in session.transcript for j in line.judgements]
        recorder.add(transport.name, judgements, evidence_of(session, transport.name, program))
        everything += judgements
        if not first_finding and gate.findings(transport.name, judgements):
            first_finding = f"ordering {orderings.describe(program)}\n{session.describe()}"
    gate.settle(transport.name, everything, first_finding)
