"""Scope checks on every transport: what the app finds in its scope for what the client sent."""

from __future__ import annotations

from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.scope import probes as scope
from wsconform.targets.servers.base import Transport


def test_scope_reports_the_request(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:
    seen, summary = loop_runner.run(scope.observe(transport))
    judgements = scope.judge(seen, summary)
    recorder.add(
        transport.name,
        judgements,
        lambda: {
            "source": "scope echo",
            "reproduce": f"tox -e suite -- --server {transport.name} -k test_scope",
            "client_events": [repr(event) for event in seen],
            "scope": summary,
        },
    )
    gate.settle(transport.name, judgements, f"client saw {seen!r}\nscope: {summary!r}")
