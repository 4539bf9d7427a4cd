"""Wire checks: how a server handles what a polite client never sends, and how it frames its own
side (RFC 6455). Each probe is one connection to the raw echo route (`/wire-echo`) on a plain
socket: the handshake by hand, then frames written by `targets/frames.py`, valid or not, and
every frame the server sends read with its header bits.

A probe that must make the server *fail the connection* (RFC 6455 7.1.7) passes when the server
sends a close frame or ends the connection within the bound, and nothing of the bad frame is
echoed; a server that ignores the frame or passes it to the app fails.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from wsconform.conformance.engine.judgements import Judgement, deadline_only
from wsconform.conformance.families.wire.handshakes import (
    close_within,
    new_key,
    parse_head,
    request,
    write_within,
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
from wsconform.targets.raw_routes import WIRE_ECHO_ROUTE
from wsconform.targets.servers.base import EXPECT_BOUND_S, REPLY_BOUND_S
from wsconform.targets.wsclient import Endpoint

RFC = "RFC 6455"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3


def accept_value(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer `key` with (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


@dataclass
class WireConnection:
    """One raw connection: what the server sent, frame by frame, and how it ended."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    accept_ok: bool
    received: list[Frame] = field(default_factory=list)
    ended: bool = False  # the server closed the TCP connection
    request: bytes = b""  # the handshake that opened it
    written: list[bytes] = field(default_factory=list)  # every write after it, in order

    async def send(self, *sent: Frame) -> None:
        data = b"".join(frames.encode(frame) for frame in sent)
        self.written.append(data)
        # A server that stops reading shows it in what it fails to answer (next_frame's bound).
        await write_within(self.writer, data, EXPECT_BOUND_S)

    def replay(self) -> dict[str, Any]:
        """What a standalone script needs to do this probe again: the bytes, and what came back
        (each frame's opcode and, for a close, its code; None where the server ended TCP)."""
        return {
            "request": base64.b64encode(self.request).decode("ascii"),
            "writes": [base64.b64encode(data).decode("ascii") for data in self.written],
            "expected": {
                "status": 101,
                "frames": [_summary(frame) for frame in self.received]
                + ([None] if self.ended else []),
            },
        }

    async def next_frame(self, bound: float = EXPECT_BOUND_S) -> Frame | None:
        """The next frame, or None when the connection ended or nothing came within `bound`."""
        if self.ended:
            return None
        try:
            frame = await asyncio.wait_for(frames.read(self.reader), bound)
        except asyncio.TimeoutError:
            return None
        except (asyncio.IncompleteReadError, ConnectionError):
            self.ended = True
            return None
        self.received.append(frame)
        return frame

    async def message(self, bound: float = EXPECT_BOUND_S) -> tuple[int, bytes] | None:
        """The next whole data message (fragments joined); control frames are kept aside."""
        opcode, parts = None, []
        while True:
            frame = await self.next_frame(bound)
            if frame is None or frame.opcode == OP_CLOSE:
                return None
            if frame.is_control:
                continue
            opcode = frame.opcode if opcode is None else opcode
            parts.append(frame.payload)
            if frame.fin:
                return opcode, b"".join(parts)

    async def failed(self, bound: float = EXPECT_BOUND_S) -> tuple[bool, int | None, str]:
        """Did the server fail the connection (a close frame or the end of TCP, and no data)?
        With the close frame's code, if it sent one."""
        while True:
            frame = await self.next_frame(bound)
            if frame is None:
                if self.ended:
                    return True, None, "the server ended the connection without a close frame"
                return False, None, f"nothing within {bound} s: the server ignored it"
            if frame.opcode == OP_CLOSE:
                code = int.from_bytes(frame.payload[:2], "big") if frame.payload else None
                return True, code, f"the server closed with {code}"
            if not frame.is_control:
                return False, None, f"the server passed it on: echoed {frame.payload[:40]!r}"

    async def close(self) -> None:
        await close_within(self.writer, EXPECT_BOUND_S)


def _summary(frame: Frame) -> list[Any]:
    code = int.from_bytes(frame.payload[:2], "big") if frame.opcode == OP_CLOSE else None
    return [frame.opcode, code]


