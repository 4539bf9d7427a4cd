"""The reference chat across instances: the seeds' scaling advice (a Redis pub/sub channel that
every instance subscribes to and forwards to its own connections), written correctly.

Same routes and messages as the reference app's in-memory chat (`targets/reference.py`,
`/chatroom/{username}` and `GET /chatroom/stats`), so one delivery model judges both: served by
one process each is the same room; served by two, only this one still is.

Where the seeds' advice leaves a choice, the comment says what and why:
- the speaker's own copy ("You") goes to its own outbox, after publishing (what a member saw
  confirmed has reached the broker); everything else goes through the channel, and an
  instance forwards each message to its local members except its origin (publishing *and*
  delivering locally would hand the local members every message twice);
- a member's join notice is published before its handshake is answered, for the same reason;
- a subscriber whose broker connection fails subscribes again, with a short backoff, for as
  long as the app runs (a pub/sub subscription does not survive the broker's restart), and a
  command on a connection the restart closed is retried on a new one;
- each member has an outbox and a writer task of its own: forwarding never awaits a socket,
  so one member that does not read cannot stall the channel for the others; a member whose
  outbox overflows is closed (1008) rather than delivered to out of order;
- presence ("who is online") is a Redis hash of member ids, so every instance counts the same
  room; a speaker whose message cannot be published is told with close 1013 (try again later).

The broker's URL comes from `WSCONFORM_BROKER_URL` (the suite sets it in each instance's
environment; docs/families/cluster.md shows how a user's own app reads it from its settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from wsconform.targets.messages import receive_text
from wsconform.targets.servers.broker import BROKER_URL_ENV

CHANNEL = "wsconform:chat"
PRESENCE = "wsconform:chat:members"
# Messages a member may have waiting before it counts as not keeping up.
OUTBOX_SIZE = 256
# Between two attempts to subscribe again while the broker is away.
RESUBSCRIBE_BACKOFF_S = (0.05, 0.1, 0.2, 0.5)
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013  # IANA close code registry: the server is overloaded or its backend away


@dataclass(eq=False)
class Member:
    username: str
    websocket: WebSocket
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    outbox: asyncio.Queue[dict[str, str]] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_SIZE)
    )
    writer: asyncio.Task[None] | None = None


class PubSubRoom:
    """One instance's share of the room: its local members, its subscriber, its publisher."""

    def __init__(self, url: str) -> None:
        self.url = url
        # A command on a connection the broker closed (it restarted) is tried again on a new
        # one: the first publish after a restart would fail otherwise.
        self.redis = aioredis.Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 5),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        self.members: dict[str, Member] = {}
        self.subscriber: asyncio.Task[None] | None = None
        # Closes under way (the event loop keeps only weak references to tasks).
        self.closing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        subscribed = asyncio.Event()
        self.subscriber = asyncio.create_task(self.subscribe_forever(subscribed))
        # The first subscription is in place before the first member can join.
        await asyncio.wait_for(subscribed.wait(), timeout=10)

    async def stop(self) -> None:
        if self.subscriber is not None:
            self.subscriber.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.subscriber
        await self.redis.aclose()

    async def subscribe_forever(self, subscribed: asyncio.Event) -> None:
        attempt = 0
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    subscribed.set()
                    attempt = 0
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.forward(json.loads(message["data"]))
            except (RedisError, OSError):
                # The broker is away (restarting): its subscriptions are gone with it.
                backoff = RESUBSCRIBE_BACKOFF_S[min(attempt, len(RESUBSCRIBE_BACKOFF_S) - 1)]
                attempt += 1
                await asyncio.sleep(backoff)

    def forward(self, envelope: dict[str, Any]) -> None:
        """To every local member except the message's origin, without awaiting any socket."""
        for member in list(self.members.values()):
            if member.id == envelope["origin"]:
                continue
            try:
                member.outbox.put_nowait(envelope["payload"])
            except asyncio.QueueFull:
                self.evict(member)

    def evict(self, member: Member) -> None:
        """A member that does not keep up: out of the room, its socket closed in the background
        (its writer is stuck on a send that may never complete)."""
        self.members.pop(member.id, None)
        if member.writer is not None:
            member.writer.cancel()
        closing = asyncio.create_task(self.close_quietly(member, POLICY_VIOLATION))
        self.closing.add(closing)
        closing.add_done_callback(self.closing.discard)

    async def close_quietly(self, member: Member, code: int) -> None:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await member.websocket.close(code)

    async def write(self, member: Member) -> None:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            while True:
                await member.websocket.send_json(await member.outbox.get())

    async def publish(self, origin: Member, payload: dict[str, str]) -> None:
        await self.redis.publish(CHANNEL, json.dumps({"origin": origin.id, "payload": payload}))

    async def join(self, member: Member) -> None:
        # Published before the handshake is answered: once a member is in, its notice has
        # reached the broker, and a member who joins after it (on any instance) never hears it.
        await self.redis.hset(PRESENCE, member.id, member.username)
        notice = {"sender": "system", "message": f"{member.username} joined the chat"}
        await self.publish(member, notice)
        self.members[member.id] = member
        await member.websocket.accept()
        member.writer = asyncio.create_task(self.write(member))

    async def say(self, member: Member, text: str) -> None:
        # The speaker's own copy after publishing, for the same reason as in `join`.
        await self.publish(member, {"sender": member.username, "message": text})
        await member.outbox.put({"sender": "You", "message": text})

    async def leave(self, member: Member) -> None:
        if self.members.pop(member.id, None) is None:
            return  # evicted: already gone
        if member.writer is not None:
            member.writer.cancel()
        with contextlib.suppress(RedisError, OSError):
            await self.redis.hdel(PRESENCE, member.id)
            notice = {"sender": "system", "message": f"Client #{member.username} left the chat"}
            await self.publish(member, notice)

    async def online(self) -> int:
        count: int = await self.redis.hlen(PRESENCE)
        return count


def room_of(websocket: WebSocket | Request) -> PubSubRoom:
    room: PubSubRoom = websocket.state.room
    return room


async def chatroom(websocket: WebSocket) -> None:
    room = room_of(websocket)
    member = Member(websocket.path_params["username"], websocket)
    try:
        await room.join(member)
        while member.id in room.members:
            await room.say(member, await receive_text(websocket))
    except WebSocketDisconnect:
        pass
    except (RedisError, OSError):
        # The broker is away: the member is told, not left talking to nobody.
        await room.close_quietly(member, TRY_AGAIN_LATER)
    finally:
        await room.leave(member)


async def chatroom_stats(request: Request) -> JSONResponse:
    return JSONResponse({"connections": await room_of(request).online()})


def pubsub_chat(room: type[PubSubRoom] = PubSubRoom) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, PubSubRoom]]:
        started = room(os.environ[BROKER_URL_ENV])
        await started.start()
        try:
            yield {"room": started}
        finally:
            await started.stop()

    return Starlette(
        routes=[
            Route("/chatroom/stats", chatroom_stats),
            WebSocketRoute("/chatroom/{username}", chatroom),
        ],
        lifespan=lifespan,
    )


app = pubsub_chat()
