"""The in-memory server waits in time, not in loop turns, and an app that returns after
accept without closing is a finding of its own (issue 25, trait 1)."""

from __future__ import annotations

import asyncio

from wsconform.conformance.engine.plans import ClientStep, ConnectionPlan, Observation, SendText
from wsconform.conformance.families.generic.routes import judge, run_plan
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
