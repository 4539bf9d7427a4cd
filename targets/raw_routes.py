"""Raw ASGI endpoints served beside the puppet, for checks where no framework may stand between
the server and what is judged, so that a verdict on them is the server's:

- `/scope-echo/...` tells the client what the server put in its websocket scope: it accepts,
  sends one text message (the JSON of `scope_summary`) and closes 1000;
- `/wire-echo` accepts and sends back every message as it came (text as text, bytes as bytes),
  until the client leaves: the far end of the wire checks (`conformance/families/wire/frames.py`);
- `/refuse/close` refuses the handshake with a close before accept (HTTP 403), `/refuse/deny`
  with a denial response where the server offers the extension for it, and returns: what the
  server then does with the connection is the upgrade probes' (`wire/handshakes.py`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Receive, Scope, Send
from wsconform.conformance.engine.checks import DENIAL_EXTENSION

SCOPE_ECHO_ROUTE = "/scope-echo"
WIRE_ECHO_ROUTE = "/wire-echo"
REFUSAL_ROUTE = "/refuse"
# A header of the refusal route's denial response: only the app's denial carries it.
DENIAL_MARK = "x-wsconform-denial"


def _text(value: Any) -> Any:
    """Bytes as Latin-1 text (every byte maps to one character, so nothing is lost)."""
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else value


def scope_summary(scope: Scope) -> dict[str, Any]:
    """The connection scope's keys a client can influence or check, JSON-ready."""
    return {
        "path": scope.get("path"),
        "raw_path": _text(scope.get("raw_path")),
        "query_string": _text(scope.get("query_string", b"")),
        "root_path": scope.get("root_path", ""),
        "headers": [[_text(name), _text(value)] for name, value in scope.get("headers", [])],
        "subprotocols": list(scope.get("subprotocols") or []),
        "scheme": scope.get("scheme", "ws"),
        "http_version": scope.get("http_version", "1.1"),
        "client": list(scope["client"]) if scope.get("client") else None,
        "server": list(scope["server"]) if scope.get("server") else None,
    }


class ScopeEcho:
    """The ASGI app of the route (a class, so Starlette passes it the raw scope)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps(scope_summary(scope))})
        await send({"type": "websocket.close", "code": 1000})


class WireEcho:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return  # websocket.disconnect: the client or the server ended it
            if message.get("bytes") is not None:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
            else:
                await send({"type": "websocket.send", "text": message.get("text") or ""})


class Refusal:
    """Refuses every handshake, by `how` in its path: a close before accept, or a denial
    response (where the server offers none, a close)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        deny = scope["path"].endswith("/deny") and DENIAL_EXTENSION in scope.get("extensions", {})
        if not deny:
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = [
            (b"content-type", b"text/plain"),
            (b"content-length", b"7"),
            (DENIAL_MARK.encode(), b"1"),  # tells a denial from a 403 on the client's side
        ]
        await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": b"refused"})
