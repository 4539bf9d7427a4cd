"""The seed documents' claims, each with a verdict per transport: where it holds, where not."""

from __future__ import annotations

import pytest
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner, run_actions
from wsconform.conformance.families.claims.claims import CLAIMS, Claim
from wsconform.targets.servers.base import Transport


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda claim: claim.id)
def test_seed_claim(
    claim: Claim,
    transport: Transport,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    session = loop_runner.run(run_actions(transport, claim.actions, "claim", to_the_end=True))
    holds = claim.holds(session.transcript)
    seen = [line.event for line in session.transcript if line.event is not None]
    judgement = Judgement(
        claim.id, holds, f"{'holds' if holds else 'does not hold'}: client saw {seen!r}"
    )
    recorder.add(
        transport.name,
        [judgement],
        lambda: {"source": f"seed claim {claim.id}", **session.evidence()},
    )
    gate.settle(transport.name, [judgement], session.describe())
