"""What differs between the Starlette releases the suite runs on (0.17 onwards), in one place.

Each difference is detected from the installed API, never from a version number, and names the
release that brought it. The puppet turns a missing feature into `Unsupported` (graded
`unimplemented`); the reference app uses the stand-ins below so that it imports and refuses bad
credentials the same way on every release.
"""

from __future__ import annotations

import inspect
from typing import Any

import starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

__all__ = [
    "ACCEPT_TAKES_HEADERS",
    "CLIENT_WHEN_MISSING",
    "CLOSE_TAKES_REASON",
    "HAS_DENIAL_RESPONSE",
    "HAS_WEBSOCKET_EXCEPTION",
    "CloseOnWebSocketException",
    "WebSocketException",
    "handle_websocket_exceptions",
]

try:  # Starlette 0.21 added WebSocketException and the handler that turns it into a close.
    from starlette.exceptions import WebSocketException

    HAS_WEBSOCKET_EXCEPTION = True
except ImportError:  # pragma: no cover - exercised by the compat matrix
    HAS_WEBSOCKET_EXCEPTION = False

    class WebSocketException(Exception):  # type: ignore[no-redef]
        """Stand-in with Starlette 0.21's signature, closed by `CloseOnWebSocketException`."""

        def __init__(self, code: int, reason: str | None = None) -> None:
            super().__init__(code, reason)
            self.code = code
            self.reason = reason or ""


# Starlette 0.18 added `accept(headers=...)` and `close(reason=...)`.
ACCEPT_TAKES_HEADERS = "headers" in inspect.signature(WebSocket.accept).parameters
CLOSE_TAKES_REASON = "reason" in inspect.signature(WebSocket.close).parameters
# Starlette 0.37 added `send_denial_response` (the websocket.http.response ASGI extension).
HAS_DENIAL_RESPONSE = hasattr(WebSocket, "send_denial_response")
# What `websocket.client` is where the scope has no client: None since Starlette 0.19 (#1462),
# Address(None, None) before. From the release number, not from the installed code's behaviour,
# so that a regression is predicted against, not by, itself.
_RELEASE = tuple(int(part) for part in starlette.__version__.split(".")[:2])
CLIENT_WHEN_MISSING: list[None] | None = None if _RELEASE >= (0, 19) else [None, None]


class CloseOnWebSocketException:
    """For Starlette < 0.21 only: what its successors' exception middleware does with a
    WebSocketException (close with the exception's code and reason; before accept a server
    answers that close with HTTP 403). Sent as a raw ASGI message because those releases'
    `close()` may not take a reason."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except WebSocketException as exc:
            await send({"type": "websocket.close", "code": exc.code, "reason": exc.reason or ""})


def handle_websocket_exceptions(app: Any) -> None:
    """Make `raise WebSocketException(...)` close the websocket on every Starlette release."""
    if not HAS_WEBSOCKET_EXCEPTION:  # pragma: no cover - exercised by the compat matrix
        app.add_middleware(CloseOnWebSocketException)
