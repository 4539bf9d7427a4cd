"""The raw wire client: its frame and close-payload codecs (RFC 6455 5.2, 7.1.5), then one
conversation with a real server that must leave nothing listening behind."""

from __future__ import annotations

import asyncio
import contextlib
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
from wsconform.conformance.families.wire.frames import accept_value
from wsconform.targets.frames import OP_BINARY, OP_TEXT
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import EXPECT_BOUND_S
from wsconform.targets.servers.network import SocketTransport
from wsconform.targets.wsclient import (
    HEADER_FIRST_BYTES,
    Endpoint,
    FrameSource,
    WireClientConnection,
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


async def _refuses_on_the_header(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, after_header: list[int]
) -> None:
    """A server with a 64 KiB limit that judges a message on its header, as uvicorn does: it
    answers close 1009 and closes; what it read after the header is counted."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    key = next(line.split(":", 1)[1].strip() for line in head.split("\r\n")
               if line.lower().startswith("sec-websocket-key:"))  # fmt: skip
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_value(key).encode() + b"\r\n\r\n"
    )
    await reader.readexactly(2 + 8 + 4)  # a 64-bit length and the mask key
    writer.write(bytes([0x88, 2]) + struct.pack("!H", 1009))
    await writer.drain()
    # What the client writes once the close is out (its echo; the payload, if it sent it).
    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        while chunk := await asyncio.wait_for(reader.read(65536), EXPECT_BOUND_S):
            after_header[0] += len(chunk)
    writer.close()


def test_a_long_message_waits_behind_its_header_for_a_server_that_refuses_it(
    loop_runner: LoopRunner,
) -> None:
    """Sent whole, the payload would sit unread in the closed server's socket, and the kernel's
    reset could overtake the close frame on the way back (through nginx it did, in one run of
    three under load): the header goes alone, and the payload is never sent."""
    after_header = [0]

    async def conversation() -> list[ClientEvent]:
        server = await asyncio.start_server(
            lambda r, w: _refuses_on_the_header(r, w, after_header), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        client = WireClientConnection(Endpoint(port), "/", (), ())
        try:
            seen = [await client.next_event()]
            await client.send_bytes(bytes(HEADER_FIRST_BYTES + 1))
            seen.append(await client.next_event())
        finally:
            await client.release()
            server.close()
            await server.wait_closed()
        return seen

    accepted, closed = loop_runner.run(conversation())
    assert isinstance(accepted, Accepted)
    assert closed == Closed(1009, "", close_frame_seen=True, payload_bytes=2)
    assert after_header[0] < 64, after_header  # the close echo at most, never the payload
