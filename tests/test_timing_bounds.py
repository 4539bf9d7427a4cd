"""No timing bound is a MUST: where the only evidence of a failure is that nothing arrived within
the suite's bound, the verdict is the suite's policy, and an answer that comes late but right is
judged when it comes."""

from __future__ import annotations

import pytest
from wsconform.conformance.checks import Grade, Verdict
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.model import LifecycleModel
from wsconform.conformance.engine.probes import Judge, RawRun
from wsconform.conformance.engine.sessions import LoopRunner, run_actions
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Accepted,
    ClientEvent,
    Close,
    Closed,
    Connect,
    NoEvent,
    RaiseError,
    RawReceive,
    ServerStep,
    StepOutcome,
)
from wsconform.conformance.families.raw_asgi.probes import RAW_PROBES
from wsconform.conformance.families.wire import frames as wire
from wsconform.targets.wsclient import Endpoint

from tests.broken_targets import (
    AnswersCloseBeforeAcceptWhenTheAppEnds,
    NeverAnswersCloseBeforeAccept,
    broken_server,
)
from tests.wire_servers import Flaw, serving

CLOSE_BEFORE_ACCEPT = (Connect(), Close(1008, "not welcome"))


def close_before_accept_verdicts(build: object, runner: LoopRunner) -> list[Verdict]:
    assert callable(build)
    session = runner.run(run_actions(build(), CLOSE_BEFORE_ACCEPT, "timing"))
    return [
        judgement.verdict
        for line in session.transcript
        for judgement in line.judgements
        if judgement.check_id == "handshake.close-before-accept-403"
    ]


def test_a_403_sent_when_the_app_returns_passes(loop_runner: LoopRunner) -> None:
    build = broken_server(AnswersCloseBeforeAcceptWhenTheAppEnds)
    assert close_before_accept_verdicts(build, loop_runner) == [Verdict.PASS]


def test_a_close_before_accept_never_answered_is_policy_not_must(loop_runner: LoopRunner) -> None:
    build = broken_server(NeverAnswersCloseBeforeAccept)
    assert close_before_accept_verdicts(build, loop_runner) == [Verdict.NON_STRICT]


def connected() -> LifecycleModel:
    model = LifecycleModel()
    model.judge_client(Connect(), None, None)
    model.judge_server(Accept(), StepOutcome(), Accepted(subprotocol=None))
    return model


def test_a_crashed_app_whose_connection_stays_open_within_the_bound_is_policy() -> None:
    judgements = connected().judge_server(RaiseError(), None, NoEvent(after_s=2.0))
    closes = [j for j in judgements if j.check_id == "app-error.exception-after-accept-closes"]
    assert [j.verdict for j in closes] == [Verdict.NON_STRICT]


def test_a_close_that_never_arrives_is_policy_and_a_wrong_one_a_must() -> None:
    late = connected().judge_server(Close(4001), StepOutcome(), NoEvent(after_s=2.0))
    wrong = connected().judge_server(Close(4001), StepOutcome(), Closed(code=1000))
    assert [j.verdict for j in late + wrong if j.check_id == "close.code-delivered"] == [
        Verdict.NON_STRICT,
        Verdict.FAIL,
    ]


def wire_verdicts(flaw: Flaw, check_id: str, runner: LoopRunner) -> set[Verdict]:
    async def probe() -> list[Judgement]:
        async with serving(flaw) as port:
            return [j for judged, _ in await wire.run_probes(Endpoint(port)) for j in judged]

    return {j.verdict for j in runner.run(probe()) if j.check_id == check_id}


def test_a_bad_frame_met_with_silence_is_policy_and_one_passed_on_a_must(
    loop_runner: LoopRunner,
) -> None:
    silent = wire_verdicts(Flaw.DROPS_UNKNOWN_OPCODES, "wire.reserved-opcode-fails", loop_runner)
    echoed = wire_verdicts(Flaw.PASSES_INVALID_UTF8, "wire.invalid-utf8-fails", loop_runner)
    assert (silent, echoed) == ({Verdict.NON_STRICT}, {Verdict.FAIL})


def _raw_judge(name: str) -> Judge:
    return next(probe.judge for probe in RAW_PROBES if probe.name == name)


SILENT_AFTER_ACCEPT: list[ClientEvent] = [Accepted(subprotocol=None), NoEvent(after_s=2.0)]
# Every app step of a probe's program returned (four: receive, accept and two more).
RETURNED: list[tuple[ServerStep, StepOutcome | None]] = [(RawReceive(), StepOutcome())] * 4


@pytest.mark.parametrize("probe", ["close-without-code", "close-reason-none", "send-one-key-none"])
def test_a_raw_probe_met_only_with_silence_is_policy_not_must(probe: str) -> None:
    run = RawRun(outcomes=RETURNED, events=SILENT_AFTER_ACCEPT)
    assert [(j.verdict, j.level) for j in _raw_judge(probe)(run)] == [
        (Verdict.NON_STRICT, Grade.POLICY)
    ]


def test_a_raw_close_with_the_wrong_code_is_still_the_must() -> None:
    run = RawRun(outcomes=RETURNED, events=[Accepted(subprotocol=None), Closed(code=1005)])
    assert [j.verdict for j in _raw_judge("close-without-code")(run)] == [Verdict.FAIL]
