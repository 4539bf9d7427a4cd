"""A websocket client on a raw socket that reports exactly what crossed the wire.

Client libraries hide the facts this suite grades: they refuse invalid close codes instead of
reporting them, turn a missing close frame into an exception, and drop the body of a denied
handshake. This client parses the HTTP upgrade with h11 and the frames itself (RFC 6455 section
5.2), and turns everything into `ClientEvent`s.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h11
from wsconform.conformance.engine.rfc6455 import is_valid_wire_close_code
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    Closed,
    Denied,
    Headers,
    Message,
    NoEvent,
    decode_headers,
)
from wsconform.targets import frames
from wsconform.targets.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
)
from wsconform.targets.servers.base import EXPECT_BOUND_S, ClientConnection, wall_clock_wait

# Reading the body of a denied handshake stops at this size: it is evidence, not a download.
MAX_DENIAL_BODY = 64 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where a raw-socket client reaches a server: 127.0.0.1:`port`, over TLS when `tls` is a
    client context (one trusting the suite's CA, targets/servers/tls.py)."""

    port: int
    tls: ssl.SSLContext | None = None
    host: str = "127.0.0.1"

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection, its TLS handshake done where there is TLS, within EXPECT_BOUND_S."""
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.tls), EXPECT_BOUND_S
        )

    def url(self, scheme: str, path: str = "") -> str:
        """`http` or `ws`, made `https`/`wss` where there is TLS."""
        return f"{scheme}{'s' if self.tls else ''}://{self.host}:{self.port}{path}"


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked frame (clients must mask, RFC 6455 5.3)."""
    return frames.encode(Frame(opcode, payload))


class FrameSource:
    """Bytes after the handshake: first what h11 had already buffered, then the socket."""

    def __init__(self, reader: asyncio.StreamReader, buffered: bytes) -> None:
        self._reader = reader
        self._buffered = buffered

    async def readexactly(self, count: int) -> bytes:
        taken, self._buffered = self._buffered[:count], self._buffered[count:]
        if len(taken) == count:
            return taken
        return taken + await self._reader.readexactly(count - len(taken))

    async def read_to_end(self) -> bytes:
        return await self._reader.read()


async def read_frame(reader: FrameSource) -> tuple[bool, int, bytes]:
    frame = await frames.read(reader)
    return frame.fin, frame.opcode, frame.payload


def parse_close_payload(payload: bytes) -> tuple[int | None, str]:
    """RFC 6455 7.1.5/7.1.6; None when the frame carries no status code."""
    if len(payload) < 2:
        return None, ""
    (code,) = struct.unpack("!H", payload[:2])
    return code, payload[2:].decode("utf-8", errors="replace")


def close_payload(code: int | None, reason: str) -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason.encode()


# A message longer than this is sent as its frame header first (see `_write`): a server's
# message limit is at least this, and the wire family's longest length boundary (65536) is not
# over it.
HEADER_FIRST_BYTES = 1 << 16
# How long the header waits alone for a server that refuses the message on its length. Such a
# server closes within milliseconds; a server that reads on pays this once per long message
# (the limit probes: three messages per server).
HEADER_ALONE_BOUND_S = 1.0


