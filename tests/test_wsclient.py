"""The raw wire client: its frame and close-payload codecs (RFC 6455 5.2, 7.1.5), then one
conversation with a real server that must leave nothing listening behind."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner, run_actions
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Accepted,
    Action,
    ClientEvent,
    Close,
    Closed,
    Connect,
    Message,
    SendText,
)
from wsconform.targets.frames import OP_BINARY, OP_TEXT
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import EXPECT_BOUND_S
from wsconform.targets.servers.network import SocketTransport
from wsconform.targets.wsclient import (
    FrameSource,
    close_payload,
    encode_frame,
    parse_close_payload,
    read_frame,
)

MASK_BIT = 0x80


def payload_of(size: int) -> bytes:
    return bytes(index % 251 for index in range(size))


async def decode(wire: bytes, buffered: bytes = b"") -> tuple[bool, int, bytes]:
    """Read one frame from `buffered` (what h11 kept after the handshake), then `wire`."""
    reader = asyncio.StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    return await read_frame(FrameSource(reader, buffered))


# --- frames ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "header_bytes"),
    # RFC 6455 5.2: 7-bit length up to 125, 16-bit up to 65535, 64-bit beyond; plus a 4-byte mask.
    [(0, 2 + 4), (125, 2 + 4), (126, 4 + 4), (65535, 4 + 4), (65536, 10 + 4)],
)
def test_encoded_frame_is_masked_and_decodes_to_its_payload(
    size: int, header_bytes: int, loop_runner: LoopRunner
) -> None:
    payload = payload_of(size)
    frame = encode_frame(OP_BINARY, payload)
    decoded = loop_runner.run(decode(frame))
    assert (len(frame) - size, frame[1] & MASK_BIT, decoded) == (
        header_bytes,
        MASK_BIT,
        (True, OP_BINARY, payload),
    )


def test_frame_split_between_handshake_buffer_and_socket_decodes(
    loop_runner: LoopRunner,
) -> None:
    frame = encode_frame(OP_TEXT, "héllo".encode())
    assert loop_runner.run(decode(frame[3:], buffered=frame[:3])) == (
        True,
        OP_TEXT,
        "héllo".encode(),
    )


def test_unmasked_server_frame_decodes_as_is(loop_runner: LoopRunner) -> None:
    # Servers never mask (RFC 6455 5.1); a non-final frame keeps its FIN bit clear.
    assert loop_runner.run(decode(bytes([OP_TEXT, 2]) + b"hi")) == (False, OP_TEXT, b"hi")


# --- close payloads -------------------------------------------------------------------------------


def test_close_payload_without_a_code_parses_as_none() -> None:
    assert parse_close_payload(b"") == (None, "")


def test_close_payload_with_code_and_reason_parses() -> None:
    assert parse_close_payload(struct.pack("!H", 4000) + b"bye") == (4000, "bye")


def test_close_payload_without_a_code_is_empty() -> None:
    assert close_payload(None, "ignored") == b""


@pytest.mark.parametrize(
    ("code", "reason"), [(1000, ""), (4000, "bye"), (1011, "ünïcode"), (3000, "r" * 123)]
)
def test_close_payload_round_trips(code: int, reason: str) -> None:
    assert parse_close_payload(close_payload(code, reason)) == (code, reason)


# --- a real server --------------------------------------------------------------------------------


def without_headers(event: ClientEvent | None) -> ClientEvent | None:
    """The 101 response's headers (date, server, ...) differ by run; the subprotocol does not."""
    return Accepted(event.subprotocol) if isinstance(event, Accepted) else event


def test_puppet_conversation_over_uvicorn_and_no_server_left_behind(
    loop_runner: LoopRunner,
) -> None:
    spec = all_transports()["uvicorn-wsproto"]
    reason = spec.unavailable_reason()
    if reason is not None:
        pytest.skip(f"{spec.name}: {reason}")
    actions: list[Action] = [
        Connect(),
        Accept(),
        SendText("hi"),
        Close(4000, "bye"),
    ]
    with spec.serve(PUPPET_APP) as transport:
        try:
            session = loop_runner.run(run_actions(transport, actions, "wsclient"))
        finally:
            loop_runner.run(transport.aclose())
        assert isinstance(transport, SocketTransport)
        port = transport.port
    client_events = [
        without_headers(line.event) for line in session.transcript if line.event is not None
    ]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=EXPECT_BOUND_S).close()
    assert client_events == [Accepted(None), Message("hi"), Closed(4000, "bye", True)]
