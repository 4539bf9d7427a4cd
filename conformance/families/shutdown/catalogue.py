"""The shutdown family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`)."""

from __future__ import annotations

from wsconform.conformance.engine.checks import WWW, Check, Grade, Layer

# --- a server stopped with connections open (conformance/families/shutdown/probes.py)
# --------------------------

SHUTDOWN_CHECKS: tuple[Check, ...] = (
    Check(
        "shutdown.handshake-answered",
        Grade.POLICY,
        "a handshake still unanswered at shutdown gets an HTTP answer",
        "Suite policy: a server stopping while an app has not yet answered a handshake answers "
        "it with an HTTP status (503, say) instead of cutting the connection, so the client can "
        "tell a stopping server from a network failure.",
        "policy; RFC 9110 15.6.4 (503: the server is temporarily unable to handle the request)",
        Layer.SERVER,
    ),
    Check(
        "shutdown.open-connection-gets-close-frame",
        Grade.POLICY,
        "an open connection at shutdown gets a close frame, not a bare drop",
        "Suite policy: a graceful stop closes every open websocket with the closing handshake; "
        "a TCP drop is what the client of a crashed server sees.",
        "policy; RFC 6455 7.1.2 (the closing handshake is how an endpoint closes)",
        Layer.SERVER,
    ),
    Check(
        "shutdown.close-code-going-away",
        Grade.INFO,
        "the close frame at shutdown says going away (1001) or restarting (1012)",
        "The code of the close frame a stopping server sends is 1001 or 1012.",
        "RFC 6455 7.4.1: 1001 means an endpoint is going away, such as a server going down; "
        "IANA WebSocket close code registry: 1012 service restart (definitions, no keyword)",
        Layer.SERVER,
    ),
    Check(
        "shutdown.app-hears-the-end",
        Grade.SHOULD,
        "an app blocked in receive at shutdown is told (a disconnect) or cancelled",
        "When the server closes the connection, the app waiting in receive gets "
        "websocket.disconnect, or is cancelled; it is not left waiting on a dead connection.",
        f"{WWW}, 'WebSocket': if the application dies the socket should be closed, and vice-versa",
        Layer.SERVER,
    ),
    Check(
        "shutdown.ends-within-bound",
        Grade.POLICY,
        "a graceful stop with connections open ends within 5 s",
        "Suite policy: the server's own graceful stop finishes within 5 s with connections "
        "open in every state, one of them an app busy elsewhere than receive (as an app "
        "waiting on a queue is); a stop that waits for such apps to give up leaves the "
        "operator waiting. Every server runs with the same graceful-shutdown timeout wherever "
        "it has the setting (1 s, servers.base.GRACEFUL_TIMEOUT_S), so the verdict is the "
        "server's, not the suite's configuration of it.",
        "policy; the bound is the suite's (shutdown.GRACEFUL_STOP_BOUND_S)",
        Layer.SERVER,
    ),
)

# What the registry collects from this family.
CHECKS = SHUTDOWN_CHECKS