class WireClientConnection(ClientConnection):
    def __init__(
        self,
        endpoint: Endpoint,
        path: str,
        headers: Headers,
        subprotocols: Sequence[str],
        *,
        ping_barrier: bool = False,
    ) -> None:
        super().__init__(wall_clock_wait)
        self._writer: asyncio.StreamWriter | None = None
        self._addresses: tuple[tuple[str, int], tuple[str, int]] | None = None
        self._open = False
        # Only for servers the barrier self-test proved: they answer a ping after every frame
        # the app had handed them before it (tests/test_ping_barrier.py).
        self._ping_barrier = ping_barrier
        self._pongs: dict[bytes, asyncio.Future[None]] = {}
        self._close_sent = False
        self._dropped = False
        # Set once the server's close frame is read or the connection has ended.
        self._server_closing = asyncio.Event()
        self._task = asyncio.ensure_future(self._run(endpoint, path, headers, subprotocols))

    def socket_addresses(self) -> tuple[tuple[str, int], tuple[str, int]] | None:
        return self._addresses

    def _note_addresses(self, writer: asyncio.StreamWriter) -> None:
        # Read at once: a TLS transport answers nothing about its socket once closed.
        local, peer = writer.get_extra_info("sockname"), writer.get_extra_info("peername")
        if local and peer:
            self._addresses = (str(local[0]), int(local[1])), (str(peer[0]), int(peer[1]))

    async def _run(
        self, endpoint: Endpoint, path: str, headers: Headers, subprotocols: Sequence[str]
    ) -> None:
        try:
            reader, self._writer = await endpoint.open()
            self._note_addresses(self._writer)
            source = await self._handshake(
                reader, f"{endpoint.host}:{endpoint.port}", path, headers, subprotocols
            )
            if source is not None:
                self._open = True
                await self._read_frames(source)
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.TimeoutError,
            h11.ProtocolError,
            # A TLS connection cut without its close_notify, or a TLS handshake refused.
            ssl.SSLError,
        ):
            if not self._dropped:
                # The connection ended without a close frame: RFC 6455 7.1.5 calls it 1006.
                self.events.put_nowait(Closed(code=1006, close_frame_seen=False))
        finally:
            self._open = False
            self._server_closing.set()
            if self._writer is not None:
                self._writer.close()

    async def _handshake(
        self,
        reader: asyncio.StreamReader,
        host: str,
        path: str,
        headers: Headers,
        subprotocols: Sequence[str],
    ) -> FrameSource | None:
        """Send the upgrade request; report Accepted or Denied; on 101, where frames start."""
        assert self._writer is not None
        http = h11.Connection(our_role=h11.CLIENT)
        standard = [
            ("Host", host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", base64.b64encode(os.urandom(16)).decode()),
            ("Sec-WebSocket-Version", "13"),
        ]
        if subprotocols:
            standard.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
        # HTTP header values are Latin-1 text (RFC 9110 5.5); h11 would insist on ASCII.
        request_headers = [
            (name.encode("ascii"), value.encode("latin-1")) for name, value in [*standard, *headers]
        ]
        self._writer.write(
            http.send(h11.Request(method="GET", target=path, headers=request_headers))
        )
        self._writer.write(http.send(h11.EndOfMessage()))
        status = 0
        response_headers: Headers = ()
        body = b""
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                if not data and status == 0:
                    raise asyncio.IncompleteReadError(b"", None)
                http.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
                accepted_headers = decode_headers(event.headers)
                subprotocol = dict(accepted_headers).get("sec-websocket-protocol")
                self.events.put_nowait(Accepted(subprotocol, accepted_headers))
                # Frames sent right behind the 101 response may already sit in h11's buffer.
                return FrameSource(reader, bytes(http.trailing_data[0]))
            if isinstance(event, h11.Response):
                status, response_headers = event.status_code, decode_headers(event.headers)
            elif isinstance(event, h11.Data) and len(body) < MAX_DENIAL_BODY:
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                self.events.put_nowait(Denied(status, body, response_headers))
                return None

    async def _read_frames(self, reader: FrameSource) -> None:
        fragments: list[bytes] = []
        message_opcode = OP_TEXT
        while True:
            fin, opcode, payload = await read_frame(reader)
            if opcode == OP_CLOSE:
                self._server_closing.set()
                code, reason = parse_close_payload(payload)
                closed = Closed(code, reason, close_frame_seen=True, payload_bytes=len(payload))
                self.events.put_nowait(closed)
                if not self._close_sent:
                    # Echo the server's code (RFC 6455 5.5.1) unless it is not one that may be
                    # sent, in which case answer with 1002 protocol error.
                    reply = code if code is None or is_valid_wire_close_code(code) else 1002
                    await self._write(OP_CLOSE, close_payload(reply, ""))
                    self._close_sent = True
                # Wait for the server to end TCP (the server closes first, RFC 6455 7.1.1).
                with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                    await asyncio.wait_for(reader.read_to_end(), EXPECT_BOUND_S)
                self._dropped = True  # nothing more to report for this connection
                return
            if opcode == OP_PING:
                await self._write(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                waiter = self._pongs.pop(payload, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                continue
            if opcode != OP_CONTINUATION:
                message_opcode = opcode
            fragments.append(payload)
            if fin:
                data = b"".join(fragments)
                fragments.clear()
                if message_opcode == OP_TEXT:
                    self.events.put_nowait(Message(data.decode("utf-8", errors="replace")))
                else:
                    self.events.put_nowait(Message(data))

    async def _write(self, opcode: int, payload: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        frame = encode_frame(opcode, payload)
        if len(payload) > HEADER_FIRST_BYTES:
            # A server may fail a message on the length its header announces (RFC 6455 10.4)
            # and close at once. Sent whole, the rest of the frame then sits unread in a socket
            # the server has closed, its kernel answers with a reset, and the reset can overtake
            # the close frame on its way back (through a proxy, it usually did). So the header
            # goes first, and the payload only if no close has come within the bound.
            header_end = len(frame) - len(payload)
            header, frame = frame[:header_end], frame[header_end:]
            self._writer.write(header)
            await self._drain()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server_closing.wait(), HEADER_ALONE_BOUND_S)
            if self._server_closing.is_set() or self._writer.is_closing():
                return
        self._writer.write(frame)
        await self._drain()

    async def _drain(self) -> None:
        assert self._writer is not None
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(self._writer.drain(), EXPECT_BOUND_S)

    async def quiet(self, bound: float) -> ClientEvent:
        """The ping barrier: the reader reports frames in wire order, so once the pong of our
        ping is read, every frame the server wrote before it has been queued as an event."""
        if not (self._ping_barrier and self._open and not self._close_sent):
            return await super().quiet(bound)
        if not self.events.empty():
            return self.events.get_nowait()
        token = os.urandom(8)
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pongs[token] = answered
        await self._write(OP_PING, token)
        getter = asyncio.ensure_future(self.events.get())
        waitables: set[asyncio.Future[Any]] = {getter, answered}
        await asyncio.wait(waitables, timeout=EXPECT_BOUND_S, return_when=asyncio.FIRST_COMPLETED)
        self._pongs.pop(token, None)
        if getter.done():
            return getter.result()
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await getter
        if not self.events.empty():
            return self.events.get_nowait()
        # Answered: silence proven. Not answered within the bound: silence all the same.
        return NoEvent(after_s=0.0 if answered.done() else EXPECT_BOUND_S)

    async def send_text(self, data: str) -> None:
        if self._open and not self._close_sent:
            await self._write(OP_TEXT, data.encode())

    async def send_bytes(self, data: bytes) -> None:
        if self._open and not self._close_sent:
            await self._write(OP_BINARY, data)

    async def close(self, code: int | None, reason: str = "") -> None:
        if not self._open:
            await self.drop()
            return
        if not self._close_sent:
            self._close_sent = True
            await self._write(OP_CLOSE, close_payload(code, reason))

    async def drop(self) -> None:
        self._dropped = True
        if self._writer is not None:
            # abort() resets the TCP connection at once, without a close frame or a FIN wait.
            self._writer.transport.abort()
        elif not self._task.done():
            self._task.cancel()

    async def release(self) -> None:
        await self.drop()
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._task, EXPECT_BOUND_S)
