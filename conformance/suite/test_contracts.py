"""Contracts of the reference endpoints (or of `--app`) on every transport, with properties
over generated input."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from wsconform.conformance.engine.discovery import serves
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.contracts import endpoints as contracts
from wsconform.conformance.families.contracts import guards, surface
from wsconform.conformance.families.contracts.chat_machine import chat_machine_for
from wsconform.conformance.pytest_plugin import app_under_test, endpoints_key, user_app_given
from wsconform.strategies import lifecycle, tokens
from wsconform.targets.guards import GUARDS as GUARD_NAMES
from wsconform.targets.guards import ROUTES as GUARD_ROUTES
from wsconform.targets.reference import (
    FASTAPI_MISSING,
    JWT_AUDIENCE,
    JWT_ISSUER,
    JWT_SECRET,
    issue_jwt,
)
from wsconform.targets.servers.base import Transport

T = TypeVar("T")


class Judge:
    """Runs contract functions on one transport: records every judgement (with the app errors
    the run caused), fails on findings so Hypothesis can shrink, and settles the test."""

    def __init__(
        self, transport: Transport, runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
    ) -> None:
        self.transport, self.runner, self.recorder, self.gate = transport, runner, recorder, gate
        self.judgements: list[Judgement] = []

    def __call__(self, contract: Callable[..., Awaitable[list[Judgement]]], *args: Any) -> None:
        judgements = self.runner.run(contract(self.transport, *args))
        what = f"{contract.__name__}{args!r}"[:200]
        judgements += self.runner.run(contracts.server_errors(self.transport, what))
        findings = self.record(judgements, what)
        assert not findings, "\n".join(f"[{j.check_id}] {j.detail}" for j in findings)

    def record(self, judgements: list[Judgement], what: str = "chat machine") -> list[Judgement]:
        """Keep the judgements; return the findings among them."""
        self.recorder.add(self.transport.name, judgements, lambda: {"source": f"contract {what}"})
        self.judgements += judgements
        return self.gate.findings(self.transport.name, judgements)

    def settle(self) -> None:
        self.gate.settle(self.transport.name, self.judgements, "")


@pytest.fixture(autouse=True)
def _skip_unless_the_app_serves(request: pytest.FixtureRequest) -> None:
    """A contract runs only where the app has the reference routes it needs (a secured-token
    test names its route through its `kind`): with --app, the user's app; without FastAPI, the
    reference app, which then serves only the routes that need Starlette alone."""
    marker = request.node.get_closest_marker("routes")
    paths = list(marker.args) if marker else []
    kind = getattr(getattr(request.node, "callspec", None), "params", {}).get("kind")
    if kind is not None:
        paths.append(contracts.SECURED[kind].route)
    endpoints = request.config.stash[endpoints_key]
    missing = [path for path in paths if not serves(endpoints, path)]
    if missing and FASTAPI_MISSING and not user_app_given(request.config):
        pytest.skip(f"{FASTAPI_MISSING}: the reference app serves {', '.join(missing)} with it")
    if missing:
        app = app_under_test(request.config)
        pytest.skip(f"{app} has no route for {', '.join(missing)}")


@pytest.fixture
def judge(
    app_transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> Judge:
    return Judge(app_transport, loop_runner, recorder, gate)


@pytest.mark.routes("/welcome")
def test_welcome(judge: Judge) -> None:
    judge(contracts.welcome)
    judge.settle()


@pytest.mark.routes("/echo")
def test_echo_answers_every_text_exactly(judge: Judge) -> None:
    # 64 KiB on top of the usual edge cases: the largest message a default server accepts.
    @given(st.lists(lifecycle.texts | st.just("x" * 65536), min_size=1, max_size=5))
    def echo(texts: list[str]) -> None:
        judge(contracts.echo_each, texts)

    echo()
    judge.settle()


@pytest.mark.routes("/echo")
def test_echo_keeps_order(judge: Judge) -> None:
    judge(contracts.echo_in_order, [f"message {n}" for n in range(200)])
    judge.settle()


@pytest.mark.routes("/count")
def test_count(judge: Judge) -> None:
    judge(contracts.count)
    judge.settle()


@pytest.mark.routes("/json")
def test_json_returns_every_value(judge: Judge) -> None:
    @given(lifecycle.json_values)
    def json_round_trip(value: Any) -> None:
        judge(contracts.json_original, value)

    json_round_trip()
    judge.settle()


@pytest.mark.routes("/safe")
def test_safe_answers_one_of_three_shapes(judge: Judge) -> None:
    shaped = st.one_of(
        lifecycle.texts,
        lifecycle.json_values.map(json.dumps),
        st.builds(
            lambda a, d: json.dumps({"action": a, "data": d}),
            lifecycle.json_values,
            lifecycle.json_values,
        ),
    )

    @given(shaped)
    def safe(text: str) -> None:
        judge(contracts.safe, text)

    safe()
    judge.settle()


@pytest.mark.routes("/chatroom/zed")
def test_chat(judge: Judge) -> None:
    judge(contracts.chat)
    judge.settle()


ROUTES = (
    "/welcome",
    "/echo",
    "/count",
    "/json",
    "/safe",
    "/custom-close",
    "/moderated",
    "/rooms?room=lobby&user_id=1",
    "/chatroom/zed",
    "/secure/query?token=wsconform-token-alice",
)


@pytest.mark.routes(*ROUTES)
def test_client_leaving_at_any_point_causes_no_server_error(judge: Judge) -> None:
    @given(
        st.sampled_from(ROUTES),
        st.lists(lifecycle.texts, max_size=3),
        st.sampled_from(["close", "drop"]),
    )
    def leave(route: str, texts: list[str], how: str) -> None:
        judge(contracts.leave_midway, route, texts, how)

    leave()
    judge.settle()


# As for the lifecycle machine: after a finding Hypothesis shrinks for up to 300 s by itself, each
# candidate paying real reply bounds (a server that never delivers a leave notice costs one per
# candidate), so the project-wide 300 s would end the test before Hypothesis reports the finding.
@pytest.mark.timeout(900)
@pytest.mark.routes("/chatroom/zed")
def test_chat_machine(judge: Judge) -> None:
    run_state_machine_as_test(chat_machine_for(judge.transport, judge.runner, judge.record))
    judge.settle()


@pytest.mark.routes("/custom-close")
def test_custom_close(judge: Judge) -> None:
    judge(contracts.custom_close)
    judge.settle()


@pytest.mark.routes("/moderated")
def test_moderated(judge: Judge) -> None:
    judge(contracts.moderated)
    judge.settle()


room_names = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=20)
user_ids = st.integers(-(2**31), 2**31).map(str) | st.sampled_from(["", "abc", "1.5", "seven"])


@pytest.mark.routes("/rooms")
def test_rooms_greet_valid_members_and_refuse_bad_parameters(judge: Judge) -> None:
    @given(st.fixed_dictionaries({}, optional={"room": room_names, "user_id": user_ids}))
    def rooms(query: dict[str, str]) -> None:
        judge(contracts.rooms, query)

    rooms()
    judge.settle()


# --- secured routes ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["header", "router", "query"])
def test_static_tokens(judge: Judge, kind: str) -> None:
    valid = contracts.VALID_TOKENS[0]
    in_query = contracts.SECURED[kind].in_query
    bad = tokens.bad_tokens(valid) if in_query else tokens.bad_authorization_values(valid)
    good = (
        st.sampled_from(contracts.VALID_TOKENS)
        if in_query
        else tokens.valid_authorization_values(valid)
    )

    @given(good)
    def accepted(credential: str) -> None:
        judge(contracts.secured_accepts, kind, credential, "Welcome!")

    @given(bad)
    def refused(credential: str | None) -> None:
        judge(contracts.secured_rejects, kind, credential)

    accepted()
    refused()
    judge.settle()


@pytest.mark.routes("/secure/oauth2")
def test_oauth2(judge: Judge) -> None:
    access = {
        user: judge.runner.run(contracts.oauth2_token(judge.transport, user))
        for user in contracts.OAUTH2_USERS
    }

    @given(st.sampled_from(sorted(access)))
    def accepted(user: str) -> None:
        judge(contracts.secured_accepts, "oauth2", f"Bearer {access[user]}", f"Welcome {user}!")

    @given(tokens.bad_authorization_values(access["johndoe"]))
    def refused(credential: str | None) -> None:
        judge(contracts.secured_rejects, "oauth2", credential)

    accepted()
    refused()
    judge.settle()


@pytest.mark.parametrize("kind", ["jwt-header", "jwt-query"])
def test_jwt(judge: Judge, kind: str) -> None:
    def credential(token: str) -> str:
        return f"Bearer {token}" if kind == "jwt-header" else token

    @given(st.sampled_from(["alice", "bob", "ünïcode"]))
    def accepted(subject: str) -> None:
        judge(
            contracts.secured_accepts, kind, credential(issue_jwt(subject)), f"Welcome {subject}!"
        )

    wrong: st.SearchStrategy[str | None]
    wrong = tokens.bad_jwts(JWT_SECRET, JWT_AUDIENCE, JWT_ISSUER).map(credential)
    if kind == "jwt-header":
        wrong = wrong | tokens.bad_authorization_values(issue_jwt("alice"))

    @given(wrong)
    def refused(token: str | None) -> None:
        judge(contracts.secured_rejects, kind, token)

    accepted()
    refused()
    judge.settle()


@pytest.mark.parametrize(
    "contract",
    [
        pytest.param(contract, marks=pytest.mark.routes(route), id=contract.__name__)
        for contract, route in surface.SURFACE_CONTRACTS.items()
    ],
)
def test_framework_surface(
    judge: Judge, contract: Callable[..., Awaitable[list[Judgement]]]
) -> None:
    judge(contract)
    judge.settle()


@pytest.mark.routes(GUARD_ROUTES["parameter"])  # every FastAPI release has it; the rest may not
@pytest.mark.parametrize("guard", GUARD_NAMES)
def test_guard(judge: Judge, guard: str) -> None:
    judge(guards.guard_contract, guard)
    judge.settle()
