"""The generic value predictions (conformance/families/generic/values.py): each against a server
or a framework that hands the route exactly that value wrong, and a correct app, which passes
them all on generated connections."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample
from starlette.applications import Starlette
from starlette.routing import Match, Mount, WebSocketRoute
from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketDisconnect
from wsconform.conformance.engine.discovery import WebSocketEndpoint, discover
from wsconform.conformance.engine.findings import Finding, finding_key, whose_doing
from wsconform.conformance.engine.plans import (
    ClientStep,
    CloseWith,
    ConnectionPlan,
    Drop,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import Accepted, Closed
from wsconform.conformance.families.generic.routes import (
    connection_plan,
    judge,
    plans_for,
    run_plan,
)
from wsconform.conformance.families.generic.values import judge_values
from wsconform.targets.servers.inmemory import InMemoryConnection, InMemoryTransport
from wsconform.targets.servers.witness import SERVER_SEND_FAILED, AppWitness


async def echo_until_closed(websocket: WebSocket) -> None:
    """Accepts, echoes every message back, and returns when the client leaves."""
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        return


class DropsItsOwnParameters(Mount):
    """A broken framework: the mount hands its routes none of its own path parameters."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is Match.FULL:
            own = set(self.param_convertors)
            child_scope["path_params"] = {
                name: value for name, value in child_scope["path_params"].items() if name not in own
            }
        return match, child_scope


def _app(mount: type[Mount] = Mount) -> Starlette:
    member = WebSocketRoute("/members/{member}", echo_until_closed)
    return Starlette(
        routes=[
            WebSocketRoute("/echo/{item:int}", echo_until_closed),
            mount("/rooms/{room}", routes=[member]),
        ]
    )


# --- broken servers: each hands the app one value that is not what the client sent ----------


class HandsTheRawPath(InMemoryConnection):
    def __init__(self, app: Any, scope: dict[str, Any], *args: Any) -> None:
        super().__init__(app, {**scope, "path": scope["raw_path"].decode()}, *args)


class LosesAHeader(InMemoryConnection):
    def __init__(self, app: Any, scope: dict[str, Any], *args: Any) -> None:
        kept = [(name, value) for name, value in scope["headers"] if name != b"x-last"]
        super().__init__(app, {**scope, "headers": kept}, *args)


class TrimsText(InMemoryConnection):
    async def send_text(self, data: str) -> None:
        await super().send_text(data.strip())


class HandsEveryClose1000(InMemoryConnection):
    def _leave(self, code: int, reason: str) -> None:
        super()._leave(1000 if code != 1006 else code, reason)


class KeepsTheLastOffer(InMemoryConnection):
    def __init__(self, app: Any, scope: dict[str, Any], *args: Any) -> None:
        super().__init__(app, {**scope, "subprotocols": scope["subprotocols"][-1:]}, *args)


class LosesTheReason(InMemoryConnection):
    def _leave(self, code: int, reason: str) -> None:
        super()._leave(code, "")


class HandsACodelessCloseAs1000(InMemoryConnection):
    def _leave(self, code: int, reason: str) -> None:
        super()._leave(1000 if code == 1005 else code, reason)


class HandsADropAs1000(InMemoryConnection):
    def _leave(self, code: int, reason: str) -> None:
        super()._leave(1000 if code == 1006 else code, reason)


class RefusesWithRuntimeError(InMemoryConnection):
    """A send to a client that left raises RuntimeError, not an OSError (ASGI 2.4)."""

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if self._client_gone:
            raise RuntimeError("the client has disconnected")
        await super()._send(message)


async def says_goodbye(websocket: WebSocket) -> None:
    """Accepts, reads until the client leaves, then says goodbye anyway (what a route that
    broadcasts meets) and takes whatever the server's send raises."""
    await websocket.accept()
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
    try:
        await websocket.send_text("bye")
    except Exception:  # what the send raises is the server's, judged by the witness
        return


async def closes_as_told(websocket: WebSocket) -> None:
    """Accepts, and closes with the code the client's first message names."""
    await websocket.accept()
    await websocket.close(code=int(await websocket.receive_text()))


class RefusesCloseCodesLikeDaphne(InMemoryConnection):
    """daphne's autobahn: a close code other than 1000 and 3000-4999 raises a plain Exception
    in the app's send, and the app's crash then ends the connection with 1011."""

    def _send_while_open(self, kind: str, message: MutableMapping[str, Any]) -> None:
        code = message.get("code", 1000)
        if kind == "websocket.close" and code != 1000 and not 3000 <= code <= 4999:
            raise Exception(f"invalid close code {code} (must be 1000 or from [3000, 4999])")
        super()._send_while_open(kind, message)


