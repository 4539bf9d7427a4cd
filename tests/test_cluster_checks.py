"""Each cluster check against a pub/sub chat that gets exactly its requirement wrong
(tests/broken_cluster_apps.py), on two uvicorn processes sharing a real broker; the reference
pub/sub chat passing every one is the gated suite's (conformance/suite/test_cluster.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.cluster import probes
from wsconform.targets.servers.broker import RedisBroker, broker_missing, redis_broker
from wsconform.targets.servers.cluster import ClusterTransport, Instance, serve_instances

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(broker_missing() is not None, reason=str(broker_missing())),
]

REPOSITORY = Path(__file__).resolve().parent.parent
Probe = Callable[[ClusterTransport, RedisBroker], Coroutine[Any, Any, list[Judgement]]]


async def _room(cluster: ClusterTransport, broker: RedisBroker) -> list[Judgement]:
    return await probes.run_room(cluster, [probes.DIRECTED_PLAN])


async def _restart(cluster: ClusterTransport, broker: RedisBroker) -> list[Judgement]:
    return await probes.restart_the_broker(cluster, broker)


async def _kill(cluster: ClusterTransport, broker: RedisBroker) -> list[Judgement]:
    return await probes.kill_an_instance(cluster)


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
        ("relay_app", _kill, "cluster.fault.survivors-keep-delivering", "missed by"),
        ("local_presence_app", _room, "cluster.presence-agrees", "members online"),
        ("local_notices_app", _room, "cluster.notices-cross-instances", "joined the chat"),
    ],
)
def test_broken_chat_is_caught(
    app: str, probe: Probe, check_id: str, says: str, broker: RedisBroker, runner: LoopRunner
) -> None:
    ok, detail = verdicts(app, probe, broker, runner)[check_id]
    assert (ok, says in detail) == (False, True), detail


def test_a_frozen_instance_leaves_its_clients_waiting(
    broker: RedisBroker, runner: LoopRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An instance that hangs instead of dying (SIGSTOP: its sockets stay open, nothing
    answers) is what `killed-instance-clients-see-end` must not pass: its clients see
    nothing within the bound."""

    def freeze(instance: Instance) -> None:
        os.killpg(instance.process.pid, signal.SIGSTOP)

    monkeypatch.setattr(Instance, "kill", freeze)
    with serve_instances(probes.PUBSUB_TARGET, 2, broker.url) as cluster:
        try:
            runner.run(cluster.prepare_app())
            judgements = runner.run(probes.kill_an_instance(cluster))
        finally:
            # Woken, so that it stops at once when the cluster is stopped.
            os.killpg(cluster.instances[-1].process.pid, signal.SIGCONT)
            runner.run(cluster.aclose())
    found = {j.check_id: (j.ok, j.detail) for j in judgements}
    ok, detail = found["cluster.fault.killed-instance-clients-see-end"]
    assert (ok, "'m10': 'nothing'" in detail) == (False, True), detail


def test_wsconform_run_across_instances_reports_the_cross_instance_finding(
    tmp_path: Path,
) -> None:
    """A seeds-style chat (an in-memory room) run with --instances 2: the finding, in plain
    words, for its route; and exit status 1."""
    report = tmp_path / "report"
    command = [
        sys.executable, "-m", "wsconform.cli", "run", "tests.user_apps.chat_room_app:app",
        "--app-path", str(REPOSITORY), "--instances", "2", "--report-dir", str(report),
        "--", "-k", "test_app_across_instances",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=300)
    results = json.loads((report / "results.json").read_text())["results"]
    found = {(r["check"], r["verdict"]): r["evidence"]["detail"] for r in results}
    detail = found[("cluster.broadcast-reaches-every-instance", "non-strict")]
    assert (done.returncode, probes.CROSS_INSTANCE_FINDING in detail) == (1, True), detail
