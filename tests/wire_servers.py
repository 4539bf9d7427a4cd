"""A tiny echo server on a raw socket, sound by default, with one flaw switched on at a time, so
that every wire check is proven against a server that gets exactly its rule wrong
(`tests/test_wire_checks.py`). It speaks only what the probes need; it is not a server to use.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import struct
from collections.abc import AsyncIterator

from wsconform.conformance.families.wire.frames import (
    INCONSISTENT_DATA,
    PROTOCOL_ERROR,
    accept_value,
)
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
from wsconform.targets.raw_routes import DENIAL_MARK, REFUSAL_ROUTE, SCOPE_ECHO_ROUTE

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
    CUTS_MESSAGES_AT_65535 = "cuts-messages-at-65535"  # a 16-bit buffer for a 64-bit length
    WIDE_SHORT_LENGTHS = "wide-short-lengths"  # a 125-byte payload's length in 16 bits
    # the handshake
    ACCEPTS_MISSING_KEY = "accepts-missing-key"
    VERSION_WITHOUT_HEADER = "version-without-header"
    ACCEPTS_POST = "accepts-post"
    ACCEPTS_SPACE_BEFORE_COLON = "accepts-space-before-colon"
    PASSES_NUL = "passes-nul"
    PASSES_CR = "passes-cr"
    CUTS_VALUE_AT_CONTROL = "cuts-value-at-control"
    PASSES_OBS_FOLD = "passes-obs-fold"
    SILENT_ON_LONG_HEADER = "silent-on-long-header"
    SILENT_ON_MANY_HEADERS = "silent-on-many-headers"
    CRASHES_AT_LINE_LIMIT = "crashes-at-line-limit"  # off by one: a line of exactly 8 KiB
    # real clients' handshakes
    CONNECTION_MUST_EQUAL_UPGRADE = "connection-must-equal-upgrade"
    KEEPS_LAST_PROTOCOL_LINE = "keeps-last-protocol-line"
    # variations of them: only generated ones show it (every recorded client writes `Upgrade`)
    CONNECTION_TOKEN_CASE_SENSITIVE = "connection-token-case-sensitive"
    # one change refused, whichever client's variation makes it (OWS is SP or HTAB, RFC 9112 5.1)
    REFUSES_TAB_AFTER_HOST = "refuses-tab-after-host"
    # the closing handshake (what a browser client must show as an unclean 1006)
    NO_CLOSE_FRAME = "no-close-frame"
    DATA_AFTER_CLOSE = "data-after-close"
    KEEPS_TCP_AFTER_CLOSE = "keeps-tcp-after-close"
    # a refusal announcing Connection: close, the connection kept open: its own, or the app's
    KEEPS_TCP_AFTER_REFUSAL = "keeps-tcp-after-refusal"
    KEEPS_TCP_AFTER_APP_REFUSAL = "keeps-tcp-after-app-refusal"
    KEEPS_TCP_AFTER_DENIAL = "keeps-tcp-after-denial"
    # keepalive: configured with a ping interval, it never pings
    NEVER_PINGS = "never-pings"


MAX_HEADER_LINE = 8 * 1024
MAX_HEADER_COUNT = 100
PAGE_PATH = "/page"  # a plain HTTP page, the origin a browser client's socket is opened from


class Refused(Exception):
    """The handshake is answered with an HTTP error instead of 101."""

    def __init__(self, status: int, headers: bytes = b"", keeps_tcp: Flaw | None = None) -> None:
        # keeps_tcp: the flaw that keeps the connection open after this refusal (by default,
        # the one of the server's own refusals)
        self.status, self.headers = status, headers
        self.keeps_tcp = keeps_tcp or Flaw.KEEPS_TCP_AFTER_REFUSAL


class EchoServer:
    def __init__(self, flaw: Flaw = Flaw.NONE, ping_interval_s: float | None = None) -> None:
        self.flaw = flaw
        self.ping_interval_s = ping_interval_s

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            if head.startswith(f"GET {PAGE_PATH} "):  # the page a browser client starts from
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage")
                writer.close()
                return
            try:
                headers = self.handshake(head)
            except Refused as refusal:
                if refusal.status:
                    writer.write(
                        f"HTTP/1.1 {refusal.status} Refused\r\nContent-Length: 0\r\n".encode()
                        + b"Connection: close\r\n"
                        + refusal.headers
                        + b"\r\n"
                    )
                    if self.flaw is refusal.keeps_tcp:
                        await reader.read()  # until the client goes
                writer.close()
                return
            key = dict(headers)["sec-websocket-key"]
            accept = accept_value(key + ("x" if self.flaw is Flaw.WRONG_ACCEPT else ""))
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
            if head.split(" ", 2)[1].startswith(SCOPE_ECHO_ROUTE):  # like the raw scope echo
                summary = {"headers": headers, "subprotocols": self.subprotocols(headers)}
                self.send(writer, Frame(OP_TEXT, json.dumps(summary).encode()))
            ended = asyncio.Event()
            pinging = self.ping_interval_s is not None and self.flaw is not Flaw.NEVER_PINGS
            pinger = asyncio.ensure_future(self.keepalive(writer, ended)) if pinging else None
            try:
                await self.converse(reader, writer)
            finally:
                ended.set()
                if pinger is not None:
                    await pinger
        writer.close()

    async def keepalive(self, writer: asyncio.StreamWriter, ended: asyncio.Event) -> None:
        """A ping every `ping_interval_s` until the connection ends, as a server's keepalive
        setting promises: each wait is on the connection's end, bounded by the interval."""
        assert self.ping_interval_s is not None
        while not ended.is_set():
            self.send(writer, Frame(OP_PING, b"keepalive"))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ended.wait(), self.ping_interval_s)

    def handshake(self, head: str) -> list[tuple[str, str]]:
        """The request's headers, or Refused; each rule can be switched off by a flaw."""
        flaw = self.flaw
        request_line, *lines = head.rstrip("\r\n").split("\r\n")
        if any(len(line) > MAX_HEADER_LINE for line in lines):
            raise Refused(0 if flaw is Flaw.SILENT_ON_LONG_HEADER else 431)
        if flaw is Flaw.CRASHES_AT_LINE_LIMIT and any(
            len(line) == MAX_HEADER_LINE for line in lines
        ):
            raise Refused(500)
        if len(lines) > MAX_HEADER_COUNT:
            raise Refused(0 if flaw is Flaw.SILENT_ON_MANY_HEADERS else 431)
        if not request_line.startswith("GET ") and flaw is not Flaw.ACCEPTS_POST:
            raise Refused(405)
        headers: list[tuple[str, str]] = []
        for line in lines:
            if line[:1] in (" ", "\t"):  # obs-fold (RFC 9112 5.2)
                if flaw is not Flaw.PASSES_OBS_FOLD:
                    raise Refused(400)
                name, value = headers.pop()
                headers.append((name, value + "\n" + line))
                continue
            name, _, value = line.partition(":")
            if name != name.rstrip() and flaw is not Flaw.ACCEPTS_SPACE_BEFORE_COLON:
                raise Refused(400)
            if "\x00" in value and flaw is not Flaw.PASSES_NUL:
                raise Refused(400)
            if "\r" in value and flaw is not Flaw.PASSES_CR:
                raise Refused(400)
            if (
                flaw is Flaw.REFUSES_TAB_AFTER_HOST
                and name.lower() == "host"
                and value[-1:] == "\t"
            ):
                raise Refused(400)
            if flaw is Flaw.CUTS_VALUE_AT_CONTROL:
                value = value.split("\x0b")[0]
            headers.append((name.strip().lower(), value.strip()))
        fields = dict(headers)
        if "sec-websocket-key" not in fields and flaw is not Flaw.ACCEPTS_MISSING_KEY:
            raise Refused(400)
        if not self.upgrade_requested(headers):
            raise Refused(400)
        if fields.get("sec-websocket-version") != "13":
            extra = b"" if flaw is Flaw.VERSION_WITHOUT_HEADER else b"Sec-WebSocket-Version: 13\r\n"
            raise Refused(426, extra)
        path = request_line.split(" ")[1]
        if path == f"{REFUSAL_ROUTE}/deny":  # like the raw refusal route, offering denials
            raise Refused(403, f"{DENIAL_MARK}: 1\r\n".encode(), Flaw.KEEPS_TCP_AFTER_DENIAL)
        if path.startswith(REFUSAL_ROUTE):
            raise Refused(403, keeps_tcp=Flaw.KEEPS_TCP_AFTER_APP_REFUSAL)
        if "sec-websocket-key" in fields:
            return headers
        return [*headers, ("sec-websocket-key", "")]  # ACCEPTS_MISSING_KEY: answered all the same

    def upgrade_requested(self, headers: list[tuple[str, str]]) -> bool:
        """Connection includes the token upgrade and Upgrade names websocket, each a
        case-insensitive list over every line (RFC 6455 4.2.1 items 3 and 4, RFC 9110 5.3)."""
        connection = [value for name, value in headers if name == "connection"]
        if self.flaw is Flaw.CONNECTION_MUST_EQUAL_UPGRADE:
            return connection == ["Upgrade"]
        if self.flaw is Flaw.CONNECTION_TOKEN_CASE_SENSITIVE:
            return "Upgrade" in {
                token.strip() for value in connection for token in value.split(",")
            }
        tokens = {token.strip().lower() for value in connection for token in value.split(",")}
        upgrade = {
            token.strip().lower()
            for name, value in headers
            if name == "upgrade"
            for token in value.split(",")
        }
        return "upgrade" in tokens and "websocket" in upgrade

    def subprotocols(self, headers: list[tuple[str, str]]) -> list[str]:
        lines = [value for name, value in headers if name == "sec-websocket-protocol"]
        if self.flaw is Flaw.KEEPS_LAST_PROTOCOL_LINE:
            lines = lines[-1:]
        return [token.strip() for line in lines for token in line.split(",") if token.strip()]

    def send(self, writer: asyncio.StreamWriter, frame: Frame) -> None:
        rsv = 0b100 if self.flaw is Flaw.SETS_RSV1 else 0
        masked = self.flaw is Flaw.MASKS_ITS_FRAMES
        data = frames.encode(Frame(frame.opcode, frame.payload, frame.fin, rsv, masked))
        if self.flaw is Flaw.WIDE_SHORT_LENGTHS and 0 < len(frame.payload) < 126 and not masked:
            # the same frame with its length in the 16-bit form RFC 6455 5.2 forbids here
            data = data[:1] + bytes([126]) + struct.pack("!H", len(frame.payload)) + data[2:]
        writer.write(data)

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
                    if self.flaw is not Flaw.NO_CLOSE_FRAME:  # else: just end TCP
                        self.send(writer, Frame(OP_CLOSE, frame.payload[:2]))
                    if self.flaw is Flaw.DATA_AFTER_CLOSE:
                        self.send(writer, Frame(OP_TEXT, b"after my close"))
                    if self.flaw is Flaw.KEEPS_TCP_AFTER_CLOSE:
                        await reader.read()  # until the client gives up and ends TCP itself
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
            if self.flaw is Flaw.CUTS_MESSAGES_AT_65535:
                message = message[:65535]
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
async def serving(
    flaw: Flaw = Flaw.NONE, ping_interval_s: float | None = None
) -> AsyncIterator[int]:
    """The server on a free loopback port, stopped at the end; with `ping_interval_s`, it pings
    every connection at that interval (unless its flaw is never to)."""
    server = await asyncio.start_server(EchoServer(flaw, ping_interval_s).handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
