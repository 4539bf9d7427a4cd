"""A proxy in front of a server (`nginx`): what it passes through compared with the server alone,
its limits, and its variants (a short read timeout, no upgrade headers), by the proxy family
(`conformance/families/proxy/probes.py`). Elsewhere every proxy check is `unimplemented`."""

from __future__ import annotations

import dataclasses

from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner
from wsconform.conformance.families.proxy import probes as proxy
from wsconform.conformance.families.proxy.catalogue import PROXY_CHECKS
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import ProxySettings, Transport
from wsconform.targets.servers.network import ProxiedTransport


def test_proxy(
    transport: Transport, loop_runner: LoopRunner, recorder: ResultsRecorder, gate: Gate
) -> None:
    layer = all_transports()[transport.name].stack_layer
    variant = None if layer is None else layer.proxy_variant
    run = proxy.ProxyRun()
    if variant is None or not isinstance(transport, ProxiedTransport):
        why = "no proxy in front of this server"
        judgements = [Judgement(check.id, None, why) for check in PROXY_CHECKS]
    else:
        judgements = loop_runner.run(proxy.pass_through(transport, run))
        judgements.append(loop_runner.run(proxy.oversized_request(transport, run)))
        short = ProxySettings(read_timeout_ms=proxy.IDLE_TIMEOUT_MS)
        with variant(PUPPET_APP, short) as short_timeout:
            judgements += loop_runner.run(proxy.idle_cut(short_timeout, run))
            loop_runner.run(short_timeout.aclose())
        with variant(PUPPET_APP, dataclasses.replace(short, upgrade_headers=False)) as broken:
            judgements.append(loop_runner.run(proxy.missing_upgrade_headers(broken, run)))
            loop_runner.run(broken.aclose())
    recorder.add(
        transport.name,
        judgements,
        lambda: {
            **run.evidence(),
            "reproduce": f"tox -e suite -- --server {transport.name} -k test_proxy",
        },
    )
    gate.settle(transport.name, judgements, repr(run.evidence()))