class ClosesWith1000Always(InMemoryConnection):
    def _send_while_open(self, kind: str, message: MutableMapping[str, Any]) -> None:
        if kind == "websocket.close":
            message = {**message, "code": 1000}
        super()._send_while_open(kind, message)


@pytest.fixture
def runner() -> Iterator[LoopRunner]:
    loop_runner = LoopRunner()
    yield loop_runner
    loop_runner.close()


def _endpoint(app: Starlette, path: str) -> WebSocketEndpoint:
    return next(endpoint for endpoint in discover(app) if endpoint.path == path)


def _observe(
    runner: LoopRunner, plan: ConnectionPlan, app: Starlette, server: type | None = None
) -> Observation:
    transport = InMemoryTransport(app)
    if server is not None:
        transport.connection_class = server
    return runner.run(run_plan(transport, plan))


def _failing(plan: ConnectionPlan, observation: Observation) -> set[str]:
    return {j.check_id for j in judge_values(plan, observation) if j.ok is False}


ROOM_PLAN_STEPS: tuple[ClientStep, ...] = (
    SendText(" padded "),
    SendBytes(b"\x00"),
    CloseWith(4001),
)


def _room_plan(app: Starlette) -> ConnectionPlan:
    endpoint = _endpoint(app, "/rooms/{room}/members/{member}")
    values: dict[str, str | None] = {"room": "café au lait", "member": "m1"}
    return connection_plan(endpoint, values, ROOM_PLAN_STEPS)


@pytest.mark.parametrize(
    ("server", "mount", "caught"),
    [
        (HandsTheRawPath, Mount, {"generic.values.request-target"}),
        (LosesAHeader, Mount, {"generic.values.request-headers"}),
        (TrimsText, Mount, {"generic.values.messages"}),
        (HandsEveryClose1000, Mount, {"generic.values.client-close-code"}),
        (None, DropsItsOwnParameters, {"generic.values.path-params"}),
        (None, Mount, set()),
    ],
)
def test_each_value_check_catches_its_broken_target(
    runner: LoopRunner, server: type | None, mount: type[Mount], caught: set[str]
) -> None:
    app = _app(mount)
    plan = _room_plan(app)
    plan = ConnectionPlan(
        plan.route,
        plan.target,
        (("x-trace", "abc"), ("x-last", "kept")),
        plan.steps,
        plan.path_values,
        plan.handler,
    )
    observation = _observe(runner, plan, app, server)
    judged = {j.check_id for j in judge_values(plan, observation)}
    # Every prediction was made on this connection, so a pass is a pass, not a silence; but
    # a wrong path is one cause, the server's, not also the router's parameters.
    every = {
        "generic.values.request-target",
        "generic.values.request-headers",
        "generic.values.path-params",
        "generic.values.messages",
        "generic.values.client-close-code",
    }
    if server is HandsTheRawPath:
        every.remove("generic.values.path-params")
    assert judged == every
    assert _failing(plan, observation) == caught


def test_the_app_sees_no_trace_of_the_following() -> None:
    """The witness takes its mark out of the scope: the route gets the client's request."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope)
        await send({"type": "websocket.close"})

    runner = LoopRunner()
    try:
        transport = InMemoryTransport(app)
        plan = ConnectionPlan("/x", "/x", (("x-mine", "1"),), ())
        observation = runner.run(run_plan(transport, plan))
    finally:
        runner.close()
    names = [name for name, _ in seen[0]["headers"]]
    assert (b"x-mine" in names, any(b"wsconform" in name for name in names)) == (True, False)
    assert observation.handed is not None
    assert isinstance(transport.witness, AppWitness) and transport.witness.handed == {}


def test_another_route_matching_is_not_judged_as_this_one(runner: LoopRunner) -> None:
    """A plan for `/echo/{item:int}` whose value another route catches first is no path
    parameter verdict: the handler that matched is not the plan's."""

    async def other(websocket: WebSocket) -> None:
        await websocket.close()

    app = _app()
    app.router.routes.insert(0, WebSocketRoute("/echo/7", other))
    endpoint = _endpoint(app, "/echo/{item:int}")
    plan = connection_plan(endpoint, {"item": "7"}, ())
    observation = _observe(runner, plan, app)
    assert "generic.values.path-params" not in {j.check_id for j in judge_values(plan, observation)}


