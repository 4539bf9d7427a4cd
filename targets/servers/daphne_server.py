"""`daphne`: Django Channels' ASGI server (Twisted + autobahn), in its own process.

Daphne runs on Twisted's reactor, which is process-global and cannot be restarted, so it cannot
live in a thread of the test process; it loads the witness app by import string instead.
"""

from __future__ import annotations

import sys

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


TRANSPORTS = (subprocess_transport("daphne", daphne_command, "daphne"),)
