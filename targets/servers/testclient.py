"""`testclient`: Starlette's TestClient, the transport most test suites use.

TestClient has no sockets and no HTTP statuses: a close before accept surfaces as
`WebSocketDisconnect`, an app exception is re-raised in the client, and an app that returns
without answering leaves `receive()` blocked forever. Every blocking TestClient call therefore
runs in a worker thread that the test only waits on with a bound; a call still blocked when the
connection is released is unblocked by stopping the session's portal.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import threading
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocketDisconnect
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    ClientRaised,
    Closed,
    Denied,
    Headers,
    Message,
    NoEvent,
    Visibility,
    decode_headers,
    subprotocols_offered,
)
from wsconform.targets.servers.base import (
    EXPECT_BOUND_S,
    ClientConnection,
    HttpReply,
    Transport,
    TransportSpec,
    control_for,
    wall_clock_wait,
)

if TYPE_CHECKING:
    from starlette.testclient import TestClient


def run_bounded(action: Callable[[], object], bound: float) -> bool:
    """Run `action` in a daemon thread; True if it finished within `bound`. A TestClient call
    that never returns must not take the test (or interpreter shutdown) with it."""
    finished = threading.Event()

    def target() -> None:
        try:
            action()
        except BaseException:
            pass
        finally:
            finished.set()

    threading.Thread(target=target, name="testclient-call", daemon=True).start()
    return finished.wait(bound)


def _event_for_handshake_error(exc: BaseException) -> ClientEvent:
    # Starlette >= 0.37 reports a denial response as WebSocketDenialResponse (an httpx Response).
    if type(exc).__name__ == "WebSocketDenialResponse":
        headers = tuple(exc.headers.items())  # type: ignore[attr-defined]
        return Denied(exc.status_code, exc.content, headers)  # type: ignore[attr-defined]
    if isinstance(exc, WebSocketDisconnect):
        # TestClient's signal for a close before accept: the app's code, where a server says 403.
        # Starlette < 0.18's WebSocketDisconnect has no reason.
        reason = getattr(exc, "reason", None) or ""
        return Closed(code=exc.code, reason=reason, close_frame_seen=False)
    return ClientRaised(type(exc).__name__, str(exc))


def _header_values(client: TestClient, headers: Headers) -> Any:
    if any(klass.__module__.startswith("requests") for klass in type(client).__mro__):
        # Starlette < 0.21's TestClient is a requests.Session and encodes str values itself
        # (a dict: that session keeps one value per name).
        return dict(headers)
    # The client's own Headers class keeps order and duplicates (TestClient needs a mapping;
    # another httpx's Headers would be re-read through its str items, as ASCII). Latin-1
    # bytes, because a non-ASCII str would be refused (RFC 9110 allows obs-text).
    headers_class = type(client.headers)
    return headers_class([(name.encode(), value.encode("latin-1")) for name, value in headers])


class TestClientConnection(ClientConnection):
    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self,
        client: TestClient,
        path: str,
        headers: Headers,
        subprotocols: Sequence[str],
        reset_client: Callable[[], None],
    ) -> None:
        super().__init__(wall_clock_wait)
        self._reset_client = reset_client
        self._loop = asyncio.get_running_loop()
        self._entered = False
        self._gone = False
        # Set once the app has returned or raised, after every event it caused was reported.
        self._app_ended = asyncio.Event()
        self._worker: threading.Thread | None = None
        # TestClient takes offers only as a list (it writes the header itself): offers in
        # Sec-WebSocket-Protocol lines of `headers` join that list, in order.
        offers = [*subprotocols, *subprotocols_offered(headers)]
        others = tuple(
            (name, value) for name, value in headers if name.lower() != "sec-websocket-protocol"
        )
        try:
            self._session = client.websocket_connect(
                path,
                subprotocols=[offer for offer in offers if offer] or None,
                headers=_header_values(client, others),
            )
        except Exception as exc:
            # The client library refused to send the request (requests, under Starlette < 0.21,
            # rejects header values with leading whitespace): nothing reached the app.
            self.events.put_nowait(ClientRaised(type(exc).__name__, str(exc)))
            return
        self._worker = threading.Thread(
            target=self._serve_client_side, name="testclient-ws", daemon=True
        )
        self._worker.start()

    def _report(self, event: ClientEvent) -> None:
        self._loop.call_soon_threadsafe(self.events.put_nowait, event)

    def _serve_client_side(self) -> None:
        """Worker thread: the handshake, then every message until the session ends."""
        try:
            self._session.__enter__()
        except BaseException as exc:
            self._report(_event_for_handshake_error(exc))
            return
        self._entered = True
        # Starlette < 0.18's test session keeps no accept headers (its accept() sent none).
        headers = getattr(self._session, "extra_headers", None)
        self._report(Accepted(self._session.accepted_subprotocol, decode_headers(headers)))
        while True:
            try:
                message = self._session.receive()
                if message["type"] == APP_RETURNED:
                    self._loop.call_soon_threadsafe(self._app_ended.set)
                    return
                event = _event_for(message)
            except BaseException as exc:  # the app's exception, or a message no client can read
                if not self._gone:
                    self._report(ClientRaised(type(exc).__name__, str(exc)))
                self._loop.call_soon_threadsafe(self._app_ended.set)
                return
            if event is not None:
                self._report(event)
            if isinstance(event, Closed):
                return

    async def next_event(self, bound: float = EXPECT_BOUND_S) -> ClientEvent:
        """As any connection's, except that once the app has ended nothing more can come:
        the silence is certain at once instead of after `bound` (the observation is the same,
        a NoEvent for `bound`; only the wait is saved, on every connection the client ends)."""
        if not self.events.empty():
            return self.events.get_nowait()
        getter = asyncio.ensure_future(self.events.get())
        ended = asyncio.ensure_future(self._app_ended.wait())
        await asyncio.wait({getter, ended}, timeout=bound, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ended
        if getter.done():
            return getter.result()
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await getter
        # The app's end is reported after its last event (one thread, one loop queue, in order).
        return self.events.get_nowait() if not self.events.empty() else NoEvent(after_s=bound)

    def _send(self, message: dict[str, Any]) -> None:
        if self._entered and not self._gone:
            self._session.send(message)

    async def send_text(self, data: str) -> None:
        self._send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        self._send({"type": "websocket.receive", "bytes": data})

    async def close(self, code: int | None, reason: str = "") -> None:
        # No frames here: a close without a code is what a server reports for one (ASGI: 1005).
        self._send(
            {
                "type": "websocket.disconnect",
                "code": 1005 if code is None else code,
                "reason": reason,
            }
        )
        self._gone = True

    async def drop(self) -> None:
        self._send({"type": "websocket.disconnect", "code": 1006, "reason": ""})
        self._gone = True

    def _leave_session(self) -> None:
        # Re-raises what the app raised; the witness around the app has already reported it.
        self._session.__exit__(None, None, None)

    async def release(self) -> None:
        self._gone = True
        if self._entered and await asyncio.to_thread(
            run_bounded, self._leave_session, EXPECT_BOUND_S
        ):
            return
        if self._worker is not None and self._worker.is_alive():  # blocked for good
            await asyncio.to_thread(self._reset_client)


# Sent by `_announcing_the_end` after the app's call returns: TestClient has no connection to
# end, so without it a client cannot tell an app that returned from one still thinking.
APP_RETURNED = "wsconform.testclient.app-returned"


def _announcing_the_end(app: Any) -> Any:
    """`app`, followed on each accepted websocket by an APP_RETURNED message of ours once it
    returns, queued behind everything it sent (TestClient hands the client every message in
    order). Not before the accept: TestClient's handshake would take any message for one."""

    async def announced(scope: Any, receive: Any, send: Any) -> None:
        accepted = False

        async def watched_send(message: MutableMapping[str, Any]) -> None:
            nonlocal accepted
            accepted = accepted or message["type"] == "websocket.accept"
            await send(message)

        await app(scope, receive, watched_send)
        if accepted:
            await send({"type": APP_RETURNED})

    return announced


