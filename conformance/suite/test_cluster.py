"""The reference chat across instances (`conformance/families/cluster/`): the seeds' in-memory
manager and the pub/sub chat, each served by two uvicorn processes (members placed on each in
turn), the pub/sub chat also by one uvicorn with two workers on one port; then the faults, on
the pub/sub chat. A machine without `redis-server` (or the `redis` client) runs the in-memory
stack only and reports the rest as not run, with the command that installs what is missing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from wsconform.conformance.engine.discovery import Location, WebSocketEndpoint
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.plans import (
    ClientDoes,
    ClientStep,
    CrowdPlan,
    Join,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.cluster import probes
from wsconform.conformance.families.generic.crowd import (
    CrowdObservation,
    learn_messages,
    run_crowd,
)
from wsconform.conformance.families.generic.routes import (
    connection_plan,
    example_value,
    run_plan,
)
from wsconform.conformance.pytest_plugin import app_under_test, endpoints_key, run_settings
from wsconform.targets.servers.broker import RedisBroker, broker_missing, redis_broker
from wsconform.targets.servers.cluster import ClusterTransport, serve_instances, serve_workers

MEMORY_CHAT = "wsconform.targets.reference:app"
INSTANCES = 2
# Generated rooms per stack, beside the directed one: each step costs a quiet bound (nothing
# proves silence across instances), so a handful keeps the run well under a minute.
GENERATED_ROOMS = 2

# name -> (app, needs a broker, serve)
Serve = Callable[[str, str | None], contextlib.AbstractContextManager[ClusterTransport]]
STACKS: dict[str, tuple[str, bool, Serve]] = {
    "memory-chat": (MEMORY_CHAT, False, lambda app, url: serve_instances(app, INSTANCES, url)),
    "pubsub-chat": (
        probes.PUBSUB_TARGET,
        True,
        lambda app, url: serve_instances(app, INSTANCES, url),
    ),
    "pubsub-chat-workers": (
        probes.PUBSUB_TARGET,
        True,
        lambda app, url: serve_workers(app, INSTANCES, url),
    ),
}


@pytest.fixture(scope="module")
def broker() -> Iterator[RedisBroker | None]:
    """One broker for the module where one can run; None (and the stacks that need it
    skipped with the reason) where not."""
    if broker_missing() is not None:
        yield None
        return
    with redis_broker() as running:
        yield running


def _served(
    app: str, serve: Serve, broker_url: str | None, runner: LoopRunner
) -> contextlib.AbstractContextManager[ClusterTransport]:
    @contextlib.contextmanager
    def served() -> Iterator[ClusterTransport]:
        with serve(app, broker_url) as cluster:
            try:
                runner.run(cluster.prepare_app())
                yield cluster
            finally:
                runner.run(cluster.aclose())

    return served()


def _not_run(name: str, reason: str, recorder: ResultsRecorder) -> NoReturn:
    recorder.add_unavailable(name, reason)
    pytest.skip(f"{name}: {reason}")


def _record(
    name: str,
    param: str,
    judgements: list[Judgement],
    recorder: ResultsRecorder,
    gate: Gate,
    source: str,
) -> None:
    recorder.add(
        name,
        judgements,
        lambda: {"source": source, "reproduce": f"tox -e suite -- -k 'test_cluster and {param}'"},
    )
    gate.settle(name, judgements, "\n".join(f"[{j.check_id}] {j.detail}" for j in judgements))


@pytest.mark.reference_app
@pytest.mark.parametrize("stack", list(STACKS))
def test_cluster_delivery(
    stack: str,
    broker: RedisBroker | None,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    app, needs_broker, serve = STACKS[stack]
    if needs_broker and broker is None:
        _not_run(stack, str(broker_missing()), recorder)
    with _served(
        app, serve, broker.url if broker and needs_broker else None, loop_runner
    ) as cluster:
        name = f"{stack}@{cluster.name}"
        plans: list[tuple[probes.Step, ...]] = []

        # Plans are drawn, not shrunk: every room runs on real processes, and the judgement is
        # over all of them; the directed plan always comes first.
        @settings(
            max_examples=GENERATED_ROOMS,
            phases=(Phase.explicit, Phase.generate),
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @example(probes.DIRECTED_PLAN)
        @given(probes.room_plans())
        def draw(plan: tuple[probes.Step, ...]) -> None:
            plans.append(plan)

        draw()
        judgements = loop_runner.run(probes.run_room(cluster, plans))
        judgements += [
            Judgement("cluster.delivered-once-in-order", False, f"app error: {error}")
            for error in loop_runner.run(cluster.take_app_errors())
        ]
    _record(name, stack, judgements, recorder, gate, f"a crowd over {cluster.name}")


FAULTS = ("kill-an-instance", "restart-the-broker", "slow-member")


@pytest.mark.reference_app
@pytest.mark.parametrize("fault", FAULTS)
def test_cluster_fault(
    fault: str,
    broker: RedisBroker | None,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    name = f"pubsub-chat@uvicorn-x{INSTANCES}+redis"
    if broker is None:
        _not_run(name, str(broker_missing()), recorder)
    serve = STACKS["pubsub-chat"][2]
    with _served(probes.PUBSUB_TARGET, serve, broker.url, loop_runner) as cluster:
        if fault == "kill-an-instance":
            judgements = loop_runner.run(probes.kill_an_instance(cluster))
        elif fault == "restart-the-broker":
            judgements = loop_runner.run(probes.restart_the_broker(cluster, broker))
        else:
            judgements = loop_runner.run(probes.slow_member(cluster))
    _record(name, fault, judgements, recorder, gate, f"fault: {fault}")


# --- the user's app across instances (--instances N) -------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "endpoint" in metafunc.fixturenames:
        endpoints = metafunc.config.stash[endpoints_key]
        metafunc.parametrize("endpoint", endpoints, ids=[e.path for e in endpoints])


def spread_plan(endpoint: WebSocketEndpoint, message: ClientStep, clients: int) -> CrowdPlan:
    """One room, `clients` members joining in turn (so spread over the instances), then the
    first member sends what the route takes."""
    values = {
        p.name: example_value(p) if p.required or p.location is Location.PATH else None
        for p in endpoint.parameters
    }
    room = connection_plan(endpoint, values, ())
    joins = tuple(ClientDoes(client, Join(0)) for client in range(clients))
    return CrowdPlan(
        endpoint.path, ((room.target, room.headers),), (*joins, ClientDoes(0, message))
    )


def spread_of(
    observation: CrowdObservation, placement: list[int | None]
) -> list[probes.SpreadSend]:
    sends = []
    for record in observation.records:
        action = record.step.action
        sender = record.step.client
        if not isinstance(action, SendText | SendBytes) or sender not in record.live_before:
            continue
        room = record.live_before[sender]
        others = [c for c, r in record.live_before.items() if r == room and c != sender]
        same = [c for c in others if placement[c] == placement[sender]]
        cross = [c for c in others if placement[c] != placement[sender]]
        reached = {c for c in others if record.messages_to(c)}
        sends.append(
            probes.SpreadSend(
                str(record.step),
                len(reached & set(same)),
                len(set(same) - reached),
                len(reached & set(cross)),
                len(set(cross) - reached),
            )
        )
    return sends


@pytest.mark.generic
def test_app_across_instances(
    endpoint: WebSocketEndpoint,
    request: pytest.FixtureRequest,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    """The user's app in N uvicorn processes: a room of N + 1 members spread over them, one
    member sends what the route takes, and a message that reached only its own instance is
    the finding. The app finds its broker where its own settings say; the suite sets
    WSCONFORM_BROKER_URL (--broker, or a redis-server it starts) in every instance."""
    settings = run_settings(request.config)
    if settings.instances < 2:
        pytest.skip("one instance: ask for several with --instances 2")
    app = app_under_test(request.config)
    with contextlib.ExitStack() as stack:
        url = settings.broker or None
        if url is None and broker_missing() is None:
            url = stack.enter_context(redis_broker()).url
        serve: Serve = lambda a, u: serve_instances(a, settings.instances, u)  # noqa: E731
        cluster = stack.enter_context(_served(app, serve, url, loop_runner))
        messages = learn_messages(endpoint, lambda plan: loop_runner.run(run_plan(cluster, plan)))
        if not messages.taken:
            pytest.skip(f"{endpoint.path} takes no message the suite tried: nothing to spread")
        first = len(cluster.placement)
        plan = spread_plan(endpoint, messages.taken[0], settings.instances + 1)
        observation = loop_runner.run(run_crowd(cluster, plan))
        judgement = probes.judge_spread(spread_of(observation, cluster.placement[first:]))
        name = f"app@{cluster.name}"
    recorder.add(name, [judgement], lambda: {"source": f"{endpoint.path} across instances"})
    gate.settle(name, [judgement], judgement.detail)
