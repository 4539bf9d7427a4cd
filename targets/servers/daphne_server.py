"""`daphne`: Django Channels' ASGI server (Twisted + autobahn), in its own process.

Daphne runs on Twisted's reactor, which is process-global and cannot be restarted, so it cannot
live in a thread of the test process; it loads the witness app by import string instead.
"""

from __future__ import annotations

import sys

from targets.servers.network import subprocess_transport


def daphne_command(app: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "daphne", "--bind", "127.0.0.1", "--port", str(port),
        # Daphne drops a handshake the app has not answered in 5 s. A generated program can
        # spend longer than that before accepting (each unanswered step waits its bound), which
        # made verdicts depend on how many waits came first; a minute is beyond any program.
        "--websocket_connect_timeout", "60",
        # Quiet: errors reach the test through the witness app, not the server's log.
        "--verbosity", "0",
        app,
    ]  # fmt: skip


TRANSPORTS = (subprocess_transport("daphne", daphne_command, "daphne"),)
