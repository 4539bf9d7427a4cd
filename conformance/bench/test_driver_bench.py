"""Driver benchmark: one lifecycle session through `inmemory` and through `testclient`, in the
same run. TestClient is the baseline: the in-memory driver exists to be much faster than it."""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from wsconform.conformance.bench.plugin import report_figure
from wsconform.conformance.bench.ratios import figure_record
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner, run_actions
from wsconform.conformance.families.lifecycle.scenarios import SCENARIOS
from wsconform.targets.servers import all_transports

pytestmark = pytest.mark.bench

# A whole conversation: handshake, a message each way, the app's close, teardown.
LIFECYCLE = next(scenario for scenario in SCENARIOS if scenario.name == "text-both-ways")
DRIVER_ROLES = {"testclient": "baseline", "inmemory": "server"}


# Warm-up rounds first: the first sessions of a process pay for imports and cold caches,
# which is not the cost of a session.
@pytest.mark.benchmark(warmup=True, warmup_iterations=100)
@pytest.mark.parametrize("driver", list(DRIVER_ROLES))
def test_lifecycle_sessions_per_second(
    request: pytest.FixtureRequest,
    driver: str,
    benchmark: BenchmarkFixture,
    loop_runner: LoopRunner,
) -> None:
    benchmark.group = "driver-lifecycle-session"
    with all_transports()[driver].serve(PUPPET_APP) as transport:
        session = benchmark(
            lambda: loop_runner.run(run_actions(transport, LIFECYCLE.actions, "bench"))
        )
        loop_runner.run(transport.aclose())
    assert not session.model.derailed, session.describe()
    assert benchmark.stats is not None
    # Medians, not means: on a shared machine a few slow rounds move the mean, not the median.
    sessions_per_second = 1.0 / benchmark.stats.stats.median
    benchmark.extra_info.update(
        figure_record(
            benchmark.group, driver, DRIVER_ROLES[driver], sessions_per_second, "sessions/s"
        )
    )
    report_figure(request.config, benchmark.extra_info)
