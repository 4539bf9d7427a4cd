"""What the app was handed on one websocket, as the witness sees it: the scope the server built,
every event the app's `receive` returned (and the app's closes among them, in order), every
exception the server's `send` raised for a message the app was allowed to send, and the path
parameters the app's router found. The generic checks compare it with what the client
sent (`conformance/families/generic/values.py`).

A connection is followed only when its handshake carries HANDED_HEADER, which the witness
takes out of the scope before the app sees it: the app gets exactly the client's request.
"""

from __future__ import annotations

from typing import Any

# The request header that names a connection to follow; never shown to the app.
HANDED_HEADER = "x-wsconform-handed"
_HANDED_HEADER_BYTES = HANDED_HEADER.encode()


def _text(value: Any) -> str:
    """Header and query bytes as text, byte for byte (HTTP/1.1 fields are ISO-8859-1)."""
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)


def without_mark(scope: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The scope without HANDED_HEADER, and the header's value (None: not followed)."""
    # Every websocket the witness serves passes here, the puppet's on the in-memory driver's
    # hot path: one pass, no copy, for a scope without the mark.
    headers = scope.get("headers") or ()
    marks = [value for name, value in headers if name.lower() == _HANDED_HEADER_BYTES]
    if not marks:
        return scope, None
    kept = [(name, value) for name, value in headers if name.lower() != _HANDED_HEADER_BYTES]
    return {**scope, "headers": kept}, _text(marks[0])


def _address(value: Any) -> list[Any] | None:
    """A scope's client or server, [host, port] (a port may be None: a unix socket)."""
    return None if value is None else [str(value[0]), value[1]]


def _event(message: Any) -> dict[str, Any]:
    """A received event as JSON: its type and the keys whose values the checks compare."""
    event: dict[str, Any] = {"type": message.get("type")}
    for key in ("text", "code", "reason"):
        if message.get(key) is not None:
            event[key] = message[key]
    if message.get("bytes") is not None:
        event["bytes"] = bytes(message["bytes"]).hex()
    return event


def _app_close(message: Any) -> dict[str, Any]:
    """The app's close as JSON: its code, and its reason where it is text (cut, but past the
    123 bytes a close frame carries: whether a server had to send it is still told)."""
    close: dict[str, Any] = {"type": "app:websocket.close", "code": message.get("code")}
    reason = message.get("reason")
    if isinstance(reason, str):
        close["reason"] = reason[:200]
    elif reason is not None:
        close["reason_type"] = type(reason).__name__
    return close


def handler_name(endpoint: Any) -> str | None:
    """A route's handler as `module.qualname`: the same name on both sides of a process."""
    if endpoint is None:
        return None
    return f"{getattr(endpoint, '__module__', '')}.{getattr(endpoint, '__qualname__', '')}"


class Handed:
    """One followed websocket. The request's values are copied when the app is called: a
    router may rewrite `path` in the scope it was given (Starlette before 0.33 did for a Mount),
    which is not what the server handed over. The path parameters are read from that same
    scope once routing has filled them, at the app's first receive or send."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.request: dict[str, Any] = {
            "path": scope.get("path"),
            "query_string": _text(scope.get("query_string", b"")),
            "headers": [[_text(name), _text(value)] for name, value in scope.get("headers", [])],
            "subprotocols": [str(offer) for offer in scope.get("subprotocols") or []],
            "client": _address(scope.get("client")),
            "server": _address(scope.get("server")),
            # What the server claims of itself: the checks of newer features are graded by it.
            "spec_version": (scope.get("asgi") or {}).get("spec_version"),
            "extensions": sorted(scope.get("extensions") or {}),
        }
        self.timeline: list[dict[str, Any]] = []
        self.path_params: dict[str, str] | None = None
        self.handler: str | None = None

    def _routed(self) -> None:
        params = self.scope.get("path_params")
        if self.path_params is None and isinstance(params, dict):
            self.path_params = {str(name): str(value) for name, value in params.items()}
            self.handler = handler_name(self.scope.get("endpoint"))

    def watch(self, receive: Any, send: Any) -> tuple[Any, Any]:
        async def handed_receive() -> Any:
            self._routed()
            message = await receive()
            self.timeline.append(_event(message))
            return message

        async def handed_send(message: Any) -> None:
            self._routed()
            if message.get("type") == "websocket.close":
                self.timeline.append(_app_close(message))
            await send(message)

        return handed_receive, handed_send

    def refused(self, message: Any, error: BaseException) -> None:
        """The server's send raised for a message the app was allowed to send (the witness's
        WebSocketEnds tells which those are)."""
        kind = type(error)
        self.timeline.append(
            {
                "type": "send-refused",
                "message": message.get("type"),
                "error": f"{kind.__module__}.{kind.__qualname__}: {str(error)[:200]}",
                "oserror": isinstance(error, OSError),
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.request,
            "timeline": self.timeline,
            "path_params": self.path_params,
            "handler": self.handler,
        }