async def open_wire(endpoint: Endpoint, path: str = WIRE_ECHO_ROUTE) -> WireConnection | None:
    """The handshake by hand; None if the server did not switch protocols."""
    key = new_key()
    reader, writer = await endpoint.open()
    handshake = request(key=key, path=path)
    await write_within(writer, handshake, EXPECT_BOUND_S)
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), EXPECT_BOUND_S)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        writer.close()
        return None
    status, headers = parse_head(head)
    if status != 101:
        writer.close()
        return None
    accept_ok = headers.get("sec-websocket-accept") == accept_value(key)
    return WireConnection(reader, writer, accept_ok, request=handshake)


# --- probes: each opens its own connection and returns its judgements --------------------------

Probe = Callable[[WireConnection], Awaitable[list[Judgement]]]
PING_PAYLOAD = b"wsconform ping \x00\xff"
# A text message cut inside the euro sign's UTF-8 sequence, with a ping between the parts.
SPLIT_TEXT = "fragments: é€𝄞".encode()
SPLIT_AT = SPLIT_TEXT.index("€".encode()) + 1


async def ping_echo(wire: WireConnection) -> list[Judgement]:
    await wire.send(Frame(OP_PING, PING_PAYLOAD))
    pong = await _control(wire, OP_PONG)
    judgement = Judgement(
        "wire.pong-echoes-ping",
        pong is not None and pong.payload == PING_PAYLOAD,
        f"ping {PING_PAYLOAD!r}, pong {None if pong is None else pong.payload!r}",
    )
    return [deadline_only(judgement, waited=pong is None and not wire.ended)]


async def _control(wire: WireConnection, opcode: int) -> Frame | None:
    while True:
        frame = await wire.next_frame()
        if frame is None or frame.opcode == opcode:
            return frame


async def fragments(wire: WireConnection) -> list[Judgement]:
    await wire.send(
        Frame(OP_TEXT, SPLIT_TEXT[:SPLIT_AT], fin=False),
        Frame(OP_PING, b"between fragments"),
        Frame(OP_CONTINUATION, SPLIT_TEXT[SPLIT_AT:]),
        Frame(OP_BINARY, b"\x00\x01", fin=False),
        Frame(OP_CONTINUATION, b"\x02", fin=False),
        Frame(OP_CONTINUATION, b"\x03"),
    )
    text, binary = await wire.message(), await wire.message()
    pongs = [f.payload for f in wire.received if f.opcode == OP_PONG]
    # Silence to the end of the bound, the connection still open, is all a timeout can show.
    silent = not wire.ended and not wire.received
    return [
        deadline_only(
            Judgement(
                "wire.fragments-reassembled",
                text == (OP_TEXT, SPLIT_TEXT) and binary == (OP_BINARY, b"\x00\x01\x02\x03"),
                f"echoed {text!r} and {binary!r}",
            ),
            silent,
        ),
        deadline_only(
            Judgement(
                "wire.control-between-fragments",
                pongs == [b"between fragments"],
                f"pongs {pongs!r} for the ping between the text's fragments",
            ),
            silent,
        ),
    ]


# RFC 6455 5.2: the payload length takes 7 bits up to 125, 16 more up to 65535, 64 more beyond.
# Each encoding's last length and the next one's first: a server that reads one of them wrong
# shows it at its boundary, and the detail names which side.
LENGTH_BOUNDARIES = {
    125: "the largest 7-bit length",
    126: "the smallest 16-bit length",
    65535: "the largest 16-bit length",
    65536: "the smallest 64-bit length",
}


