"""`gunicorn` and `gunicorn-uvicorn`: gunicorn's arbiter managing one worker, in its own process.

gunicorn's arbiter installs signal handlers and forks its workers, so it cannot live in a thread
of the test process; it serves the witness app by import string, and its process group is
stopped afterwards. One worker, as for granian: the puppet's sessions and the witness's app
errors live in that worker's memory, and every request must reach the same one.

- `gunicorn`: gunicorn's native ASGI worker (`-k asgi`, gunicorn 24+), with its own HTTP parser
  and its own WebSocket implementation (gunicorn/asgi/websocket.py).
- `gunicorn-uvicorn`: the uvicorn worker of the `uvicorn-worker` package, the pairing the
  FastAPI and uvicorn deployment guides describe: gunicorn manages the process, uvicorn serves.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from wsconform.targets.servers.base import GRACEFUL_TIMEOUT_S, MAX_MESSAGE_BYTES
from wsconform.targets.servers.network import subprocess_transport

# The uvicorn worker with the settings the `uvicorn-*` transports get (targets/gunicorn_worker.py).
UVICORN_WORKER = "wsconform.targets.gunicorn_worker.SuiteUvicornWorker"
# gunicorn's own WebSocket limit (--websocket-max-message-size, gunicorn 26.3+; 16 MiB by
# default): set to the suite's limit, as uvicorn's --ws-max-size and hypercorn's are.
NATIVE_OPTIONS = (
    "--websocket-max-message-size", str(MAX_MESSAGE_BYTES),
    # The witness runs the app's lifespan itself (targets/servers/witness.py), as for uvicorn.
    "--asgi-lifespan", "off",
)  # fmt: skip


def gunicorn_command(worker_class: str, *worker_options: str) -> Callable[[str, int], list[str]]:
    def command(app: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "--worker-class", worker_class, "--workers", "1",
            "--bind", f"127.0.0.1:{port}",
            # Connections still open at a stop get 1 s before the worker is cut, as hypercorn's
            # graceful_timeout in this suite (gunicorn's default, 30 s, outlasts the shutdown
            # check's 5 s bound and the 10 s the suite waits before SIGKILL).
            "--graceful-timeout", str(GRACEFUL_TIMEOUT_S),
            # No heartbeat timeout: the arbiter replaces a worker whose loop has not ticked for
            # 30 s (its default); on a suite run's loaded cores that would be the machine, not
            # the server (the suspected cause of a replacement seen once mid-run). The one
            # worker holds the puppet's sessions; a replacement loses them. A worker that dies
            # by itself is still replaced (and its run fails).
            "--timeout", "0",
            # Quiet: errors reach the test through the witness app, not the server's log.
            "--log-level", "warning",
            *worker_options,
            app,
        ]  # fmt: skip

    return command


TRANSPORTS = (
    subprocess_transport(
        "gunicorn",
        gunicorn_command("asgi", *NATIVE_OPTIONS),
        "gunicorn",
        max_message_bytes=lambda: MAX_MESSAGE_BYTES,
    ),
    subprocess_transport(
        "gunicorn-uvicorn",
        gunicorn_command(UVICORN_WORKER),
        "gunicorn",
        "uvicorn_worker",
        # What serves the connections: uvicorn with its default --ws (websockets-sansio).
        "uvicorn",
        "websockets",
        max_message_bytes=lambda: MAX_MESSAGE_BYTES,
    ),
)
