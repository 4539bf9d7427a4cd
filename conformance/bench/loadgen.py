"""The load generator: a picows client on uvloop, in a process of its own.

The benchmark process starts it (`python -m wsconform.conformance.bench.loadgen`) and sends it
one JSON command per line on stdin; it answers one JSON line per command on stdout. Running
apart from pytest and from the server, on the fastest client we know, keeps it from being the
bottleneck; the ceiling benchmark shows how much headroom it has.

Every reply is checked (an echo must be the reference app's reply to what was sent, every
member of a chat room must get every message), so a server that is fast because it is wrong
fails instead of scoring. Every command runs under the bound it is given.
"""

from __future__ import annotations

import asyncio
import collections
import json
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from picows import WSCloseCode, WSListener, WSMsgType, WSTransport, ws_connect
from wsconform.targets.bare_echo import ECHO_PREFIX

# Deliveries are stamped in the receiving callback, before any parsing.
OnMessage = Callable[[bytes, int], None]


class LoadError(Exception):
    """The server answered something other than what the benchmark expects."""


class Peer(WSListener):
    """One client connection: reassembles messages, answers the server's close."""

    def __init__(self, on_message: OnMessage) -> None:
        super().__init__()
        self._on_message = on_message
        self._fragments: list[bytes] = []
        self.close_code: int | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        received_ns = time.perf_counter_ns()
        kind = frame.msg_type
        if kind == WSMsgType.CLOSE:
            self.close_code = frame.get_close_code().value
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()
            if not self.closed.done():
                self.closed.set_result(None)
        elif kind in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                message = b"".join(self._fragments)
                self._fragments.clear()
                self._on_message(message, received_ns)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Inbox:
    """Messages in arrival order, awaited one at a time."""

    def __init__(self) -> None:
        self._messages: collections.deque[bytes] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, message: bytes, _received_ns: int) -> None:
        self._messages.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> bytes:
        while not self._messages:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._messages.popleft()


async def connect(
    url: str, on_message: OnMessage, tls: ssl.SSLContext | None = None
) -> tuple[WSTransport, Peer]:
    transport, peer = await ws_connect(lambda: Peer(on_message), url, ssl_context=tls)
    assert isinstance(peer, Peer)
    return transport, peer


async def close_politely(transport: WSTransport, peer: Peer) -> None:
    """Send a close frame and wait for the server's (answered in `Peer`), or for the drop."""
    transport.send_close(WSCloseCode.OK)
    await peer.closed
    transport.disconnect()
    await transport.wait_disconnected()


