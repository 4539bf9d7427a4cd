"""Deliberately broken targets: for every check, a server, framework or app that gets exactly
that requirement wrong, as real releases have. `tests/test_checks_catch_breakage.py` runs each
check's directed scenarios against its breakage and asserts the suite reports the check failed.

Breakages come in three kinds, all served by the in-memory driver:
- a broken *server*: an `InMemoryConnection` subclass that mishandles one ASGI rule;
- a broken *middleware* between server and app that alters one kind of message;
- a broken *framework*: a `WebSocket` subclass or exception handler with one guard removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from wsconform.conformance.engine.vocabulary import Accepted, Closed, Denied
from wsconform.targets.puppet import PuppetRegistry, build_puppet_app
from wsconform.targets.servers.inmemory import InMemoryConnection, InMemoryTransport, Phase

# A rewrite returns the message to pass on, None to swallow it, or a list to send several.
MessageRewrite = Callable[[AsgiMessage], "AsgiMessage | list[AsgiMessage] | None"]


@dataclass(frozen=True)
class Breakage:
    check_id: str
    what: str
    build: Callable[[], InMemoryTransport]


# --- how each kind of breakage is served ------------------------------------------------------


def broken_server(connection_class: type[InMemoryConnection]) -> Callable[[], InMemoryTransport]:
    def build() -> InMemoryTransport:
        transport = InMemoryTransport(build_puppet_app())
        transport.connection_class = connection_class
        return transport

    return build


def broken_middleware(
    to_client: MessageRewrite = lambda m: m, to_app: MessageRewrite = lambda m: m
) -> Callable[[], InMemoryTransport]:
    """Rewrite (or, returning None, swallow) messages on their way to the client or the app."""

    def build() -> InMemoryTransport:
        registry = PuppetRegistry()
        app = build_puppet_app(registry)
        return InMemoryTransport(Rewriting(app, to_client, to_app), registry)

    return build


def broken_framework(
    websocket_class: type[WebSocket] = WebSocket, exception_handlers: dict[Any, Any] | None = None
) -> Callable[[], InMemoryTransport]:
    def build() -> InMemoryTransport:
        return InMemoryTransport(
            build_puppet_app(websocket_class=websocket_class, exception_handlers=exception_handlers)
        )

    return build


class Rewriting:
    """An ASGI middleware that rewrites (or, returning None, swallows) messages."""

    def __init__(self, app: ASGIApp, to_client: MessageRewrite, to_app: MessageRewrite) -> None:
        self.app, self.to_client, self.to_app = app, to_client, to_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def rewritten_receive() -> AsgiMessage:
            while True:
                message = self.to_app(await receive())
                if isinstance(message, dict):
                    return message

        async def rewritten_send(message: AsgiMessage) -> None:
            rewritten = self.to_client(message)
            if rewritten is None:
                return
            for each in rewritten if isinstance(rewritten, list) else [rewritten]:
                await send(each)

        await self.app(scope, rewritten_receive, rewritten_send)


def when(kind: str, change: MessageRewrite) -> MessageRewrite:
    return lambda message: change(message) if message["type"] == kind else message


def disconnect_code_replaced(reported: int, instead: int) -> MessageRewrite:
    def replace(message: AsgiMessage) -> AsgiMessage:
        return {**message, "code": instead} if message["code"] == reported else message

    return when("websocket.disconnect", replace)


# --- broken servers ---------------------------------------------------------------------------


class AnswersCloseBeforeAcceptWith200(InMemoryConnection):
    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.close":
            self._finish(Denied(status=200))
        else:
            super()._send_during_handshake(kind, message)


class AnswersCloseBeforeAcceptWhenTheAppEnds(InMemoryConnection):
    """Holds the 403 of a close before accept until the app returns (granian): late, not wrong."""

    refused = False

    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.close":
            self.refused = True
        else:
            super()._send_during_handshake(kind, message)

    def _app_ended(self, *, raised: bool) -> None:
        if self.refused and self._phase is Phase.HANDSHAKE:
            self._finish(Denied(status=403))
        else:
            super()._app_ended(raised=raised)


class NeverAnswersCloseBeforeAccept(AnswersCloseBeforeAcceptWhenTheAppEnds):
    """Leaves the handshake of a refused client hanging, even after the app has returned."""

    def _app_ended(self, *, raised: bool) -> None:
        if not self.refused:
            super()._app_ended(raised=raised)


class PutsAnyCloseCodeOnTheWire(InMemoryConnection):
    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.close":
            self._finish(
                Closed(code=int(message.get("code", 1000)), reason=message.get("reason") or "")
            )
        else:
            super()._send_while_open(kind, message)


class RaisesRuntimeErrorToGoneClient(InMemoryConnection):
    async def _send(self, message: AsgiMessage) -> None:
        if self._client_gone:
            raise RuntimeError("connection is closed")  # not an OSError: ASGI 2.4 says OSError
        await super()._send(message)


class AnswersTheClientsCloseWith1006(InMemoryConnection):
    """Answers a client's close frame with 1006, a code that only reports an abnormal closure
    (RFC 6455 7.4.1: MUST NOT be set in a close frame)."""

    async def close(self, code: int | None, reason: str = "") -> None:
        await super().close(code, reason)
        if not self.events.empty():
            self.events.get_nowait()
            self.events.put_nowait(Closed(code=1006, reason=reason))


class NeverAnswersTheClientsClose(InMemoryConnection):
    async def close(self, code: int | None, reason: str = "") -> None:
        if self._phase is not Phase.OPEN or self._client_gone:
            await super().close(code, reason)
            return
        self._leave(1005 if code is None else code, reason)
        self._phase = Phase.CLOSED  # no close frame back: the client hears nothing


class AnswersACrashBeforeAcceptWith200(InMemoryConnection):
    """Answers an app that crashed before accept with a 200, a success, not an error."""

    def _app_ended(self, *, raised: bool) -> None:
        if raised and self._phase is Phase.HANDSHAKE:
            self._finish(Denied(status=200))
        else:
            super()._app_ended(raised=raised)


class ForgetsAppThatEnds(InMemoryConnection):
    """Neither answers the handshake nor closes the connection when the app ends."""

    def _app_ended(self, *, raised: bool) -> None:
        return


class ClosesWith1000OnAppError(InMemoryConnection):
    """Closes the connection of an app that crashed after accept with 1000, a normal closure
    (the in-memory server itself closes 1011, and drops an app that returns without closing)."""

    def _app_ended(self, *, raised: bool) -> None:
        if raised and self._phase is Phase.OPEN and not self._client_gone:
            self._finish(Closed(code=1000))
        else:
            super()._app_ended(raised=raised)


class RefusesAfterAppError(InMemoryConnection):
    """Answers an app that crashed before accept with 403, as if the app had refused."""

    crashed = False

    def _app_ended(self, *, raised: bool) -> None:
        self.crashed = raised
        super()._app_ended(raised=raised)

    def _finish(self, event: Accepted | Denied | Closed) -> None:
        super()._finish(Denied(status=403) if self.crashed and isinstance(event, Denied) else event)


# --- broken frameworks ------------------------------------------------------------------------


class AssertsInsteadOfRaising(WebSocket):
    """Starlette 0.18: state errors were `assert`s, gone under `python -O`."""

    async def send(self, message: AsgiMessage) -> None:
        if self.application_state == WebSocketState.CONNECTING:
            assert message["type"] in {
                "websocket.accept",
                "websocket.close",
                "websocket.http.response.start",
            }
        await super().send(message)


class ReceivesWithoutStateCheck(WebSocket):
    async def receive_text(self) -> str:
        message = await self.receive()
        self._raise_on_disconnect(message)
        return str(message["text"])


class IgnoresSecondAccept(WebSocket):
    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        if self.application_state == WebSocketState.CONNECTED:
            return
        await super().accept(subprotocol, headers)


class IgnoresSendsAfterClose(WebSocket):
    async def send(self, message: AsgiMessage) -> None:
        if self.application_state == WebSocketState.DISCONNECTED:
            return
        await super().send(message)


class RaisesDisconnectForever(WebSocket):
    async def receive(self) -> AsgiMessage:
        if self.client_state == WebSocketState.DISCONNECTED:
            return {"type": "websocket.disconnect", "code": 1000}
        return await super().receive()


class DropsDisconnectReason(WebSocket):
    """Starlette 0.31.1: WebSocketDisconnect lost the client's reason."""

    def _raise_on_disconnect(self, message: AsgiMessage) -> None:
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"])


