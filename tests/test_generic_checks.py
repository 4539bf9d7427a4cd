"""Each generic check against a route (or, where a correct server hides the bug, a server)
that gets exactly its requirement wrong; and the correct route, which passes them all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample
from wsconform.conformance.engine.discovery import discover
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.plans import (
    CloseWith,
    ConnectionPlan,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import Accepted, ClientEvent, Closed, Denied
from wsconform.conformance.families.contracts.endpoints import try_credential
from wsconform.conformance.families.generic.routes import (
    ConfigError,
    judge,
    judge_bad_credential,
    judge_valid_credential,
    load_auth_routes,
    plans_for,
    run_plan,
)
from wsconform.targets.servers.inmemory import InMemoryTransport

from tests import broken_routes
from tests.broken_routes import DeliversDataBeforeAccept
from tests.broken_targets import PutsAnyCloseCodeOnTheWire

ENDPOINTS = {endpoint.path: endpoint for endpoint in discover(broken_routes.app)}


@pytest.fixture
def runner() -> Iterator[LoopRunner]:
    loop_runner = LoopRunner()
    yield loop_runner
    loop_runner.close()


def transport_for(connection_class: type | None = None) -> InMemoryTransport:
    transport = InMemoryTransport(broken_routes.app)
    if connection_class is not None:
        transport.connection_class = connection_class
    return transport


def failing(judgements: list[Judgement]) -> set[str]:
    return {judgement.check_id for judgement in judgements if judgement.ok is False}


def run(runner: LoopRunner, target: str, *steps: object, server: type | None = None) -> set[str]:
    plan = ConnectionPlan(target, target, (), tuple(steps))  # type: ignore[arg-type]
    return failing(judge(runner.run(run_plan(transport_for(server), plan))))


@pytest.mark.parametrize(
    ("target", "steps", "server", "caught"),
    [
        # A crash is also a server error: the server closes with 1011.
        (
            "/crashes-on-bytes",
            (SendBytes(b"x"),),
            None,
            {"generic.no-unhandled-exception", "generic.no-server-error"},
        ),
        ("/closes-1011", (SendText("hi"),), None, {"generic.no-server-error"}),
        ("/closes-401", (SendText("hi"),), PutsAnyCloseCodeOnTheWire, {"generic.close-code-valid"}),
        ("/greets-then-refuses/", (), DeliversDataBeforeAccept, {"generic.no-data-before-denial"}),
        ("/correct/1", (SendText("hi"), SendBytes(b"x")), None, set()),
        # The server's answer to the client's own close 1011 echoes it: not a server error.
        ("/correct/1", (CloseWith(1011),), None, set()),
    ],
)
def test_each_check_catches_its_broken_route(
    runner: LoopRunner,
    target: str,
    steps: tuple[object, ...],
    server: type | None,
    caught: set[str],
) -> None:
    assert run(runner, target, *steps, server=server) == caught


def test_generated_plans_find_the_crash_and_shrink_it(runner: LoopRunner) -> None:
    """The strategy reaches the bug without being told, and shrinks it to one bytes message."""
    transport = transport_for()

    def crashes(plan: ConnectionPlan) -> bool:
        observation = runner.run(run_plan(transport, plan))
        return "generic.no-unhandled-exception" in failing(judge(observation))

    quick = settings(max_examples=200, database=None, suppress_health_check=list(HealthCheck))
    minimal = find(plans_for(ENDPOINTS["/crashes-on-bytes"]), crashes, settings=quick)
    assert minimal.steps == (SendBytes(b""),)


def test_generated_plans_leave_the_correct_route_alone(runner: LoopRunner) -> None:
    transport = transport_for()
    quick = settings(max_examples=40, database=None, suppress_health_check=list(HealthCheck))
    with pytest.raises(NoSuchExample):
        find(
            plans_for(ENDPOINTS["/correct/{n:int}"]),
            lambda plan: bool(failing(judge(runner.run(run_plan(transport, plan))))),
            settings=quick,
        )


def write_config(tmp_path: Path, route: str, extra: str = "") -> Path:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        f'[tool.wsconform.auth."{route}"]\ntoken = "query:token"\n'
        f'valid-token = "tests.broken_routes:good_token"\n{extra}'
    )
    return config


@pytest.mark.parametrize(
    ("route", "bad_rejected", "valid_accepted"),
    [
        ("/accepts-then-checks", False, True),
        ("/refuses-everyone", True, False),
        ("/checks-then-accepts", True, True),
    ],
)
def test_auth_checks_catch_routes_that_let_bad_tokens_in_or_keep_good_ones_out(
    runner: LoopRunner, tmp_path: Path, route: str, bad_rejected: bool, valid_accepted: bool
) -> None:
    (auth,) = load_auth_routes(write_config(tmp_path, route))
    transport = transport_for()
    valid = auth.valid_token()
    bad = [None, "", valid[:-1], valid.upper()]
    bad_judgements = [
        judge_bad_credential(
            auth, token, runner.run(try_credential(transport, *auth.request(token)))
        )
        for token in bad
    ]
    valid_judgement = judge_valid_credential(
        auth, runner.run(try_credential(transport, *auth.request(valid)))
    )
    assert (all(j.ok for j in bad_judgements), valid_judgement.ok) == (
        bad_rejected,
        valid_accepted,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('token = "body:token"\nvalid-token = "m:f"', 'token must be "query:NAME"'),
        ('token = "query:token"', "give valid-token"),
        ('token = "header:x"\nformat = "Bearer"\nvalid-token = "m:f"', "format must contain"),
    ],
)
def test_a_wrong_auth_table_is_a_clear_error(tmp_path: Path, body: str, message: str) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.wsconform.auth."/x"]\n{body}\n')
    with pytest.raises(ConfigError, match=message):
        load_auth_routes(config)


def test_app_errors_are_reported_after_every_drain(runner: LoopRunner) -> None:
    """The witness appends to the transport's list: draining must empty it in place, or every
    error after the first drain would be lost."""
    transport = transport_for()
    plan = ConnectionPlan("/crashes-on-bytes", "/crashes-on-bytes", (), (SendBytes(b"x"),))
    drains = [runner.run(run_plan(transport, plan)).app_errors for _ in range(2)]
    assert [len(errors) for errors in drains] == [1, 1]


@pytest.mark.parametrize(
    ("first", "visible"),
    [
        # TestClient's view of a close before accept with the app's code: a page sees 1006.
        (Closed(code=4401, reason="login again", close_frame_seen=False), False),
        # A denial response with the app's own status: a page reads neither status nor body.
        (Denied(status=401, body=b"login again"), False),
        # A path no route matches (Starlette closes 1000 before accept: HTTP 403 on a wire).
        (Closed(code=1000, close_frame_seen=False), True),
        (Denied(status=403), True),
        # Accepted, then closed with a code: the page gets the code.
        (Accepted(None), True),
    ],
)
def test_a_refusal_a_page_cannot_read_is_a_finding_with_its_fix(
    first: ClientEvent, visible: bool
) -> None:
    [judged] = [
        j
        for j in judge(Observation([first], []))
        if j.check_id == "generic.browser.refusal-visible"
    ]
    assert judged.ok is visible
    if not visible:
        assert "await websocket.accept(); await websocket.close(4401" in judged.detail
