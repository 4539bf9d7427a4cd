"""RFC 6455 frames (section 5.2) in both directions, including the malformed ones.

The suite's clients write frames a polite client never would (unmasked, reserved bits or
opcodes, a control frame over 125 bytes, fragments with a ping between them) and read each
server frame with every header bit kept, so that the server's own framing can be judged.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Protocol

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL_OPCODES = frozenset({OP_CLOSE, OP_PING, OP_PONG})
MAX_CONTROL_PAYLOAD = 125  # RFC 6455 5.5


@dataclass(frozen=True)
class Frame:
    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0  # the three reserved bits, RSV1 the highest
    masked: bool = True  # clients must mask (RFC 6455 5.3); servers must not
    # How many bytes the payload length took in the header, as read (1, 3 or 9; RFC 6455 5.2);
    # None for a frame built here (`encode` always uses the fewest).
    length_bytes: int | None = field(default=None, compare=False)

    @property
    def is_control(self) -> bool:
        return self.opcode in CONTROL_OPCODES


def minimal_length_bytes(length: int) -> int:
    """The bytes RFC 6455 5.2 allows a payload length of `length` to take: the fewest of 7 bits,
    7+16 or 7+64 (counted with the byte holding the mask bit)."""
    return 1 if length < 126 else 3 if length < 1 << 16 else 9


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return b""
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


def encode(frame: Frame) -> bytes:
    """The frame's bytes exactly as described, valid or not."""
    first = (0x80 if frame.fin else 0) | (frame.rsv & 0x7) << 4 | frame.opcode & 0x0F
    mask_bit = 0x80 if frame.masked else 0
    length = len(frame.payload)
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not frame.masked:
        return header + frame.payload
    mask = os.urandom(4)
    return header + mask + apply_mask(frame.payload, mask)


class ByteSource(Protocol):
    async def readexactly(self, count: int) -> bytes: ...


async def read(source: ByteSource) -> Frame:
    """The next frame, unmasked, with its header bits as sent."""
    first, second = await source.readexactly(2)
    length, length_bytes = second & 0x7F, 1
    if length == 126:
        (length,), length_bytes = struct.unpack("!H", await source.readexactly(2)), 3
    elif length == 127:
        (length,), length_bytes = struct.unpack("!Q", await source.readexactly(8)), 9
    masked = bool(second & 0x80)
    mask = await source.readexactly(4) if masked else b""
    payload = await source.readexactly(length)
    return Frame(
        opcode=first & 0x0F,
        payload=apply_mask(payload, mask) if masked else payload,
        fin=bool(first & 0x80),
        rsv=(first >> 4) & 0x7,
        masked=masked,
        length_bytes=length_bytes,
    )
