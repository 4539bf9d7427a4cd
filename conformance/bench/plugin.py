"""pytest hooks of the benchmarks: ratios in every result, a progress line per benchmark, and
`--ratio-regression-fail`, which gates `--benchmark-compare` on the ratios, not on raw times.

Loaded from the project's conftest; it does nothing unless pytest-benchmark is active.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.bench.ratios import (
    RatioRegression,
    attach_ratios,
    describe_figure,
    headroom_warnings,
    ratio_regressions,
)

_REGRESSIONS = pytest.StashKey[list[RatioRegression]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("benchmark").addoption(
        "--ratio-regression-fail",
        type=float,
        metavar="PERCENT",
        help="with --benchmark-compare: fail when a server's ratio to the baseline is worse than"
        " in the compared run by more than PERCENT (see docs/benchmarks.md)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # pytest-benchmark writes --benchmark-json into an existing folder only; reports/out/ is
    # not in a fresh clone.
    json_path: Path | None = config.getoption("benchmark_json", None)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """References first: after pytest has grouped the benchmarks by server (so each server
    process starts once), move the groups of the baseline and the ceiling to the front, so every
    progress line can show its ratios. The sort is stable: the groups stay together."""

    def run_order(item: pytest.Item) -> int:
        params = getattr(getattr(item, "callspec", None), "params", {})
        return min((getattr(value, "run_order", 2) for value in params.values()), default=2)

    items.sort(key=run_order)


def _benchmark_session(config: pytest.Config) -> Any:
    return getattr(config, "_benchmarksession", None)


def report_figure(config: pytest.Config, extra_info: dict[str, Any]) -> None:
    """Ratios from what this run has measured so far, then the benchmark's progress line."""
    session = _benchmark_session(config)
    if session is not None:
        attach_ratios(benchmark.extra_info for benchmark in session.benchmarks)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    # Mid-test, so past pytest's output capture, which would hold the line until the end.
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.ensure_newline()
        reporter.write_line(describe_figure(extra_info))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    # Before pytest-benchmark writes its JSON: every figure gets its ratios, whatever order the
    # benchmarks ran in.
    benchmark_session = _benchmark_session(session.config)
    if benchmark_session is not None:
        attach_ratios(benchmark.extra_info for benchmark in benchmark_session.benchmarks)
    yield
    if _regressions(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    benchmark_session = _benchmark_session(config)
    if benchmark_session is not None:
        records = [benchmark.extra_info for benchmark in benchmark_session.benchmarks]
        for warning in headroom_warnings(records):
            terminalreporter.write_line(f"warning: {warning}", yellow=True)
    regressions = _regressions(config)
    if regressions:
        terminalreporter.section("ratio regressions", red=True)
        for regression in regressions:
            terminalreporter.write_line(regression.describe())


def _regressions(config: pytest.Config) -> list[RatioRegression]:
    """The ratio regressions against every compared run, worked out once per session."""
    if _REGRESSIONS in config.stash:
        return config.stash[_REGRESSIONS]
    threshold = config.getoption("ratio_regression_fail")
    benchmark_session = _benchmark_session(config)
    regressions: list[RatioRegression] = []
    if threshold is not None and benchmark_session is not None:
        if not benchmark_session.compared_mapping:
            raise pytest.UsageError(
                "--ratio-regression-fail needs a saved run to compare with: save runs with"
                " --benchmark-autosave and add --benchmark-compare[=NUM]"
            )
        current = {bench.fullname: bench.extra_info for bench in benchmark_session.benchmarks}
        for compared in benchmark_session.compared_mapping.values():
            before = {name: bench.get("extra_info", {}) for name, bench in compared.items()}
            regressions.extend(ratio_regressions(current, before, threshold))
    config.stash[_REGRESSIONS] = regressions
    return regressions
