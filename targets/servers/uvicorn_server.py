"""`uvicorn-<ws>`: real uvicorn on 127.0.0.1, one transport per `--ws` implementation.

uvicorn can run in a thread (it skips signal handlers off the main thread), so the server lives
in this process on its own event loop and socket; clients still reach it over real TCP, and the
puppet is driven over its HTTP control routes exactly as for a server in another process.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from wsconform.targets.servers.base import (
    GRACEFUL_TIMEOUT_S,
    MAX_MESSAGE_BYTES,
    SHUTDOWN_BOUND_S,
    STARTUP_BOUND_S,
    Keepalive,
    Transport,
    TransportSpec,
    missing_module,
)
from wsconform.targets.servers.network import (
    SocketTransport,
    loopback_socket,
    serve_in_subprocess,
    wait_until,
)
from wsconform.targets.servers.tls import ServerCertificate, tls_transport

# uvicorn's module for each `--ws` choice, and the library it drives.
WS_IMPLEMENTATIONS = {
    "websockets-sansio": ("uvicorn.protocols.websockets.websockets_sansio_impl", "websockets"),
    # The legacy implementation is built on websockets.legacy, which websockets may drop.
    "websockets": ("uvicorn.protocols.websockets.websockets_impl", "websockets.legacy"),
    "wsproto": ("uvicorn.protocols.websockets.wsproto_impl", "wsproto"),
}


def uvicorn_ws_available(ws: str) -> Callable[[], str | None]:
    implementation, library = WS_IMPLEMENTATIONS[ws]
    base_reason = missing_module("uvicorn", library.partition(".")[0])

    def reason() -> str | None:
        missing = base_reason()
        if missing:
            return missing
        # uvicorn added websockets-sansio in 0.35 and may retire the legacy one; websockets
        # may retire `legacy`. Each is then a --ws implementation this install lacks.
        for module in (implementation, library):
            if importlib.util.find_spec(module) is None:
                version = importlib.metadata.version("uvicorn")
                return f"uvicorn {version} has no --ws {ws} here ({module} is missing)"
        return None

    return reason


def serve_uvicorn(
    ws: str,
) -> Callable[..., contextlib.AbstractContextManager[Transport]]:
    """`serve(import_string)`, or with `ping_interval_s` uvicorn's keepalive pings at that
    interval (--ws-ping-interval; otherwise uvicorn's default)."""

    @contextlib.contextmanager
    def serve(import_string: str, ping_interval_s: float | None = None) -> Iterator[Transport]:
        import uvicorn

        sock = loopback_socket()
        transport = SocketTransport(uvicorn_transport_name(ws), sock.getsockname()[1])
        # In this process uvicorn can take the app object, wrapped to witness its errors.
        app = transport.witnessed(import_string)
        # Quiet: the witness keeps every app exception with its traceback, once; uvicorn's
        # "Exception in ASGI application" would print each again. The witness also runs the
        # app's lifespan, hence uvicorn's is off.
        config = uvicorn.Config(
            app,
            ws=ws,
            ws_max_size=MAX_MESSAGE_BYTES,
            lifespan="off",
            log_level="critical",
            access_log=False,
            **_graceful_shutdown(),
        )
        if ping_interval_s is not None:  # read by each connection; uvicorn's default otherwise
            config.ws_ping_interval = ping_interval_s
        transport.max_message_bytes = MAX_MESSAGE_BYTES
        transport.ping_interval_s = ping_interval_s
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{ws}", daemon=True
        )
        thread.start()
        try:
            started = wait_until(lambda: server.started or not thread.is_alive(), STARTUP_BOUND_S)
            if not (started and server.started):
                raise RuntimeError(f"uvicorn --ws {ws} did not start within {STARTUP_BOUND_S}s")
            yield transport
        finally:
            server.should_exit = True
            thread.join(SHUTDOWN_BOUND_S)
            if thread.is_alive():
                server.force_exit = True
                thread.join(SHUTDOWN_BOUND_S)
            sock.close()

    return serve


def _graceful_shutdown() -> dict[str, Any]:
    """The suite's common graceful-shutdown bound, where this uvicorn has the setting (0.20 and
    newer; the compat floor's 0.15 waits for its connections without one)."""
    import uvicorn

    if "timeout_graceful_shutdown" in inspect.signature(uvicorn.Config).parameters:
        return {"timeout_graceful_shutdown": GRACEFUL_TIMEOUT_S}
    return {}


def uvicorn_command(ws: str, *options: str) -> Callable[[str, int], list[str]]:
    """uvicorn in a process of its own (for benchmarks, where the server's memory is measured,
    and on TLS)."""

    def command(app: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "--ws", ws, "--lifespan", "off",
            "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log",
            *(("--timeout-graceful-shutdown", str(GRACEFUL_TIMEOUT_S))
              if _graceful_shutdown() else ()),
            *options,
            app,
        ]  # fmt: skip

    return command


# On TLS: the implementation uvicorn picks by default (`--ws auto` is websockets-sansio wherever
# websockets is installed), the one a deployment gets unless it chooses.
TLS_WS = "websockets-sansio"


def serve_uvicorn_tls(
    import_string: str, certificate: ServerCertificate
) -> contextlib.AbstractContextManager[Transport]:
    """uvicorn on TLS in a process of its own (targets/servers/tls.py says why), with the
    settings the in-thread transports get."""
    return serve_in_subprocess(
        f"{uvicorn_transport_name(TLS_WS)}+tls",
        import_string,
        uvicorn_tls_command(certificate),
        MAX_MESSAGE_BYTES,
        tls=certificate.client_context,
    )


def uvicorn_tls_command(certificate: ServerCertificate) -> Callable[[str, int], list[str]]:
    options = (
        "--ws-max-size", str(MAX_MESSAGE_BYTES),
        "--ssl-certfile", str(certificate.cert_file),
        "--ssl-keyfile", str(certificate.key_file),
    )  # fmt: skip
    return uvicorn_command(TLS_WS, *options)


def uvicorn_transport_name(ws: str) -> str:
    """The transport's name for a `--ws` choice: `uvicorn-sansio` for websockets-sansio."""
    return f"uvicorn-{'sansio' if ws == 'websockets-sansio' else ws}"


def uvicorn_packages(ws: str) -> tuple[str, ...]:
    return ("uvicorn", WS_IMPLEMENTATIONS[ws][1].partition(".")[0])


TRANSPORTS = (
    *(
        TransportSpec(
            uvicorn_transport_name(ws),
            uvicorn_ws_available(ws),
            serve_uvicorn(ws),
            uvicorn_packages(ws),
            keepalive=Keepalive("uvicorn --ws-ping-interval", serve_uvicorn(ws)),
        )
        for ws in WS_IMPLEMENTATIONS
    ),
    tls_transport(
        uvicorn_transport_name(TLS_WS),
        uvicorn_ws_available(TLS_WS),
        serve_uvicorn_tls,
        uvicorn_packages(TLS_WS),
    ),
)