def _event_for(message: MutableMapping[str, Any]) -> ClientEvent | None:
    """What a client makes of a message the app sent (a KeyError for one with no data)."""
    if message["type"] == "websocket.send":
        data = message.get("bytes")
        return Message(data if data is not None else message["text"])
    if message["type"] == "websocket.close":
        return Closed(int(message.get("code") or 1000), message.get("reason") or "")
    return None


class TestClientTransport(Transport):
    __test__ = False
    name = "testclient"
    # No sockets: what a real client learns from the HTTP status or from frames is not here.
    visibility = Visibility(http_status=False, close_frames=False)

    def __init__(self, app: str | Any) -> None:
        """`app`: an import string (loaded fresh) or an app object."""
        super().__init__()
        self._app = self.witnessed(app)
        self.client = self._open_client()
        self.control = control_for(self._app.app, wall_clock_wait)

    def _open_client(self) -> TestClient:
        # Imported here: starlette.testclient needs an HTTP client package (httpx2, httpx or,
        # before Starlette 0.21, requests) that only this transport uses.
        from starlette.testclient import TestClient

        # Server exceptions reach the test as what the app did, not as a TestClient crash.
        client = TestClient(_announcing_the_end(self._app), raise_server_exceptions=False)
        # One portal (event loop thread) for every connection, as `with TestClient(app)` gives:
        # the members of a chat must share the loop their manager broadcasts on.
        client.__enter__()
        return client

    def reset(self) -> None:
        """A session blocked inside TestClient cannot be cancelled alone: stop the whole portal
        (which cancels what it runs) and carry on with a fresh client."""
        stuck, self.client = self.client, self._open_client()
        portal = getattr(stuck, "portal", None)
        if portal is not None:
            run_bounded(lambda: portal.call(portal.stop, True), EXPECT_BOUND_S)
        run_bounded(lambda: stuck.__exit__(None, None, None), EXPECT_BOUND_S)

    def close(self) -> None:
        run_bounded(lambda: self.client.__exit__(None, None, None), EXPECT_BOUND_S)

    async def connect(
        self, path: str, headers: Headers = (), subprotocols: Sequence[str] = ()
    ) -> ClientConnection:
        return TestClientConnection(self.client, path, headers, subprotocols, self.reset)

    async def request(
        self, method: str, path: str, *, data: dict[str, str] | None = None
    ) -> HttpReply:
        response = await asyncio.to_thread(self.client.request, method, path, data=data)
        return HttpReply(response.status_code, response.content)


