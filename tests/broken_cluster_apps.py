"""Pub/sub chats each broken in one way a chat across instances goes wrong; each must be caught
by one cluster check (tests/test_cluster_checks.py). Served like the reference pub/sub chat
(targets/cluster_chat.py), of which each changes one method."""

from __future__ import annotations

import asyncio
import json
import uuid

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from wsconform.targets.cluster_chat import CHANNEL, Member, PubSubRoom, pubsub_chat


class DeliversLocallyToo(PubSubRoom):
    """Hands the local members each message at once, and again when its own subscription
    brings it back: members on the speaker's instance hear everything twice."""

    async def say(self, member: Member, text: str) -> None:
        await super().say(member, text)
        payload = {"sender": member.username, "message": text}
        for other in list(self.members.values()):
            if other is not member:
                await other.outbox.put(payload)


class NeverResubscribes(PubSubRoom):
    """Subscribes once, on a connection that does not retry: when the broker restarts the
    subscriber ends, and every message after it is published to nobody."""

    async def subscribe_forever(self, subscribed: asyncio.Event) -> None:
        once = aioredis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0))
        try:
            async with once.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                subscribed.set()
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self.forward(json.loads(message["data"]))
        except (RedisError, OSError):
            return
        finally:
            await once.aclose()


class AwaitsEachSend(PubSubRoom):
    """Forwards by awaiting each member's socket in turn, inside the subscriber (the seeds'
    manager's loop): one member that does not read stalls the channel for its instance."""

    async def subscribe_forever(self, subscribed: asyncio.Event) -> None:
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            subscribed.set()
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                envelope = json.loads(message["data"])
                for member in list(self.members.values()):
                    if member.id != envelope["origin"]:
                        await member.websocket.send_json(envelope["payload"])


class CountsItsOwnMembers(PubSubRoom):
    """Presence from the instance's own members: each instance counts its share of the room."""

    async def online(self) -> int:
        return len(self.members)


class KeepsNoticesLocal(PubSubRoom):
    """Messages cross instances, the join notice does not: it goes to the local members only."""

    async def publish(self, origin: Member, payload: dict[str, str]) -> None:
        if payload["sender"] == "system" and payload["message"].endswith(" joined the chat"):
            self.forward({"origin": origin.id, "payload": payload})
            return
        await super().publish(origin, payload)


twice_app = pubsub_chat(DeliversLocallyToo)
no_resubscribe_app = pubsub_chat(NeverResubscribes)
serial_app = pubsub_chat(AwaitsEachSend)
local_presence_app = pubsub_chat(CountsItsOwnMembers)
local_notices_app = pubsub_chat(KeepsNoticesLocal)


TO_RELAY = "wsconform:chat:to-relay"
RELAY = "wsconform:chat:relay"


class RelaysThroughNewest(PubSubRoom):
    """Every instance publishes to one relay, the instance started last, which republishes to
    the room: when the relay dies, the survivors' messages reach no one, not even their own
    instance's members."""

    async def start(self) -> None:
        self.relay_id = uuid.uuid4().hex
        await self.redis.set(RELAY, self.relay_id)
        await super().start()

    async def publish(self, origin: Member, payload: dict[str, str]) -> None:
        await self.redis.publish(TO_RELAY, json.dumps({"origin": origin.id, "payload": payload}))

    async def subscribe_forever(self, subscribed: asyncio.Event) -> None:
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL, TO_RELAY)
            subscribed.set()
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                if message["channel"] == CHANNEL.encode():
                    self.forward(json.loads(message["data"]))
                elif (await self.redis.get(RELAY)) == self.relay_id.encode():
                    await self.redis.publish(CHANNEL, message["data"])


relay_app = pubsub_chat(RelaysThroughNewest)
