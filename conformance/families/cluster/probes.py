"""A chat room spread over several instances, driven by a crowd and judged by a model of the
room: every step (a member joins, says one or more messages at once, leaves or drops) predicts
what each live member hears; each member on each instance must hear exactly that, once, each
sender's messages in order. Then the faults, each on a cluster of its own: an instance killed,
the broker restarted, a member that never reads.

The room speaks the reference chat's messages (`targets/reference.py`: `/chatroom/{name}`, JSON
`{"sender", "message"}`, `GET /chatroom/stats`). Across instances nothing proves silence by a
barrier (a ping answers for one instance's socket, not for the broker's forwarding in flight),
so "nothing more" is a timed quiet listen here. No pytest here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    Closed,
    Message,
    NoEvent,
    connection_ended,
)
from wsconform.targets.servers.base import (
    EXPECT_BOUND_S,
    QUIET_BOUND_S,
    REPLY_BOUND_S,
    ClientConnection,
)
from wsconform.targets.servers.broker import RedisBroker
from wsconform.targets.servers.cluster import ClusterTransport

PUBSUB_TARGET = "wsconform.targets.cluster_chat:app"
CROSS_INSTANCE_FINDING = (
    "a broadcast reaches only clients of the same instance; "
    f"see the pub/sub target ({PUBSUB_TARGET})"
)
# A delivery through the broker takes milliseconds; its absence after this is a missed one.
DELIVERY_BOUND_S = EXPECT_BOUND_S
# After the broker restarts: how long delivery has to resume, and each probe's own wait.
RESUME_BOUND_S = 5.0
PROBE_WAIT_S = 0.5
# How long the clients of a killed instance have to see their connection end.
KILLED_END_BOUND_S = 2.0
# Presence (a count other instances update) is asked again until it agrees, up to this.
PRESENCE_BOUND_S = 2.0
NAMES = ("ann", "bob", "cyd")

BROADCAST = "cluster.broadcast-reaches-every-instance"
ONCE_IN_ORDER = "cluster.delivered-once-in-order"
NOTICES = "cluster.notices-cross-instances"
PRESENCE = "cluster.presence-agrees"


def chat(sender: str, message: str) -> dict[str, str]:
    return {"sender": sender, "message": message}


def json_of(event: ClientEvent) -> Any:
    if not isinstance(event, Message) or not isinstance(event.data, str):
        return None
    try:
        return json.loads(event.data)
    except ValueError:
        return None


# --- plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    name: str


@dataclass(frozen=True)
class Say:
    member: int  # among those present, modulo their number
    texts: tuple[str, ...]  # sent back to back: a sender's order is at stake


@dataclass(frozen=True)
class Leave:
    member: int
    abruptly: bool


Step = Join | Say | Leave

_texts = st.lists(st.text("abcxyz ", min_size=1, max_size=8), min_size=1, max_size=3)
_steps = st.one_of(
    st.builds(Join, st.sampled_from(NAMES)),
    st.builds(Say, st.integers(0, 5), _texts.map(tuple)),
    st.builds(Say, st.integers(0, 5), _texts.map(tuple)),
    st.builds(Leave, st.integers(0, 5), st.booleans()),
)


@st.composite
def room_plans(draw: st.DrawFn, max_steps: int = 8) -> tuple[Step, ...]:
    """Two joins first (the first two members land on two instances), then any steps."""
    first = tuple(Join(draw(st.sampled_from(NAMES))) for _ in range(2))
    return first + tuple(draw(st.lists(_steps, max_size=max_steps - 2)))


# The plan that shows the cross-instance finding in the fewest steps, run first in every run.
DIRECTED_PLAN: tuple[Step, ...] = (
    Join("ann"), Join("bob"), Join("ann"), Say(0, ("one", "two", "three")), Say(1, ("hi",)),
    Leave(2, abruptly=True), Say(1, ("bye",)),
)  # fmt: skip


# --- the room --------------------------------------------------------------------------------


@dataclass(eq=False)
class Member:
    name: str
    instance: int | None  # None where the kernel chose a worker
    connection: ClientConnection
    open: bool = True


@dataclass(frozen=True)
class Expected:
    payload: dict[str, str]
    origin: Member
    notice: bool


@dataclass
class RoomRun:
    """What went wrong, per check, over every plan run on one cluster (the first few kept)."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    judged: set[str] = field(default_factory=set)
    # Members that missed a message from another instance / from their own.
    cross_misses: int = 0
    local_misses: int = 0
    steps: int = 0
    # Leave notices of a member who left an empty room: nobody's hearing them proves they went
    # out, so a member who joins next (in this room or the next one on the cluster) may still
    # hear them: the server learns of a leave after the client has gone, and only a witness
    # orders the notice before the next step.
    unwitnessed: list[str] = field(default_factory=list)

    def note(self, check_id: str, problem: str | None) -> None:
        self.judged.add(check_id)
        if problem is not None:
            self.problems.setdefault(check_id, []).append(problem)

    def judgements(self, placement_known: bool) -> list[Judgement]:
        judgements = [self._judgement(ONCE_IN_ORDER)]
        broadcast = self._judgement(BROADCAST)
        if broadcast.ok is False and self.cross_misses and not self.local_misses:
            broadcast = Judgement(
                BROADCAST,
                False,
                f"{CROSS_INSTANCE_FINDING}. {self._first(BROADCAST)}",
                cause="messages reach only members of the sender's instance",
            )
        judgements.append(broadcast)
        for check_id in (NOTICES, PRESENCE):
            if broadcast.ok is False:
                why = f"not judged: messages themselves do not cross instances ({BROADCAST})"
                judgements.append(Judgement(check_id, None, why))
            else:
                judgements.append(self._judgement(check_id))
        if not placement_known:
            why = "the kernel placed each member on a worker: nobody knows which"
            judgements = [
                Judgement(j.check_id, j.ok, f"{j.detail} ({why})", cause=j.cause)
                for j in judgements
            ]
        return judgements

    def _first(self, check_id: str) -> str:
        problems = self.problems.get(check_id, [])
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"{problems[0]}{more}" if problems else ""

    def _judgement(self, check_id: str) -> Judgement:
        if check_id not in self.judged:
            return Judgement(check_id, None, "not judged: no step of the runs exercised it")
        if check_id in self.problems:
            return Judgement(check_id, False, self._first(check_id))
        return Judgement(check_id, True, f"as predicted over {self.steps} steps")