class LoadGenerator:
    """The commands, with the connections that live between them."""

    def __init__(self) -> None:
        self.echo_connections: dict[int, tuple[WSTransport, Peer, Inbox]] = {}
        self.rooms: dict[int, list[tuple[WSTransport, Peer]]] = {}
        self.room_deliveries: dict[int, RoomDeliveries] = {}
        self.held: list[tuple[WSTransport, Peer]] = []
        self._next_id = 0
        # The client context of wss:// URLs (`trust`).
        self.tls: ssl.SSLContext | None = None

    async def trust(self, ca_file: str) -> dict[str, Any]:
        """wss:// connections from now on verify the server against `ca_file` (the CA made for
        the TLS server under test), as a client of a real deployment verifies it."""
        self.tls = ssl.create_default_context(cafile=ca_file)
        return {}

    async def _connect(self, url: str, on_message: OnMessage) -> tuple[WSTransport, Peer]:
        return await connect(url, on_message, self.tls if url.startswith("wss://") else None)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def open(self, url: str) -> dict[str, Any]:
        inbox = Inbox()
        transport, peer = await self._connect(url, inbox.put)
        connection_id = self._new_id()
        self.echo_connections[connection_id] = (transport, peer, inbox)
        return {"id": connection_id}

    async def echo(self, id: int, size: int, count: int) -> dict[str, Any]:
        transport, _, inbox = self.echo_connections[id]
        text = "x" * size
        payload, expected = text.encode(), (ECHO_PREFIX + text).encode()
        for _ in range(count):
            transport.send(WSMsgType.TEXT, payload)
            reply = await inbox.get()
            if reply != expected:
                raise LoadError(
                    f"echo of {size} B: expected {len(expected)} B starting {expected[:24]!r},"
                    f" got {len(reply)} B starting {reply[:24]!r}"
                )
        return {"round_trips": count}

    async def close(self, id: int) -> dict[str, Any]:
        transport, peer, _ = self.echo_connections.pop(id)
        await close_politely(transport, peer)
        return {}

    async def handshakes(self, url: str, count: int) -> dict[str, Any]:
        """Connect, be accepted, close: `count` times in a row."""
        for _ in range(count):
            transport, peer = await self._connect(url, _ignore)
            await close_politely(transport, peer)
            if peer.close_code is None:
                raise LoadError("the server dropped the connection without a close frame")
        return {"handshakes": count}

    async def join(
        self, url_prefix: str, clients: int, spread_over: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Open a chat room of `clients` members and wait out their join notices. With
        `spread_over` (the same room's prefixes on other instances), member i joins through
        prefix i modulo their number: the room is spread over the instances."""
        room_id = self._new_id()
        deliveries = RoomDeliveries(clients)
        members = []
        prefixes = (url_prefix, *spread_over)
        for index in range(clients):
            url = f"{prefixes[index % len(prefixes)]}bench{room_id}-{index}"
            members.append(await self._connect(url, deliveries.receiver(index)))
        # Member i hears of each later joiner: clients-1-i notices.
        await deliveries.notices_settled(clients * (clients - 1) // 2)
        self.rooms[room_id] = members
        self.room_deliveries[room_id] = deliveries
        return {"room": room_id}

    async def broadcast(self, room: int, count: int) -> dict[str, Any]:
        """Member 0 says `count` stamped messages, one at a time; each must reach every member
        (its sender as "You"). Latency: from the stamp to the receiving callback."""
        sender, _ = self.rooms[room][0]
        deliveries = self.room_deliveries[room]
        latencies_ns: list[int] = []
        for sequence in range(count):
            everyone = deliveries.expect(sequence)
            sender.send(WSMsgType.TEXT, f"{sequence}:{time.perf_counter_ns()}".encode())
            latencies_ns.extend(await everyone)
        return {"deliveries": len(latencies_ns), "latencies_us": [n / 1000 for n in latencies_ns]}

    async def leave(self, room: int) -> dict[str, Any]:
        self.room_deliveries.pop(room)
        await asyncio.gather(*(close_politely(*member) for member in self.rooms.pop(room)))
        return {}

    async def hold(self, url: str, count: int, concurrency: int) -> dict[str, Any]:
        """Open `count` idle connections, `concurrency` handshakes at a time, and keep them."""
        gate = asyncio.Semaphore(concurrency)

        async def open_one() -> None:
            async with gate:
                self.held.append(await self._connect(url, _ignore))

        await asyncio.gather(*(open_one() for _ in range(count)))
        return {"held": len(self.held)}

    async def release(self) -> dict[str, Any]:
        held, self.held = self.held, []
        await asyncio.gather(*(close_politely(*connection) for connection in held))
        return {"released": len(held)}


class RoomDeliveries:
    """What the members of one chat room have received, parsed in the receiving callbacks."""

    def __init__(self, members: int) -> None:
        self.members = members
        self.notices = 0
        self._notices_changed = asyncio.Event()
        self._sequence = -1
        self._latencies: list[int] = []
        self._everyone: asyncio.Future[list[int]] | None = None

    def receiver(self, index: int) -> OnMessage:
        def receive(message: bytes, received_ns: int) -> None:
            try:
                self._receive(index, message, received_ns)
            except Exception as error:  # a picows callback must not raise: fail the round
                if self._everyone is not None and not self._everyone.done():
                    self._everyone.set_exception(LoadError(f"member {index}: {error!r}"))

        return receive

    def _receive(self, index: int, message: bytes, received_ns: int) -> None:
        chat = json.loads(message)
        if chat["sender"] == "system":
            self.notices += 1
            self._notices_changed.set()
            return
        sequence, _, sent_ns = chat["message"].partition(":")
        if int(sequence) != self._sequence:
            raise LoadError(f"got message {sequence} while waiting for {self._sequence}")
        self._latencies.append(received_ns - int(sent_ns))
        if len(self._latencies) == self.members and self._everyone is not None:
            self._everyone.set_result(self._latencies)

    async def notices_settled(self, expected: int) -> None:
        while self.notices < expected:
            self._notices_changed.clear()
            await self._notices_changed.wait()

    def expect(self, sequence: int) -> asyncio.Future[list[int]]:
        self._sequence = sequence
        self._latencies = []
        self._everyone = asyncio.get_running_loop().create_future()
        return self._everyone


def _ignore(_message: bytes, _received_ns: int) -> None:
    """Idle and handshake connections expect no messages; any that come are not measured."""


async def serve_commands() -> None:
    """Read commands until stdin closes; answer each, errors and timeouts included."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    generator = LoadGenerator()
    while line := await reader.readline():
        command = json.loads(line)
        operation: Callable[..., Awaitable[dict[str, Any]]] = getattr(generator, command["op"])
        bound = command.pop("bound_s")
        arguments = {key: value for key, value in command.items() if key != "op"}
        started = time.perf_counter()
        try:
            answer = await asyncio.wait_for(operation(**arguments), bound)
        except asyncio.TimeoutError:
            answer = {"error": f"no answer within {bound} s", "timeout": True}
        except Exception as error:  # reported to the benchmark, which fails with it
            answer = {"error": f"{type(error).__name__}: {error}"}
        answer["seconds"] = time.perf_counter() - started
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    uvloop.run(serve_commands())
