"""`daphne`: Django Channels' ASGI server (Twisted + autobahn), in its own process.

Daphne runs on Twisted's reactor, which is process-global and cannot be restarted, so it cannot
live in a thread of the test process; it loads the witness app by import string instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import math
import re
import sys

from wsconform.targets.servers.base import MAX_MESSAGE_BYTES, Keepalive, Transport
from wsconform.targets.servers.network import serve_in_subprocess, subprocess_transport


def daphne_command(app: str, port: int, *options: str) -> list[str]:
    return [
        sys.executable, "-m", "daphne", "--bind", "127.0.0.1", "--port", str(port),
        # Daphne answers 403 on its own to a handshake the app has not answered in 5 s (its
        # timeout checker, every 2 s). A generated program can take longer before accepting
        # (each unanswered step waits its bound); that 403 then lands on whichever step is
        # waiting, which is what made app-error.websocket-exception-before-accept flip between
        # runs. 300 s is pytest-timeout's bound on a whole test, so no test outlives it.
        "--websocket_connect_timeout", "300",
        # Quiet: errors reach the test through the witness app, not the server's log.
        "--verbosity", "0",
        *options,
        app,
    ]  # fmt: skip


def daphne_max_message_bytes() -> int | None:
    """Daphne 4.2.2 (CVE-2026-44545) limits messages to 1 MiB by default; before, no limit."""
    try:
        version = importlib.metadata.version("daphne")
    except importlib.metadata.PackageNotFoundError:
        return None
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:3])
    return MAX_MESSAGE_BYTES if numbers >= (4, 2, 2) else None


def serve_daphne_pinging(
    import_string: str, interval_s: float
) -> contextlib.AbstractContextManager[Transport]:
    """Daphne with keepalive pings (--ping-interval: whole seconds, so at least 1; daphne checks
    it every 2 s, on the same timer as its connect timeout)."""
    seconds = max(1, math.ceil(interval_s))
    return serve_in_subprocess(
        "daphne",
        import_string,
        lambda app, port: daphne_command(app, port, "--ping-interval", str(seconds)),
        daphne_max_message_bytes(),
        ping_interval_s=seconds,
    )


TRANSPORTS = (
    dataclasses.replace(
        subprocess_transport(
            "daphne", daphne_command, "daphne", max_message_bytes=daphne_max_message_bytes
        ),
        keepalive=Keepalive("daphne --ping-interval", serve_daphne_pinging),
    ),
)
