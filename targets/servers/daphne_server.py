"""`daphne`: Django Channels' ASGI server (Twisted + autobahn), in its own process.

Daphne runs on Twisted's reactor, which is process-global and cannot be restarted, so it cannot
live in a thread of the test process; it loads the witness app by import string instead.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys

from wsconform.targets.servers.base import MAX_MESSAGE_BYTES
from wsconform.targets.servers.network import subprocess_transport


def daphne_command(app: str, port: int) -> list[str]:
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


TRANSPORTS = (
    subprocess_transport(
        "daphne", daphne_command, "daphne", max_message_bytes=daphne_max_message_bytes
    ),
)
