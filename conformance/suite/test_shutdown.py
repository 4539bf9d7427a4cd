"""Shutdown on every transport with a server to stop: a fresh server, connections open in each
state, its own graceful stop (`conformance/families/shutdown/probes.py`)."""

from __future__ import annotations

import contextlib

from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner
from wsconform.conformance.families.shutdown import probes as shutdown
from wsconform.conformance.families.shutdown.catalogue import SHUTDOWN_CHECKS
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.testclient import TestClientTransport


def test_graceful_shutdown(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:
    if isinstance(transport, TestClientTransport):
        why = "TestClient has no server to stop: the app ends with the test's client"
        judgements = [Judgement(check.id, None, why) for check in SHUTDOWN_CHECKS]
        recorder.add(transport.name, judgements, lambda: {"source": "shutdown"})
        gate.settle(transport.name, judgements, "")
        return
    # A server of its own: the one the other tests share must go on serving.
    with contextlib.ExitStack() as serving:
        fresh = serving.enter_context(all_transports()[transport.name].serve(PUPPET_APP))
        run = loop_runner.run(shutdown.stop_with_connections(fresh, serving.close))
        loop_runner.run(fresh.aclose())
    judgements = shutdown.judge(run)
    recorder.add(
        transport.name,
        judgements,
        lambda: {
            "source": "shutdown with connections open",
            "reproduce": f"tox -e suite -- --server {transport.name} -k test_shutdown",
            **run.evidence(),
        },
    )
    gate.settle(transport.name, judgements, repr(run.evidence()))
