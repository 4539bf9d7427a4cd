"""`nginx`: Debian's nginx as a reverse proxy on 127.0.0.1 in front of uvicorn, both in processes
of their own.

The proxy is configured as uvicorn's and FastAPI's deployment guides recommend for websockets:
HTTP/1.1 to the upstream, the client's `Upgrade` header passed on and `Connection` set from it
(`upgrade` when the client asked for one, `close` otherwise), the original `Host` and the
`X-Forwarded-*` headers set, no response buffering. Everything else keeps nginx's defaults,
among them `proxy_read_timeout` (60 s: a websocket idle that long is closed by the proxy) and
the client's header buffers (`large_client_header_buffers 4 8k`) and the server's response head
buffer (`proxy_buffer_size`, one memory page).

What nginx serves, uvicorn (`--ws websockets-sansio`, what `--ws auto` picks) serves behind it,
with the settings of `uvicorn-sansio+tls`'s process; so a verdict that differs between `nginx`
and `uvicorn-sansio` is the proxy's (or the process mode's, see `shutdown.*` in
docs/transports.md), not uvicorn's. The variants (`ProxySettings`: without the upgrade headers,
a short read timeout) are what the proxy family measures beside the recommended configuration.

nginx runs in the foreground (`daemon off`) with every path it writes (pid, logs, request
temp folders) under a temporary prefix. Run as root, nginx's workers would switch to the
`nobody` user and lose access to that prefix, so there the workers stay root (`user root`);
otherwise the directive is left out (nginx ignores it, with a warning, when not root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from wsconform.targets.servers.base import (
    MAX_MESSAGE_BYTES,
    ProxySettings,
    StackLayer,
    Transport,
    TransportSpec,
)
from wsconform.targets.servers.network import (
    WITNESS_APP,
    ProxiedTransport,
    SubprocessTransport,
    server_process,
)
from wsconform.targets.servers.uvicorn_server import (
    TLS_WS,
    uvicorn_command,
    uvicorn_packages,
    uvicorn_transport_name,
    uvicorn_ws_available,
)
from wsconform.targets.servers.witness import WITNESSED_APP_ENV

# Debian's package puts nginx in /usr/sbin, which an ordinary user's PATH may lack.
NGINX_PATHS = ("/usr/sbin/nginx",)
INSTALL_COMMAND = "apt-get install nginx"
# The server nginx fronts: uvicorn's default --ws (the one its TLS transport serves too); a
# verdict of `nginx` is read beside this transport's.
FRONTED = uvicorn_transport_name(TLS_WS)
FRONTED_WS = TLS_WS


PROXY = "nginx"  # the transport's name
RECOMMENDED = ProxySettings()


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found is not None:
        return found
    return next((path for path in NGINX_PATHS if os.access(path, os.X_OK)), None)


def nginx_unavailable() -> str | None:
    if nginx_binary() is None:
        return f"nginx is not installed (install it with `{INSTALL_COMMAND}`)"
    return uvicorn_ws_available(FRONTED_WS)()


def nginx_config(listen_port: int | str, upstream_port: int | str, settings: ProxySettings) -> str:
    """The whole nginx.conf: one server on 127.0.0.1:`listen_port` proxying every path to
    uvicorn on 127.0.0.1:`upstream_port` (placeholders where a finding's script fills them)."""
    websocket_lines = (
        # The hop-by-hop headers a proxy must not forward on its own (RFC 9110 7.6.1), set
        # explicitly so the upgrade reaches uvicorn; `close` when the client asked for none.
        "proxy_http_version 1.1;\n"
        "            proxy_set_header Upgrade $http_upgrade;\n"
        "            proxy_set_header Connection $connection_upgrade;\n"
        if settings.upgrade_headers
        else ""
    )
    timeout_line = (
        f"proxy_read_timeout {settings.read_timeout_ms}ms;\n"
        if settings.read_timeout_ms is not None
        else ""
    )
    # As root, nginx's workers would become `nobody` and could not write under the prefix.
    user_line = "user root;\n" if os.geteuid() == 0 else ""
    # A proxied websocket holds two connections (the client's, the server's): room for the
    # benchmarks' 1,000 idle ones, and the descriptors they take.
    return f"""{user_line}worker_processes 1;
worker_rlimit_nofile 8192;
pid nginx.pid;
error_log stderr warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}
    server {{
        listen 127.0.0.1:{listen_port};
        location / {{
            {websocket_lines}            {timeout_line}            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_redirect off;
            proxy_buffering off;
            proxy_pass http://127.0.0.1:{upstream_port};
        }}
    }}
}}
"""


def nginx_command(binary: str, prefix: Path) -> list[str]:
    # `-e stderr`: the error log from the start (before reading the config nginx would open its
    # compiled-in /var/log/nginx/error.log), into the log a failed start is reported with;
    # `daemon off`: nginx stays the process started, stopped with its group.
    return [
        binary, "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "stderr",
        "-g", "daemon off;",
    ]  # fmt: skip


@contextlib.contextmanager
def nginx_in_front(
    upstream_port: int, settings: ProxySettings = RECOMMENDED, name: str = "nginx"
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """nginx on a free loopback port proxying to 127.0.0.1:`upstream_port`, with its files under
    a temporary prefix; always stopped. The process and its port."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError(nginx_unavailable() or "nginx is not installed")
    with tempfile.TemporaryDirectory(prefix="wsconform-nginx-") as folder:
        prefix = Path(folder)
        (prefix / "tmp").mkdir()

        def start(port: int) -> list[str]:
            (prefix / "nginx.conf").write_text(nginx_config(port, upstream_port, settings))
            return nginx_command(binary, prefix)

        with server_process(name, start, {}) as running:
            yield running


def upstream_command(app: str, port: int) -> list[str]:
    """uvicorn as nginx's upstream, with the settings of the suite's other uvicorn processes."""
    return uvicorn_command(FRONTED_WS, "--ws-max-size", str(MAX_MESSAGE_BYTES))(app, port)


@contextlib.contextmanager
def serve_behind_nginx(
    import_string: str, settings: ProxySettings = RECOMMENDED, name: str = PROXY
) -> Iterator[ProxiedTransport]:
    """uvicorn serving the witnessed `import_string`, nginx in front of it with `settings`;
    the transport reaches nginx. Both processes are always stopped: uvicorn first, as a
    deployment restarts its app server behind a proxy that stays up, so a stop is uvicorn's
    (its close frames pass through nginx), not nginx's own, which drops every connection."""
    with contextlib.ExitStack() as proxy_process, contextlib.ExitStack() as upstream_process:
        _, upstream_port = upstream_process.enter_context(
            server_process(
                f"{FRONTED} behind nginx",
                lambda port: upstream_command(WITNESS_APP, port),
                {WITNESSED_APP_ENV: import_string},
            )
        )
        _, port = proxy_process.enter_context(nginx_in_front(upstream_port, settings, name))
        upstream = SubprocessTransport(FRONTED, upstream_port)
        upstream.max_message_bytes = MAX_MESSAGE_BYTES
        yield ProxiedTransport(name, port, upstream)


def serve(import_string: str) -> contextlib.AbstractContextManager[Transport]:
    return serve_behind_nginx(import_string)


def serve_variant(
    import_string: str, settings: ProxySettings
) -> contextlib.AbstractContextManager[Transport]:
    return serve_behind_nginx(import_string, settings, "nginx-variant")


TRANSPORTS = (
    TransportSpec(
        PROXY,
        nginx_unavailable,
        serve,
        # nginx is no Python distribution: what can move under it here is what it fronts.
        uvicorn_packages(FRONTED_WS),
        stack_layer=StackLayer("proxy (nginx)", FRONTED, serve_variant),
    ),
)
