"""In-memory servers each with one flaw in how it treats raw ASGI messages: the breakages the
raw-ASGI checks (`conformance/families/raw_asgi/probes.py`) must catch. Each flaw is one a real
server has had or
could plausibly have; `tests/test_raw_checks.py` proves every check fails on its own."""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

from starlette.types import Message as AsgiMessage
from wsconform.conformance.engine.vocabulary import Accepted, Closed, Message, decode_headers
from wsconform.targets.servers.base import MAX_MESSAGE_BYTES
from wsconform.targets.servers.inmemory import InMemoryConnection, Phase


class CloseWithoutCodeIs1001(InMemoryConnection):
    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.close" and "code" not in message:
            message = {**message, "code": 1001}
        super()._send_while_open(kind, message)


class ReasonNoneSentAsText(InMemoryConnection):
    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.close" and "reason" in message and message["reason"] is None:
            message = {**message, "reason": "None"}
        super()._send_while_open(kind, message)


class PutsLongReasonOnTheWire(InMemoryConnection):
    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if kind != "websocket.close":
            super()._send_while_open(kind, message)
            return
        code, reason = message.get("code", 1000), message.get("reason") or ""
        self._end(code, reason, Closed(code=code, reason=reason))


class CutsLongReasonInsideACharacter(InMemoryConnection):
    """Not broken: a server that cuts an over-long reason at 123 bytes, wherever that falls
    (gunicorn's native worker does), sends a 125-byte close frame, which RFC 6455 5.5 allows."""

    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if kind != "websocket.close":
            super()._send_while_open(kind, message)
            return
        code, sent = message.get("code", 1000), (message.get("reason") or "").encode()[:123]
        reason = sent.decode("utf-8", errors="replace")
        self._end(code, reason, Closed(code=code, reason=reason, payload_bytes=2 + len(sent)))


class CutsReasonAtTheLimit(InMemoryConnection):
    """Its reason limit one byte short: a reason of exactly 123 bytes loses its last character
    (so does any reason counted in characters against a byte budget)."""

    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if kind != "websocket.close":
            super()._send_while_open(kind, message)
            return
        code, sent = message.get("code", 1000), (message.get("reason") or "").encode()[:122]
        reason = sent.decode("utf-8", errors="ignore")
        self._end(code, reason, Closed(code=code, reason=reason, payload_bytes=2 + len(sent)))


class ReadsTextKeyFirst(InMemoryConnection):
    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.send" and "text" in message:
            self.events.put_nowait(Message(message["text"]))
            return
        super()._send_while_open(kind, message)


class DiesOnEscapedSendError(InMemoryConnection):
    """A server whose serving loop dies with the OSError it raised when the app lets it escape:
    no later connection is answered. The state is the server's: one per app it serves."""

    dead: ClassVar[weakref.WeakSet[Any]] = weakref.WeakSet()

    async def _run(self) -> None:
        if self._app in self.dead:
            return  # nothing answers the handshake any more
        try:
            await self._app(self._scope, self._receive, self._send)
        except OSError:
            self.dead.add(self._app)
            raise
        except Exception:
            self._app_ended(raised=True)
        else:
            self._app_ended(raised=False)


# Every key of the websocket messages an app sends, in any ASGI version.
_KNOWN_KEYS = frozenset(
    {"type", "subprotocol", "headers", "text", "bytes", "code", "reason", "status", "body"}
)


class RefusesUnknownKeys(InMemoryConnection):
    """Validates every message against the keys it knows, and raises for any other."""

    async def _send(self, message: AsgiMessage) -> None:
        unknown = set(message) - _KNOWN_KEYS - {"more_body"}
        if unknown:
            raise ValueError(f"unexpected keys {sorted(unknown)} in {message['type']!r}")
        await super()._send(message)