@pytest.mark.slow
def test_generated_connections_leave_a_correct_app_alone(runner: LoopRunner) -> None:
    app = _app()
    transport = InMemoryTransport(app)
    quick = settings(max_examples=60, database=None, suppress_health_check=list(HealthCheck))
    for path in ("/rooms/{room}/members/{member}", "/echo/{item:int}"):
        with pytest.raises(NoSuchExample):
            find(
                plans_for(_endpoint(app, path)),
                lambda plan: bool(_failing(plan, runner.run(run_plan(transport, plan)))),
                settings=quick,
            )


def _goodbye_plan(steps: tuple[ClientStep, ...]) -> tuple[Starlette, ConnectionPlan]:
    app = Starlette(routes=[WebSocketRoute("/bye/{name}", says_goodbye)])
    endpoint = _endpoint(app, "/bye/{name}")
    return app, connection_plan(endpoint, {"name": "ann"}, steps, ("chat.v2", "chat", "json"))


@pytest.mark.parametrize(
    ("server", "steps", "caught"),
    [
        (KeepsTheLastOffer, (CloseWith(4002, "done"),), {"generic.values.subprotocols"}),
        (LosesTheReason, (CloseWith(4002, "done"),), {"generic.values.client-close-reason"}),
        (HandsACodelessCloseAs1000, (CloseWith(None),), {"generic.values.client-no-code-1005"}),
        (HandsADropAs1000, (Drop(),), {"generic.values.drop-code-1006"}),
        (RefusesWithRuntimeError, (Drop(),), {"generic.values.refused-send-raises-oserror"}),
        (None, (CloseWith(4002, "done"),), set()),
        (None, (CloseWith(None),), set()),
        (None, (Drop(),), set()),
    ],
)
def test_each_leaving_check_catches_its_broken_server(
    runner: LoopRunner, server: type | None, steps: tuple[ClientStep, ...], caught: set[str]
) -> None:
    """How the client left (a close with a reason, one without a code, a drop), what the app
    then hears, and what its goodbye send raises: each made on the connection, each caught."""
    app, plan = _goodbye_plan(steps)
    observation = _observe(runner, plan, app, server)
    judged = {j.check_id for j in judge_values(plan, observation)}
    how_it_left = {
        CloseWith(4002, "done"): {
            "generic.values.client-close-code",
            "generic.values.client-close-reason",
        },
        CloseWith(None): {"generic.values.client-no-code-1005"},
        Drop(): {"generic.values.drop-code-1006"},
    }[steps[0]]
    assert (
        how_it_left
        | {
            "generic.values.subprotocols",
            "generic.values.refused-send-raises-oserror",
        }
        <= judged
    )
    assert _failing(plan, observation) == caught


def test_a_feature_the_server_does_not_claim_is_not_held_against_it(runner: LoopRunner) -> None:
    """A server claiming ASGI spec 2.3 is not judged on the close reason (2.5) nor on what its
    refused send raises (2.4): both are `unimplemented` there, not failed."""

    class Claims23(LosesTheReason, RefusesWithRuntimeError):
        def __init__(self, app: Any, scope: dict[str, Any], *args: Any) -> None:
            asgi = {"version": "3.0", "spec_version": "2.3"}
            super().__init__(app, {**scope, "asgi": asgi}, *args)

    newer_checks: dict[ClientStep, set[str]] = {
        CloseWith(4002, "done"): {
            "generic.values.client-close-reason",
            "generic.values.refused-send-raises-oserror",
        },
        Drop(): {"generic.values.refused-send-raises-oserror"},
    }
    for step, newer in newer_checks.items():
        app, plan = _goodbye_plan((step,))
        verdicts = {
            j.check_id: j.ok for j in judge_values(plan, _observe(runner, plan, app, Claims23))
        }
        assert {check: verdicts.get(check, "not judged") for check in newer} == dict.fromkeys(newer)


def test_a_servers_doing_is_one_finding_whatever_the_route() -> None:
    """Where only server- or framework-layer checks failed, the cause is the server's: the
    routes that showed it make one finding; an app-layer failure stays one per route."""
    servers = ["generic.values.client-no-code-1005"]
    apps = ["generic.no-unhandled-exception"]
    assert finding_key("/a", servers, []) == finding_key("/b", servers, [])
    assert finding_key("/a", apps, []) != finding_key("/b", apps, [])
    assert finding_key("/a", [*servers, *apps], []) != finding_key("/b", [*servers, *apps], [])
    routers = ["generic.values.path-params"]
    whose = [whose_doing(servers), whose_doing(apps), whose_doing(routers)]
    assert whose == ["the server", None, "the framework"]


