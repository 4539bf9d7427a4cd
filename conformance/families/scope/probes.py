"""Scope checks: what the app finds in its websocket scope for what the client sent.

One handshake carries everything to look at — a percent-encoded UTF-8 path with an encoded
slash and space, a raw query string, headers with mixed case, a duplicate and an order to keep,
subprotocols offered in one `Sec-WebSocket-Protocol` line as a list and in a second line — and
the raw ASGI route `targets/raw_routes.py` reports the scope back. Each `scope.*` check reads one
key; the grade is the ASGI www spec's own keyword for it ('Websocket Connection Scope').
"""

from __future__ import annotations

import json
from typing import Any

from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.vocabulary import Accepted, ClientEvent, Headers, Message
from wsconform.conformance.families.scope.catalogue import SCOPE_CHECKS
from wsconform.targets.raw_routes import SCOPE_ECHO_ROUTE
from wsconform.targets.servers.base import REPLY_BOUND_S, Transport

RAW_PATH = f"{SCOPE_ECHO_ROUTE}/caf%C3%A9/a%2Fb%20c"
DECODED_PATH = f"{SCOPE_ECHO_ROUTE}/café/a/b c"
QUERY = "q=%F0%9F%8C%8D&flag&x=1+2"
HEADERS: Headers = (
    ("X-WsConform-Case", "Mixed"),
    ("x-wsconform-dup", "first"),
    ("x-wsconform-other", "between"),
    ("x-wsconform-dup", "second"),
    # RFC 6455 11.3.4: several lines are logically one field holding all their values.
    ("sec-websocket-protocol", "third"),
)
SUBPROTOCOLS = ("first", "second")  # sent as one line, "first, second"
OFFERED = ["first", "second", "third"]


async def observe(transport: Transport) -> tuple[list[ClientEvent], dict[str, Any] | None]:
    """Connect to the scope echo with the crafted request; what the client saw, and the scope
    summary the app sent (None if none came)."""
    connection = await transport.connect(f"{RAW_PATH}?{QUERY}", HEADERS, SUBPROTOCOLS)
    seen = [await connection.next_event(REPLY_BOUND_S)]
    if isinstance(seen[0], Accepted):
        seen.append(await connection.next_event(REPLY_BOUND_S))
    await connection.release()
    reported = seen[-1]
    if isinstance(reported, Message) and isinstance(reported.data, str):
        return seen, json.loads(reported.data)
    return seen, None


def _ours(headers: list[list[str]]) -> list[tuple[str, str]]:
    """The request's own x-wsconform-* headers as the app got them, names lowercased."""
    return [
        (name.lower(), value) for name, value in headers if name.lower().startswith("x-wsconform-")
    ]


def _is_address(value: Any, *, port_may_be_none: bool) -> bool:
    """[host, port] with an integer port (a server on a unix socket: [path, None])."""
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str):
        return False
    port = value[1]
    return (port is None and port_may_be_none) or (
        isinstance(port, int) and not isinstance(port, bool)
    )


def judge(seen: list[ClientEvent], summary: dict[str, Any] | None) -> list[Judgement]:
    if summary is None:
        detail = f"no scope reported: client saw {seen!r}"
        return [Judgement(check.id, False, detail) for check in SCOPE_CHECKS]
    ours = _ours(summary["headers"])
    duplicates = [value for name, value in ours if name == "x-wsconform-dup"]
    client, server = summary["client"], summary["server"]
    addresses_ok = (
        summary["http_version"] == "1.1"
        and (client is None or _is_address(client, port_may_be_none=False))
        and (server is None or _is_address(server, port_may_be_none=True))
    )
    return [
        Judgement(
            "scope.path-decoded",
            summary["path"] == DECODED_PATH,
            f"sent {RAW_PATH!r}, path {summary['path']!r}",
        ),
        Judgement(
            "scope.raw-path-as-received",
            summary["raw_path"] in (None, RAW_PATH),
            f"sent {RAW_PATH!r}, raw_path {summary['raw_path']!r}",
        ),
        Judgement(
            "scope.query-string-as-received",
            summary["query_string"] == QUERY,
            f"sent {QUERY!r}, query_string {summary['query_string']!r}",
        ),
        Judgement(
            "scope.headers-duplicates-kept",
            duplicates == ["first", "second"],
            f"x-wsconform-dup sent twice (first, second); the app got {duplicates!r}",
        ),
        Judgement(
            "scope.headers-order-kept",
            [name for name, _ in ours]
            == ["x-wsconform-case", "x-wsconform-dup", "x-wsconform-other", "x-wsconform-dup"],
            f"the app got {ours!r}",
        ),
        Judgement(
            "scope.subprotocols-split",
            summary["subprotocols"] == OFFERED,
            f"offered 'first, second' and 'third'; subprotocols {summary['subprotocols']!r}",
        ),
        Judgement(
            "scope.scheme-not-empty",
            isinstance(summary["scheme"], str) and bool(summary["scheme"]),
            f"scheme {summary['scheme']!r}",
        ),
        Judgement(
            "scope.connection-facts",
            addresses_ok,
            f"http_version {summary['http_version']!r}, client {client!r}, server {server!r}",
        ),
    ]