class Room:
    """The model of one room and the crowd in it, on one cluster."""

    def __init__(self, cluster: ClusterTransport, run: RoomRun) -> None:
        self.cluster = cluster
        self.run = run
        self.members: list[Member] = []
        self.stats_served: bool | None = None

    def where(self, member: Member) -> str:
        return "an unknown worker" if member.instance is None else f"instance {member.instance}"

    async def play(self, plan: tuple[Step, ...]) -> None:
        try:
            for step in plan:
                await self.step(step)
                if any(c in self.run.problems for c in (BROADCAST, ONCE_IN_ORDER)):
                    return  # a message gone astray: its step is the evidence, the rest costs bounds
            # Everyone leaves, each heard leaving by those still there: the next room on the
            # cluster starts empty, and none of these notices arrives in it unannounced.
            while self.members:
                await self.leave(self.members[-1], abruptly=False)
        finally:
            for member in self.members:
                await member.connection.close(1000)
                await member.connection.release()
            self.members.clear()

    async def step(self, step: Step) -> None:
        self.run.steps += 1
        if isinstance(step, Join):
            await self.join(step.name)
        elif self.members and isinstance(step, Say):
            await self.say(self.members[step.member % len(self.members)], step.texts)
        elif self.members and isinstance(step, Leave):
            await self.leave(self.members[step.member % len(self.members)], step.abruptly)

    async def join(self, name: str) -> None:
        index = len(self.cluster.placement) % len(self.cluster.instances)
        connection = await self.cluster.connect_on(index, f"/chatroom/{name}")
        member = Member(name, self.cluster.placement[-1], connection)
        first = await connection.next_event(REPLY_BOUND_S)
        if not isinstance(first, Accepted):
            self.run.note(
                ONCE_IN_ORDER, f"{name} was not let in on {self.where(member)}: {first!r}"
            )
            await connection.release()
            return
        others = list(self.members)
        self.members.append(member)
        notice = Expected(chat("system", f"{name} joined the chat"), member, notice=True)
        await self.settle({other: [notice] for other in others}, f"{name} joins")
        await self.check_presence(f"after {name} joined")

    async def say(self, speaker: Member, texts: tuple[str, ...]) -> None:
        for text in texts:
            await speaker.connection.send_text(text)
        expected = {
            member: [
                Expected(chat("You" if member is speaker else speaker.name, t), speaker, False)
                for t in texts
            ]
            for member in self.members
        }
        await self.settle(expected, f"{speaker.name} ({self.where(speaker)}) says {list(texts)}")

    async def leave(self, leaver: Member, abruptly: bool) -> None:
        self.members.remove(leaver)
        connection = leaver.connection
        await (connection.drop() if abruptly else connection.close(1000))
        await connection.release()
        notice = Expected(chat("system", f"Client #{leaver.name} left the chat"), leaver, True)
        how = "drops" if abruptly else "leaves"
        if not self.members:
            self.run.unwitnessed.append(json.dumps(notice.payload))
        await self.settle({m: [notice] for m in self.members}, f"{leaver.name} {how}")

    async def settle(self, expected: dict[Member, list[Expected]], what: str) -> None:
        """Every member listens at once: for what it must hear (up to the delivery bound), then
        a quiet bound for anything beyond it."""
        listening = [m for m in self.members if m.open]
        heard = await asyncio.gather(*(self.listen(m, len(expected.get(m, []))) for m in listening))
        for member, events in zip(listening, heard, strict=True):
            self.judge_member(member, expected.get(member, []), events, what)

    async def listen(self, member: Member, count: int) -> list[ClientEvent]:
        events: list[ClientEvent] = []
        deadline = time.monotonic() + DELIVERY_BOUND_S
        while sum(isinstance(e, Message) for e in events) < count:
            event = await member.connection.next_event(max(0.0, deadline - time.monotonic()))
            if isinstance(event, NoEvent):
                break
            events.append(event)
            if connection_ended(event):
                return events
        while not isinstance(event := await member.connection.next_event(QUIET_BOUND_S), NoEvent):
            events.append(event)
            if connection_ended(event):
                break
        return events

    def judge_member(
        self, member: Member, expected: list[Expected], events: list[ClientEvent], what: str
    ) -> None:
        if any(connection_ended(e) for e in events):
            member.open = False
            end = next(e for e in events if connection_ended(e))
            self.run.note(ONCE_IN_ORDER, f"at '{what}': {member.name}'s connection ended: {end!r}")
        key = json.dumps
        wanted = [e.payload for e in expected]
        heard = [json_of(e) for e in events if isinstance(e, Message)]
        tolerated = set(self.run.unwitnessed) - set(map(key, wanted))
        heard = [h for h in heard if key(h) not in tolerated]
        missing = Counter(map(key, wanted)) - Counter(map(key, heard))
        extra = Counter(map(key, heard)) - Counter(map(key, wanted))
        at = f"at '{what}', {member.name} on {self.where(member)}"
        for item in expected:
            if missing[key(item.payload)] <= 0:
                continue
            missing[key(item.payload)] -= 1
            cross = item.origin.instance != member.instance or member.instance is None
            if cross:
                self.run.cross_misses += 1
            else:
                self.run.local_misses += 1
            origin = f"from {item.origin.name} on {self.where(item.origin)}"
            problem = f"{at} missed {item.payload} {origin}"
            check_id = NOTICES if item.notice and cross else BROADCAST
            self.run.note(check_id, problem)
        for check_id, kinds in ((BROADCAST, False), (NOTICES, True)):
            if any(e.notice == kinds for e in expected):
                self.run.note(check_id, None)
        if extra:
            again = [k for k in extra if k in map(key, wanted)]
            what_extra = "again" if again else "unpredicted"
            self.run.note(ONCE_IN_ORDER, f"{at} heard {what_extra}: {sorted(extra.elements())}")
        elif not missing and heard != wanted:
            self.run.note(ONCE_IN_ORDER, f"{at} heard {heard}, in another order than {wanted}")
        else:
            self.run.note(ONCE_IN_ORDER, None)

    async def check_presence(self, when: str) -> None:
        """Where the app has GET /chatroom/stats: every instance counts the room's members."""
        if self.stats_served is False or self.run.cross_misses:
            return  # no stats route; or messages do not cross, which explains presence too
        want = len([m for m in self.members if m.open])
        deadline = time.monotonic() + PRESENCE_BOUND_S
        while True:
            replies = await self.cluster.request_each("GET", "/chatroom/stats")
            if any(r.status != 200 for r in replies):
                self.stats_served = False
                return
            self.stats_served = True
            counts = [r.json().get("connections") for r in replies]
            if all(c == want for c in counts) or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.05)  # a tick between asks, within the bound
        problem = None
        if any(c != want for c in counts):
            problem = f"{when}: the instances count {counts} members online, the room has {want}"
        self.run.note(PRESENCE, problem)


