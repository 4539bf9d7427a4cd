"""The frame codec checked against wsproto's (a reference RFC 6455 implementation): what we
encode, wsproto's server side parses (or refuses, for each malformed kind), and what wsproto's
server side writes, we read back bit for bit."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsconform.targets import frames
from wsconform.targets.frames import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Frame
from wsproto.frame_protocol import FrameProtocol, Opcode, ParseFailed


def parsed_by_a_server(data: bytes) -> list[tuple[int, bytes, bool]]:
    """What wsproto, as the server, makes of these bytes (raises ParseFailed if invalid)."""
    protocol = FrameProtocol(client=False, extensions=[])
    protocol.receive_bytes(data)
    return [
        (int(frame.opcode), _as_bytes(frame.payload), frame.frame_finished)
        for frame in protocol.received_frames()
    ]


def _as_bytes(payload: object) -> bytes:
    """wsproto hands text frames over decoded (and a close as a code and reason)."""
    if isinstance(payload, str):
        return payload.encode()
    assert isinstance(payload, bytes | bytearray), payload
    return bytes(payload)


class Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def readexactly(self, count: int) -> bytes:
        taken, self.data = self.data[:count], self.data[count:]
        if len(taken) < count:
            raise asyncio.IncompleteReadError(taken, count)
        return taken


def read_all(data: bytes) -> list[Frame]:
    async def frames_of() -> list[Frame]:
        source, read = Bytes(data), []
        while source.data:
            read.append(await frames.read(source))
        return read

    return asyncio.run(frames_of())


@given(st.binary(max_size=70_000), st.sampled_from([OP_TEXT, OP_BINARY]))
def test_a_masked_data_frame_is_what_a_server_parses(payload: bytes, opcode: int) -> None:
    if opcode == OP_TEXT:
        payload = payload.decode("latin-1").encode()  # valid UTF-8 for a text frame
    assert parsed_by_a_server(frames.encode(Frame(opcode, payload))) == [(opcode, payload, True)]


def test_fragments_with_a_ping_between_are_parsed_in_order() -> None:
    text = "é€𝄞".encode()
    data = (
        frames.encode(Frame(OP_TEXT, text[:3], fin=False))  # splits the euro sign
        + frames.encode(Frame(OP_PING, b"between"))
        + frames.encode(Frame(0, text[3:], fin=True))
    )
    protocol = FrameProtocol(client=False, extensions=[])
    protocol.receive_bytes(data)
    kinds = [(frame.opcode, frame.message_finished) for frame in protocol.received_frames()]
    # wsproto names a continuation by its message's opcode
    assert kinds == [(Opcode.TEXT, False), (Opcode.PING, True), (Opcode.TEXT, True)]


@pytest.mark.parametrize(
    "frame",
    [
        Frame(OP_TEXT, b"unmasked", masked=False),
        Frame(OP_TEXT, b"rsv1", rsv=0b100),
        Frame(OP_BINARY, b"rsv3", rsv=0b001),
        Frame(0x3, b"reserved data opcode"),
        Frame(0xB, b"reserved control opcode"),
        Frame(OP_PING, b"x" * 126),
        Frame(OP_PING, b"fragmented control", fin=False),
    ],
    ids=["unmasked", "rsv1", "rsv3", "opcode-3", "opcode-B", "long-ping", "fragmented-ping"],
)
def test_each_malformed_frame_is_refused_by_a_server(frame: Frame) -> None:
    with pytest.raises(ParseFailed):
        parsed_by_a_server(frames.encode(frame))


@given(st.binary(max_size=125), st.binary(max_size=70_000))
def test_server_frames_are_read_back_exactly(ping: bytes, data: bytes) -> None:
    server = FrameProtocol(client=False, extensions=[])
    wire = bytes(server.ping(ping)) + bytes(server.send_data(data, fin=True))
    wire += bytes(server.pong(ping)) + bytes(server.close(1000, "bye"))
    read = read_all(wire)
    assert [(f.opcode, f.fin, f.rsv, f.masked) for f in read] == [
        (OP_PING, True, 0, False),
        (OP_BINARY, True, 0, False),
        (OP_PONG, True, 0, False),
        (OP_CLOSE, True, 0, False),
    ]
    assert [f.payload for f in read[:3]] == [ping, data, ping]
    assert read[3].payload == b"\x03\xe8bye"


def test_header_bits_are_read_as_sent() -> None:
    sent = Frame(OP_BINARY, b"bits", fin=False, rsv=0b101, masked=True)
    (read,) = read_all(frames.encode(sent))
    assert read == sent
