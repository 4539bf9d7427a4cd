"""The benchmark machinery: ratios and their gate, and a load generator that refuses to score a
server answering wrongly (real uvicorn, real load generator process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.bench.harness import (
    BARE_APP,
    REFERENCE_APP,
    BenchTarget,
    LoadFailure,
    LoadGeneratorProcess,
    bench_servers,
    load_generator,
    run_server,
)
from wsconform.conformance.bench.ratios import (
    RATIO_TO_BASELINE,
    RATIO_TO_CEILING,
    attach_ratios,
    figure_record,
    headroom_warnings,
    ratio_regressions,
)

ROOT = Path(__file__).resolve().parents[1]
UVICORN = next(server for server in bench_servers() if server.name == "uvicorn-sansio")


def echo_records() -> list[dict[str, Any]]:
    return [
        figure_record("echo-32B", "websockets", "baseline", 1000.0, "round trips/s"),
        figure_record("echo-32B", "picows", "ceiling", 2000.0, "round trips/s"),
        figure_record("echo-32B", "uvicorn", "server", 500.0, "round trips/s"),
        figure_record("memory", "websockets", "baseline", 10.0, "B", higher_is_better=False),
        figure_record("memory", "uvicorn", "server", 30.0, "B", higher_is_better=False),
    ]


def test_ratios_divide_by_the_same_figure_of_each_reference() -> None:
    records = echo_records()
    attach_ratios(records)
    ratios = [(r[RATIO_TO_BASELINE], r[RATIO_TO_CEILING]) for r in records]
    # No ceiling for memory was measured: that ratio is absent, not invented.
    assert ratios == [(1.0, 0.5), (2.0, 1.0), (0.5, 0.25), (1.0, None), (3.0, None)]


def test_a_stack_is_divided_by_the_same_server_without_its_layer() -> None:
    from wsconform.conformance.bench.ratios import (
        LAYER,
        RATIO_TO_WITHOUT_LAYER,
        WITHOUT_LAYER,
        describe_figure,
    )

    behind: dict[str, Any] = {WITHOUT_LAYER: "uvicorn", LAYER: "proxy (nginx)"}
    records = [
        *echo_records(),
        figure_record("echo-32B", "nginx", "server", 400.0, "round trips/s", **behind),
    ]
    attach_ratios(records)
    assert records[-1][RATIO_TO_WITHOUT_LAYER] == 0.8
    assert describe_figure(records[-1]).endswith("0.80x without proxy (nginx)")


def test_a_ratio_worse_than_the_threshold_is_a_regression_in_the_figures_direction() -> None:
    before = {f"b{i}": record for i, record in enumerate(echo_records())}
    now = {f"b{i}": dict(record) for i, record in enumerate(echo_records())}
    now["b2"]["value"] = 400.0  # throughput down 20%
    now["b4"]["value"] = 33.0  # memory up 10%
    for records in (before, now):
        attach_ratios(records.values())
    flagged = {
        threshold: [regression.name for regression in ratio_regressions(now, before, threshold)]
        for threshold in (5, 15, 25)
    }
    assert flagged == {5: ["b2", "b4"], 15: ["b2"], 25: []}


def test_a_server_at_the_ceiling_is_reported_as_possibly_client_bound() -> None:
    records = echo_records()
    records[2]["value"] = 2100.0
    attach_ratios(records)
    assert headroom_warnings(records) == [
        "echo-32B: uvicorn reached 1.05x the ceiling; the load generator may be what limits"
        " this figure"
    ]


@pytest.fixture(scope="module")
def loadgen() -> Iterator[LoadGeneratorProcess]:
    with load_generator() as generator:
        yield generator


def test_correct_servers_are_measured(loadgen: LoadGeneratorProcess) -> None:
    with run_server(BenchTarget(UVICORN, BARE_APP)) as bare:
        connection = loadgen.call("open", 5, url=bare.url("/echo"))["id"]
        echoed = loadgen.call("echo", 5, id=connection, size=64 * 1024, count=3)
        loadgen.call("close", 5, id=connection)
        shaken = loadgen.call("handshakes", 5, url=bare.url("/echo"), count=3)
    with run_server(BenchTarget(UVICORN, REFERENCE_APP)) as reference:
        room = loadgen.call("join", 5, url_prefix=reference.url("/chatroom/"), clients=4)["room"]
        broadcast = loadgen.call("broadcast", 5, room=room, count=3)
        loadgen.call("leave", 5, room=room)
    assert (echoed["round_trips"], shaken["handshakes"], broadcast["deliveries"]) == (3, 3, 12)


@pytest.mark.parametrize(
    ("app", "command", "arguments", "reason"),
    [
        ("truncating_echo", "echo", {"size": 32, "count": 1}, "echo of 32 B: expected 50 B"),
        ("crashes_after_accept", "handshakes", {"count": 1}, "without a close frame"),
        ("silent_chatroom", "broadcast", {"count": 1}, "no answer within 3 s"),
    ],
)
def test_a_wrong_server_fails_instead_of_scoring(
    loadgen: LoadGeneratorProcess, app: str, command: str, arguments: dict[str, Any], reason: str
) -> None:
    with run_server(BenchTarget(UVICORN, f"tests.broken_bench_apps:{app}")) as broken:
        if command == "echo":
            arguments["id"] = loadgen.call("open", 3, url=broken.url("/echo"))["id"]
        elif command == "broadcast":
            join = {"url_prefix": broken.url("/chatroom/"), "clients": 1}
            arguments["room"] = loadgen.call("join", 3, **join)["room"]
        else:
            arguments["url"] = broken.url("/echo")
        with pytest.raises(LoadFailure) as failure:
            loadgen.call(command, 3, **arguments)
    assert reason in str(failure.value)


# Two benchmarks: a baseline always at 100/s, and a server at $SERVER_VALUE/s.
GATED_BENCHMARK = """
import os
from wsconform.conformance.bench.ratios import figure_record

