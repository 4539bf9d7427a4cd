"""Each proxy check passes an honest proxy and catches the broken one (tests/broken_proxies.py):
a tunnel in front of real uvicorn, compared with the same uvicorn reached directly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner
from wsconform.conformance.families.proxy import probes as proxy
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.network import ProxiedTransport, SocketTransport

from tests.broken_proxies import Faults, TunnelProxy

UPSTREAM = "uvicorn-sansio"
PAGE_APP = "tests.broken_proxies:page_at_websocket_path"


@contextlib.contextmanager
def behind_tunnel(
    loop_runner: LoopRunner, faults: Faults, app: str = PUPPET_APP
) -> Iterator[ProxiedTransport]:
    spec = all_transports()[UPSTREAM]
    if (reason := spec.unavailable_reason()) is not None:
        pytest.skip(f"{UPSTREAM}: {reason}")
    with spec.serve(app) as upstream:
        assert isinstance(upstream, SocketTransport)
        tunnel = TunnelProxy(upstream.port, faults)
        port = loop_runner.run(tunnel.start())
        stack = ProxiedTransport("tunnel", port, upstream)
        try:
            yield stack
        finally:
            loop_runner.run(stack.aclose())
            loop_runner.run(tunnel.stop())


def verdicts(judgements: list[Judgement]) -> dict[str, str]:
    return {judgement.check_id: judgement.verdict.value for judgement in judgements}


PASS_THROUGH_FAULTS = {
    "proxy.close-to-client-passes": Faults(swallow_close_to_client=True),
    "proxy.close-to-app-passes": Faults(swallow_close_to_app=True),
    "proxy.client-drop-reaches-app": Faults(keep_upstream_after_client_drop=True),
    "proxy.large-accept-headers-pass": Faults(response_head_limit=4096),
}


def test_an_honest_tunnel_passes_every_pass_through_check(loop_runner: LoopRunner) -> None:
    with behind_tunnel(loop_runner, Faults()) as stack:
        judgements = loop_runner.run(proxy.pass_through(stack, proxy.ProxyRun()))
    assert verdicts(judgements) == dict.fromkeys(PASS_THROUGH_FAULTS, "pass")


@pytest.mark.slow  # seconds: a proxy and a server per case, an idle bound
@pytest.mark.parametrize("check_id", PASS_THROUGH_FAULTS)
def test_a_pass_through_check_catches_its_broken_proxy(
    check_id: str, loop_runner: LoopRunner
) -> None:
    with behind_tunnel(loop_runner, PASS_THROUGH_FAULTS[check_id]) as stack:
        judgements = loop_runner.run(proxy.pass_through(stack, proxy.ProxyRun()))
    failed = {check for check, verdict in verdicts(judgements).items() if verdict != "pass"}
    assert failed == {check_id}


@pytest.mark.parametrize(
    ("faults", "verdict"),
    [(Faults(), "pass"), (Faults(request_head_limit=8192), "fail")],
    ids=["passes-it-on", "drops-the-connection"],
)
def test_a_long_request_header_must_be_answered_by_the_proxy(
    faults: Faults, verdict: str, loop_runner: LoopRunner
) -> None:
    with behind_tunnel(loop_runner, faults) as stack:
        judgement = loop_runner.run(proxy.oversized_request(stack, proxy.ProxyRun()))
    assert judgement.verdict.value == verdict


@pytest.mark.slow  # seconds: a proxy and a server per case, an idle bound
@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        ("close-frames", {"client": "pass", "app": "pass"}),
        ("drop", {"client": "non-strict", "app": "pass"}),
        ("client-only", {"client": "non-strict", "app": "non-strict"}),
    ],
)
def test_an_idle_cut_is_judged_by_what_the_client_and_the_app_are_told(
    cut: str, expected: dict[str, str], loop_runner: LoopRunner
) -> None:
    faults = Faults(idle_timeout_s=proxy.IDLE_TIMEOUT_MS / 1000, idle_cut=cut)
    with behind_tunnel(loop_runner, faults) as stack:
        judgements = loop_runner.run(proxy.idle_cut(stack, proxy.ProxyRun()))
    assert verdicts(judgements) == {
        "proxy.idle-cut-client-told": expected["client"],
        "proxy.idle-cut-app-told": expected["app"],
    }


@pytest.mark.slow  # seconds: a proxy and a server per case, an idle bound
def test_a_proxy_that_never_cuts_an_idle_connection_is_not_judged(
    loop_runner: LoopRunner,
) -> None:
    with behind_tunnel(loop_runner, Faults()) as stack:
        judgements = loop_runner.run(proxy.idle_cut(stack, proxy.ProxyRun()))
    assert set(verdicts(judgements).values()) == {"unimplemented"}


@pytest.mark.parametrize(
    ("app", "path", "verdict"),
    [(PUPPET_APP, None, "pass"), (PAGE_APP, "/chat", "non-strict")],
    ids=["route-answers-404", "route-answers-a-page"],
)
def test_without_the_upgrade_headers_the_client_must_get_an_http_error(
    app: str, path: str | None, verdict: str, loop_runner: LoopRunner
) -> None:
    with behind_tunnel(loop_runner, Faults(strip_upgrade=True), app) as stack:
        judgement = loop_runner.run(proxy.missing_upgrade_headers(stack, proxy.ProxyRun(), path))
    assert (judgement.verdict.value, "proxy_set_header Upgrade" in judgement.detail) == (
        verdict,
        True,
    )


def test_nginx_without_the_upgrade_headers_gives_the_client_an_http_error(
    loop_runner: LoopRunner,
) -> None:
    """The classic misconfiguration on real nginx, in front of an app whose websocket path also
    serves a page: the client gets the page (200), which the check reports with the fix."""
    from wsconform.targets.servers.base import ProxySettings
    from wsconform.targets.servers.nginx_server import serve_behind_nginx

    if (reason := all_transports()["nginx"].unavailable_reason()) is not None:
        pytest.skip(f"nginx: {reason}")
    seen: list[Judgement] = []
    for app, path in ((PUPPET_APP, None), (PAGE_APP, "/chat")):
        broken: Transport
        with serve_behind_nginx(app, ProxySettings(upgrade_headers=False)) as broken:
            seen.append(
                loop_runner.run(proxy.missing_upgrade_headers(broken, proxy.ProxyRun(), path))
            )
            loop_runner.run(broken.aclose())
    assert [judgement.verdict.value for judgement in seen] == ["pass", "non-strict"]
