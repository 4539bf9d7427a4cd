"""The production-stack transports (`gunicorn`, `gunicorn-uvicorn`, `<server>+tls`, `nginx`): each
starts, serves the reference echo, and is gone afterwards, also when the test fails inside; a `+tls`
transport speaks TLS with the run's own certificate, which a client without the run's CA refuses,
and the suite's client refuses a server whose certificate another CA signed."""

from __future__ import annotations

import shutil
import ssl

import pytest
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import Accepted, ClientEvent, Closed, Message
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import REPLY_BOUND_S, Transport, TransportSpec
from wsconform.targets.servers.network import SocketTransport, accepts_connections
from wsconform.targets.servers.tls import server_certificate, tls_transport
from wsconform.targets.wsclient import Endpoint

PRODUCTION_TRANSPORTS = (
    "gunicorn",
    "gunicorn-uvicorn",
    "uvicorn-sansio+tls",
    "hypercorn+tls",
    "granian+tls",
    "nginx",
)
TLS_TRANSPORTS = tuple(name for name in PRODUCTION_TRANSPORTS if name.endswith("+tls"))
REFERENCE_APP = "wsconform.targets.reference:app"


class FailedInside(Exception):
    """What a test raising inside the serving context raises."""


def usable(name: str) -> TransportSpec:
    spec = all_transports()[name]
    reason = spec.unavailable_reason()
    if reason is not None:
        pytest.skip(f"{name}: {reason}")
    return spec


async def echo(transport: Transport) -> list[ClientEvent | str]:
    connection = await transport.connect("/echo")
    try:
        seen = [await connection.next_event(REPLY_BOUND_S)]
        await connection.send_text("hello")
        seen.append(await connection.next_event(REPLY_BOUND_S))
        await connection.close(1000)
        seen.append(await connection.next_event(REPLY_BOUND_S))
    finally:
        await connection.release()
        await transport.aclose()
    # The first is Accepted, with each server's own headers.
    return [type(seen[0]).__name__, *seen[1:]]


@pytest.mark.slow  # seconds: a real server process per case
@pytest.mark.parametrize("name", PRODUCTION_TRANSPORTS)
def test_the_transport_serves_an_echo_and_is_gone_afterwards(
    name: str, loop_runner: LoopRunner
) -> None:
    with usable(name).serve(REFERENCE_APP) as transport:
        assert isinstance(transport, SocketTransport)
        port = transport.port
        seen = loop_runner.run(echo(transport))
    assert (seen, accepts_connections(port)) == (
        ["Accepted", Message("Message text was: hello"), Closed(1000, "", close_frame_seen=True)],
        False,
    )


@pytest.mark.slow  # seconds: a real server process per case
@pytest.mark.parametrize("name", PRODUCTION_TRANSPORTS)
def test_the_transport_is_stopped_when_the_test_fails_inside(
    name: str, loop_runner: LoopRunner
) -> None:
    ports: list[int] = []
    with pytest.raises(FailedInside), usable(name).serve(REFERENCE_APP) as transport:
        assert isinstance(transport, SocketTransport)
        ports.append(transport.port)
        loop_runner.run(transport.aclose())
        raise FailedInside
    assert accepts_connections(ports[0]) is False


async def tls_version(endpoint: Endpoint) -> str | None:
    """The TLS version a client negotiated (None: no TLS on the connection)."""
    _, writer = await endpoint.open()
    try:
        tls = writer.get_extra_info("ssl_object")
        return None if tls is None else str(tls.version())
    finally:
        writer.transport.abort()


async def refused(endpoint: Endpoint) -> bool:
    """Does the client's TLS handshake fail on the server's certificate?"""
    try:
        _, writer = await endpoint.open()
    except ssl.SSLCertVerificationError:
        return True
    writer.transport.abort()
    return False


@pytest.mark.parametrize("name", TLS_TRANSPORTS)
def test_a_tls_transport_speaks_tls_and_a_client_without_the_runs_ca_is_refused(
    name: str, loop_runner: LoopRunner
) -> None:
    with usable(name).serve(REFERENCE_APP) as transport:
        assert isinstance(transport, SocketTransport)
        port = transport.port
        version = loop_runner.run(tls_version(transport.endpoint))
        # The system's store, as any client of a server with a private CA has it.
        untrusting = loop_runner.run(refused(Endpoint(port, ssl.create_default_context())))
        loop_runner.run(transport.aclose())
    assert (version in ("TLSv1.2", "TLSv1.3"), untrusting) == (True, True)


def test_the_suites_client_refuses_a_server_whose_certificate_another_ca_signed(
    loop_runner: LoopRunner,
) -> None:
    """The broken variant: a server presenting a certificate another CA signed. The clients
    trust the run's CA alone, so a `+tls` verdict is always about the certificate it made."""
    usable("uvicorn-sansio+tls")
    from wsconform.targets.servers.uvicorn_server import serve_uvicorn_tls

    with (
        server_certificate() as ours,
        server_certificate() as theirs,
        serve_uvicorn_tls(REFERENCE_APP, theirs) as transport,
    ):
        assert isinstance(transport, SocketTransport)
        port = transport.port
        loop_runner.run(transport.aclose())
        outcomes = [
            loop_runner.run(refused(Endpoint(port, context)))
            for context in (ours.client_context, theirs.client_context)
        ]
    assert outcomes == [True, False]


def test_a_tls_transport_is_skipped_with_its_reason_where_trustme_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *rest: None if name == "trustme" else real_find_spec(name, *rest),
    )
    spec = tls_transport("server", lambda: None, lambda app, certificate: NotImplemented, ())
    assert (spec.name, spec.unavailable_reason()) == ("server+tls", "not installed: trustme")


def test_nginx_is_skipped_with_the_command_that_installs_it_where_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wsconform.targets.servers import nginx_server

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(nginx_server, "NGINX_PATHS", ())
    reason = all_transports()["nginx"].unavailable_reason()
    assert reason == "nginx is not installed (install it with `apt-get install nginx`)"


async def server_header(transport: Transport) -> str:
    connection = await transport.connect("/echo")
    try:
        accepted = await connection.next_event(REPLY_BOUND_S)
    finally:
        await connection.release()
        await transport.aclose()
    assert isinstance(accepted, Accepted)
    return dict(accepted.headers).get("server", "")


def test_the_nginx_transport_reaches_the_app_through_nginx(loop_runner: LoopRunner) -> None:
    """Its handshake is answered by nginx (uvicorn's own `server: uvicorn` is replaced), so its
    verdicts are the proxied stack's, not uvicorn's reached around the proxy."""
    with usable("nginx").serve(REFERENCE_APP) as transport:
        header = loop_runner.run(server_header(transport))
    assert header.startswith("nginx/")
