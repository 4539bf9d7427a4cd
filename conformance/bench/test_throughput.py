"""Throughput of every installed server, next to a baseline and a ceiling measured in this run.

Each benchmark times rounds of work that the load generator does in its own process; a round is
a batch (e.g. 200 echo round trips) so the cost of asking for it is a rounding error. The figure
(operations per second, from the median round) and its ratios go to `extra_info`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from wsconform.conformance.bench.harness import (
    BARE_APP,
    REFERENCE_APP,
    BenchTarget,
    LoadGeneratorProcess,
    RunningServer,
    bench_targets,
    load_generator,
    run_server,
)
from wsconform.conformance.bench.plugin import report_figure
from wsconform.conformance.bench.ratios import LAYER, WITHOUT_LAYER, figure_record

pytestmark = pytest.mark.bench

# Rounds per benchmark, after one warm-up round: enough for a stable median, few enough that
# the whole run stays within ten minutes on two cores.
ROUNDS = 20
# The bound of one round: a server that cannot do a round in this long fails the benchmark.
ROUND_BOUND_S = 30.0
ECHO_SIZES = {"32B": 32, "1KiB": 1024, "64KiB": 64 * 1024}
# Operations per round: each round takes about 50 to 100 ms on a fast server.
ECHO_BATCH = {"32B": 1000, "1KiB": 1000, "64KiB": 250}
HANDSHAKE_BATCH = 100
FANOUT_BATCH = {8: 250, 32: 80}
IDLE_CONNECTIONS = 1000
# Handshakes in flight while opening the idle connections: under every server's listen backlog.
IDLE_CONCURRENCY = 50


def _params(apps: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(target, id=target.id)
        if (reason := target.server.unavailable_reason()) is None
        else pytest.param(target, id=target.id, marks=pytest.mark.skip(reason=reason))
        for target in bench_targets(apps)
    ]


ECHO_TARGETS = _params((REFERENCE_APP, BARE_APP))
REFERENCE_TARGETS = _params((REFERENCE_APP,))


@pytest.fixture(scope="session")
def loadgen() -> Iterator[LoadGeneratorProcess]:
    with load_generator() as generator:
        yield generator


@pytest.fixture(scope="session")
def served(
    request: pytest.FixtureRequest, loadgen: LoadGeneratorProcess
) -> Iterator[RunningServer]:
    """One server process per target for the whole run; pytest groups the benchmarks by it."""
    target: BenchTarget = request.param
    with run_server(target) as server:
        if server.ca_file is not None:
            loadgen.call("trust", ROUND_BOUND_S, ca_file=str(server.ca_file))
        yield server


def _record(
    request: pytest.FixtureRequest,
    benchmark: BenchmarkFixture,
    served: RunningServer,
    value: float,
    unit: str,
    higher_is_better: bool = True,
    **details: Any,
) -> None:
    # The figure is the benchmark's group, set before it ran (pytest-benchmark copies it then).
    assert benchmark.group is not None
    layer = served.target.server.stack
    if layer is not None:
        details |= {WITHOUT_LAYER: served.target.without_layer, LAYER: layer.name}
    record = figure_record(
        benchmark.group,
        served.target.id,
        served.target.server.role,
        value,
        unit,
        higher_is_better=higher_is_better,
        app=served.target.app,
        **details,
    )
    benchmark.extra_info.update(record)
    report_figure(request.config, benchmark.extra_info)


def _pedantic(
    benchmark: BenchmarkFixture,
    target: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    rounds: int = ROUNDS,
    warmup_rounds: int = 0,
) -> None:
    """`benchmark.pedantic`, typed: each round is one call, already a batch of operations."""
    benchmark.pedantic(  # type: ignore[no-untyped-call]  # pytest-benchmark is not annotated
        target, args=args, kwargs=kwargs, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1
    )


def _per_second(benchmark: BenchmarkFixture, per_round: int) -> float:
    assert benchmark.stats is not None
    median: float = benchmark.stats.stats.median
    return per_round / median


# Memory first: each server process is measured before the other benchmarks have grown it.
@pytest.mark.parametrize("served", REFERENCE_TARGETS, indirect=True)
def test_memory_per_idle_connection(
    request: pytest.FixtureRequest,
    benchmark: BenchmarkFixture,
    served: RunningServer,
    loadgen: LoadGeneratorProcess,
) -> None:
    benchmark.group = f"memory-{IDLE_CONNECTIONS}-idle"
    before = served.rss_bytes()
    held: dict[str, Any] = {}

    def hold() -> None:
        held.update(
            loadgen.call(
                "hold",
                ROUND_BOUND_S,
                url=served.url("/echo"),
                count=IDLE_CONNECTIONS,
                concurrency=IDLE_CONCURRENCY,
            )
        )

    try:
        # One round: the figure is the memory, the time is how long opening them all took.
        _pedantic(benchmark, hold, rounds=1)
        holding = served.rss_bytes()
    finally:
        loadgen.call("release", ROUND_BOUND_S)
    _record(
        request,
        benchmark,
        served,
        (holding - before) / held["held"],
        "bytes/connection",
        higher_is_better=False,
        rss_before_bytes=before,
        rss_holding_bytes=holding,
        connections=held["held"],
    )


@pytest.mark.parametrize("size", list(ECHO_SIZES))
@pytest.mark.parametrize("served", ECHO_TARGETS, indirect=True)
def test_echo_round_trips(
    request: pytest.FixtureRequest,
    benchmark: BenchmarkFixture,
    served: RunningServer,
    loadgen: LoadGeneratorProcess,
    size: str,
) -> None:
    benchmark.group = f"echo-{size}"
    connection = loadgen.call("open", ROUND_BOUND_S, url=served.url("/echo"))["id"]
    try:
        _pedantic(
            benchmark,
            loadgen.call,
            args=("echo", ROUND_BOUND_S),
            kwargs={"id": connection, "size": ECHO_SIZES[size], "count": ECHO_BATCH[size]},
            rounds=ROUNDS,
            warmup_rounds=1,
        )
    finally:
        loadgen.call("close", ROUND_BOUND_S, id=connection)
    rate = _per_second(benchmark, ECHO_BATCH[size])
    _record(request, benchmark, served, rate, "round trips/s")


@pytest.mark.parametrize("served", REFERENCE_TARGETS, indirect=True)
def test_handshakes(
    request: pytest.FixtureRequest,
    benchmark: BenchmarkFixture,
    served: RunningServer,
    loadgen: LoadGeneratorProcess,
) -> None:
    benchmark.group = "handshakes"
    _pedantic(
        benchmark,
        loadgen.call,
        args=("handshakes", ROUND_BOUND_S),
        kwargs={"url": served.url("/echo"), "count": HANDSHAKE_BATCH},
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    rate = _per_second(benchmark, HANDSHAKE_BATCH)
    _record(request, benchmark, served, rate, "handshakes/s")


@pytest.mark.parametrize("clients", list(FANOUT_BATCH))
@pytest.mark.parametrize("served", REFERENCE_TARGETS, indirect=True)
def test_broadcast_fanout(
    request: pytest.FixtureRequest,
    benchmark: BenchmarkFixture,
    served: RunningServer,
    loadgen: LoadGeneratorProcess,
    clients: int,
) -> None:
    benchmark.group = f"fanout-{clients}"
    room = loadgen.call(
        "join", ROUND_BOUND_S, url_prefix=served.url("/chatroom/"), clients=clients
    )["room"]
    latencies_us: list[float] = []

    def broadcast_round() -> None:
        answer = loadgen.call("broadcast", ROUND_BOUND_S, room=room, count=FANOUT_BATCH[clients])
        latencies_us.extend(answer["latencies_us"])

    try:
        # A warm-up round of our own, so its latencies are not counted.
        loadgen.call("broadcast", ROUND_BOUND_S, room=room, count=FANOUT_BATCH[clients])
        _pedantic(benchmark, broadcast_round, rounds=ROUNDS)
    finally:
        loadgen.call("leave", ROUND_BOUND_S, room=room)
    rate = _per_second(benchmark, FANOUT_BATCH[clients] * clients)
    percentiles = statistics.quantiles(latencies_us, n=100)
    _record(
        request,
        benchmark,
        served,
        rate,
        "deliveries/s",
        latency_p50_us=percentiles[49],
        latency_p99_us=percentiles[98],
    )
