"""`hypercorn`: the h11/h2/wsproto server, in a thread of this process on its own event loop.

Hypercorn's `serve` takes a shutdown trigger and then installs no signal handlers, so it can run
off the main thread; the app object is wrapped to witness its errors, as for uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from collections.abc import Iterator

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
    accepts_connections,
    free_loopback_port,
    serve_in_subprocess,
    wait_until,
)
from wsconform.targets.servers.tls import ServerCertificate, tls_transport


@contextlib.contextmanager
def serve_hypercorn(
    import_string: str, ping_interval_s: float | None = None
) -> Iterator[Transport]:
    """The app on hypercorn; with `ping_interval_s`, keepalive pings at that interval
    (websocket_ping_interval; hypercorn sends none by default)."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    # Hypercorn binds by address (its `fd://` bind takes ownership of the descriptor, which would
    # leave two owners of one socket), hence a free port rather than a pre-bound socket.
    port = free_loopback_port()
    transport = SocketTransport("hypercorn", port)
    app = transport.witnessed(import_string)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    # Quiet: the witness keeps every app exception with its traceback, once.
    config.loglevel = "CRITICAL"
    # Connections still open at shutdown get this long to finish before they are cut.
    config.graceful_timeout = float(GRACEFUL_TIMEOUT_S)
    config.websocket_max_message_size = MAX_MESSAGE_BYTES
    transport.max_message_bytes = MAX_MESSAGE_BYTES
    config.websocket_ping_interval = ping_interval_s
    transport.ping_interval_s = ping_interval_s

    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
    failure: list[BaseException] = []

    async def main() -> None:
        stop = asyncio.Event()
        running.append((asyncio.get_running_loop(), stop))
        await serve(app, config, shutdown_trigger=stop.wait)

    def run() -> None:
        try:
            # asyncio.run cancels what hypercorn leaves behind (older releases leave tasks).
            asyncio.run(main())
        except BaseException as exc:  # reported by the starting thread, not lost in this one
            failure.append(exc)

    thread = threading.Thread(target=run, name="hypercorn", daemon=True)
    thread.start()
    try:
        started = wait_until(
            lambda: accepts_connections(port) or not thread.is_alive(), STARTUP_BOUND_S
        )
        if not (started and thread.is_alive()):
            raise RuntimeError(
                f"hypercorn did not start within {STARTUP_BOUND_S}s: {failure or 'no error'}"
            )
        yield transport
    finally:
        for loop, stop in running:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(SHUTDOWN_BOUND_S)
        if thread.is_alive():
            raise RuntimeError(f"hypercorn did not stop within {SHUTDOWN_BOUND_S}s")


def hypercorn_command(app: str, port: int) -> list[str]:
    """hypercorn in a process of its own (for benchmarks, where the server's memory is measured)."""
    return [
        sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}",
        "--log-level", "WARNING",
        app,
    ]  # fmt: skip


def serve_hypercorn_tls(
    import_string: str, certificate: ServerCertificate
) -> contextlib.AbstractContextManager[Transport]:
    """hypercorn on TLS in a process of its own (targets/servers/tls.py says why), with the
    settings the in-thread transport gets; its command line has no message limit, hence a
    configuration file beside the certificate (TOML strings are JSON's for these values)."""
    config = certificate.cert_file.with_name("hypercorn.toml")
    config.write_text(
        f"certfile = {json.dumps(str(certificate.cert_file))}\n"
        f"keyfile = {json.dumps(str(certificate.key_file))}\n"
        f"websocket_max_message_size = {MAX_MESSAGE_BYTES}\n"
        "graceful_timeout = 1.0\n"
        # Served by the process the suite starts and stops, as the in-thread transport is: with
        # a worker process (its command line's default), a stop's SIGTERM to the process group
        # kills the worker, which has no handler of its own, before hypercorn's graceful
        # shutdown runs, and every verdict at shutdown would be that signal's, not TLS's.
        "workers = 0\n"
    )

    def command(app: str, port: int) -> list[str]:
        return [*hypercorn_command(app, port)[:-1], "--config", str(config), app]

    return serve_in_subprocess(
        "hypercorn+tls", import_string, command, MAX_MESSAGE_BYTES, tls=certificate.client_context
    )


TRANSPORTS = (
    TransportSpec(
        "hypercorn",
        missing_module("hypercorn", "wsproto"),
        serve_hypercorn,
        ("hypercorn",),
        keepalive=Keepalive("hypercorn websocket_ping_interval", serve_hypercorn),
    ),
    tls_transport(
        "hypercorn", missing_module("hypercorn", "wsproto"), serve_hypercorn_tls, ("hypercorn",)
    ),
)