class ShowsItsSocket(InMemoryConnection):
    """An in-memory connection that reports a socket: the two ends the in-memory scope names."""

    def socket_addresses(self) -> tuple[tuple[str, int], tuple[str, int]] | None:
        return ("127.0.0.1", 50000), ("inmemory", 80)


class HandsAnotherClientPort(ShowsItsSocket):
    def __init__(self, app: Any, scope: dict[str, Any], *args: Any) -> None:
        super().__init__(app, {**scope, "client": ("127.0.0.1", 1)}, *args)


class HandsThePortAsText(ShowsItsSocket):
    def __init__(self, app: Any, scope: dict[str, Any], *args: Any) -> None:
        super().__init__(app, {**scope, "server": ("inmemory", "80")}, *args)


@pytest.mark.parametrize(
    ("server", "headers", "verdict"),
    [
        (ShowsItsSocket, (), True),
        (HandsAnotherClientPort, (), False),
        (HandsThePortAsText, (), False),
        # A forwarding header a server may trust: the client address is not predicted.
        (HandsAnotherClientPort, (("x-forwarded-for", "10.0.0.9"),), True),
        (InMemoryConnection, (), "not judged"),  # no socket: nothing to compare with
    ],
)
def test_addresses_are_the_ends_of_the_clients_socket(
    runner: LoopRunner, server: type, headers: tuple[tuple[str, str], ...], verdict: object
) -> None:
    app, plan = _goodbye_plan((CloseWith(1000),))
    plan = ConnectionPlan(plan.route, plan.target, headers, plan.steps)
    transport = InMemoryTransport(app)
    transport.connection_class = server
    transport.serves_the_clients_socket = True
    observation = runner.run(run_plan(transport, plan))
    verdicts = {j.check_id: j.ok for j in judge_values(plan, observation)}
    assert verdicts.get("generic.values.addresses", "not judged") == verdict


def _told_to_close(
    runner: LoopRunner, code: str, server: type | None
) -> tuple[Observation, ConnectionPlan]:
    """A route told by its client's first message which code to close with."""
    app = Starlette(routes=[WebSocketRoute("/close", closes_as_told)])
    plan = connection_plan(_endpoint(app, "/close"), {}, (SendText(code),))
    return _observe(runner, plan, app, server), plan


@pytest.mark.parametrize(
    ("server", "code", "failed"),
    [
        (RefusesCloseCodesLikeDaphne, "1003", False),
        (ClosesWith1000Always, "4001", False),
        (RefusesCloseCodesLikeDaphne, "4001", True),
        (None, "1003", True),
        (None, "1000", True),
    ],
)
def test_the_apps_close_code_is_judged_on_the_wire(
    runner: LoopRunner, server: type | None, code: str, failed: bool
) -> None:
    observation, plan = _told_to_close(runner, code, server)
    verdicts = {j.check_id: j.ok for j in judge_values(plan, observation)}
    assert verdicts["generic.values.app-close-code"] is failed


def test_the_apps_close_code_is_not_judged_once_the_client_has_left() -> None:
    """The client's close crossed the app's: the close frame the client then sees answers
    its own close, whatever the app asked for."""
    handed = {"timeline": [{"type": "app:websocket.close", "code": 4001}]}
    crossed = Observation([Accepted(None, ()), Closed(1000)], [], client_closed_at=1)
    crossed.handed = handed
    plan = ConnectionPlan("/close", "/close", (), (CloseWith(1000),))
    assert "generic.values.app-close-code" not in {j.check_id for j in judge_values(plan, crossed)}


def test_a_crash_the_servers_refusal_caused_is_labelled_the_servers(runner: LoopRunner) -> None:
    """daphne's refusal of close 1003: the 1011 that follows fails generic.no-server-error, a
    check of the app's layer, and the close code check; both are one finding, the server's,
    the same on every route; an exception of the app's own keeps such a finding the app's."""
    observation, _ = _told_to_close(runner, "1003", RefusesCloseCodesLikeDaphne)
    failed = [j.check_id for j in judge(observation, False) if j.ok is False]
    assert failed == ["generic.no-server-error"]
    failed.append("generic.values.app-close-code")
    assert whose_doing(failed, observation.app_errors) == "the server"
    assert finding_key("/a", failed, observation.app_errors) == finding_key(
        "/b", failed, observation.app_errors
    )
    own = "websocket /close: RuntimeError: the app's own bug\nTraceback ..."
    assert whose_doing(failed, [*observation.app_errors, own]) is None
    assert whose_doing(["generic.no-server-error"], []) is None