def boundary_payload(length: int) -> bytes:
    """`length` bytes that differ along the way, so a cut or shifted payload shows."""
    return (bytes(range(256)) * (length // 256 + 1))[:length]


async def length_boundaries(wire: WireConnection) -> list[Judgement]:
    """A binary message of each boundary length, echoed by the route: the server read its
    length right (RFC 6455 6.2: incoming data MUST be parsed as frames as 5.2 defines them)."""
    problems, silences = [], 0
    for length, which in LENGTH_BOUNDARIES.items():
        payload = boundary_payload(length)
        await wire.send(Frame(OP_BINARY, payload))
        echoed = await wire.message()
        if echoed == (OP_BINARY, payload):
            continue
        silences += echoed is None and not wire.ended
        got = "nothing" if echoed is None else f"{len(echoed[1])} other bytes"
        problems.append(f"{length} bytes ({which}): echoed {got}")
    shown = "; ".join(problems) or f"{', '.join(map(str, LENGTH_BOUNDARIES))} bytes echoed whole"
    judgement = Judgement("wire.length-boundaries-read", not problems, shown)
    # Only silence within the bound, the connection open: no text sets that deadline.
    return [deadline_only(judgement, waited=bool(problems) and silences == len(problems))]


# RFC 6455 7.4.1: the close codes that name why a connection failed.
PROTOCOL_ERROR, INCONSISTENT_DATA = 1002, 1007


def _must_fail(check_id: str, sent: Frame, code: int = PROTOCOL_ERROR) -> Probe:
    async def probe(wire: WireConnection) -> list[Judgement]:
        await wire.send(sent)
        ok, got, what = await wire.failed()
        if ok and sent.opcode == OP_CLOSE and got != code:
            # A close frame is also the normal answer to a close: only the protocol error's
            # code, or the end of the connection, says the malformed close was refused.
            ok = got is None and wire.ended and not wire.received
        # Nothing back at all within the bound: the RFC sets no deadline for failing it.
        waited = not wire.ended and not any(not frame.is_control for frame in wire.received)
        return [
            deadline_only(Judgement(check_id, ok, f"sent {sent!r}: {what}"), waited),
            Judgement(
                "wire.failure-close-code",
                got == code if ok else None,
                f"{check_id}: closed with {got}, RFC 6455 7.4.1 names {code}",
            ),
        ]

    probe.__name__ = check_id.split(".", 1)[1].replace("-", "_")
    return probe


NORMAL_CLOSURE = struct.pack("!H", 1000)


async def closing_handshake(wire: WireConnection) -> list[Judgement]:
    """The client's last message and its close frame in one write: whatever the app still
    sends, no data frame may follow the server's close frame (RFC 6455 5.5.1), and with a close
    sent and received the server closes TCP (5.5.1; 7.1.1: the server closes it first). Read for
    one bound in all, so a server that keeps sending cannot hold the probe."""
    await wire.send(Frame(OP_TEXT, b"last words"), Frame(OP_CLOSE, NORMAL_CLOSURE))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EXPECT_BOUND_S
    closed, after_close = False, []
    while (frame := await wire.next_frame(max(deadline - loop.time(), 0.0))) is not None:
        if closed and not frame.is_control:
            after_close.append(frame)
        closed = closed or frame.opcode == OP_CLOSE
    if not closed:
        why = "the server sent no close frame (close.server-answers-client-close's finding)"
        return [
            Judgement("wire.no-data-after-close", None, why),
            Judgement("wire.close-ends-tcp", None, why),
        ]
    ended = "ended TCP" if wire.ended else f"kept TCP open {EXPECT_BOUND_S} s"
    return [
        Judgement(
            "wire.no-data-after-close",
            not after_close,
            f"{len(after_close)} data frame(s) after the server's close: "
            f"{[f.payload[:40] for f in after_close]!r}",
        ),
        deadline_only(
            Judgement(
                "wire.close-ends-tcp",
                wire.ended,
                f"after sending and receiving a close frame, the server {ended}",
            ),
            waited=not wire.ended,
        ),
    ]


PROBES: tuple[Probe, ...] = (
    ping_echo,
    fragments,
    length_boundaries,
    closing_handshake,
    _must_fail("wire.invalid-utf8-fails", Frame(OP_TEXT, b"caf\xc3("), INCONSISTENT_DATA),
    _must_fail("wire.unmasked-frame-fails", Frame(OP_TEXT, b"unmasked", masked=False)),
    _must_fail("wire.reserved-bits-fail", Frame(OP_TEXT, b"rsv2", rsv=0b010)),
    _must_fail("wire.reserved-opcode-fails", Frame(0x3, b"opcode 3")),
    _must_fail("wire.long-control-frame-fails", Frame(OP_PING, b"x" * (MAX_CONTROL_PAYLOAD + 1))),
    _must_fail("wire.one-byte-close-fails", Frame(OP_CLOSE, b"\x03")),
)


# The keepalive interval a server is served with for wire.keepalive-pings-sent: short, so a
# server that pings passes in well under a second (daphne's whole seconds take longer).
KEEPALIVE_INTERVAL_S = 0.2
KEEPALIVE_PINGS = 2  # the second, after the first is answered, shows the pings go on


async def keepalive(endpoint: Endpoint, setting: str, interval_s: float) -> Judgement:
    """An idle connection to a server served with its ping setting (`setting`, at `interval_s`):
    each ping answered with its pong, as a client that is alive does, until the second. Each
    ping is awaited for the interval plus the reply bound: a late ping is still a ping."""
    wire = await open_wire(endpoint)
    if wire is None:
        why = "no 101 from the server (wire.accept-key's finding)"
        return Judgement("wire.keepalive-pings-sent", None, why)
    loop = asyncio.get_running_loop()
    bound = interval_s + REPLY_BOUND_S
    pings = 0
    try:
        deadline = loop.time() + bound
        while (
            pings < KEEPALIVE_PINGS
            and (frame := await wire.next_frame(max(deadline - loop.time(), 0.0))) is not None
        ):
            if frame.opcode == OP_PING:
                pings += 1
                await wire.send(Frame(OP_PONG, frame.payload))
                deadline = loop.time() + bound
    finally:
        await wire.close()
    ended = "; the server ended the connection" if wire.ended else ""
    return Judgement(
        "wire.keepalive-pings-sent",
        pings == KEEPALIVE_PINGS,
        f"{setting} set to {interval_s} s: {pings} of {KEEPALIVE_PINGS} pings on an idle "
        f"connection, each awaited {bound} s{ended}",
    )


def judge_server_framing(received: list[Frame], accept_ok: list[bool]) -> list[Judgement]:
    """The server's own side, over every frame it sent in every probe."""
    masked = [f for f in received if f.masked]
    reserved = [f for f in received if f.rsv]
    long_control = [f for f in received if f.is_control and (
        len(f.payload) > MAX_CONTROL_PAYLOAD or not f.fin)]  # fmt: skip
    wide = [
        f"{len(f.payload)} bytes in a {f.length_bytes}-byte length"
        for f in received
        if f.length_bytes is not None
        and f.length_bytes != frames.minimal_length_bytes(len(f.payload))
    ]
    return [
        Judgement("wire.server-frames-unmasked", not masked, f"{len(masked)} masked frame(s)"),
        Judgement(
            "wire.server-frames-no-reserved-bits", not reserved, f"{len(reserved)} with RSV set"
        ),
        Judgement(
            "wire.server-control-frames-short",
            not long_control,
            f"{len(long_control)} control frame(s) over {MAX_CONTROL_PAYLOAD} bytes or fragmented",
        ),
        Judgement(
            "wire.server-length-minimal",
            not wide,
            "; ".join(wide[:5]) or "every length in the fewest bytes",
        ),
        Judgement(
            "wire.accept-key",
            all(accept_ok),
            f"{accept_ok.count(False)} of {len(accept_ok)} handshakes with a wrong "
            "Sec-WebSocket-Accept",
        ),
    ]


ProbeResult = tuple[list[Judgement], dict[str, Any]]  # judgements, and the probe's replay


async def run_probes(endpoint: Endpoint) -> list[ProbeResult]:
    """Every probe on its own connection, then the server's framing over all of them."""
    results: list[ProbeResult] = []
    received: list[Frame] = []
    accept_ok: list[bool] = []
    for probe in PROBES:
        wire = await open_wire(endpoint)
        if wire is None:
            why = f"{probe.__name__}: no 101 from the server"
            results.append(([Judgement("wire.accept-key", False, why)], {}))
            continue
        try:
            judged = await probe(wire)
        finally:
            await wire.close()
        results.append((judged, {"replay": wire.replay(), "probe": probe.__name__}))
        received += wire.received
        accept_ok.append(wire.accept_ok)
    return [*results, (judge_server_framing(received, accept_ok), {})]
