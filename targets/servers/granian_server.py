"""`granian`: the Rust (hyper/tokio) server with an ASGI interface, in its own process.

Granian's workers are processes it spawns itself, so it runs as a subprocess whose whole
process group is stopped afterwards. One worker: the puppet's sessions and the witness's app
errors live in that worker's memory, and every request must reach the same one.
"""

from __future__ import annotations

import sys

from wsconform.targets.servers.network import subprocess_transport


def granian_command(app: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "asgi",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning",
        app,
    ]  # fmt: skip


TRANSPORTS = (subprocess_transport("granian", granian_command, "granian"),)
