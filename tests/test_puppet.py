"""The puppet app: steps cross threads and processes as JSON, and an abandoned puppet ends."""

from __future__ import annotations

import asyncio

import pytest
from wsconform.conformance.engine import sessions
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import (
    Accept,
    ClientEvent,
    ClientListen,
    Close,
    Closed,
    Connect,
    RaiseWebSocketException,
    ReceiveText,
    Return,
    SendBytes,
    SendDenialResponse,
    SendJson,
    ServerStep,
    step_from_json,
    step_to_json,
)
from wsconform.targets import compat, puppet
from wsconform.targets.servers.inmemory import InMemoryTransport

STEPS: list[ServerStep] = [
    Accept("chat", (("x-a", "1"),)),
    SendBytes(b"\x00\xff"),
    SendJson({"k": [1, None]}),
    Close(4000, "bye"),
    RaiseWebSocketException(1008, "policy"),
    SendDenialResponse(401, b"no"),
]


@pytest.mark.parametrize("step", STEPS, ids=lambda step: type(step).__name__)
def test_steps_survive_the_json_round_trip(step: ServerStep) -> None:
    assert step_from_json(step_to_json(step)) == step


def test_unknown_step_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown puppet step 'Dance'"):
        step_from_json({"kind": "Dance"})


def test_abandoned_puppet_ends_itself(
    loop_runner: LoopRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(puppet, "PUPPET_STEP_BOUND_S", 0.05)
    registry = puppet.PuppetRegistry()
    transport = InMemoryTransport(puppet.build_puppet_app(registry))

    async def ended() -> str | None:
        session = registry.session("abandoned")
        while session.record.ended is None:
            await asyncio.sleep(0.01)  # the puppet's own timer must fire: real time must pass
        return session.record.ended

    async def connect_and_wait_for_the_end() -> str | None:
        connection = await transport.connect("/puppet/abandoned")
        how = await asyncio.wait_for(ended(), 5.0)  # bounded: the test fails rather than hangs
        await connection.release()
        return how

    assert loop_runner.run(connect_and_wait_for_the_end()) == "idle-timeout"


def test_a_receive_nothing_answers_ends_in_timeout_error_and_the_puppet_goes_on(
    loop_runner: LoopRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(puppet, "PUPPET_STEP_BOUND_S", 0.05)
    registry = puppet.PuppetRegistry()
    transport = InMemoryTransport(puppet.build_puppet_app(registry))

    async def scenario() -> tuple[str | None, ClientEvent]:
        connection = await transport.connect("/puppet/unanswered")
        await transport.control.submit("unanswered", Accept())
        await connection.next_event()
        index = await transport.control.submit("unanswered", ReceiveText())
        # The puppet's own timer must fire: real time must pass (the in-memory driver would
        # prove the app silent at once), bounded by the wait on the step's outcome.
        future = registry.session("unanswered").outcome_future(index)
        outcome = future.result() if await future.wait(5.0) else None
        await transport.control.submit("unanswered", Close(4000))
        event = await connection.next_event()
        await connection.release()
        return (None if outcome is None else outcome.exc_type), event

    assert loop_runner.run(scenario()) == ("TimeoutError", Closed(code=4000))


def test_steps_after_the_app_ended_are_answered_at_once(loop_runner: LoopRunner) -> None:
    registry = puppet.PuppetRegistry()
    transport = InMemoryTransport(puppet.build_puppet_app(registry))

    async def scenario() -> str | None:
        connection = await transport.connect("/puppet/ended")
        await transport.control.submit("ended", Close(1008))
        await connection.next_event()
        returned = await transport.control.submit("ended", Return())
        await transport.control.outcome("ended", returned, 1.0)
        index = await transport.control.submit("ended", SendBytes(b"late"))
        outcome = await transport.control.outcome("ended", index, 0.0)
        await connection.release()
        return None if outcome is None else outcome.exc_type

    assert loop_runner.run(scenario()) == "AppGone"


def test_a_close_reason_the_release_cannot_send_is_left_out_and_reported(
    loop_runner: LoopRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compat, "CLOSE_TAKES_REASON", False)  # as on Starlette < 0.18
    transport = InMemoryTransport(puppet.build_puppet_app())

    async def scenario() -> tuple[str | None, ClientEvent]:
        connection = await transport.connect("/puppet/no-reason")
        await transport.control.submit("no-reason", Accept())
        await connection.next_event()
        index = await transport.control.submit("no-reason", Close(4000, "bye"))
        outcome = await transport.control.outcome("no-reason", index, 1.0)
        event = await connection.next_event()
        await connection.release()
        return (None if outcome is None else outcome.unsupported_part), event

    assert loop_runner.run(scenario()) == (
        "close(reason=...) needs Starlette >= 0.18",
        Closed(code=4000, reason=""),
    )


def _puppet_bounded(
    monkeypatch: pytest.MonkeyPatch, bound_s: float
) -> tuple[puppet.PuppetRegistry, InMemoryTransport]:
    """A puppet app, on the in-memory driver, that ends itself after `bound_s` without an
    instruction (the session knows the same bound)."""
    monkeypatch.setattr(puppet, "PUPPET_STEP_BOUND_S", bound_s)
    monkeypatch.setattr(sessions, "PUPPET_STEP_BOUND_S", bound_s)
    registry = puppet.PuppetRegistry()
    return registry, InMemoryTransport(puppet.build_puppet_app(registry))


def _outlast_the_puppet(
    loop_runner: LoopRunner, registry: puppet.PuppetRegistry, session: sessions.LifecycleSession
) -> list[Judgement]:
    """Connect, accept, wait until the puppet has ended itself, then listen: what that last
    step was judged."""

    async def outlast() -> list[Judgement]:
        await session.act(Connect())
        await session.act(Accept())
        record = registry.session(session.session_id).record
        while record.ended is None:
            await asyncio.sleep(0.01)  # the puppet's own timer must fire: real time must pass
        return await session.act(ClientListen())

    judgements = loop_runner.run(asyncio.wait_for(outlast(), 5.0))
    loop_runner.run(session.finish())
    return judgements


def test_a_program_that_outlasts_the_puppet_is_not_judged_for_the_end(
    loop_runner: LoopRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client steps that take longer than the puppet waits for an instruction (five 2 s listens
    in a row did): the puppet ends its app, the server ends the connection, and that end is the
    suite's own doing, so the session stops there without a verdict on it (it was a false
    session.no-unexpected-event)."""
    registry, transport = _puppet_bounded(monkeypatch, 0.05)
    session = sessions.LifecycleSession(transport, "outlasted")
    judgements = _outlast_the_puppet(loop_runner, registry, session)
    assert (judgements, session.model.derailed) == ([], True)
    assert isinstance(session.transcript[-1].event, Closed)


def test_the_puppets_bound_counts_from_when_the_instruction_left(
    loop_runner: LoopRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A late reply to an instruction (a loaded server answers the control request slowly) must
    not hide the puppet's own end: its bound runs from when it got the step, before the reply
    came back (a cold server once made this a false session.no-unexpected-event)."""
    registry, transport = _puppet_bounded(monkeypatch, 0.2)
    submit = transport.control.submit

    async def late_reply(session_id: str, step: ServerStep) -> int:
        index = await submit(session_id, step)
        await asyncio.sleep(0.15)  # the puppet has the step and goes on meanwhile
        return index

    monkeypatch.setattr(transport.control, "submit", late_reply)
    session = sessions.LifecycleSession(transport, "late-reply")
    judgements = _outlast_the_puppet(loop_runner, registry, session)
    assert (judgements, session.model.derailed) == ([], True)