@contextlib.contextmanager
def serve(import_string: str) -> Iterator[Transport]:
    transport = TestClientTransport(import_string)
    try:
        yield transport
    finally:
        transport.close()


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    """Never called: building a TestClient is enough to learn whether it works here."""


def _missing_http_client() -> str | None:
    """The HTTP client package this Starlette's TestClient is built on, when it is not installed.

    Read from the module's source, not by importing it: a Starlette that looks for httpx2 falls
    back to httpx with a deprecation warning at import, which a project's `filterwarnings =
    error` turns into a crash of the whole run (the pytest entry point runs under the project's
    settings). wsconform itself requires neither httpx2 nor requests (pyproject.toml: they
    would not install beside older pins); a project that uses the TestClient has its own."""
    spec = importlib.util.find_spec("starlette.testclient")
    if spec is None or spec.origin is None:
        return None
    source = Path(spec.origin).read_text(encoding="utf-8")
    for package in ("httpx2", "requests"):
        if f"import {package}" in source and importlib.util.find_spec(package) is None:
            return package
    return None


def unusable_reason() -> str | None:
    """Why Starlette's TestClient cannot run with the installed packages, or None."""
    missing = _missing_http_client()
    if missing is not None:
        return f"not usable here: install {missing} (this Starlette's TestClient is built on it)"
    try:
        from starlette.testclient import TestClient
    except ImportError as exc:
        return f"starlette.testclient cannot be imported: {exc}"
    try:
        TestClient(_no_app)
    except TypeError as exc:
        # Starlette 0.21 to 0.36 pass `app=` to httpx.Client, which httpx 0.28 removed.
        return f"this Starlette's TestClient does not work with this httpx (pin httpx<0.28): {exc}"
    return None


# Starlette's TestClient is the framework's own, on httpx (httpx2 from Starlette 1.10) and anyio.
TRANSPORTS = (
    TransportSpec("testclient", unusable_reason, serve, ("starlette", "httpx", "httpx2", "anyio")),
)
