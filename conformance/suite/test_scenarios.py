"""Directed scenarios on every transport: a verdict for every (check, transport) pair."""

from __future__ import annotations

import pytest
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner, run_actions
from wsconform.conformance.families.lifecycle.scenarios import SCENARIOS, Scenario
from wsconform.targets.servers.base import Transport


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_directed_scenario(
    scenario: Scenario,
    transport: Transport,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    session = loop_runner.run(run_actions(transport, scenario.actions, scenario.name))
    judgements = [judgement for line in session.transcript for judgement in line.judgements]
    recorder.add(
        transport.name,
        judgements,
        lambda: {
            "source": f"directed scenario {scenario.name}",
            "reproduce": f"tox -e suite -- --server {transport.name} -k '{scenario.name}'",
            **session.evidence(),
        },
    )
    gate.settle(transport.name, judgements, session.describe())
