"""A raw-socket probe against a server that stops reading ends within its bounds, with what the
server failed to answer as the observation: the write and the close wait on the socket's buffer,
which such a server never empties."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.wire import frames as wire
from wsconform.targets.frames import OP_BINARY, Frame
from wsconform.targets.servers.base import EXPECT_BOUND_S
from wsconform.targets.wsclient import Endpoint

# More than loopback's socket buffers hold on both sides, so the write cannot finish.
UNREAD_BYTES = 64 * 1024 * 1024
# Sending, reading and closing each take at most EXPECT_BOUND_S; the test's own bound only
# turns a missing bound into a failure rather than a hang.
PROBE_BOUND_S = 3 * EXPECT_BOUND_S + 2.0


@contextlib.asynccontextmanager
async def server_that_stops_reading() -> AsyncIterator[int]:
    """Answers the handshake with a 101, then neither reads nor writes until the test ends."""
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {wire.accept_value(key)}\r\n\r\n".encode()
        )
        # Keep the bytes in flight: ending here would let the client's writes fail at once.
        await done.wait()
        writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        done.set()
        server.close()
        await server.wait_closed()


def test_a_server_that_stops_reading_is_observed_within_the_bound(
    loop_runner: LoopRunner,
) -> None:
    async def probe() -> tuple[bool, int | None, str]:
        async with server_that_stops_reading() as port:
            connection = await wire.open_wire(Endpoint(port))
            assert connection is not None
            await connection.send(Frame(OP_BINARY, bytes(UNREAD_BYTES), masked=False))
            outcome = await connection.failed()
            await connection.close()
            return outcome

    async def bounded() -> tuple[bool, int | None, str]:
        return await asyncio.wait_for(probe(), PROBE_BOUND_S)

    assert loop_runner.run(bounded()) == (
        False,
        None,
        f"nothing within {EXPECT_BOUND_S} s: the server ignored it",
    )
