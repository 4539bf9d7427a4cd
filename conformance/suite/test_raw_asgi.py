"""Raw-ASGI probes on every transport: the server's answer to messages no framework sends
(`conformance/families/raw_asgi/probes.py`)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.probes import RawProbe, RawRun
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.raw_asgi import probes as raw_asgi
from wsconform.conformance.pytest_plugin import UNSTEADY_PROPERTY
from wsconform.targets.servers.base import Transport


def test_raw_asgi_probes(
    request: pytest.FixtureRequest,
    transport: Transport,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    everything: list[Judgement] = []
    evidence: list[str] = []
    for probe, first_run, first in loop_runner.run(raw_asgi.run_probes(transport)):

        def again(probe: RawProbe = probe) -> tuple[RawRun, list[Judgement]]:
            # The coroutine is built only when asked for: one never awaited is a warning.
            return loop_runner.run(raw_asgi.observe_again(transport, probe))

        run, judgements, unsteady = gate.confirmed(transport.name, (first_run, first), again)
        if unsteady:
            request.node.user_properties.append((UNSTEADY_PROPERTY, f"{probe.name}: {unsteady}"))
        everything += judgements
        evidence.append(f"{probe.name}: {run.evidence()!r}")
        recorder.add(
            transport.name, judgements, partial(_evidence, transport, probe, run, unsteady)
        )
    unjudged = raw_asgi.unjudged_limits(transport)
    if unjudged:
        recorder.add(transport.name, unjudged, lambda: {"source": "raw ASGI probes"})
    gate.settle(transport.name, everything + unjudged, "\n".join(evidence))


def _evidence(
    transport: Transport, probe: RawProbe, run: RawRun, unsteady: str | None
) -> dict[str, Any]:
    return {
        "source": f"raw ASGI probe {probe.name}",
        "reproduce": f"tox -e suite -- --server {transport.name} -k test_raw_asgi",
        "program": probe.program_json(),
        **run.evidence(),
        **({"unsteady": unsteady} if unsteady else {}),
    }
