"""The scope family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import SCOPE_SPEC, Check, Grade, Layer

# --- the websocket scope (conformance/families/scope/probes.py; the raw ASGI route
# targets/raw_routes.py) ------


def _scope_check(check_id: str, grade: Grade, title: str, requirement: str, source: str) -> Check:
    return Check(check_id, grade, title, requirement, source, Layer.SERVER)


SCOPE_CHECKS: tuple[Check, ...] = (
    _scope_check(
        "scope.path-decoded",
        Grade.INFO,
        "path has the request target's percent-encoded UTF-8 decoded",
        "path is the request target without its query, percent-encoded sequences and UTF-8 "
        "decoded into characters (%2F becomes '/').",
        f"{SCOPE_SPEC}, path (a definition, no keyword)",
    ),
    _scope_check(
        "scope.raw-path-as-received",
        Grade.INFO,
        "raw_path is the path's bytes as received, or absent",
        "raw_path, where given, is the path component exactly as the client sent it.",
        f"{SCOPE_SPEC}, raw_path (a definition; optional)",
    ),
    _scope_check(
        "scope.query-string-as-received",
        Grade.INFO,
        "query_string is the bytes after '?', undecoded",
        "query_string is the URL portion after '?' as bytes, not decoded.",
        f"{SCOPE_SPEC}, query_string (a definition, no keyword)",
    ),
    _scope_check(
        "scope.headers-duplicates-kept",
        Grade.MUST,
        "a header sent twice reaches the app twice",
        "Duplicate headers are kept in the scope as received, not merged into one.",
        f"{SCOPE_SPEC}, headers: duplicates 'must be preserved'",
    ),
    _scope_check(
        "scope.headers-order-kept",
        Grade.SHOULD,
        "headers reach the app in the order sent",
        "The headers keep the order of the request.",
        f"{SCOPE_SPEC}, headers: order 'should be preserved'",
    ),
    _scope_check(
        "scope.subprotocols-split",
        Grade.INFO,
        "subprotocols lists every offer, from every Sec-WebSocket-Protocol line",
        "subprotocols holds each subprotocol the client offered: 'a, b' is two offers, and "
        "several header lines are one list.",
        f"{SCOPE_SPEC}, subprotocols (a definition); RFC 6455 4.1 and 11.3.4 (several lines "
        "are one field)",
    ),
    _scope_check(
        "scope.scheme-not-empty",
        Grade.MUST,
        "scheme is not empty",
        "scheme may be missing (then 'ws'), but never empty.",
        f"{SCOPE_SPEC}, scheme: 'must not be empty'",
    ),
    _scope_check(
        "scope.connection-facts",
        Grade.INFO,
        "http_version, client and server have the spec's types",
        "http_version '1.1' for an HTTP/1.1 handshake; client [host, port] and server "
        "[host, port] with integer ports (or None).",
        f"{SCOPE_SPEC}, http_version, client, server (definitions)",
    ),
)

# What the registry collects from this family.
CHECKS = SCOPE_CHECKS