async def run_room(cluster: ClusterTransport, plans: list[tuple[Step, ...]]) -> list[Judgement]:
    """Every plan on the same cluster, one room after the other; the judgements of all."""
    run = RoomRun()
    for plan in plans:
        await Room(cluster, run).play(plan)
        if run.problems:
            break  # the first room that shows a finding is its evidence; more only cost time
    return run.judgements(cluster.steerable)


# --- faults ------------------------------------------------------------------------------------

KILLED_ENDS = "cluster.fault.killed-instance-clients-see-end"
SURVIVORS = "cluster.fault.survivors-keep-delivering"
BROKER_RESTART = "cluster.fault.broker-restart-resumes-or-tells"
SLOW_MEMBER = "cluster.fault.slow-member-does-not-stall"


async def _crowd(cluster: ClusterTransport, per_instance: int) -> list[Member]:
    """`per_instance` members on each instance, in, their join notices heard and set aside."""
    members = []
    for index in range(len(cluster.instances)):
        for n in range(per_instance):
            name = f"m{index}{n}"
            connection = await cluster.connect_on(index, f"/chatroom/{name}")
            await connection.next_event(REPLY_BOUND_S)
            members.append(Member(name, index, connection))
    await _drain(members)
    return members


async def _drain(members: list[Member]) -> None:
    async def quiet(member: Member) -> None:
        while not isinstance(await member.connection.next_event(QUIET_BOUND_S), NoEvent):
            pass

    await asyncio.gather(*(quiet(m) for m in members if m.open))


