"""The in-memory server waits in time, not in loop turns, and an app that returns after
accept without closing is a finding of its own (issue 25, trait 1)."""

from __future__ import annotations

import asyncio

from wsconform.conformance.engine.plans import ConnectionPlan, Observation
from wsconform.conformance.families.generic.routes import judge, run_plan
from wsconform.targets.servers.inmemory import InMemoryTransport

APPS = "tests.user_apps"


def observe(app: str, path: str) -> Observation:
    async def go() -> Observation:
        transport = InMemoryTransport(f"{APPS}.{app}:app")
        try:
            return await run_plan(transport, ConnectionPlan(path, path, (), ()))
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