class SendsEmptyTextForNoData(InMemoryConnection):
    def _send_while_open(self, kind: str, message: AsgiMessage) -> None:
        if (
            kind == "websocket.send"
            and message.get("text") is None
            and message.get("bytes") is None
        ):
            message = {**message, "text": ""}
        super()._send_while_open(kind, message)


class _AcceptsAsGiven(InMemoryConnection):
    def _accept_as_given(self, message: AsgiMessage) -> None:
        self._phase = Phase.OPEN
        headers = decode_headers(message.get("headers"))
        self.events.put_nowait(Accepted(message.get("subprotocol"), headers))


class ForwardsUnofferedSubprotocol(_AcceptsAsGiven):
    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        subprotocol = message.get("subprotocol")
        if kind == "websocket.accept" and subprotocol not in (
            None,
            "",
            *self._scope["subprotocols"],
        ):
            self._accept_as_given(message)
            return
        super()._send_during_handshake(kind, message)


class ForwardsEmptySubprotocol(_AcceptsAsGiven):
    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.accept" and message.get("subprotocol") == "":
            self._accept_as_given(message)
            return
        super()._send_during_handshake(kind, message)


class ForwardsProtocolHeader(_AcceptsAsGiven):
    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.accept" and message.get("headers"):
            headers = decode_headers(message.get("headers"))
            subprotocol = message.get("subprotocol")
            named = (("sec-websocket-protocol", subprotocol),) if subprotocol else ()
            self._phase = Phase.OPEN
            self.events.put_nowait(Accepted(subprotocol, named + headers))
            return
        super()._send_during_handshake(kind, message)


class RepeatsConnectBeforeAccept(InMemoryConnection):
    async def _receive(self) -> AsgiMessage:
        if self._phase is Phase.HANDSHAKE and self._to_app.empty():
            return {"type": "websocket.connect"}
        return await super()._receive()


class KeepsRefusedAppWaiting(InMemoryConnection):
    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        super()._send_during_handshake(kind, message)
        if kind == "websocket.close":
            self._disconnect = None  # the app's next receive waits for nothing


class ForgetsClientLeftDuringHandshake(InMemoryConnection):
    async def drop(self) -> None:
        if self._phase is Phase.HANDSHAKE:
            self._client_gone = True  # and the app is never told
            self._phase = Phase.CLOSED
            return
        await super().drop()


class WaitsAfterDisconnect(InMemoryConnection):
    async def _receive(self) -> AsgiMessage:
        if self._to_app.empty() and self._client_gone:
            # The client's disconnect was delivered once; nothing will come: the app waits.
            return await self._to_app.get()
        return await super()._receive()


class RuntimeErrorAfterClose(InMemoryConnection):
    async def _send(self, message: AsgiMessage) -> None:
        if self._phase is Phase.CLOSED:
            raise RuntimeError(f"Unexpected ASGI message {message['type']!r} after close")
        await super()._send(message)


class DropsDenialHeaders(InMemoryConnection):
    def _send_during_handshake(self, kind: str, message: AsgiMessage) -> None:
        if kind == "websocket.http.response.start":
            message = {**message, "headers": []}
        super()._send_during_handshake(kind, message)


class KeepsLastDenialChunk(InMemoryConnection):
    def _send_denial_body(self, kind: str, message: AsgiMessage) -> None:
        self._denial_body = b""
        super()._send_denial_body(kind, message)


class NoMessageLimit(InMemoryConnection):
    def _refuse_message(self, size: int) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "bytes": b"\x00" * size})


class RefusesAtTheLimit(InMemoryConnection):
    """Its limit enforced a byte early: a message of exactly the limit is refused."""

    def _over_limit(self, size: int) -> bool:
        return size >= MAX_MESSAGE_BYTES


class DropsOversizedMessage(InMemoryConnection):
    def _refuse_message(self, size: int) -> None:
        self._end(1009, "", Closed(code=1006, close_frame_seen=False))


