"""Every check is proven able to fail: its directed scenarios, run against a target broken in
exactly that respect, must report it failed, while the same scenarios pass on the sound target."""

from __future__ import annotations

import pytest
from wsconform.conformance.checks import Verdict
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner, run_actions
from wsconform.conformance.families.lifecycle.catalogue import LIFECYCLE_CHECKS
from wsconform.conformance.families.lifecycle.scenarios import SCENARIOS
from wsconform.targets.puppet import build_puppet_app
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.inmemory import InMemoryTransport

from tests.broken_targets import BREAKAGES, Breakage


def verdicts_for(check_id: str, transport: Transport, runner: LoopRunner) -> set[Verdict]:
    judgements: list[Judgement] = []
    for scenario in SCENARIOS:
        if check_id in scenario.checks:
            session = runner.run(run_actions(transport, scenario.actions, scenario.name))
            judgements += [j for line in session.transcript for j in line.judgements]
    return {j.verdict for j in judgements if j.check_id == check_id}


def test_every_check_has_a_breakage() -> None:
    assert {check.id for check in LIFECYCLE_CHECKS} == {breakage.check_id for breakage in BREAKAGES}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: breakage.check_id)
def test_check_catches_its_breakage(breakage: Breakage, loop_runner: LoopRunner) -> None:
    verdicts = verdicts_for(breakage.check_id, breakage.build(), loop_runner)
    failing = {Verdict.FAIL, Verdict.NON_STRICT, Verdict.INFORMATIONAL}
    assert verdicts & failing, f"{breakage.what}: judged {verdicts}"


@pytest.mark.parametrize("check_id", [check.id for check in LIFECYCLE_CHECKS])
def test_check_passes_on_the_sound_target(check_id: str, loop_runner: LoopRunner) -> None:
    verdicts = verdicts_for(check_id, InMemoryTransport(build_puppet_app()), loop_runner)
    assert verdicts == {Verdict.PASS}