async def closes_as_told_elsewhere(websocket: WebSocket) -> None:
    """closes_as_told, in another function: the server's refusal escapes from another frame."""
    await websocket.accept()
    code = int(await websocket.receive_text())
    await websocket.close(code=code)


def test_the_servers_refusal_is_one_finding_wherever_it_escaped(runner: LoopRunner) -> None:
    """The same refusal met by two routes of two handlers (daphne refusing 1003 on one, 1008
    on the other) is one finding, shown by the server's exception, the finding's leaf."""
    app = Starlette(
        routes=[
            WebSocketRoute("/close", closes_as_told),
            WebSocketRoute("/elsewhere", closes_as_told_elsewhere),
        ]
    )
    keys, leaves = set(), set()
    for path, code in (("/close", "1003"), ("/elsewhere", "1008")):
        plan = connection_plan(_endpoint(app, path), {}, (SendText(code),))
        observation = _observe(runner, plan, app, RefusesCloseCodesLikeDaphne)
        failed = [j.check_id for j in judge(observation, False) if j.ok is False]
        failed += [j.check_id for j in judge_values(plan, observation) if j.ok is False]
        keys.add(finding_key(plan.route, failed, observation.app_errors))
        leaves.add(Finding.from_failure("k", failed, plan, observation).leaf.split(" at ")[0])
    assert len(keys) == 1, keys
    assert leaves == {"websocket /close: Exception", "websocket /elsewhere: Exception"}, leaves


def test_an_apps_bug_is_not_another_finding_where_the_server_also_refused_a_send() -> None:
    """An app-layer failure (a bad token accepted) is the same finding on a server that then
    refuses the app's close (daphne) as on one that takes it, and is shown by what the app
    did, not by the server's exception."""
    refusal = (
        "websocket /account: Exception at app.py:9 in feed: invalid close code 1008 "
        f"{SERVER_SEND_FAILED}\nTraceback ..."
    )
    accepted = ["generic.auth.rejects-bad-tokens"]
    assert finding_key("/account", accepted, [refusal]) == finding_key("/account", accepted, [])
    plan = ConnectionPlan("/account", "/account", (), ())
    observation = Observation([Accepted(None, ()), Closed(1011)], [refusal])
    assert Finding.from_failure("k", accepted, plan, observation).leaf.startswith("client saw")


def test_a_finding_says_whether_it_failed_again_alone_on_a_fresh_app() -> None:
    plan = ConnectionPlan("/x", "/x", (), ())
    said = []
    for confirmed in ([True, False], [False, False], [None]):
        finding = Finding.from_failure("k", ["generic.no-server-error"], plan, Observation([], []))
        for server, seen in zip(("a", "b"), confirmed, strict=False):
            finding.seen_on(server, Observation([], []), seen, "", "")
        said.append(finding.confirmation())
    assert said == [
        "confirmed on a fresh app",
        "not confirmed: alone on a fresh app it did not fail again",
        "",
    ]


def test_an_apps_crash_is_one_finding_however_each_server_answered_it() -> None:
    """A close 1011 on one server (generic.no-server-error fails too), a close without a code
    on another (granian): the same exception at the same place is one finding, listing every
    check it failed somewhere."""
    crash = "websocket /q: KeyError at app.py:8 in quit_route: 'text'\nTraceback ..."
    answered_1011 = ["generic.no-server-error", "generic.no-unhandled-exception"]
    answered_otherwise = ["generic.no-unhandled-exception"]
    assert finding_key("/q", answered_1011, [crash]) == finding_key(
        "/q", answered_otherwise, [crash]
    )
    other_crash = crash.replace("KeyError", "ValueError")
    assert finding_key("/q", answered_1011, [crash]) != finding_key(
        "/q", answered_1011, [other_crash]
    )
    # Not a crash: a 1011 the route chose to send stays a finding of its own.
    assert finding_key("/q", ["generic.no-server-error"], []) != finding_key(
        "/q", answered_otherwise, []
    )
    plan = ConnectionPlan("/q", "/q", (), ())
    first = Finding.from_failure("k", answered_otherwise, plan, Observation([], [crash]))
    first.merge(Finding.from_failure("k", answered_1011, plan, Observation([], [crash])))
    assert first.checks == answered_1011
