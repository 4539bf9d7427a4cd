"""The Python API, for checks inside a project's own test suite (as `schemathesis.from_asgi`
and `@schema.parametrize()` do for HTTP):

    import wsconform

    app = wsconform.from_app("myapp.main:app")       # or "myapp.main:create_app()"

    @app.parametrize()
    def test_websocket_route(route: wsconform.Route) -> None:
        route.check()                                 # generated connections; fails on a finding

Each `Route.check()` drives Hypothesis-generated connections (parameters from the route's
declarations, client text/bytes/JSON, closes and drops) against the route on one server
(in-memory by default, or any `--server` name), every connection on a freshly built app, and
fails with the minimal connection and the app's leaf exception when a generic check fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings

from wsconform.conformance.engine.discovery import WebSocketEndpoint, discover
from wsconform.conformance.engine.plans import ConnectionPlan
from wsconform.conformance.engine.sessions import LoopRunner, app_served
from wsconform.conformance.families.generic.routes import judge, plans_for, run_plan
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.witness import load_app

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Route:
    """One WebSocket route of the app, as a parametrized test receives it."""

    app: str  # the import string the app is built from
    endpoint: WebSocketEndpoint

    @property
    def path(self) -> str:
        return self.endpoint.path

    def check(self, server: str = "inmemory", max_examples: int = 25) -> None:
        """Generated connections to this route on `server`; AssertionError on a finding."""
        with _served(self.app, server) as (transport, runner):

            @settings(max_examples=max_examples, deadline=None, database=None)
            @given(plans_for(self.endpoint))
            def connection(plan: ConnectionPlan) -> None:
                runner.run(transport.prepare_app(fresh=True))
                observation = runner.run(run_plan(transport, plan))
                failed = [j for j in judge(observation) if j.ok is False]
                assert not failed, "\n".join(
                    [f"{plan!r}", *(f"[{j.check_id}] {j.detail}" for j in failed)]
                )

            connection()


@contextlib.contextmanager
def _served(app: str, server: str) -> Iterator[tuple[Transport, LoopRunner]]:
    spec = all_transports().get(server)
    if spec is None:
        raise ValueError(f"unknown server {server!r}; known: {', '.join(all_transports())}")
    if (reason := spec.unavailable_reason()) is not None:
        pytest.skip(f"{server}: {reason}")
    runner = LoopRunner()
    try:
        with app_served(spec, app, runner) as transport:
            yield transport, runner
    finally:
        runner.close()


@dataclass(frozen=True)
class AppUnderTest:
    app: str
    routes: tuple[Route, ...]

    def parametrize(self) -> Callable[[F], F]:
        """A pytest parametrization over the app's WebSocket routes (argument `route`)."""
        mark: Callable[[F], F] = pytest.mark.parametrize(
            "route", self.routes, ids=[route.path for route in self.routes]
        )
        return mark


def from_app(app: str) -> AppUnderTest:
    """The app named by `module:attribute` (or `module:factory()`), with its routes found."""
    endpoints = discover(load_app(app))
    return AppUnderTest(app, tuple(Route(app, endpoint) for endpoint in endpoints))
