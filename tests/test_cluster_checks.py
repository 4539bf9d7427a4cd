"""Each cluster check against a pub/sub chat that gets exactly its requirement wrong
(tests/broken_cluster_apps.py), on two uvicorn processes sharing a real broker; the reference
pub/sub chat passing every one is the gated suite's (conformance/suite/test_cluster.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.cluster import probes
from wsconform.targets.servers.broker import RedisBroker, broker_missing, redis_broker
from wsconform.targets.servers.cluster import ClusterTransport, serve_instances

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(broker_missing() is not None, reason=str(broker_missing())),
]

Probe = Callable[[ClusterTransport, RedisBroker], Coroutine[Any, Any, list[Judgement]]]


async def _room(cluster: ClusterTransport, broker: RedisBroker) -> list[Judgement]:
    return await probes.run_room(cluster, [probes.DIRECTED_PLAN])


async def _restart(cluster: ClusterTransport, broker: RedisBroker) -> list[Judgement]:
    return await probes.restart_the_broker(cluster, broker)


async def _slow(cluster: ClusterTransport, broker: RedisBroker) -> list[Judgement]:
    return await probes.slow_member(cluster)


@pytest.fixture(scope="module")
def broker() -> Iterator[RedisBroker]:
    with redis_broker() as running:
        yield running


@pytest.fixture(scope="module")
def runner() -> Iterator[LoopRunner]:
    loop_runner = LoopRunner()
    yield loop_runner
    loop_runner.close()


def verdicts(app: str, probe: Probe, broker: RedisBroker, runner: LoopRunner) -> dict[str, Any]:
    with serve_instances(f"tests.broken_cluster_apps:{app}", 2, broker.url) as cluster:
        try:
            runner.run(cluster.prepare_app())
            judgements = runner.run(probe(cluster, broker))
        finally:
            runner.run(cluster.aclose())
    return {j.check_id: (j.ok, j.detail) for j in judgements}


@pytest.mark.parametrize(
    ("app", "probe", "check_id", "says"),
    [
        ("twice_app", _room, "cluster.delivered-once-in-order", "heard again"),
        (
            "no_resubscribe_app",
            _restart,
            "cluster.fault.broker-restart-resumes-or-tells",
            "never subscribed again",
        ),
        (
            "serial_app",
            _slow,
            "cluster.fault.slow-member-does-not-stall",
            "stalls behind one socket",
        ),
        ("local_presence_app", _room, "cluster.presence-agrees", "members online"),
        ("local_notices_app", _room, "cluster.notices-cross-instances", "joined the chat"),
    ],
)
def test_broken_chat_is_caught(
    app: str, probe: Probe, check_id: str, says: str, broker: RedisBroker, runner: LoopRunner
) -> None:
    ok, detail = verdicts(app, probe, broker, runner)[check_id]
    assert (ok, says in detail) == (False, True), detail
