"""`granian`: the Rust (hyper/tokio) server with an ASGI interface, in its own process.

Granian's workers are processes it spawns itself, so it runs as a subprocess whose whole
process group is stopped afterwards. One worker: the puppet's sessions and the witness's app
errors live in that worker's memory, and every request must reach the same one.
"""

from __future__ import annotations

import contextlib
import sys

from wsconform.targets.servers.base import Transport, missing_module
from wsconform.targets.servers.network import serve_in_subprocess, subprocess_transport
from wsconform.targets.servers.tls import ServerCertificate, tls_transport


def granian_command(app: str, port: int, *options: str) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "asgi",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning",
        *options,
        app,
    ]  # fmt: skip


def serve_granian_tls(
    import_string: str, certificate: ServerCertificate
) -> contextlib.AbstractContextManager[Transport]:
    tls_files = (
        "--ssl-certificate", str(certificate.cert_file),
        "--ssl-keyfile", str(certificate.key_file),
    )  # fmt: skip
    return serve_in_subprocess(
        "granian+tls",
        import_string,
        lambda app, port: granian_command(app, port, *tls_files),
        tls=certificate.client_context,
    )


TRANSPORTS = (
    subprocess_transport("granian", granian_command, "granian"),
    tls_transport("granian", missing_module("granian"), serve_granian_tls, ("granian",)),
)
