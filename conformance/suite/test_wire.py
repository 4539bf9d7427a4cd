"""Wire and upgrade checks on every transport with a wire: how each server handles malformed and
fragmented frames and bad handshakes, and how it frames its own side
(`conformance/families/wire/frames.py`,
`conformance/families/wire/handshakes.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner
from wsconform.conformance.families.wire import frames as wire
from wsconform.conformance.families.wire import handshakes as upgrade
from wsconform.conformance.families.wire.catalogue import (
    CLIENT_HANDSHAKE_CHECKS,
    UPGRADE_CHECKS,
    VARIATION_CHECKS,
    WIRE_CHECKS,
)
from wsconform.strategies.handshakes import variations
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.network import SocketTransport


def test_wire_probes(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:
    reproduce = f"tox -e suite -- --server {transport.name} -k test_wire"
    results: list[tuple[list[Judgement], dict[str, Any]]]
    if not isinstance(transport, SocketTransport):
        why = f"{transport.name} has no wire between its client and the app"
        results = [
            (
                [
                    Judgement(check.id, None, why)
                    for check in WIRE_CHECKS + UPGRADE_CHECKS + CLIENT_HANDSHAKE_CHECKS
                ],
                {},
            )
        ]
    else:
        results = loop_runner.run(wire.run_probes(transport.endpoint))
        results += loop_runner.run(upgrade.run_probes(transport.endpoint))
        results += loop_runner.run(upgrade.run_client_handshakes(transport.endpoint))
    everything: list[Judgement] = []
    for judgements, replay in results:
        everything += judgements
        recorder.add(transport.name, judgements, _evidence(replay, reproduce))
    gate.settle(transport.name, everything, "")


def test_keepalive(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:
    """A server of its own, served with its keepalive setting at a short interval: the one the
    other tests share keeps its default, so no ping reaches their connections."""
    keepalive = all_transports()[transport.name].keepalive
    if not isinstance(transport, SocketTransport):
        judgement = Judgement(
            "wire.keepalive-pings-sent", None, f"{transport.name} has no wire to ping over"
        )
    elif keepalive is None:
        why = (
            f"{transport.name} is served with no keepalive setting here: granian and gunicorn's "
            "ASGI worker have none for WebSocket; a +tls or gunicorn-managed uvicorn has its "
            "base server's, judged there"
        )
        judgement = Judgement("wire.keepalive-pings-sent", None, why)
    else:
        with keepalive.serve(PUPPET_APP, wire.KEEPALIVE_INTERVAL_S) as pinging:
            interval = pinging.ping_interval_s or wire.KEEPALIVE_INTERVAL_S
            try:
                assert isinstance(pinging, SocketTransport)
                judgement = loop_runner.run(
                    wire.keepalive(pinging.endpoint, keepalive.setting, interval)
                )
            finally:
                loop_runner.run(pinging.aclose())
    reproduce = f"tox -e suite -- --server {transport.name} -k test_keepalive"
    recorder.add(transport.name, [judgement], _evidence({"probe": "keepalive"}, reproduce))
    gate.settle(transport.name, [judgement], "")


def _evidence(replay: dict[str, Any], reproduce: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"source": "wire probes", "reproduce": reproduce, **replay}


def test_client_handshake_variations(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:
    """Generated variations of the recorded handshakes (strategies/handshakes.py), as many as
    the profile's examples; a failing one is shrunk to the fewest changes."""
    if not isinstance(transport, SocketTransport):
        why = f"{transport.name} has no wire between its client and the app"
        judgements = [Judgement(check.id, None, why) for check in VARIATION_CHECKS]
        recorder.add(transport.name, judgements, _evidence({}, ""))
        gate.settle(transport.name, judgements, "")
        return
    reproduce = f"tox -e suite -- --server {transport.name} -k test_client_handshake_variations"
    everything: list[Judgement] = []
    clients = st.sampled_from(upgrade.load_client_handshakes())

    @given(clients.flatmap(lambda client: variations(client.lines).map(lambda v: (client, v))))
    def replay(varied: tuple[upgrade.ClientHandshake, tuple[str, ...]]) -> None:
        judgements, replayed = loop_runner.run(upgrade.run_variation(transport.endpoint, *varied))
        recorder.add(transport.name, judgements, _evidence(replayed, reproduce))
        everything.extend(judgements)
        findings = gate.findings(transport.name, judgements)
        assert not findings, "\n".join(f"[{j.check_id}] {j.detail}" for j in findings)

    replay()
    gate.settle(transport.name, everything, "")