class ReportsGoneClientAsNormalClose(WebSocket):
    """A send to a gone client raises WebSocketDisconnect(1000): the app reads a normal close."""

    async def send(self, message: AsgiMessage) -> None:
        try:
            await super().send(message)
        except WebSocketDisconnect:
            raise WebSocketDisconnect(code=1000) from None


class ParsesNumbersAsIntegers(WebSocket):
    async def receive_json(self, mode: str = "text") -> Any:
        return json.loads(await self.receive_text(), parse_float=lambda text: int(float(text)))

    async def send_json(self, data: Any, mode: str = "text") -> None:
        await self.send_text(json.dumps(data, default=str).replace(".5", ""))


async def _accept_then_close(websocket: WebSocket, exc: Exception) -> None:
    if websocket.application_state == WebSocketState.CONNECTING:
        await websocket.accept()
    await websocket.close(code=1000)


def _websocket_exception_handlers() -> dict[Any, Any]:
    from starlette.exceptions import WebSocketException

    return {WebSocketException: _accept_then_close}


# --- the catalogue of breakages ----------------------------------------------------------------

BREAKAGES: tuple[Breakage, ...] = (
    Breakage(
        "handshake.accept-completes",
        "swallows websocket.accept",
        broken_middleware(to_client=when("websocket.accept", lambda m: None)),
    ),
    Breakage(
        "handshake.subprotocol-negotiated",
        "drops the chosen subprotocol",
        broken_middleware(to_client=when("websocket.accept", lambda m: {**m, "subprotocol": None})),
    ),
    Breakage(
        "handshake.accept-headers",
        "drops accept headers (hypercorn 0.12)",
        broken_middleware(to_client=when("websocket.accept", lambda m: {**m, "headers": []})),
    ),
    Breakage(
        "handshake.close-before-accept-403",
        "answers 200 instead of 403",
        broken_server(AnswersCloseBeforeAcceptWith200),
    ),
    Breakage(
        "handshake.denial-response",
        "loses the denial body",
        broken_middleware(
            to_client=when("websocket.http.response.body", lambda m: {**m, "body": b""})
        ),
    ),
    Breakage(
        "order.send-before-accept",
        "asserts instead of raising RuntimeError",
        broken_framework(AssertsInsteadOfRaising),
    ),
    Breakage(
        "order.receive-before-accept",
        "receive_text without a state check",
        broken_framework(ReceivesWithoutStateCheck),
    ),
    Breakage(
        "order.duplicate-accept",
        "silently ignores a second accept",
        broken_framework(IgnoresSecondAccept),
    ),
    Breakage(
        "order.duplicate-close",
        "silently ignores a second close",
        broken_framework(IgnoresSendsAfterClose),
    ),
    Breakage(
        "order.send-after-close",
        "silently drops sends after close",
        broken_framework(IgnoresSendsAfterClose),
    ),
    Breakage(
        "order.receive-after-app-close",
        "receive_text without a state check",
        broken_framework(ReceivesWithoutStateCheck),
    ),
    Breakage(
        "session.no-unexpected-event",
        "greets every client with an extra frame",
        broken_middleware(
            to_client=when(
                "websocket.accept", lambda m: [m, {"type": "websocket.send", "text": "unsolicited"}]
            )
        ),
    ),
    Breakage(
        "close.code-delivered",
        "closes with 1000 whatever the app's code",
        broken_middleware(to_client=when("websocket.close", lambda m: {**m, "code": 1000})),
    ),
    Breakage(
        "close.reason-delivered",
        "drops the close reason (daphne)",
        broken_middleware(to_client=when("websocket.close", lambda m: {**m, "reason": ""})),
    ),
    Breakage(
        "close.wire-code-valid",
        "answers the client's close frame with 1006 on the wire",
        broken_server(AnswersTheClientsCloseWith1006),
    ),
    Breakage(
        "close.invalid-app-code-refused",
        "puts any close code the app asks for on the wire",
        broken_server(PutsAnyCloseCodeOnTheWire),
    ),
    Breakage(
        "close.server-answers-client-close",
        "never answers the client's close frame",
        broken_server(NeverAnswersTheClientsClose),
    ),
    Breakage(
        "order.send-after-denial",
        "silently drops sends after a denial response",
        broken_framework(IgnoresSendsAfterClose),
    ),
    Breakage(
        "close.client-code-reaches-app",
        "reports every client close as 1000",
        broken_middleware(to_app=when("websocket.disconnect", lambda m: {**m, "code": 1000})),
    ),
    Breakage(
        "close.client-reason-reaches-app",
        "drops the reason (Starlette 0.31.1)",
        broken_framework(DropsDisconnectReason),
    ),
    Breakage(
        "close.client-no-code-gives-1005",
        "reports a close without code as 1000",
        broken_middleware(to_app=disconnect_code_replaced(1005, 1000)),
    ),
    Breakage(
        "disconnect.receive-after-client-close",
        "raises WebSocketDisconnect forever",
        broken_framework(RaisesDisconnectForever),
    ),
    Breakage(
        "disconnect.drop-reaches-app",
        "swallows the disconnect of a dropped client (uvicorn 0.19 wsproto)",
        broken_middleware(
            to_app=when("websocket.disconnect", lambda m: None if m["code"] == 1006 else m)
        ),
    ),
    Breakage(
        "disconnect.drop-code-1006",
        "reports a drop as 1005",
        broken_middleware(to_app=disconnect_code_replaced(1006, 1005)),
    ),
    Breakage(
        "disconnect.send-after-client-gone",
        "raises RuntimeError, not OSError",
        broken_server(RaisesRuntimeErrorToGoneClient),
    ),
    Breakage(
        "disconnect.send-after-client-gone-code",
        "a send to a gone client raises WebSocketDisconnect(1000)",
        broken_framework(ReportsGoneClientAsNormalClose),
    ),
    Breakage(
        "app-error.exception-after-accept-closes",
        "keeps the connection of a crashed app open",
        broken_server(ForgetsAppThatEnds),
    ),
    Breakage(
        "app-error.exception-after-accept-1011",
        "closes with 1000 when the app crashed",
        broken_server(ClosesWith1000OnAppError),
    ),
    Breakage(
        "app-error.crash-not-normal-closure",
        "closes with 1000 when the app crashed",
        broken_server(ClosesWith1000OnAppError),
    ),
    Breakage(
        "app-error.exception-before-accept-no-upgrade",
        "leaves the handshake hanging",
        broken_server(ForgetsAppThatEnds),
    ),
    Breakage(
        "app-error.exception-before-accept-http-error",
        "answers 200 when the app crashed before accept",
        broken_server(AnswersACrashBeforeAcceptWith200),
    ),
    Breakage(
        "app-error.exception-before-accept-5xx",
        "answers 403 when the app crashed before accept",
        broken_server(RefusesAfterAppError),
    ),
    Breakage(
        "app-error.websocket-exception-before-accept",
        "the handler accepts before closing",
        broken_framework(exception_handlers=_websocket_exception_handlers()),
    ),
    Breakage(
        "app-error.websocket-exception-after-accept",
        "the handler closes with 1000 and no reason",
        broken_framework(exception_handlers=_websocket_exception_handlers()),
    ),
    Breakage(
        "app-return.after-accept-closes",
        "keeps the connection of a finished app open",
        broken_server(ForgetsAppThatEnds),
    ),
    Breakage(
        "app-return.before-accept-denies",
        "leaves the handshake hanging (TestClient, daphne)",
        broken_server(ForgetsAppThatEnds),
    ),
    Breakage(
        "data.text-exact",
        "strips whitespace from text messages",
        broken_middleware(
            to_client=when(
                "websocket.send",
                lambda m: {**m, "text": m["text"].strip()} if m.get("text") is not None else m,
            ),
            to_app=when(
                "websocket.receive",
                lambda m: {**m, "text": m["text"].strip()} if m.get("text") is not None else m,
            ),
        ),
    ),
    Breakage(
        "data.bytes-exact",
        "truncates binary messages to 64 KiB",
        broken_middleware(
            to_client=when(
                "websocket.send",
                lambda m: {**m, "bytes": m["bytes"][:65535]} if m.get("bytes") is not None else m,
            )
        ),
    ),
    Breakage(
        "data.json-exact",
        "parses JSON numbers as integers",
        broken_framework(ParsesNumbersAsIntegers),
    ),
)
