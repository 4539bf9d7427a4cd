"""A tiny asyncio TCP proxy on 127.0.0.1, honest by default, with one deliberate fault per mode:
the broken variants the proxy family's checks must catch (tests/test_proxy_checks.py).

It copies each direction's HTTP head, then (where a mode needs it) reads the websocket frames
that follow, so it can swallow close frames, strip the upgrade headers, cut idle connections
or refuse heads over a size, as a badly configured or badly written proxy would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

HEAD_END = b"\r\n\r\n"
CLOSE_OPCODE = 0x8
GOING_AWAY = struct.pack("!H", 1001)


@dataclass(frozen=True)
class Faults:
    """What the proxy does wrong; all off is an honest byte tunnel."""

    swallow_close_to_client: bool = False
    swallow_close_to_app: bool = False
    # The client left: the connection to the server is kept open (the app is never told).
    keep_upstream_after_client_drop: bool = False
    # A request head longer than this is met with a dropped connection, no answer.
    request_head_limit: int | None = None
    # A response head longer than this is answered 502 (a proxy's response buffer).
    response_head_limit: int | None = None
    # Upgrade and Connection removed from the request (`Connection: close` instead).
    strip_upgrade: bool = False
    # With no byte from the server for this long the connection is cut: "drop" both ends,
    # "client-only" (the server's connection kept), or "close-frames" (1001 to both, then end).
    idle_timeout_s: float | None = None
    idle_cut: str = "drop"


@dataclass
class TunnelProxy:
    upstream_port: int
    faults: Faults = field(default_factory=Faults)
    port: int = 0
    _server: asyncio.Server | None = None
    _held: list[asyncio.StreamWriter] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._held:
            writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            upstream_w = await self._tunnel(client_r, client_w)
        finally:
            self._tasks.discard(task)
            # Whatever happened, nothing the tunnel opened outlives it, but a held connection.
            client_w.transport.abort()
        if upstream_w is not None and upstream_w not in self._held:
            upstream_w.transport.abort()

    async def _tunnel(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> asyncio.StreamWriter | None:
        """Serve one connection; the connection to the server it opened, if it did."""
        faults = self.faults
        try:
            head = await client_r.readuntil(HEAD_END)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None  # over the reader's 64 KiB limit too
        if faults.request_head_limit is not None and len(head) > faults.request_head_limit:
            return None
        if faults.strip_upgrade:
            head = stripped_of_upgrade(head)
        upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        upstream_w.write(head)
        response = await upstream_r.readuntil(HEAD_END)
        if faults.response_head_limit is not None and len(response) > faults.response_head_limit:
            client_w.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            await client_w.drain()
            return upstream_w
        client_w.write(response)
        to_app = asyncio.create_task(
            self._pump(client_r, upstream_w, faults.swallow_close_to_app, masked=True)
        )
        to_client = asyncio.create_task(
            self._pump(upstream_r, client_w, faults.swallow_close_to_client, masked=False)
        )
        try:
            done, _ = await asyncio.wait({to_app, to_client}, return_when=asyncio.FIRST_COMPLETED)
            if to_client in done and to_client.result() == "idle":
                await self._cut_idle(client_w, upstream_w)
            elif to_app in done and faults.keep_upstream_after_client_drop:
                self._held.append(upstream_w)
        finally:
            for pump in (to_app, to_client):
                pump.cancel()
            await asyncio.gather(to_app, to_client, return_exceptions=True)
        return upstream_w

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        swallow_close: bool,
        *,
        masked: bool,
    ) -> str:
        """Copy until the reader ends ("ended") or, from the server, nothing comes for the idle
        timeout ("idle"); with `swallow_close`, frame by frame, close frames left out."""
        idle = self.faults.idle_timeout_s if not masked else None
        while True:
            try:
                if swallow_close:
                    chunk = await asyncio.wait_for(read_frame(reader), idle)
                    if chunk and chunk[0] & 0x0F == CLOSE_OPCODE:
                        continue
                else:
                    chunk = await asyncio.wait_for(reader.read(65536), idle)
            except TimeoutError:
                return "idle"
            except (asyncio.IncompleteReadError, ConnectionError):
                return "ended"
            if not chunk:
                return "ended"
            writer.write(chunk)
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    async def _cut_idle(
        self, client_w: asyncio.StreamWriter, upstream_w: asyncio.StreamWriter
    ) -> None:
        cut = self.faults.idle_cut
        if cut == "close-frames":
            client_w.write(bytes([0x80 | CLOSE_OPCODE, len(GOING_AWAY)]) + GOING_AWAY)
            mask = os.urandom(4)
            payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(GOING_AWAY))
            upstream_w.write(bytes([0x80 | CLOSE_OPCODE, 0x80 | len(GOING_AWAY)]) + mask + payload)
            for writer in (client_w, upstream_w):
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
        elif cut == "client-only":
            self._held.append(upstream_w)


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One whole websocket frame as it was on the wire (RFC 6455 5.2), or b"" at the end."""
    try:
        start = await reader.readexactly(2)
    except asyncio.IncompleteReadError as end:
        if not end.partial:
            return b""
        raise
    length = start[1] & 0x7F
    extended = b""
    if length == 126:
        extended = await reader.readexactly(2)
        length = struct.unpack("!H", extended)[0]
    elif length == 127:
        extended = await reader.readexactly(8)
        length = struct.unpack("!Q", extended)[0]
    mask = await reader.readexactly(4) if start[1] & 0x80 else b""
    return start + extended + mask + await reader.readexactly(length)


def stripped_of_upgrade(head: bytes) -> bytes:
    lines = head[: -len(HEAD_END)].split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith((b"upgrade:", b"connection:"))]
    return b"\r\n".join([*kept, b"Connection: close"]) + HEAD_END


# --- an app whose websocket path also answers a plain GET with a page --------------------------


async def chat_page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("the chat page")


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


# A misconfigured proxy turns the handshake into the plain GET: this app answers it 200, so the
# client gets a page instead of an error it could report.
page_at_websocket_path = Starlette(
    routes=[Route("/chat", chat_page), WebSocketRoute("/chat", chat)]
)
