"""Generic checks of the user's app (`--app`) on every transport, and of a running server
(`--url`): every discovered route gets generated connections and client behaviour; every route
declared as authenticated in [tool.wsconform] gets the bad-token strategy and a valid token.

A finding fails the test so that Hypothesis shrinks it; the minimal connection plan then goes
into the report as the evidence, with the command that reproduces it.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import example, given, reporting, settings
from hypothesis import strategies as st

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup

from wsconform.conformance.engine.discovery import WebSocketEndpoint
from wsconform.conformance.engine.findings import Finding, finding_key
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.plans import ConnectionPlan, CrowdPlan, Observation
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.contracts.endpoints import try_credential
from wsconform.conformance.families.generic.crowd import (
    CrowdObservation,
    actions_for,
    clients_for,
    crowd_plans,
    examples_for,
    judge_crowd,
    learn_messages,
    run_crowd,
)
from wsconform.conformance.families.generic.routes import (
    AuthRoute,
    judge,
    judge_bad_credential,
    judge_bad_token_crash,
    judge_valid_credential,
    opening_plans,
    plans_for,
    run_plan,
)
from wsconform.conformance.families.generic.values import judge_values
from wsconform.conformance.pytest_plugin import (
    auth_routes_key,
    endpoints_key,
    reproduce_command,
    run_settings,
    url_key,
    user_app_given,
)
from wsconform.strategies import tokens
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.network import SocketTransport
from wsconform.targets.servers.tls import url_client_context

# Runs a failing example again, alone, and judges it.
Replay = Callable[[], list[Judgement]]

# Per route and transport: each example is a whole connection, on real servers with real waits.
MAX_EXAMPLES = 25
# TestClient serves each websocket session through a portal of its own, not the clients of
# one app on one loop as a server does; a crowd there costs seconds a step and shows nothing
# a server would.
CROWD_NOT_ON_TESTCLIENT = "a crowd needs its clients served together, as a server serves them"
# The reference app's routes drawn together, per transport, in the default suite.
REFERENCE_APP_EXAMPLES = 40


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
    fails on findings so Hypothesis shrinks them, and keeps each distinct finding's minimal
    plan. With `fresh_apps`, every plan meets a freshly built app, and each minimal plan is
    replayed alone on one more to confirm it."""

    def __init__(
        self,
        transport: Transport,
        runner: LoopRunner,
        recorder: ResultsRecorder,
        gate: Gate,
        reproduce: str,
        over_the_wire_only: bool = False,
        fresh_apps: bool = False,
    ) -> None:
        self.transport, self.runner, self.recorder, self.gate = transport, runner, recorder, gate
        self.reproduce = reproduce
        self.over_the_wire_only = over_the_wire_only
        self.fresh_apps = fresh_apps
        self.judgements: list[Judgement] = []
        # Per distinct finding, its latest failing example: Hypothesis replays each minimal
        # example last, so after the run these are the minimal ones.
        self.latest: dict[str, tuple[list[str], object, Observation | None, Replay | None]] = {}
        # One exception type per distinct finding, so that Hypothesis shrinks and reports
        # each on its own instead of stopping at the first.
        self._finding_types: dict[str, type[AssertionError]] = {}

    def connection(self, plan: ConnectionPlan) -> None:
        observation = self.observe(plan)

        def replay() -> list[Judgement]:
            return self.judged(plan, self.observe(plan))

        self.keep(self.judged(plan, observation), plan, observation, replay)

    def judged(self, plan: ConnectionPlan, observation: Observation) -> list[Judgement]:
        """The connection's judgements: how it went, and what the route was handed."""
        return judge(observation, self.over_the_wire_only) + judge_values(plan, observation)

    def observe(self, plan: ConnectionPlan) -> Observation:
        self.start_fresh()
        return self.runner.run(run_plan(self.transport, plan))

    def crowd(self, plan: CrowdPlan) -> None:
        verdict = judge_crowd(plan, self.observe_crowd(plan), self.observe_crowd)

        def replay() -> list[Judgement]:
            return judge_crowd(plan, self.observe_crowd(plan), self.observe_crowd).judgements

        self.keep(verdict.judgements, plan, verdict.about, replay)

    def observe_crowd(self, plan: CrowdPlan) -> CrowdObservation:
        self.start_fresh()
        return self.runner.run(run_crowd(self.transport, plan))

    def start_fresh(self) -> None:
        """With `fresh_apps`, the next connection meets a freshly built app."""
        if self.fresh_apps:
            self.runner.run(self.transport.prepare_app(fresh=True))

    def keep(
        self,
        judgements: list[Judgement],
        plan: object,
        observation: Observation | None = None,
        replay: Replay | None = None,
    ) -> None:
        """Record; on findings, remember this example (and how to `replay` it alone) and fail
        with the finding's own exception type."""

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
        if not findings:
            return
        ids = [j.check_id for j in findings]
        route = plan.route if isinstance(plan, ConnectionPlan | CrowdPlan) else ""
        key = finding_key(route, ids, observation.app_errors if observation else [])
        self.recorder.attach(self.transport.name, ids, evidence())
        self.latest[key] = (ids, plan, observation, replay)
        finding_type = self._finding_types.setdefault(
            key, type("GenericFinding", (AssertionError,), {"__module__": __name__})
        )
        raise finding_type("\n".join(f"[{j.check_id}] {j.detail}" for j in findings))

    def explore_plans(self, endpoint: WebSocketEndpoint) -> None:
        """Generated connections to `endpoint`, until a finding (shrunk) or the examples run out."""

        @settings(max_examples=MAX_EXAMPLES)
        @given(plans_for(endpoint))
        def connection(plan: ConnectionPlan) -> None:
            self.connection(plan)

        # The opening plans run first (Hypothesis's explicit examples), then the generated ones.
        for plan in reversed(opening_plans(endpoint)):
            connection = example(plan)(connection)
        self.explore(connection)

    def explore_crowd(self, endpoint: WebSocketEndpoint) -> None:
        """Generated crowds on `endpoint` (several clients, their steps interleaved), as many
        plans and steps as the profile's examples and stateful steps, with the messages the
        route was seen to take, and the one it raises on, learnt first."""
        messages = learn_messages(endpoint, self.observe)
        profile = settings()
        steps = profile.stateful_step_count
        in_memory = self.transport.name == "inmemory"
        examples = examples_for(profile.max_examples, in_memory=in_memory)

        @settings(max_examples=examples)
        @given(crowd_plans(endpoint, messages, actions_for(steps), clients_for(steps)))
        def crowd(plan: CrowdPlan) -> None:
            self.crowd(plan)

        self.explore(crowd)

    def explore_routes(self, endpoints: list[WebSocketEndpoint], examples: int) -> None:
        """Generated connections, each to a route drawn from `endpoints`. (A method of its own:
        derandomized Hypothesis seeds each test from its source, so explore_plans keeps its
        examples.)"""

        @settings(max_examples=examples)
        @given(st.sampled_from(endpoints).flatmap(plans_for))
        def connection(plan: ConnectionPlan) -> None:
            self.connection(plan)

        self.explore(connection)

    def explore(self, test: Callable[[], None]) -> None:
        report: list[object] = []
        try:
            with reporting.with_reporter(report.append):
                test()
        except (AssertionError, BaseExceptionGroup) as failure:
            notes = _notes_of(failure)
            self.record_findings("\n".join(str(line) for line in [*report, *notes]))
            raise
        self.gate.settle(self.transport.name, self.judgements, "")

    def record_findings(self, program: str) -> None:
        for key, (ids, plan, observation, replay) in self.latest.items():
            self.recorder.attach(self.transport.name, ids, {"hypothesis_program": program})
            if isinstance(plan, ConnectionPlan | CrowdPlan) and observation is not None:
                finding = Finding.from_failure(key, ids, plan, observation)
                confirmed = self.confirm(replay, ids)
                finding.seen_on(
                    self.transport.name, observation, confirmed, self.reproduce, program
                )
                self.recorder.add_finding(finding)

    def confirm(self, replay: Replay | None, ids: list[str]) -> bool | None:
        """Does the minimal example fail the same checks again, alone, on a freshly built app?
        (None: the app cannot be rebuilt here, so there is nothing to confirm against.)"""
        if not self.fresh_apps or replay is None:
            return None
        again = self.gate.findings(self.transport.name, replay())
        return set(ids) <= {judgement.check_id for judgement in again}


