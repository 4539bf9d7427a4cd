"""Raw-ASGI probes on every transport: the server's answer to messages no framework sends
(`conformance/families/raw_asgi/probes.py`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.probes import RawProbe, RawRun
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.raw_asgi import probes as raw_asgi
from wsconform.targets.servers.base import Transport


def test_raw_asgi_probes(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:
    everything: list[Judgement] = []
    evidence: list[str] = []
    for probe, run, judgements in loop_runner.run(raw_asgi.run_probes(transport)):
        everything += judgements
        evidence.append(f"{probe.name}: {run.evidence()!r}")
        recorder.add(transport.name, judgements, partial(_evidence, transport, probe, run))
    unjudged = raw_asgi.unjudged_limits(transport)
    if unjudged:
        recorder.add(transport.name, unjudged, lambda: {"source": "raw ASGI probes"})
    gate.settle(transport.name, everything + unjudged, "\n".join(evidence))


def _evidence(transport: Transport, probe: RawProbe, run: RawRun) -> dict[str, Any]:
    return {
        "source": f"raw ASGI probe {probe.name}",
        "reproduce": f"tox -e suite -- --server {transport.name} -k test_raw_asgi",
        "program": probe.program_json(),
        **run.evidence(),
    }
