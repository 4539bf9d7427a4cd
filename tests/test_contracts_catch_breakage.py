"""Every contract catches a broken implementation of its route, and passes on the reference."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.errors import StopTest
from hypothesis.stateful import run_state_machine_as_test
from starlette.websockets import WebSocket as StarletteWebSocket
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.profiles import WITHOUT_EXPLAIN
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.contracts import endpoints as contracts
from wsconform.conformance.families.contracts import guards, surface
from wsconform.conformance.families.contracts.catalogue import CONTRACTS
from wsconform.conformance.families.contracts.chat_machine import ChatFinding, chat_machine_for
from wsconform.targets import reference
from wsconform.targets.compat import CLIENT_WHEN_MISSING
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.inmemory import InMemoryTransport

from tests import broken_apps, broken_surface_apps

ROOT = Path(__file__).resolve().parents[1]
Contract = Callable[[Transport], Awaitable[list[Judgement]]]


@dataclass(frozen=True)
class Case:
    check_id: str
    broken_app: str  # attribute of tests.broken_apps or tests.broken_surface_apps
    contract: Contract

    def app(self) -> Any:
        return getattr(broken_apps, self.broken_app, None) or getattr(
            broken_surface_apps, self.broken_app
        )


def _with(contract: Callable[..., Awaitable[list[Judgement]]], *args: Any) -> Contract:
    async def run(transport: Transport) -> list[Judgement]:
        return await contract(transport, *args)

    return run


CASES = (
    Case("contract.welcome", "welcome_going_away", contracts.welcome),
    Case(
        "contract.echo.exact", "echo_strips_whitespace", _with(contracts.echo_each, ["  padded  "])
    ),
    Case(
        "contract.echo.order",
        "echo_strips_whitespace",
        _with(contracts.echo_in_order, [" a", "b "]),
    ),
    Case("contract.count", "count_off_by_one", contracts.count),
    Case(
        "contract.json.original",
        "json_stringifies",
        _with(contracts.json_original, [1, {"a": None}]),
    ),
    Case("contract.safe.shapes", "safe_closes_on_bad_json", _with(contracts.safe, "not json")),
    Case("contract.custom-close", "custom_close_always_1000", contracts.custom_close),
    Case("contract.moderated", "moderated_crashes", contracts.moderated),
    Case(
        "contract.rooms",
        "rooms_unvalidated",
        _with(contracts.rooms, {"room": "lobby", "user_id": "abc"}),
    ),
    Case("contract.chat", "chat_keyed_by_name", contracts.chat),
    Case(
        "contract.auth.rejects-before-accept",
        "header_startswith",
        _with(contracts.secured_rejects, "header", "Bearer wsconform-token-alicex"),
    ),
    Case(
        "contract.auth.rejects-before-accept",
        "header_accepts_then_closes",
        _with(contracts.secured_rejects, "header", "Bearer wrong"),
    ),
    Case(
        "contract.auth.rejects-before-accept",
        "router_dependency_skipped",
        _with(contracts.secured_rejects, "router", "Bearer wrong"),
    ),
    Case(
        "contract.auth.accepts-valid",
        "header_scheme_case_sensitive",
        _with(contracts.secured_accepts, "header", "bearer wsconform-token-alice", "Welcome!"),
    ),
    Case(
        "contract.no-server-error", "echo_raises_on_disconnect", _with(contracts.echo_each, ["hi"])
    ),
    Case("contract.surface.router-prefix", "prefix_dropped", surface.routers),
    Case("contract.surface.mount-path-params", "mount_params_dropped", surface.mount_params),
    Case("contract.surface.prefix-path-params", "prefix_params_dropped", surface.prefix_params),
    Case("contract.surface.client-address", "client_address_swapped", surface.framework_values),
    Case("contract.surface.client-address", "url_from_server_address", surface.framework_values),
    Case("contract.surface.headers-multi", "duplicate_header_dropped", surface.framework_values),
    Case("contract.surface.query-params-multi", "query_key_deduplicated", surface.framework_values),
    Case(
        "contract.surface.subprotocols-offered", "last_subprotocol_only", surface.framework_values
    ),
    Case("contract.surface.convertor-int", "int_convertor_ignored", surface.convertors),
    Case("contract.surface.convertor-float", "float_convertor_ignored", surface.convertors),
    Case("contract.surface.convertor-uuid", "uuid_convertor_ignored", surface.convertors),
    Case("contract.surface.convertor-path", "path_convertor_ignored", surface.convertors),
    Case(
        "contract.surface.fastapi-path-convertor",
        "fastapi_convertor_ignored",
        surface.convertors,
    ),
    Case("contract.surface.endpoint-class", "endpoint_close_code_lost", surface.endpoint_class),
    Case("contract.surface.validation", "validation_skipped", surface.validation),
    Case(
        "contract.surface.websocket-exception-before-accept",
        "dependency_refuses_late",
        surface.websocket_exception,
    ),
    Case(
        "contract.surface.http-exception-before-accept",
        "http_exception_discarded",
        surface.http_exception,
    ),
    Case("contract.surface.denial-response", "denial_body_truncated", surface.denial_responses),
    Case("contract.surface.mounted-app", "app_dependency_skipped", surface.mounted_app),
    Case(
        "contract.surface.exception-handler", "exception_handler_skipped", surface.exception_handler
    ),
    *(
        Case(f"contract.guard.{guard}", broken, _with(guards.guard_contract, guard))
        for guard, broken in (
            ("route-dependencies", "route_dependencies_ignored"),
            ("parameter", "parameter_dependency_ignored"),
            ("http-bearer", "http_bearer_ignored"),
            ("api-key-query", "api_key_query_ignored"),
            ("api-key-header", "api_key_header_ignored"),
            ("api-key-cookie", "api_key_cookie_ignored"),
            ("oauth2", "oauth2_ignored"),
            ("scopes", "scopes_ignored"),
            ("overridden", "dependency_overrides_ignored"),
        )
    ),
)


def verdicts(transport: Transport, case: Case, runner: LoopRunner) -> dict[str, bool | None]:
    judgements = runner.run(case.contract(transport))
    judgements += runner.run(contracts.server_errors(transport, case.check_id))
    return {j.check_id: j.ok for j in judgements if j.check_id == case.check_id}


def test_every_contract_has_a_broken_implementation() -> None:
    assert {case.check_id for case in CASES} == {check.id for check in CONTRACTS}


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.check_id}-{case.broken_app}")
def test_contract_catches_the_broken_route(case: Case, loop_runner: LoopRunner) -> None:
    transport = InMemoryTransport(case.app())
    assert verdicts(transport, case, loop_runner) == {case.check_id: False}


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.check_id}-{case.broken_app}")
def test_contract_passes_on_the_reference_route(case: Case, loop_runner: LoopRunner) -> None:
    transport = InMemoryTransport(reference.app)
    assert verdicts(transport, case, loop_runner) == {case.check_id: True}


@pytest.mark.slow
def test_a_broken_app_given_with_app_fails_the_suite(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "pytest", "conformance/suite/test_contracts.py", "-q",
        "-p", "no:cacheprovider", "--server", "inmemory", "-k", "echo_answers",
        "--app", "tests.broken_apps:echo_strips_whitespace",
        "--results", str(tmp_path / "results.json"), "--baselines", str(tmp_path),
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert (run.returncode, "[contract.echo.exact]" in run.stdout) == (1, True)


CHAT_SEARCH = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    report_multiple_bugs=False,
    phases=WITHOUT_EXPLAIN,
)


def chat_findings(app: Any, runner: LoopRunner) -> list[str]:
    """What the chat crowd machine finds on `app` (a ChatFinding stops it at the first)."""
    transport = InMemoryTransport(app)

    def findings(judgements: list[Judgement]) -> list[Judgement]:
        return [j for j in judgements if j.ok is False]

    machine = chat_machine_for(transport, runner, findings)

    class FromAnEmptyRoom(machine):  # type: ignore[valid-type,misc]
        def __init__(self) -> None:
            super().__init__()
            for room in broken_apps.SEEDS_ROOMS:
                room.members.clear()

    try:
        run_state_machine_as_test(FromAnEmptyRoom, settings=CHAT_SEARCH)
    except ChatFinding as finding:
        return [str(finding)]
    finally:
        runner.run(transport.aclose())
    return []


@pytest.mark.slow  # seconds: a chat machine's run per broken room, up to twenty for one
@pytest.mark.parametrize(
    ("broken", "at_step"),
    [
        # A second tab with the same name replaces the first.
        ("chat_keyed_by_name", r"joins"),
        # A crashed member left in the room: its leaving never announced.
        ("chat_dead_member_stays", r"sends bytes"),
        # A member dropped while another spoke: those after it in the room miss the message.
        ("chat_broadcast_stops", r"says .* as \w+ drops"),
        # The same race: the relay deletes the member from the dict it iterates, and the
        # speaker's handler crashes.
        ("chat_dict_mutated", r"says .* as \w+ drops"),
        # Two tabs with one name: one leaves, both are gone.
        ("chat_namesake_removed", r"(leaves|drops):"),
    ],
)
def test_chat_machine_catches_a_broken_room(
    broken: str, at_step: str, loop_runner: LoopRunner
) -> None:
    findings = chat_findings(getattr(broken_apps, broken), loop_runner)
    assert [bool(re.search(at_step, finding)) for finding in findings] == [True], findings


@pytest.mark.slow  # seconds: a whole chat machine run per room
@pytest.mark.parametrize(
    "app", [reference.app, broken_apps.chat_seeds_room], ids=["reference", "seeds-room"]
)
def test_chat_machine_passes_a_correct_room(app: Any, loop_runner: LoopRunner) -> None:
    assert chat_findings(app, loop_runner) == []


class DrawsRunOut:
    """Stands for Hypothesis's data object while it shrinks: the scripted draws, then a draw
    that ends the example (StopTest) in the middle of the step."""

    def __init__(self, *draws: Any) -> None:
        self.draws = list(draws)

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        if not self.draws:
            raise StopTest(0)
        return self.draws.pop(0)


def test_a_step_cut_short_by_hypothesis_leaves_nothing_to_judge(loop_runner: LoopRunner) -> None:
    """Two members speak at once; the second one's burst is where the data runs out. Nothing
    that the model did not predict may reach teardown's judgement of the room."""
    transport = InMemoryTransport(reference.app)
    judged: list[Judgement] = []

    def sink(judgements: list[Judgement]) -> list[Judgement]:
        judged.extend(judgements)
        return [j for j in judgements if j.ok is False]

    machine = chat_machine_for(transport, loop_runner, sink)()
    try:
        machine.join(name="ann")
        machine.join(name="bob")
        ann, bob = machine.members
        with pytest.raises(StopTest):
            machine.speak_at_once(data=DrawsRunOut([ann, bob], ["hello"]))
        judged.clear()
        machine.teardown()
        assert judged == []
    finally:
        loop_runner.run(transport.aclose())


async def _never(*_: Any) -> Any:
    raise AssertionError("not connected: only the scope is read")


def test_the_missing_client_is_predicted_for_the_installed_starlette() -> None:
    """No transport serves without a client address, so the per-release prediction of
    contract.surface.client-address for a scope without one is held to the release here."""
    client = StarletteWebSocket(
        {"type": "websocket", "path": "/", "headers": []}, _never, _never
    ).client
    assert (None if client is None else list(client)) == CLIENT_WHEN_MISSING