def test_baseline(benchmark):
    benchmark.group = "echo"
    benchmark(lambda: None)
    benchmark.extra_info.update(figure_record("echo", "b", "baseline", 100.0, "1/s"))

def test_server(benchmark):
    benchmark.group = "echo"
    benchmark(lambda: None)
    value = float(os.environ["SERVER_VALUE"])
    benchmark.extra_info.update(figure_record("echo", "s", "server", value, "1/s"))
"""


@pytest.mark.slow
def test_ratio_gate_fails_a_run_whose_ratio_regressed(tmp_path: Path) -> None:
    (tmp_path / "test_gated.py").write_text(GATED_BENCHMARK)

    def run(value: float, *options: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable, "-m", "pytest", "test_gated.py", "-q", "-p", "no:cacheprovider",
            "-p", "pytest_benchmark.plugin", "-p", "conformance.bench.plugin",
            "--benchmark-storage", str(tmp_path / "saved"),
            # The figures are fixed by SERVER_VALUE: one short round each is enough.
            "--benchmark-min-rounds=1", "--benchmark-max-time=0.000001", *options,
        ]  # fmt: skip
        # Not the xdist worker's PYTEST_XDIST_WORKER: pytest-benchmark would take the run for a
        # worker's and disable the benchmarks, so nothing is saved to compare with.
        inherited = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
        env = {**inherited, "SERVER_VALUE": str(value), "PYTHONPATH": str(ROOT)}
        # Only the two plugins the gate needs: the engine's plugin and the servers' are not
        # part of it, and loading them costs each of the four runs seconds.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        return subprocess.run(
            command, cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    saved = run(100.0, "--benchmark-autosave")
    steady = run(95.0, "--benchmark-compare", "--ratio-regression-fail=10")
    regressed = run(80.0, "--benchmark-compare", "--ratio-regression-fail=10")
    no_compare = run(80.0, "--ratio-regression-fail=10")
    assert (saved.returncode, steady.returncode, regressed.returncode) == (0, 0, 1), (
        regressed.stdout
    )
    assert "echo ratio_to_baseline 1.000 -> 0.800 (-20%)" in regressed.stdout
    assert "--ratio-regression-fail needs a saved run" in no_compare.stderr
