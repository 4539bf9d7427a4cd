"""`<server>+tls`: a server serving `wss://` and `https://` on 127.0.0.1, its certificate made for
the run. The one place the suite's TLS is made: each server module that can serve TLS declares
its `+tls` transport with `tls_transport`, handing the certificate's files to its server.

Every `+tls` server runs in a process of its own: uvicorn (on uvloop) and hypercorn leave TLS
connections they were closing unclosed when they stop or when a peer aborts, and in the test
process those leaks would be the suite's own unclosed-transport warnings (errors under
`filterwarnings = error`), not a verdict about the server. The puppet's record then stays in the
server's process, so `shutdown.app-hears-the-end` is `unimplemented` there, as on daphne.

The certificate comes from a CA made at run time by trustme; the suite's clients (the raw wire
client, the wire probes, the HTTP control client) trust that CA and nothing else, so a server
that presents any other certificate fails the TLS handshake instead of being trusted.
"""

from __future__ import annotations

import contextlib
import ssl
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from wsconform.targets.servers.base import StackLayer, Transport, TransportSpec, missing_module

# The names the certificate is issued for: the suite's servers listen on 127.0.0.1 only.
TLS_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class ServerCertificate:
    """The files a server is given, and the context a client trusts it with."""

    cert_file: Path  # the certificate, then the CA's (PEM)
    key_file: Path  # its private key, PKCS#8 PEM (granian reads no other format)
    ca_file: Path  # the CA's certificate (PEM), for clients outside this process
    client_context: ssl.SSLContext


def client_context_trusting(ca_file: Path) -> ssl.SSLContext:
    """A client context that verifies the server's certificate and host name against `ca_file`
    alone (not the system's store)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(ca_file))
    return context


def url_client_context(*, verify: bool) -> ssl.SSLContext:
    """The client context of a `wss://` --url: the system's trust store and host name check,
    or, where the user passes --insecure (a self-signed staging certificate), no check."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@contextlib.contextmanager
def server_certificate() -> Iterator[ServerCertificate]:
    """A fresh CA and a certificate for 127.0.0.1 signed by it, in files that live as long as
    the context."""
    import trustme
    from cryptography.hazmat.primitives import serialization

    authority = trustme.CA()
    issued = authority.issue_cert(*TLS_HOSTS)
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    with tempfile.TemporaryDirectory(prefix="wsconform-tls-") as folder:
        cert_file, key_file, ca_file = (Path(folder) / name for name in ("cert", "key", "ca"))
        cert_file.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        authority.cert_pem.write_to_path(str(ca_file))
        yield ServerCertificate(cert_file, key_file, ca_file, client_context_trusting(ca_file))


ServeWithCertificate = Callable[
    [str, ServerCertificate], contextlib.AbstractContextManager[Transport]
]


def tls_transport(
    server: str,
    unavailable_reason: Callable[[], str | None],
    serve: ServeWithCertificate,
    packages: tuple[str, ...],
) -> TransportSpec:
    """The `<server>+tls` transport: `serve(import string, certificate)` within a fresh
    certificate's lifetime; skipped where the server is or where trustme is not installed."""
    trustme_missing = missing_module("trustme")

    def reason() -> str | None:
        return unavailable_reason() or trustme_missing()

    @contextlib.contextmanager
    def serve_with_tls(import_string: str) -> Iterator[Transport]:
        with server_certificate() as certificate, serve(import_string, certificate) as transport:
            yield transport

    return TransportSpec(
        f"{server}+tls", reason, serve_with_tls, packages, stack_layer=StackLayer("TLS", server)
    )
