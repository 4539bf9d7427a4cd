"""The lifecycle state machine on every transport."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import reporting, seed, settings
from hypothesis.stateful import get_state_machine_test
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LifecycleSession, LoopRunner
from wsconform.conformance.families.lifecycle.machine import LifecycleFinding, machine_for
from wsconform.targets.servers.base import Transport

# The profile's examples are split into shards, each with a seed of its own: the shards of one
# transport run on different xdist workers (each with its own server), so a slow server's
# exploration does not make the whole suite wait. The seeds are fixed, so a run stays repeatable.
MACHINE_SHARDS = 4


# Generation is bounded by the profile's examples; after a finding Hypothesis shrinks for up to
# 300 s by itself, and on a real server each candidate program costs real waits. The project-wide
# 300 s would cut a shrink short and lose the minimal program, so this test gets three times that.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("shard", range(MACHINE_SHARDS), ids=lambda shard: f"shard{shard}")
def test_lifecycle_machine(
    transport: Transport,
    shard: int,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    reproduce = (
        f"tox -e suite -- --server {transport.name} -k 'test_lifecycle_machine and shard{shard}'"
    )

    # What every session of the run observed, as of its latest action (plain values: a session
    # object kept alive would keep its client connection): the report compares it with the
    # other transports' sessions of the same program (the shards' seeds are the same everywhere).
    observed: dict[str, tuple[str, dict[str, Any]]] = {}

    def sink(session: LifecycleSession, judgements: list[Judgement]) -> list[Judgement]:
        observed[session.session_id] = (session.program(), session.observation())
        recorder.add(
            transport.name,
            judgements,
            lambda: {"source": "state machine", "reproduce": reproduce, **session.evidence()},
        )
        return gate.findings(transport.name, judgements)

    report: list[object] = []
    try:
        with reporting.with_reporter(report.append):
            profile = settings()
            examples = math.ceil(profile.max_examples / MACHINE_SHARDS)
            # get_state_machine_test is what run_state_machine_as_test runs (split out for
            # HypoFuzz); taking it lets each shard carry its own seed.
            test = get_state_machine_test(
                machine_for(transport, loop_runner, sink),
                settings=settings(profile, max_examples=examples),
            )
            seed(shard)(test)()
        for actions, observation in observed.values():
            recorder.add_observation(transport.name, actions, observation)
    except LifecycleFinding as finding:
        program = [str(line) for line in [*report, *getattr(finding, "__notes__", [])]]
        recorder.attach(
            transport.name,
            finding.check_ids,
            {
                "hypothesis_program": "\n".join(program),
            },
        )
        raise