@pytest.fixture
def generic_run(
    request: pytest.FixtureRequest,
    app_transport: Transport,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> GenericRun:
    """Generated connections to the app on one transport, each on a fresh app where the app
    is the user's."""
    reproduce = reproduce_command(request.config, app_transport.name, request.node.name)
    fresh_apps = user_app_given(request.config)
    return GenericRun(app_transport, loop_runner, recorder, gate, reproduce, fresh_apps=fresh_apps)


@pytest.mark.generic
def test_generic_route(endpoint: WebSocketEndpoint, generic_run: GenericRun) -> None:
    generic_run.explore_plans(endpoint)


@pytest.mark.generic
def test_crowd_on_route(endpoint: WebSocketEndpoint, generic_run: GenericRun) -> None:
    """Several clients on the route at once, judged for what one's fate does to the others."""
    if generic_run.transport.name == "testclient":
        pytest.skip(CROWD_NOT_ON_TESTCLIENT)
    generic_run.explore_crowd(endpoint)


@pytest.mark.reference_app
def test_generic_checks_on_the_reference_app(
    request: pytest.FixtureRequest, generic_run: GenericRun
) -> None:
    """The default suite's own app under the generic checks, with every route in one draw:
    a framework change that makes any reference route crash or answer 5xx/1011 shows here
    even where no contract looks."""
    generic_run.explore_routes(request.config.stash[endpoints_key], REFERENCE_APP_EXAMPLES)


@pytest.mark.generic
def test_authenticated_route(
    auth_route: AuthRoute,
    app_transport: Transport,
    loop_runner: LoopRunner,
    generic_run: GenericRun,
) -> None:
    run = generic_run

    def attempt(token: str | None) -> tuple[ConnectionPlan, Observation]:
        """The connection carrying `token` (connect, then leave), and what it showed."""
        path, headers = auth_route.request(token)
        plan = ConnectionPlan(auth_route.path, path, headers, ())
        run.start_fresh()
        seen = loop_runner.run(try_credential(app_transport, path, headers))
        errors = loop_runner.run(app_transport.drain_app_errors())
        return plan, Observation(seen, errors)

    valid = auth_route.valid_token()
    valid_plan, valid_seen = attempt(valid)
    accepted = [judge_valid_credential(auth_route, valid_seen.seen)]

    def judged(
        flavour: str, token: str | None
    ) -> tuple[list[Judgement], ConnectionPlan, Observation]:
        plan, observation = attempt(token)
        judgements = [
            judge_bad_credential(auth_route, token, observation.seen, flavour),
            judge_bad_token_crash(auth_route, token, observation, flavour),
        ]
        return judgements, plan, observation

    def bad_token(flavour: str, token: str | None) -> None:
        judgements, plan, observation = judged(flavour, token)
        run.keep(judgements, plan, observation, lambda: judged(flavour, token)[0])

    @settings(max_examples=MAX_EXAMPLES)
    @given(tokens.bad_tokens(valid))
    def generated_bad_token(token: str | None) -> None:
        bad_token("generated", token)

    def every_flavour() -> None:
        """The valid token, each bad-token flavour on its own, then generated ones: a flavour
        that is let in must not hide another that crashes the route."""
        attempts: list[Callable[[], None]] = [
            lambda: run.keep(accepted, valid_plan, valid_seen),
            *(
                partial(bad_token, flavour, token)
                for flavour, token in tokens.bad_token_flavours(valid).items()
            ),
            generated_bad_token,
        ]
        failures: list[BaseException] = []
        for one_attempt in attempts:
            try:
                one_attempt()
            except (AssertionError, BaseExceptionGroup) as failure:
                failures.append(failure)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise BaseExceptionGroup("findings of the bad-token flavours", failures)

    run.explore(every_flavour)


@pytest.mark.url
def test_live_url(
    request: pytest.FixtureRequest,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    live = request.config.stash[url_key]
    assert live is not None  # only collected with --url
    settings = run_settings(request.config)
    tls = url_client_context(verify=not settings.insecure) if live.tls else None
    transport = SocketTransport("url", live.port, tls, live.host)
    flags = " --wsconform-insecure" * settings.insecure + (
        " --wsconform-allow-remote-host" * settings.allow_remote_host
    )
    reproduce = f"pytest --wsconform-url {settings.url}{flags}"
    try:
        loop_runner.run(reachable(transport, settings.url))
        run = GenericRun(transport, loop_runner, recorder, gate, reproduce, over_the_wire_only=True)
        run.explore_plans(WebSocketEndpoint(live.target, "url", ()))
    finally:
        loop_runner.run(transport.aclose())


async def reachable(transport: SocketTransport, url: str) -> None:
    """One connection (and TLS handshake) before any check: a server that cannot be reached or
    trusted ends the run with a usage error saying why, not a finding per check."""
    try:
        _, writer = await transport.endpoint.open()
    except ssl.SSLCertVerificationError as exc:
        pytest.exit(
            f"--url {url}: the server's certificate does not verify ({exc.verify_message}); "
            "for a self-signed certificate pass --insecure",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    except (OSError, TimeoutError) as exc:
        pytest.exit(
            f"--url {url}: cannot connect ({exc or type(exc).__name__})",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    writer.transport.abort()


def _notes_of(failure: BaseException) -> list[str]:
    """Hypothesis's notes on a failure (the falsifying example, its replay blob): on the
    failure itself, or, when it found several distinct bugs, on each one in the group."""
    notes = [str(note) for note in getattr(failure, "__notes__", [])]
    if isinstance(failure, BaseExceptionGroup):
        for inner in failure.exceptions:
            notes += _notes_of(inner)
    return notes
