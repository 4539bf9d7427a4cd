"""The in-memory server waits in time, not in loop turns, and an app that returns after
accept without closing is a finding of its own (issue 25, trait 1). The time bounds cost nothing
where the app answers at once: no timer is set."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from wsconform.conformance.engine.plans import ClientStep, ConnectionPlan, Observation, SendText
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner, run_actions
from wsconform.conformance.families.generic.routes import judge, run_plan
from wsconform.conformance.families.lifecycle.scenarios import SCENARIOS
from wsconform.targets.servers import inmemory
from wsconform.targets.servers.inmemory import InMemoryTransport

APPS = "tests.user_apps"


def observe(app: str, path: str, steps: tuple[ClientStep, ...] = ()) -> Observation:
    async def go() -> Observation:
        transport = InMemoryTransport(f"{APPS}.{app}:app")
        try:
            return await run_plan(transport, ConnectionPlan(path, path, (), steps))
        finally:
            await transport.aclose()

    return asyncio.run(go())


def failed(observation: Observation) -> list[str]:
    return [j.check_id for j in judge(observation) if j.ok is False]


def test_a_sync_dependency_before_accept_is_waited_for_not_reported() -> None:
    observation = observe("sync_dependency_app", "/rooms/ws")
    assert (failed(observation), observation.app_errors) == ([], [])


def test_an_app_returning_after_accept_without_closing_is_its_own_finding() -> None:
    observation = observe("returns_open_app", "/greet/ws")
    assert failed(observation) == ["generic.app-closes-before-returning"]


def test_the_drop_answering_an_app_returning_open_is_not_also_a_server_error() -> None:
    """The client is still there when the app returns: the server's drop is the answer to the
    app's bug, reported once, by its own check."""
    observation = observe("returns_open_app", "/greet/ws", (SendText("hi"),))
    assert failed(observation) == ["generic.app-closes-before-returning"]


def _timers_of_a_prompt_session(monkeypatch: pytest.MonkeyPatch) -> int:
    """Timers (`call_at`, which `call_later` goes through) a lifecycle session sets on the
    in-memory server when the app answers every step at once; the puppet's own step bound is
    one watchdog per session."""
    scenario = next(s for s in SCENARIOS if s.name == "text-both-ways")
    runner = LoopRunner()
    timers: list[float] = []
    call_at = runner.loop.call_at

    def counted_call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        timers.append(when)
        return call_at(when, callback, *args, **kwargs)

    try:
        transport = InMemoryTransport(PUPPET_APP)
        runner.run(run_actions(transport, scenario.actions, "warm-up"))  # the advertised probe
        monkeypatch.setattr(runner.loop, "call_at", counted_call_at)
        session = runner.run(run_actions(transport, scenario.actions, "prompt"))
        monkeypatch.undo()
        runner.run(transport.aclose())
    finally:
        runner.close()
    assert not session.model.derailed, session.describe()
    return len(timers)


def test_time_bounds_cost_no_timer_where_the_app_answers_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _timers_of_a_prompt_session(monkeypatch) == 1  # the puppet's watchdog only


def test_the_timer_count_sees_a_server_that_looks_at_the_clock_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above, against a server that waits on the clock before it runs the loop."""
    spin = inmemory._spin

    async def clock_first(ready: Callable[[], bool]) -> bool:
        await asyncio.sleep(inmemory.POLL_S)
        return ready() or await spin(ready)

    with monkeypatch.context() as patched:
        patched.setattr(inmemory, "_spin", clock_first)
        assert _timers_of_a_prompt_session(monkeypatch) > 1
