"""A tiny echo server on a raw socket, sound by default, with one flaw switched on at a time, so
that every wire check is proven against a server that gets exactly its rule wrong
(`tests/test_wire_checks.py`). It speaks only what the probes need; it is not a server to use.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import struct
from collections.abc import AsyncIterator

from wsconform.conformance.wire import INCONSISTENT_DATA, PROTOCOL_ERROR, accept_value
from wsconform.targets import frames
from wsconform.targets.frames import (
    MAX_CONTROL_PAYLOAD,
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
)

KNOWN_OPCODES = {OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG}


class Flaw(enum.Enum):
    NONE = "none"
    PONG_WITHOUT_PAYLOAD = "pong-without-payload"
    ECHOES_EACH_FRAGMENT = "echoes-each-fragment"
    IGNORES_PING_BETWEEN_FRAGMENTS = "ignores-ping-between-fragments"
    PASSES_INVALID_UTF8 = "passes-invalid-utf8"
    ACCEPTS_UNMASKED = "accepts-unmasked"
    IGNORES_RESERVED_BITS = "ignores-reserved-bits"
    DROPS_UNKNOWN_OPCODES = "drops-unknown-opcodes"
    ANSWERS_LONG_PING = "answers-long-ping"
    ECHOES_SHORT_CLOSE = "echoes-short-close"
    CLOSES_WITHOUT_CODE = "closes-without-code"
    MASKS_ITS_FRAMES = "masks-its-frames"
    SETS_RSV1 = "sets-rsv1"
    FRAGMENTS_ITS_PONG = "fragments-its-pong"
    WRONG_ACCEPT = "wrong-accept"


class EchoServer:
    def __init__(self, flaw: Flaw = Flaw.NONE) -> None:
        self.flaw = flaw

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            key = next(
                line.split(":", 1)[1].strip()
                for line in head.split("\r\n")
                if line.lower().startswith("sec-websocket-key:")
            )
            accept = accept_value(key + ("x" if self.flaw is Flaw.WRONG_ACCEPT else ""))
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
            await self.converse(reader, writer)
        writer.close()

    def send(self, writer: asyncio.StreamWriter, frame: Frame) -> None:
        rsv = 0b100 if self.flaw is Flaw.SETS_RSV1 else 0
        masked = self.flaw is Flaw.MASKS_ITS_FRAMES
        writer.write(frames.encode(Frame(frame.opcode, frame.payload, frame.fin, rsv, masked)))

    def fail(self, writer: asyncio.StreamWriter, code: int) -> None:
        payload = b"" if self.flaw is Flaw.CLOSES_WITHOUT_CODE else struct.pack("!H", code)
        self.send(writer, Frame(OP_CLOSE, payload))

    async def converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opcode: int | None = None
        parts: list[bytes] = []
        while True:
            frame = await frames.read(reader)
            if not frame.masked and self.flaw is not Flaw.ACCEPTS_UNMASKED:
                return self.fail(writer, PROTOCOL_ERROR)
            if frame.rsv and self.flaw is not Flaw.IGNORES_RESERVED_BITS:
                return self.fail(writer, PROTOCOL_ERROR)
            if frame.opcode not in KNOWN_OPCODES:
                if self.flaw is Flaw.DROPS_UNKNOWN_OPCODES:
                    continue
                return self.fail(writer, PROTOCOL_ERROR)
            if frame.is_control:
                long = len(frame.payload) > MAX_CONTROL_PAYLOAD
                if long and self.flaw is not Flaw.ANSWERS_LONG_PING:
                    return self.fail(writer, PROTOCOL_ERROR)
                if frame.opcode == OP_CLOSE:
                    if len(frame.payload) == 1 and self.flaw is not Flaw.ECHOES_SHORT_CLOSE:
                        return self.fail(writer, PROTOCOL_ERROR)
                    self.send(writer, Frame(OP_CLOSE, frame.payload[:2]))
                    return None
                if frame.opcode == OP_PING and not (
                    parts and self.flaw is Flaw.IGNORES_PING_BETWEEN_FRAGMENTS
                ):
                    self.pong(writer, frame.payload)
                continue
            if self.flaw is Flaw.ECHOES_EACH_FRAGMENT:
                self.send(writer, Frame(frame.opcode or OP_TEXT, frame.payload))
                continue
            opcode = frame.opcode if opcode is None else opcode
            parts.append(frame.payload)
            if not frame.fin:
                continue
            message, kind, opcode, parts = b"".join(parts), opcode, None, []
            if kind == OP_TEXT and self.flaw is not Flaw.PASSES_INVALID_UTF8:
                try:
                    message.decode("utf-8")
                except UnicodeDecodeError:
                    return self.fail(writer, INCONSISTENT_DATA)
            self.send(writer, Frame(kind, message))

    def pong(self, writer: asyncio.StreamWriter, payload: bytes) -> None:
        if self.flaw is Flaw.PONG_WITHOUT_PAYLOAD:
            payload = b""
        if self.flaw is Flaw.FRAGMENTS_ITS_PONG:
            self.send(writer, Frame(OP_PONG, payload, fin=False))
            return
        self.send(writer, Frame(OP_PONG, payload))


@contextlib.asynccontextmanager
async def serving(flaw: Flaw = Flaw.NONE) -> AsyncIterator[int]:
    """The server on a free loopback port, stopped at the end."""
    server = await asyncio.start_server(EchoServer(flaw).handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
