"""Driver benchmark: one lifecycle session through `inmemory` and through `testclient`, in the
same run, so that their ratio means something on a shared, noisy machine."""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from conformance.engine import LoopRunner, run_actions
from conformance.pytest_plugin import PUPPET_APP
from conformance.scenarios import SCENARIOS
from targets.servers import all_transports

# A whole conversation: handshake, a message each way, the app's close, teardown.
LIFECYCLE = next(scenario for scenario in SCENARIOS if scenario.name == "text-both-ways")

# Medians, not means: on a shared machine a few slow rounds move the mean, not the median.
_median_seconds: dict[str, float] = {}


# TestClient first: the in-memory result is stored as a ratio to it.
@pytest.mark.parametrize("driver", ["testclient", "inmemory"])
def test_lifecycle_sessions_per_second(
    driver: str, benchmark: BenchmarkFixture, loop_runner: LoopRunner
) -> None:
    with all_transports()[driver].serve(PUPPET_APP) as transport:
        session = benchmark(
            lambda: loop_runner.run(run_actions(transport, LIFECYCLE.actions, "bench"))
        )
        loop_runner.run(transport.aclose())
    assert not session.model.derailed, session.describe()
    assert benchmark.stats is not None
    median = benchmark.stats.stats.median
    _median_seconds[driver] = median
    benchmark.extra_info["sessions_per_second"] = 1.0 / median
    if driver != "testclient" and "testclient" in _median_seconds:
        benchmark.extra_info["ratio_vs_testclient"] = _median_seconds["testclient"] / median
