"""The proxy family's entries in the checks catalogue (assembled by
`wsconform.conformance.checks`).

A pass-through check plays one program twice on the same app: through the proxy and around it
(the server alone), and judges only what differs, so a server's own divergence (already judged by
the other families on both transports) is never counted again as the proxy's.
"""

from __future__ import annotations

from wsconform.conformance.engine.checks import (
    CLOSE_SEND,
    DISCONNECT_RECEIVE,
    RFC6455,
    Check,
    Grade,
    Layer,
)

# The nginx settings the checks' notes name (nginx's own 'WebSocket proxying' page and the
# ngx_http_proxy_module reference describe each).
UPGRADE_FIX = (
    "proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; "
    "proxy_set_header Connection $connection_upgrade (a map of $http_upgrade: 'upgrade', or "
    "'close' when empty)"
)
IDLE_FIX = (
    "a server ping interval below the proxy's read timeout (uvicorn --ws-ping-interval, 20 s "
    "by default, under nginx's proxy_read_timeout, 60 s by default), or a longer "
    "proxy_read_timeout"
)
NGINX_WEBSOCKET = "nginx docs, 'WebSocket proxying'"

PROXY_CHECKS: tuple[Check, ...] = (
    Check(
        "proxy.close-to-client-passes",
        Grade.POLICY,
        "the app's close code and reason reach the client through the proxy as without it",
        "Suite policy: a proxy tunnels the closing handshake: the client behind it sees the "
        "close frame (code and reason) a client of the server alone sees.",
        f"policy; {CLOSE_SEND} (the server closes with the code passed), RFC 6455 5.5.1 and "
        "7.1.5 (the close frame's code is the connection's close code)",
        Layer.SERVER,
    ),
    Check(
        "proxy.close-to-app-passes",
        Grade.POLICY,
        "the client's close code and reason reach the app through the proxy as without it",
        "Suite policy: a proxy tunnels the client's close frame: the app behind it receives the "
        "disconnect (code and reason) an app reached directly receives.",
        f"policy; {DISCONNECT_RECEIVE} (code: the close code the client sent)",
        Layer.SERVER,
    ),
    Check(
        "proxy.client-drop-reaches-app",
        Grade.POLICY,
        "a client's dropped connection reaches the app through the proxy as without it",
        "Suite policy: when the client's TCP connection ends without a close frame, the proxy "
        "ends its connection to the server, so the app blocked in receive gets the disconnect "
        "it gets without the proxy.",
        f"policy; {DISCONNECT_RECEIVE} (sent when the connection is lost)",
        Layer.SERVER,
    ),
    Check(
        "proxy.idle-cut-client-told",
        Grade.POLICY,
        "a connection the proxy cuts for idleness is closed to the client with a close frame",
        "Suite policy: a websocket idle past the proxy's read timeout is ended with a close "
        "frame (1001 going away, say), not a bare TCP close the client reads as 1006. Measured "
        f"with a 1 s timeout; what avoids the cut: {IDLE_FIX}.",
        f"policy; {NGINX_WEBSOCKET} (the proxy closes a connection idle past "
        f"proxy_read_timeout); {RFC6455} 7.1.2 (an endpoint closes with the closing handshake)",
        Layer.SERVER,
    ),
    Check(
        "proxy.idle-cut-app-told",
        Grade.POLICY,
        "a connection the proxy cuts for idleness reaches the app as a disconnect",
        "Suite policy: when the proxy ends an idle websocket it ends its connection to the "
        "server too, so the app blocked in receive gets websocket.disconnect instead of "
        f"waiting on a connection nobody holds. What avoids the cut: {IDLE_FIX}.",
        f"policy; {NGINX_WEBSOCKET}; {DISCONNECT_RECEIVE} (sent when the connection is lost)",
        Layer.SERVER,
    ),
    Check(
        "proxy.oversized-request-headers-answered",
        Grade.MUST,
        "a handshake with a header line over the proxy's buffer (9 KiB) gets a 4xx or a 101",
        "The proxy answers a handshake whose header is larger than it takes with a 4xx status "
        "(or passes it on and the 101 comes back); no silence, no dropped connection, no 5xx.",
        "RFC 9110 5.4: a server receiving a field larger than it wishes to process MUST "
        "respond with an appropriate 4xx status code",
        Layer.SERVER,
    ),
    Check(
        "proxy.large-accept-headers-pass",
        Grade.INFO,
        "a 101 whose headers the server alone sends (6 KiB of them) reaches the client",
        "The app's accept headers that reach a client of the server alone (one 6 KiB header) "
        "reach the client behind the proxy too; a proxy buffering the server's response head "
        "in less answers 502 instead (nginx: proxy_buffer_size, one memory page by default).",
        "ngx_http_proxy_module, proxy_buffer_size (the buffer for the first part of the "
        "response, its header); RFC 9110 5.4 (field limits are each recipient's own: no "
        "keyword binds the size)",
        Layer.SERVER,
    ),
    Check(
        "proxy.missing-upgrade-headers-http-error",
        Grade.POLICY,
        "a proxy config without the upgrade headers gives the client an HTTP error status",
        "Suite policy: with the classic misconfiguration (the proxy neither speaks HTTP/1.1 "
        "to the server nor forwards Upgrade and Connection) the handshake never reaches the "
        "app as a websocket; the client must then get a 4xx or 5xx it can report, not a 2xx "
        f"page, a hang or a dropped connection. The fix: {UPGRADE_FIX}.",
        f"policy; {RFC6455} 4.1 (a client that gets no 101 fails the connection) and 4.2.1 "
        "(Upgrade and Connection are required); RFC 9110 7.6.1 (Connection and Upgrade are "
        "hop-by-hop: a proxy forwards them only when told)",
        Layer.SERVER,
    ),
)

# What the registry collects from this family.
CHECKS = PROXY_CHECKS
