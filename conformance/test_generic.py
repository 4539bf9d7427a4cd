"""Generic checks of the user's app (`--app`) on every transport, and of a running server
(`--url`): every discovered route gets generated connections and client behaviour; every route
declared as authenticated in [tool.wsconform] gets the bad-token strategy and a valid token.

A finding fails the test so that Hypothesis shrinks it; the minimal connection plan then goes
into the report as the evidence, with the command that reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, reporting, settings

from conformance.contracts import try_credential
from conformance.discovery import WebSocketEndpoint
from conformance.engine import LoopRunner
from conformance.gate import Gate
from conformance.generic import (
    AuthRoute,
    ConnectionPlan,
    Observation,
    judge,
    judge_bad_credential,
    judge_valid_credential,
    plans_for,
    run_plan,
)
from conformance.model import Judgement
from conformance.pytest_plugin import auth_routes_key, endpoints_key, url_key
from conformance.results import ResultsRecorder
from conformance.vocabulary import ClientEvent
from strategies import tokens
from targets.servers.base import Transport
from targets.servers.network import SocketTransport

# Per route and transport: each example is a whole connection, on real servers with real waits.
MAX_EXAMPLES = 25


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "endpoint" in metafunc.fixturenames:
        endpoints = config.stash[endpoints_key]
        metafunc.parametrize("endpoint", endpoints, ids=[e.path for e in endpoints])
    if "auth_route" in metafunc.fixturenames:
        routes = config.stash[auth_routes_key]
        metafunc.parametrize("auth_route", routes, ids=[r.path for r in routes])


class GenericRun:
    """Drives generated plans on one transport: records every judgement with its evidence,
    fails on findings so Hypothesis shrinks, and keeps the minimal failing plan."""

    def __init__(
        self,
        transport: Transport,
        runner: LoopRunner,
        recorder: ResultsRecorder,
        gate: Gate,
        reproduce: str,
        over_the_wire_only: bool = False,
    ) -> None:
        self.transport, self.runner, self.recorder, self.gate = transport, runner, recorder, gate
        self.reproduce = reproduce
        self.over_the_wire_only = over_the_wire_only
        self.judgements: list[Judgement] = []
        # The check IDs and evidence of the latest finding: Hypothesis replays the minimal
        # example last, so after a failure this is the minimal plan.
        self.last_finding: tuple[list[str], dict[str, Any]] | None = None

    def connection(self, plan: ConnectionPlan) -> None:
        observation = self.runner.run(run_plan(self.transport, plan))
        self.keep(judge(observation, self.over_the_wire_only), plan, observation)

    def keep(
        self, judgements: list[Judgement], plan: object, observation: Observation | None = None
    ) -> None:

        def evidence() -> dict[str, Any]:
            # Built only where it is kept: most examples' evidence never is.
            return {
                "source": f"generic checks, {plan!r}".splitlines()[0][:120],
                "plan": plan if isinstance(plan, str) else repr(plan),
                "client_events": [repr(event) for event in observation.seen] if observation else [],
                "app_errors": observation.app_errors if observation else [],
                "reproduce": self.reproduce,
            }

        self.recorder.add(self.transport.name, judgements, evidence)
        self.judgements += judgements
        findings = self.gate.findings(self.transport.name, judgements)
        if findings:
            self.last_finding = ([j.check_id for j in findings], evidence())
        assert not findings, "\n".join(f"[{j.check_id}] {j.detail}" for j in findings)

    def explore_plans(self, endpoint: WebSocketEndpoint) -> None:
        """Generated connections to `endpoint`, until a finding (shrunk) or the examples run out."""

        @settings(max_examples=MAX_EXAMPLES)
        @given(plans_for(endpoint))
        def connection(plan: ConnectionPlan) -> None:
            self.connection(plan)

        self.explore(connection)

    def explore(self, test: Callable[[], None]) -> None:
        report: list[object] = []
        try:
            with reporting.with_reporter(report.append):
                test()
        except AssertionError as failure:
            if self.last_finding is not None:
                notes = getattr(failure, "__notes__", [])
                program = "\n".join(str(line) for line in [*report, *notes])
                ids, evidence = self.last_finding
                self.recorder.attach(
                    self.transport.name, ids, {**evidence, "hypothesis_program": program}
                )
            raise
        self.gate.settle(self.transport.name, self.judgements, "")


def _reproduce(request: pytest.FixtureRequest, transport: Transport) -> str:
    app = request.config.getoption("app")
    return f"tox -e suite -- --app {app} --server {transport.name} -k '{request.node.name}'"


@pytest.mark.generic
def test_generic_route(
    request: pytest.FixtureRequest,
    endpoint: WebSocketEndpoint,
    app_transport: Transport,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    run = GenericRun(app_transport, loop_runner, recorder, gate, _reproduce(request, app_transport))
    run.explore_plans(endpoint)


@pytest.mark.generic
def test_authenticated_route(
    request: pytest.FixtureRequest,
    auth_route: AuthRoute,
    app_transport: Transport,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    run = GenericRun(app_transport, loop_runner, recorder, gate, _reproduce(request, app_transport))

    def attempt(token: str | None) -> tuple[list[ClientEvent], str]:
        """What the client saw with `token`, and the connection as the report shows it."""
        path, headers = auth_route.request(token)
        seen = loop_runner.run(try_credential(app_transport, path, headers))
        return seen, f"connect {path!r} headers {list(headers)!r}"

    valid = auth_route.valid_token()
    seen, valid_plan = attempt(valid)
    accepted = [judge_valid_credential(auth_route, seen)]

    @settings(max_examples=MAX_EXAMPLES)
    @given(tokens.bad_tokens(valid))
    def bad_token(token: str | None) -> None:
        seen, plan = attempt(token)
        run.keep([judge_bad_credential(auth_route, token, seen)], f"{plan}  # bad token {token!r}")

    def both() -> None:
        run.keep(accepted, f"{valid_plan}  # the valid token")
        bad_token()

    run.explore(both)


@pytest.mark.url
def test_live_url(
    request: pytest.FixtureRequest,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    live = request.config.stash[url_key]
    assert live is not None  # only collected with --url
    transport = SocketTransport("url", live.port)
    reproduce = f"tox -e suite -- --url {request.config.getoption('url')}"
    run = GenericRun(transport, loop_runner, recorder, gate, reproduce, over_the_wire_only=True)
    try:
        run.explore_plans(WebSocketEndpoint(live.target, "url", ()))
    finally:
        loop_runner.run(transport.aclose())
