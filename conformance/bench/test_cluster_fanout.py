"""Fan-out across instances: one member's messages to a room of 8. The figure's `baseline` is
the single-instance fan-out: the reference app's in-memory chat in one uvicorn process, no
broker. Beside it, measured in the same run with the same load generator, the reference pub/sub
chat (targets/cluster_chat.py) on two uvicorn processes sharing a Redis broker, the room on one
instance and then spread over both: their ratios to the baseline are what the broker hop
costs, and what spreading the room adds to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from wsconform.conformance.bench.harness import LoadGeneratorProcess, load_generator
from wsconform.conformance.bench.plugin import report_figure
from wsconform.conformance.bench.ratios import figure_record
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.targets.servers.broker import broker_missing, redis_broker
from wsconform.targets.servers.cluster import ClusterTransport, serve_instances

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(broker_missing() is not None, reason=str(broker_missing())),
]

PUBSUB_CHAT = "wsconform.targets.cluster_chat:app"
MEMORY_CHAT = "wsconform.targets.reference:app"
MEMBERS = 8
MESSAGES_PER_ROUND = 250
ROUNDS = 10
ROUND_BOUND_S = 30.0
# placement -> (the figure's role, the chat, instances the room is spread over)
PLACEMENTS = {
    "memory-one-instance": ("baseline", "memory", 1),
    "pubsub-one-instance": ("server", "pubsub", 1),
    "pubsub-two-instances": ("server", "pubsub", 2),
}


@pytest.fixture(scope="module")
def loadgen() -> Iterator[LoadGeneratorProcess]:
    with load_generator() as generator:
        yield generator


@pytest.fixture(scope="module")
def clusters() -> Iterator[dict[str, ClusterTransport]]:
    """The in-memory chat in one process; the pub/sub chat in two, sharing a broker."""
    runner = LoopRunner()
    try:
        with (
            redis_broker() as broker,
            serve_instances(MEMORY_CHAT, 1) as memory,
            serve_instances(PUBSUB_CHAT, 2, broker.url) as pubsub,
        ):
            served = {"memory": memory, "pubsub": pubsub}
            try:
                for cluster in served.values():
                    runner.run(cluster.prepare_app())
                yield served
            finally:
                for cluster in served.values():
                    runner.run(cluster.aclose())
    finally:
        runner.close()


def _prefix(cluster: ClusterTransport, index: int) -> str:
    return f"ws://127.0.0.1:{cluster.instances[index].transport.port}/chatroom/"


def _pedantic(benchmark: BenchmarkFixture, target: Callable[[], Any]) -> None:
    """`benchmark.pedantic`, typed: each round is one call, already a batch of messages."""
    benchmark.pedantic(  # type: ignore[no-untyped-call]  # pytest-benchmark is not annotated
        target, rounds=ROUNDS, warmup_rounds=1, iterations=1
    )


@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_fanout_through_the_broker(
    request: pytest.FixtureRequest,
    benchmark: BenchmarkFixture,
    clusters: dict[str, ClusterTransport],
    loadgen: LoadGeneratorProcess,
    placement: str,
) -> None:
    benchmark.group = f"cluster-fanout-{MEMBERS}"
    role, chat, spread_over = PLACEMENTS[placement]
    cluster = clusters[chat]
    spread = tuple(_prefix(cluster, index) for index in range(1, spread_over))
    room = loadgen.call(
        "join", ROUND_BOUND_S, url_prefix=_prefix(cluster, 0), clients=MEMBERS, spread_over=spread
    )["room"]
    try:
        _pedantic(
            benchmark,
            lambda: loadgen.call("broadcast", ROUND_BOUND_S, room=room, count=MESSAGES_PER_ROUND),
        )
    finally:
        loadgen.call("leave", ROUND_BOUND_S, room=room)
    assert benchmark.stats is not None
    rate = MESSAGES_PER_ROUND * MEMBERS / benchmark.stats.stats.median
    record = figure_record(
        benchmark.group, f"{chat}-chat@{cluster.name}:room-on-{spread_over}", role, rate,
        "deliveries/s", placement=placement,
    )  # fmt: skip
    benchmark.extra_info.update(record)
    report_figure(request.config, benchmark.extra_info)
