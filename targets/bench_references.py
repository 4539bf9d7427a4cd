"""The two reference servers the benchmarks measure every ASGI server against, in the same run.

- `websockets`: a raw `websockets` server (no ASGI, compression and keepalive off), the
  **baseline**: a plain, well-known Python WebSocket server.
- `picows`: a `picows` server on uvloop, the **ceiling**: about as fast as Python gets, so that a
  server under test coming close to it means the load generator, not the server, is the limit.

Both speak what the benchmarks send: on `/chatroom/<name>` the reference app's chat room
(the same JSON messages, the sender's copy marked "You"), on every other path the reference
app's `/echo` reply. Run one with `python -m wsconform.targets.bench_references NAME PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

from wsconform.targets.bare_echo import ECHO_PREFIX

CHATROOM_PREFIX = "/chatroom/"
ECHO_PREFIX_BYTES = ECHO_PREFIX.encode()


def chat_message(sender: str, message: str) -> str:
    # Starlette's `send_json` encoding, so every server puts the same bytes on the wire.
    return json.dumps({"sender": sender, "message": message}, separators=(",", ":"))


class ChatRoom:
    """The reference app's connection manager, minus the framework: members are send functions."""

    def __init__(self) -> None:
        self.members: dict[object, tuple[str, Callable[[str], None]]] = {}

    def join(self, key: object, username: str, send: Callable[[str], None]) -> None:
        self.members[key] = (username, send)
        self._send_to(self._others(key), chat_message("system", f"{username} joined the chat"))

    def say(self, key: object, text: str) -> None:
        username, send = self.members[key]
        send(chat_message("You", text))
        self._send_to(self._others(key), chat_message(username, text))

    def leave(self, key: object) -> None:
        username, _ = self.members.pop(key)
        self._send_to(
            self.members.values(), chat_message("system", f"Client #{username} left the chat")
        )

    def _others(self, key: object) -> list[tuple[str, Callable[[str], None]]]:
        return [member for other, member in self.members.items() if other is not key]

    @staticmethod
    def _send_to(members: Iterable[tuple[str, Callable[[str], None]]], text: str) -> None:
        for _, send in members:
            send(text)


async def serve_websockets(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    room = ChatRoom()

    async def handler(connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else "/"
        if path.startswith(CHATROOM_PREFIX):
            # `broadcast` writes without waiting, as a room must not wait on its slowest member.
            room.join(
                connection, path[len(CHATROOM_PREFIX) :], lambda t: broadcast([connection], t)
            )
            try:
                async for text in connection:
                    room.say(connection, str(text))
            finally:
                room.leave(connection)
            return
        async for text in connection:
            await connection.send(ECHO_PREFIX + str(text))

    # Compression and keepalive off: the ASGI servers under test are not asked for either.
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None):
        await asyncio.Future()


async def serve_picows(port: int) -> None:
    from picows import WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

    room = ChatRoom()

    class Echo(WSListener):
        def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
            if frame.msg_type == WSMsgType.TEXT:
                # Bytes in, bytes out: a ceiling skips the decoding that every ASGI server does.
                transport.send(WSMsgType.TEXT, ECHO_PREFIX_BYTES + frame.get_payload_as_bytes())
            elif frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    class Member(WSListener):
        def __init__(self, username: str) -> None:
            self.username = username

        def on_ws_connected(self, transport: WSTransport) -> None:
            room.join(
                self, self.username, lambda text: transport.send(WSMsgType.TEXT, text.encode())
            )

        def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
            if frame.msg_type == WSMsgType.TEXT:
                room.say(self, frame.get_payload_as_utf8_text())
            elif frame.msg_type == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            room.leave(self)

    def listener_for(request: WSUpgradeRequest) -> WSListener:
        path = request.path.decode()
        if path.startswith(CHATROOM_PREFIX):
            return Member(path[len(CHATROOM_PREFIX) :])
        return Echo()

    server = await ws_create_server(listener_for, "127.0.0.1", port)
    await server.serve_forever()


REFERENCE_SERVERS = {"websockets": serve_websockets, "picows": serve_picows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(REFERENCE_SERVERS))
    parser.add_argument("port", type=int)
    arguments = parser.parse_args()
    serve = REFERENCE_SERVERS[arguments.name](arguments.port)
    if arguments.name == "picows":
        import uvloop

        uvloop.run(serve)
    else:
        asyncio.run(serve)


if __name__ == "__main__":
    main()