class TellsAppOversizedIs1006(InMemoryConnection):
    def _refuse_message(self, size: int) -> None:
        self._end(1006, "", Closed(code=1009))


# check -> the server with exactly that flaw
CAUGHT_BY: dict[str, type[InMemoryConnection]] = {
    "raw.close-code-defaults-to-1000": CloseWithoutCodeIs1001,
    "raw.close-reason-none-is-empty": ReasonNoneSentAsText,
    "raw.close-long-reason-fits-a-frame": PutsLongReasonOnTheWire,
    "raw.close-reason-up-to-limit-kept": CutsReasonAtTheLimit,
    "raw.send-one-key-none": ReadsTextKeyFirst,
    "raw.send-no-data-refused": SendsEmptyTextForNoData,
    "raw.extra-keys-ignored": RefusesUnknownKeys,
    "raw.escaped-send-error-caught": DiesOnEscapedSendError,
    "raw.accept-unoffered-subprotocol-refused": ForwardsUnofferedSubprotocol,
    "raw.accept-empty-subprotocol-not-sent": ForwardsEmptySubprotocol,
    "raw.accept-protocol-header-not-doubled": ForwardsProtocolHeader,
    "raw.receive-before-accept-waits": RepeatsConnectBeforeAccept,
    "raw.receive-after-refusal-disconnects": KeepsRefusedAppWaiting,
    "raw.receive-after-client-left-disconnects": ForgetsClientLeftDuringHandshake,
    "raw.receive-after-disconnect-returns": WaitsAfterDisconnect,
    "raw.send-after-close-raises-oserror": RuntimeErrorAfterClose,
    "raw.oversized-message-not-delivered": NoMessageLimit,
    "raw.oversized-message-close-1009": DropsOversizedMessage,
    "raw.message-at-limit-delivered": RefusesAtTheLimit,
    "raw.oversized-message-app-hears-1009": TellsAppOversizedIs1006,
    "raw.denial-headers-delivered": DropsDenialHeaders,
    "raw.denial-chunks-joined": KeepsLastDenialChunk,
}


# --- servers that stop badly (conformance/families/shutdown/probes.py)
# -----------------------------------------


class DropsPendingHandshakeOnShutdown(InMemoryConnection):
    def server_shutdown(self) -> bool:
        if self._phase is Phase.HANDSHAKE:
            self._finish(Closed(code=1006, close_frame_seen=False))
            return True
        return super().server_shutdown()


class DropsOpenConnectionsOnShutdown(InMemoryConnection):
    def server_shutdown(self) -> bool:
        if self._phase is Phase.OPEN:
            self._leave(1006, "")
            self._finish(Closed(code=1006, close_frame_seen=False))
            return True
        return super().server_shutdown()


class Closes1000OnShutdown(InMemoryConnection):
    def server_shutdown(self) -> bool:
        if self._phase is Phase.OPEN:
            self._leave(1000, "")
            self._finish(Closed(code=1000))
            return True
        return super().server_shutdown()


class LeavesAppWaitingOnShutdown(InMemoryConnection):
    def server_shutdown(self) -> bool:
        if self._phase is Phase.OPEN:
            self._finish(Closed(code=1001))  # and the app is never told
            return True
        return super().server_shutdown()


class HangsAfterClosingConnections(InMemoryConnection):
    def server_shutdown(self) -> bool:
        super().server_shutdown()
        return False  # closed, but the stop never completes (a worker it waits on)


SHUTDOWN_CAUGHT_BY: dict[str, type[InMemoryConnection]] = {
    "shutdown.handshake-answered": DropsPendingHandshakeOnShutdown,
    "shutdown.open-connection-gets-close-frame": DropsOpenConnectionsOnShutdown,
    "shutdown.close-code-going-away": Closes1000OnShutdown,
    "shutdown.app-hears-the-end": LeavesAppWaitingOnShutdown,
    "shutdown.ends-within-bound": HangsAfterClosingConnections,
}