async def _hears(member: Member, text: str, bound: float) -> ClientEvent | None:
    """Waits up to `bound` for `text` from anyone; returns the ending if the connection ends
    first, None if it never came."""
    deadline = time.monotonic() + bound
    while (remaining := deadline - time.monotonic()) > 0:
        event = await member.connection.next_event(remaining)
        if isinstance(event, NoEvent):
            return None
        if connection_ended(event):
            member.open = False
            return event
        if (json_of(event) or {}).get("message") == text:
            return event
    return None


async def _release(members: list[Member]) -> None:
    for member in members:
        await member.connection.release()


def describe_end(event: ClientEvent | None) -> str:
    if isinstance(event, Closed):
        return "a drop (no close frame)" if not event.close_frame_seen else f"close {event.code}"
    return "nothing" if event is None else repr(event)


async def kill_an_instance(cluster: ClusterTransport) -> list[Judgement]:
    """Two members per instance; the last instance SIGKILLed; its members must see their
    connection end; a survivor speaks, and every other survivor must hear it."""
    members = await _crowd(cluster, 2)
    try:
        doomed = [m for m in members if m.instance == len(cluster.instances) - 1]
        survivors = [m for m in members if m not in doomed]
        await asyncio.to_thread(cluster.instances[-1].kill)
        ends = await asyncio.gather(*(_ending(m) for m in doomed))
        seen = {m.name: describe_end(e) for m, e in zip(doomed, ends, strict=True)}
        told = all(isinstance(e, Closed) for e in ends)
        judgements = [
            Judgement(
                KILLED_ENDS,
                told,
                f"the killed instance's clients saw: {seen}",
                cause=None
                if told
                else f"clients of a killed instance saw {sorted(set(seen.values()))}",
            )
        ]
        speaker = survivors[0]
        await speaker.connection.send_text("after the kill")
        heard = await asyncio.gather(
            *(_hears(m, "after the kill", DELIVERY_BOUND_S) for m in survivors)
        )
        missed = [
            m.name for m, e in zip(survivors, heard, strict=True) if not isinstance(e, Message)
        ]
        judgements.append(
            Judgement(
                SURVIVORS,
                not missed,
                f"{speaker.name}'s message after the kill: missed by {missed}"
                if missed
                else f"every survivor ({len(survivors)}) heard {speaker.name} after the kill",
            )
        )
        return judgements
    finally:
        await _release(members)


async def _ending(member: Member) -> ClientEvent | None:
    deadline = time.monotonic() + KILLED_END_BOUND_S
    while (remaining := deadline - time.monotonic()) > 0:
        event = await member.connection.next_event(remaining)
        if connection_ended(event):
            return event
        if isinstance(event, NoEvent):
            return None
    return None


