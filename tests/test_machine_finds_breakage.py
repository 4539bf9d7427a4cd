"""The state machine, not only the directed scenarios, finds what a broken target gets wrong,
and reports it naming the check (hypothesis's own `tests/nocover/test_stateful.py` does the
same for its broken machines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from wsconform.conformance.checks import CATALOGUE, Verdict
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.profiles import WITHOUT_EXPLAIN
from wsconform.conformance.engine.results import Baseline
from wsconform.conformance.engine.sessions import LifecycleSession, LoopRunner
from wsconform.conformance.families.lifecycle.machine import LifecycleFinding, machine_for

from tests.broken_targets import BREAKAGES, Breakage

# Breakage -> every check it makes fail: a server that answers 200 to a close before accept
# also answers 200 to a WebSocketException before accept; the machine reports whichever its
# shrunk program reaches first.
EXPLAINED_BY = {
    "handshake.close-before-accept-403": {
        "handshake.close-before-accept-403",
        "app-error.websocket-exception-before-accept",
    },
    "close.code-delivered": {
        "close.code-delivered",
        "app-error.websocket-exception-after-accept",
    },
    "disconnect.drop-reaches-app": {"disconnect.drop-reaches-app"},
    "data.text-exact": {"data.text-exact"},
    "order.send-before-accept": {"order.send-before-accept"},
}
MACHINE_CAUGHT = [breakage for breakage in BREAKAGES if breakage.check_id in EXPLAINED_BY]

SEARCH = settings(
    max_examples=300,
    stateful_step_count=12,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # Finding is what is proven here; shrinking is proven once, below, and costs a minute each.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@pytest.mark.parametrize("breakage", MACHINE_CAUGHT, ids=lambda breakage: breakage.check_id)
def test_machine_reports_the_broken_check(
    breakage: Breakage, loop_runner: LoopRunner, tmp_path: Path
) -> None:
    transport = breakage.build()
    # A baseline where every check passes: any failure is a finding, whatever its grade (a
    # dropped client is a SHOULD, which without a baseline would be no finding).
    Baseline.write(
        transport.name, {check.id: Verdict.PASS for check in CATALOGUE}, tmp_path, causes={}
    )
    gate = Gate(directory=tmp_path)

    def sink(session: LifecycleSession, judgements: list[Judgement]) -> list[Judgement]:
        return gate.findings(transport.name, judgements)

    # The search stops at its first finding, so a generous budget only costs time when it
    # fails; 300 examples found whitespace stripping in some collection orders and not others.
    with pytest.raises(LifecycleFinding) as caught:
        run_state_machine_as_test(
            machine_for(transport, loop_runner, sink),
            settings=settings(SEARCH, max_examples=1500),
        )
    assert set(caught.value.check_ids) <= EXPLAINED_BY[breakage.check_id]


@pytest.mark.slow
def test_machine_finds_nothing_on_the_sound_target(loop_runner: LoopRunner, tmp_path: Path) -> None:
    from wsconform.targets.puppet import build_puppet_app
    from wsconform.targets.servers.inmemory import InMemoryTransport

    gate = Gate(directory=tmp_path)
    transport = InMemoryTransport(build_puppet_app())
    findings: list[Judgement] = []

    def sink(session: LifecycleSession, judgements: list[Judgement]) -> list[Judgement]:
        findings.extend(gate.findings(transport.name, judgements))
        return []

    run_state_machine_as_test(machine_for(transport, loop_runner, sink), settings=SEARCH)
    assert findings == []


@pytest.mark.slow
def test_machine_failure_prints_the_shrunk_program_and_transcript(
    loop_runner: LoopRunner, tmp_path: Path
) -> None:
    breakage = next(b for b in BREAKAGES if b.check_id == "handshake.close-before-accept-403")
    gate = Gate(directory=tmp_path)
    transport = breakage.build()

    def sink(session: LifecycleSession, judgements: list[Judgement]) -> list[Judgement]:
        return gate.findings(transport.name, judgements)

    with pytest.raises(LifecycleFinding) as caught:
        run_state_machine_as_test(
            machine_for(transport, loop_runner, sink),
            settings=settings(SEARCH, phases=WITHOUT_EXPLAIN),
        )
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    report = str(caught.value)
    # The replayable program, then the client events and the server record of the failing session.
    assert ("state.client_connects(" in notes, "client saw Denied(status=200" in report) == (
        True,
        True,
    )
    assert "server record" in report
