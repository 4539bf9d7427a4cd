"""The lifecycle state machine on every transport."""

from __future__ import annotations

import pytest
from hypothesis import reporting
from hypothesis.stateful import run_state_machine_as_test

from conformance.engine import LifecycleSession, LoopRunner
from conformance.gate import Gate
from conformance.machine import LifecycleFinding, machine_for
from conformance.model import Judgement
from conformance.results import ResultsRecorder
from targets.servers.base import Transport


# Generation is bounded by the profile's examples; after a finding Hypothesis shrinks for up to
# 300 s by itself, and on a real server each candidate program costs real waits. The project-wide
# 300 s would cut a shrink short and lose the minimal program, so this test gets three times that.
@pytest.mark.timeout(900)
def test_lifecycle_machine(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:

    reproduce = f"tox -e suite -- --server {transport.name} -k test_lifecycle_machine"

    def sink(session: LifecycleSession, judgements: list[Judgement]) -> list[Judgement]:
        recorder.add(
            transport.name,
            judgements,
            lambda: {"source": "state machine", "reproduce": reproduce, **session.evidence()},
        )
        return gate.findings(transport.name, judgements)

    report: list[object] = []
    try:
        with reporting.with_reporter(report.append):
            run_state_machine_as_test(machine_for(transport, loop_runner, sink))
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