async def restart_the_broker(cluster: ClusterTransport, broker: RedisBroker) -> list[Judgement]:
    """Two members per instance; the broker restarted; then, until the bound, a live member
    speaks (one probe at a time) until a probe reaches every other live member. Each member
    must by then hear again, or have been told (its connection closed)."""
    members = await _crowd(cluster, 2)
    try:
        await asyncio.to_thread(broker.restart)
        deadline = time.monotonic() + RESUME_BOUND_S
        probes = 0
        resumed = False
        while not resumed and time.monotonic() < deadline:
            live = [m for m in members if m.open]
            if len(live) < 2:
                break
            speaker = live[probes % len(live)]
            probes += 1
            text = f"probe {probes}"
            await speaker.connection.send_text(text)
            heard = await asyncio.gather(*(_hears(m, text, PROBE_WAIT_S) for m in live))
            resumed = all(
                isinstance(e, Message) for m, e in zip(live, heard, strict=True) if m.open
            )
            await _drain([m for m in live if m.open])
        unheard = [m.name for m in members if m.open]
        ok = resumed or not unheard
        if resumed:
            detail = f"delivery resumed after {probes} probe(s)"
        elif ok:
            detail = "every client was told (its connection closed)"
        else:
            detail = (
                f"{probes} message(s) sent over {RESUME_BOUND_S} s after the broker restarted "
                f"reached no one else, and {unheard} were not told: the instances never "
                "subscribed again"
            )
        told = [m.name for m in members if not m.open]
        return [Judgement(BROKER_RESTART, ok, f"{detail}; told (closed): {told or 'none'}")]
    finally:
        await _release(members)


# How much the room is sent while one member never reads: more than that member's socket
# buffers hold (Linux lets a socket's send buffer grow to 4 MiB, tcp_wmem), so a chat that
# awaits each send in turn blocks on it.
SLOW_FLOOD_MESSAGES = 512
SLOW_FLOOD_BYTES = 16 * 1024


async def silent_member(port: int, path: str) -> asyncio.StreamWriter:
    """A member that completes the handshake and then never reads: a tiny receive buffer, so
    that the server's sends to it soon have nowhere to go."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REPLY_BOUND_S)
    return writer


async def slow_member(cluster: ClusterTransport) -> list[Judgement]:
    """Two reading members per instance and one that never reads, on instance 0; a member of
    the last instance floods the room with more than the silent socket can buffer; then a
    member of instance 0 speaks, and every reading member must hear it within the bound."""
    members = await _crowd(cluster, 2)
    silent = await silent_member(cluster.instances[0].transport.port, "/chatroom/silent")
    try:
        await _drain(members)
        flooder = members[-1]
        flood = [f"{n:04d}" + "x" * SLOW_FLOOD_BYTES for n in range(SLOW_FLOOD_MESSAGES)]
        for text in flood:
            await flooder.connection.send_text(text)
        # The flooder's own copy of its last message: the whole flood is through the broker
        # (a chat publishes before it confirms), so the next message queues behind it.
        await _hears(flooder, flood[-1], REPLY_BOUND_S)
        speaker = members[0]
        await speaker.connection.send_text("after the flood")
        heard = await asyncio.gather(
            *(_hears(m, "after the flood", REPLY_BOUND_S) for m in members)
        )
        missed = [m.name for m, e in zip(members, heard, strict=True) if not isinstance(e, Message)]
        detail = (
            f"with one member of instance 0 not reading, {speaker.name}'s message reached all "
            f"{len(members)} reading members"
            if not missed
            else f"with one member of instance 0 not reading, {speaker.name}'s message did not "
            f"reach {missed} within {REPLY_BOUND_S} s: delivery stalls behind one socket"
        )
        return [Judgement(SLOW_MEMBER, not missed, detail)]
    finally:
        silent.transport.abort()
        await _release(members)


# --- any app's route across instances (`wsconform run --instances N`) ---------------------------


@dataclass(frozen=True)
class SpreadSend:
    """One message a client sent to a room spread over instances, and whom it reached: the
    other live members of the room on the sender's instance, and on the other instances."""

    what: str
    same_reached: int
    same_missed: int
    cross_reached: int
    cross_missed: int


def judge_spread(sends: list[SpreadSend]) -> Judgement:
    """A message that reached every other member on its sender's instance and none on the
    others is the in-memory manager across instances. A route that never reaches a member of
    another instance with anything is no broadcast: not judged."""
    for send in sends:
        local_broadcast = send.same_reached >= 1 and send.same_missed == 0
        if local_broadcast and send.cross_missed and not send.cross_reached:
            detail = (
                f"{CROSS_INSTANCE_FINDING}. '{send.what}' reached the {send.same_reached} other "
                f"member(s) on its sender's instance and none of the {send.cross_missed} on "
                "the other instances"
            )
            return Judgement(
                BROADCAST,
                False,
                detail,
                cause="messages reach only members of the sender's instance",
            )
    crossed = [s for s in sends if s.cross_reached]
    if crossed:
        return Judgement(BROADCAST, True, f"'{crossed[0].what}' reached other instances")
    return Judgement(BROADCAST, None, "not judged: no message reached a member elsewhere")
