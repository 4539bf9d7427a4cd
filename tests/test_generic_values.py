"""The generic value predictions (conformance/families/generic/values.py): each against a server
or a framework that hands the route exactly that value wrong, and a correct app, which passes
them all on generated connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample
from starlette.applications import Starlette
from starlette.routing import Match, Mount, WebSocketRoute
from starlette.types import Scope
from starlette.websockets import WebSocket, WebSocketDisconnect
from wsconform.conformance.engine.discovery import WebSocketEndpoint, discover
from wsconform.conformance.engine.plans import (
    ClientStep,
    CloseWith,
    ConnectionPlan,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.generic.routes import connection_plan, plans_for, run_plan
from wsconform.conformance.families.generic.values import judge_values
from wsconform.targets.servers.inmemory import InMemoryConnection, InMemoryTransport
from wsconform.targets.servers.witness import AppWitness


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
