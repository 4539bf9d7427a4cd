"""Crowd checks of any app's WebSocket routes: several clients on one route, their steps
interleaved, judged for what one client's fate does to the others.

The bugs of a room (a manager holding sockets, a broadcast looping over them) only exist with
two or more clients: a member whose handler ended without leaving stays in the room and the
next broadcast raises on it, in an innocent client's handler; one dead member stops a broadcast
for everyone after it; a count of members that a leaving path forgets keeps newcomers out; a
handler left waiting on a partner that is gone never returns.

A crowd plan is drawn like a connection plan (`routes.plans_for`): rooms (the route's
parameters filled with valid values; clients that join the same room share its path, query and
headers), then steps, each by one client: join a room, send a message, close with a code, drop,
or make its handler fail with the message the route was seen to raise on alone. Hypothesis
shrinks a failing plan to the fewest steps and clients. No pytest here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import strategies as st
from wsconform.conformance.engine.discovery import Location, WebSocketEndpoint
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.plans import (
    ClientDoes,
    ClientStep,
    CloseWith,
    ConnectionPlan,
    CrowdAction,
    CrowdPlan,
    Drop,
    Fails,
    Join,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    ClientRaised,
    Closed,
    Denied,
    Message,
    connection_ended,
)
from wsconform.conformance.families.generic.routes import (
    OPENING_STEPS,
    STEP_LISTEN_S,
    VALID_VALUES,
    connection_plan,
    example_value,
    judge,
    listen_until_quiet,
    route_vocabulary,
    steps_for,
)
from wsconform.strategies import lifecycle
from wsconform.targets.servers.base import (
    EXPECT_BOUND_S,
    REPLY_BOUND_S,
    ClientConnection,
    Transport,
)
from wsconform.targets.servers.witness import the_apps_doing


# Clients per plan: a bug of a room shows with two or three (a dead member between two live
# ones); a longer exploration (more stateful steps) brings more clients.
def clients_for(stateful_steps: int) -> int:
    return 3 + stateful_steps // 20


def actions_for(stateful_steps: int) -> int:
    """Actions per plan (joins come on top): half the profile's stateful steps, which
    leaves a crowd's bugs room (three joins, four actions) in the `ci` profile."""
    return max(4, stateful_steps // 2)


# A real server makes every step cost a quiet bound (nothing proves its silence); the
# in-memory server proves it at once. A crowd gets the profile's examples in memory, and no
# fewer than IN_MEMORY_CROWDS there: a room's bug takes a few particular steps in a row (a
# member leaving by the one path that forgets it, then another sending in the same room). With
# the `ci` profile's plan sizes and ten random seeds, tests/user_apps/rooms_app's bugs first
# showed at plan 3-155 (a quit that stays), 3-71 (a crash that stays) and 81-687 (a survivor
# gone silent, which the nightly profile's 1000 finds). A plan costs a few milliseconds in
# memory; 500 would cost the self-tests that run `wsconform run` half a minute more. On a real
# server a crowd gets this share of the profile's examples, which adds only what the server
# changes to a route the in-memory run has already explored.
IN_MEMORY_CROWDS = 200
SERVER_SHARE = 4


def examples_for(profile_examples: int, *, in_memory: bool) -> int:
    if in_memory:
        return max(profile_examples, IN_MEMORY_CROWDS)
    return max(1, profile_examples // SERVER_SHARE)


MAX_ROOMS = 2
# How long, once every client is gone, the app's handlers have to return. A handler's cleanup
# takes milliseconds; one still running after this waits on something that will not come.
HANDLERS_FINISH_BOUND_S = 1.0
# Messages tried alone on each route to learn which it takes, closes on or raises on: its own
# vocabulary's values and keys, bounded, beside the opening steps.
MAX_PROBED = 12


# --- what a route does with one message, alone ------------------------------------------------


@dataclass(frozen=True)
class RouteMessages:
    """Messages tried alone on a fresh connection: those the route takes (the connection stays
    open), those it quits on (closes cleanly: a way of leaving of the route's own, as likely
    in a crowd as a close or a drop), and the first it raises on, if any."""

    taken: tuple[ClientStep, ...]
    fails: SendText | SendBytes | None
    quits: tuple[ClientStep, ...] = ()


def candidate_messages(endpoint: WebSocketEndpoint) -> list[SendText | SendBytes]:
    """What is tried alone: a plain text, the route's own values as text and as the value of
    each of its keys, then the opening steps (what routes most often raise on)."""
    vocabulary = route_vocabulary(endpoint)
    texts = ["hello", *vocabulary.values]
    texts += [
        json.dumps({key: value}) for key in vocabulary.keys[:3] for value in vocabulary.values[:3]
    ]
    opening = [step for step in OPENING_STEPS if isinstance(step, SendText | SendBytes)]
    # The opening steps always: a large vocabulary must not crowd them out.
    own = [SendText(text) for text in dict.fromkeys(texts) if SendText(text) not in opening]
    return [*own[: MAX_PROBED - len(opening)], *opening]


def learn_messages(
    endpoint: WebSocketEndpoint, observe: Callable[[ConnectionPlan], Observation]
) -> RouteMessages:
    """Each candidate alone on a connection (`observe` runs it, on a fresh app where it can)."""
    values = {
        p.name: example_value(p) if p.required or p.location is Location.PATH else None
        for p in endpoint.parameters
    }
    taken: list[ClientStep] = []
    quits: list[ClientStep] = []
    fails: SendText | SendBytes | None = None
    for step in candidate_messages(endpoint):
        observation = observe(connection_plan(endpoint, values, (step,)))
        if not observation.seen or not isinstance(observation.seen[0], Accepted):
            return RouteMessages((), None)  # not even a valid connection gets in
        failing = [j for j in judge(observation) if j.ok is False]
        if not failing:
            # The route ended the connection before the client closed it: a quit.
            (quits if observation.client_closed_at is None else taken).append(step)
        elif fails is None and observation.app_errors:
            fails = step
    return RouteMessages(tuple(taken), fails, tuple(quits))


# --- plans ---------------------------------------------------------------------------------------


@st.composite
def _room(draw: st.DrawFn, endpoint: WebSocketEndpoint) -> tuple[str, tuple[tuple[str, str], ...]]:
    values: dict[str, str | None] = {
        p.name: draw(VALID_VALUES.get(p.type, VALID_VALUES["str"]), label=p.describe())
        if p.required or p.location is Location.PATH
        else None
        for p in endpoint.parameters
    }
    plan = connection_plan(endpoint, values, ())
    return plan.target, plan.headers


def _actions(
    endpoint: WebSocketEndpoint, messages: RouteMessages
) -> st.SearchStrategy[CrowdAction]:
    """What a client that has joined does next: the messages the route takes (most often: a
    broadcast shows when members send alike), a generated message, making its handler fail,
    or leaving. Drawn as a kind first, each kind as likely as its share in KINDS (a nested
    `one_of` weighs its branches unevenly); shrinking goes to the first kinds. Each strategy
    is built once per route, not per draw: building one (validating it, labelling it, mining
    the route's vocabulary) cost more than drawing from it."""
    by_kind: dict[str, st.SearchStrategy[CrowdAction]] = {
        "close": st.builds(CloseWith, lifecycle.valid_close_codes | st.none()),
        "drop": st.just(Drop()),
        "generated": steps_for(endpoint).filter(
            lambda step: isinstance(step, SendText | SendBytes)
        ),
    }
    if messages.taken:
        by_kind["taken"] = st.sampled_from(messages.taken)
    if messages.quits:
        by_kind["quits"] = st.sampled_from(messages.quits)
    if messages.fails is not None:
        by_kind["fails"] = st.just(Fails(messages.fails))
    kinds = st.sampled_from([kind for kind in ACTION_KINDS if kind in by_kind])

    @st.composite
    def action(draw: st.DrawFn) -> CrowdAction:
        return draw(by_kind[draw(kinds)])

    return action()


# Each kind of action, as many times as its weight.
ACTION_KINDS = (
    "taken", "taken", "taken", "generated", "fails", "fails", "quits", "close", "drop"
)  # fmt: skip


def crowd_plans(
    endpoint: WebSocketEndpoint,
    messages: RouteMessages,
    max_actions: int,
    max_clients: int,
) -> st.SearchStrategy[CrowdPlan]:
    """Rooms, then steps: each by a client still there, or by the next client, who joins.
    Clients are numbered in the order they join."""
    rooms_drawn = st.lists(_room(endpoint), min_size=1, max_size=MAX_ROOMS, unique=True)
    steps_drawn = st.integers(1, max_actions + max_clients)
    clients_drawn = st.integers(0, max_clients - 1)
    room_index = [st.integers(0, count - 1) for count in range(1, MAX_ROOMS + 1)]
    actions = _actions(endpoint, messages)

    @st.composite
    def plans(draw: st.DrawFn) -> CrowdPlan:
        rooms = draw(rooms_drawn)
        steps: list[ClientDoes] = []
        present: list[int] = []  # joined and not known to have left
        joined = 0
        # Joins come on top of the actions: as many steps as actions and joins together.
        steps_left = draw(steps_drawn, label="steps")
        for _ in range(3 * (max_actions + max_clients)):  # a client that has left does nothing
            if len(steps) == steps_left:
                break
            # A number past those who joined is the next newcomer: deleting a join while
            # shrinking renumbers the later newcomers instead of changing what the others do.
            client = draw(clients_drawn)
            if client >= joined:
                steps.append(ClientDoes(joined, Join(draw(room_index[len(rooms) - 1]))))
                present.append(joined)
                joined += 1
            elif client in present:
                action = draw(actions)
                steps.append(ClientDoes(client, action))
                if isinstance(action, Fails | CloseWith | Drop):
                    present.remove(client)
        return CrowdPlan(endpoint.path, tuple(rooms), tuple(steps))

    return plans()


# --- running a plan ------------------------------------------------------------------------------


@dataclass
class Member:
    """One client's connection and everything it saw."""

    client: int
    room: int
    connection: ClientConnection
    seen: list[ClientEvent]
    ended: bool = False
    # How many events had arrived when the client closed; whether it dropped.
    closed_at: int | None = None
    dropped: bool = False
    sent: set[ClientStep] = field(default_factory=set)

    @property
    def accepted(self) -> bool:
        return isinstance(self.seen[0], Accepted)

    @property
    def live(self) -> bool:
        return self.accepted and not self.ended

    def bad_end(self) -> ClientEvent | None:
        """The server's ending of this connection that was not the client's doing: a close
        1011, a drop (no close frame) it did not do itself, the client failing (TestClient
        hands it the app's exception), a 5xx refusal."""
        for index, event in enumerate(self.seen):
            answering_close = self.closed_at is not None and index >= self.closed_at
            if isinstance(event, Denied) and (event.status or 0) >= 500:
                return event
            if isinstance(event, ClientRaised) and not self.dropped:
                return event
            by_the_server = not answering_close and not self.dropped
            if (
                isinstance(event, Closed)
                and by_the_server
                and (event.code == 1011 or (self.accepted and not event.close_frame_seen))
            ):
                return event
        return None


@dataclass
class StepRecord:
    """One step: who was live in which room before it, what each client saw during it, what
    the app raised meanwhile."""

    index: int  # in the plan's steps; past the end for the run's own closing steps
    step: ClientDoes
    live_before: dict[int, int]  # client -> room
    received: dict[int, list[ClientEvent]]
    errors: list[str]

    def messages_to(self, client: int) -> int:
        return sum(isinstance(event, Message) for event in self.received.get(client, []))


@dataclass
class CrowdObservation:
    records: list[StepRecord]
    members: dict[int, Member]
    # Whether every handler had returned once the clients had gone; None where that cannot be
    # told: a handler of an earlier connection was still running when this crowd began.
    handlers_finished: bool | None
    end_errors: list[str]


async def run_crowd(transport: Transport, plan: CrowdPlan) -> CrowdObservation:
    """Every step in order, every live client listening after each; then every client still
    there closes (1000), and the app's handlers get a bound to finish."""
    members: dict[int, Member] = {}
    records: list[StepRecord] = []
    # The witness counts every websocket in the app: one an earlier connection left running
    # (a handler stuck on a server that never ends it) would be charged to this crowd.
    idle_before = await transport.app_idle(0.0)
    try:
        closing = [ClientDoes(client, CloseWith(1000)) for client in plan.clients()]
        for index, step in enumerate([*plan.steps, *closing]):
            record = await _step(transport, plan, members, step, index)
            if record is not None:
                records.append(record)
    finally:
        for member in members.values():
            await member.connection.release()
    finished = await transport.app_idle(HANDLERS_FINISH_BOUND_S) if idle_before else None
    return CrowdObservation(records, members, finished, await transport.drain_app_errors())


async def _step(
    transport: Transport, plan: CrowdPlan, members: dict[int, Member], step: ClientDoes, index: int
) -> StepRecord | None:
    """One client's step (None where it cannot do it: skipped), then what everyone saw."""
    member = members.get(step.client)
    action = step.action
    if isinstance(action, Join) == (member is not None) or (member and member.ended):
        return None
    live_before = {m.client: m.room for m in members.values() if m.live}
    counts = {client: len(m.seen) for client, m in members.items()}
    if isinstance(action, Join):
        room = min(action.room, len(plan.rooms) - 1)
        connection = await transport.connect(*plan.rooms[room])
        member = Member(step.client, room, connection, [await connection.next_event(REPLY_BOUND_S)])
        member.ended = not member.accepted
        members[step.client] = member
        counts[step.client] = 0
    else:
        assert member is not None
        await _act(member, action)
    # What the step caused, on every connection still open (the actor's included), listened
    # to at once: a real server's quiet bound is paid once per step, not once per client.
    open_now = [m for m in members.values() if not m.ended and not m.dropped]
    ended = await asyncio.gather(
        *(
            listen_until_quiet(m.connection, m.seen, STEP_LISTEN_S, until_end=False)
            for m in open_now
        )
    )
    for listened, has_ended in zip(open_now, ended, strict=True):
        listened.ended = has_ended
    received = {
        client: m.seen[counts.get(client, 0) :]
        for client, m in members.items()
        if len(m.seen) > counts.get(client, 0)
    }
    return StepRecord(index, step, live_before, received, await transport.take_app_errors())


async def _act(member: Member, action: CrowdAction) -> None:
    connection = member.connection
    sent = action.step if isinstance(action, Fails) else action
    try:
        if isinstance(sent, SendText):
            member.sent.add(sent)
            await connection.send_text(sent.text)
        elif isinstance(sent, SendBytes):
            member.sent.add(sent)
            await connection.send_bytes(sent.data)
        elif isinstance(sent, CloseWith):
            member.closed_at = len(member.seen)
            await connection.close(sent.code, sent.reason)
            await listen_until_quiet(connection, member.seen, EXPECT_BOUND_S, until_end=True)
            member.ended = True
        elif isinstance(sent, Drop):
            member.dropped = member.ended = True
            await connection.drop()
    except Exception as error:  # the client could not even do it: part of the evidence
        member.seen.append(ClientRaised(type(error).__name__, str(error)))
        member.ended = True
    if member.seen and connection_ended(member.seen[-1]):
        member.ended = True


# --- judging -------------------------------------------------------------------------------------

# Runs a plan again on a freshly built app (where the app can be rebuilt) and observes it.
Replay = Callable[[CrowdPlan], CrowdObservation]


@dataclass
class CrowdVerdict:
    judgements: list[Judgement]
    # What the finding shows: the client it is about, and the app errors of the step.
    about: Observation


def _failed(observation: CrowdObservation) -> bool:
    return (
        any(m.bad_end() for m in observation.members.values())
        or any(the_apps_doing(record.errors) for record in observation.records)
        or bool(the_apps_doing(observation.end_errors))
    )


def judge_crowd(plan: CrowdPlan, observation: CrowdObservation, alone: Replay) -> CrowdVerdict:
    """The crowd judgements of one plan. A failure that one cause explains is counted once:
    a connection ended by another client's doing is judged first, and the others only where
    there is none (a crashed survivor neither works nor receives); a handler left running is
    judged only where every client was otherwise served."""
    collateral = _collateral_failure(plan, observation, alone)
    if collateral is not None:
        return collateral
    judgements = [Judgement("generic.crowd.no-collateral-failure", True, "")]
    about = Observation([], [])
    for check_id, found in (
        ("generic.crowd.survivors-keep-working", _survivors_fail(observation)),
        ("generic.crowd.broadcast-reaches-all", _broadcast_gap(observation)),
    ):
        judgements.append(Judgement(check_id, found is None, found[0] if found else ""))
        if found is not None and not about.seen:
            member = observation.members[found[1]]
            about = Observation(list(member.seen), [])
    if observation.handlers_finished is None:
        return CrowdVerdict(judgements, about)  # not judged: see CrowdObservation
    if about.seen or observation.handlers_finished:
        judgements.append(Judgement("generic.crowd.handlers-finish", True, ""))
        return CrowdVerdict(judgements, about)
    detail = (
        f"every client had left, and a handler was still running {HANDLERS_FINISH_BOUND_S} s "
        "later: it waits on something that no longer comes (a partner, a queue) instead of "
        "its own client's disconnect"
    )
    judgements.append(Judgement("generic.crowd.handlers-finish", False, detail))
    return CrowdVerdict(judgements, Observation([], observation.end_errors))


def _collateral_failure(
    plan: CrowdPlan, observation: CrowdObservation, alone: Replay
) -> CrowdVerdict | None:
    """A client whose connection the server ended badly (or a handler that raised after its
    client left), where the same client's own steps, alone on a fresh app, do not fail: what
    the others did made it fail."""
    for record in observation.records:
        if record.errors and not the_apps_doing(record.errors):
            # What ended the connection was the server's own send refusing a message it had to
            # take (the witness's SERVER_SEND_FAILED): an app that catches what it is told to
            # catch could not have kept it; the server's doing, not the room's.
            continue
        suspects = [
            client
            for client in record.received
            if (member := observation.members[client]).bad_end() in record.received[client]
        ]
        if record.errors and not suspects:
            suspects = [record.step.client]  # a handler raised after its client had left
        for client in suspects:
            if plan.clients() == [client]:
                continue  # alone from the start: a single connection's finding, not the crowd's
            solo = alone(plan.alone(client, record.index))
            if _failed(solo):
                continue
            member = observation.members[client]
            errors = record.errors
            leaf = errors[0].partition("\n")[0] if errors else "no app error seen"
            detail = (
                f"client {client}'s connection ended with {member.bad_end()!r} at "
                f"'{record.step}', and alone its own steps do not fail: another client's doing "
                f"made it fail. App: {leaf}"
            )
            return CrowdVerdict(
                [Judgement("generic.crowd.no-collateral-failure", False, detail)],
                Observation(list(member.seen), list(errors)),
            )
    return None


def _sent_message(step: ClientDoes) -> ClientStep | None:
    action = step.action
    return action if isinstance(action, SendText | SendBytes) else None


def _survivors_fail(observation: CrowdObservation) -> tuple[str, int] | None:
    """After members left: a newcomer refused where the room let one in with as many members
    or more before."""
    accepted_with: dict[int, int] = {}  # room -> most live members a join was let in with
    for record in observation.records:
        action = record.step.action
        if not isinstance(action, Join):
            continue
        if record.errors and not the_apps_doing(record.errors):
            # The server's own send refused the app's message at this join (daphne refusing a
            # close 1008): the end that follows, whenever the server gets to it (daphne looks
            # once a second), is the server's doing, neither a refusal nor a welcome of the room.
            continue
        client = record.step.client
        member = observation.members[client]
        present = sum(room == member.room for room in record.live_before.values())
        events = record.received.get(client, [])
        let_in = bool(events) and isinstance(events[0], Accepted)
        if let_in and not any(connection_ended(event) for event in events):
            accepted_with[member.room] = max(accepted_with.get(member.room, -1), present)
        elif accepted_with.get(member.room, -1) >= present:
            return (
                f"client {client} was refused ({member.seen!r}) by room {member.room} with "
                f"{present} member(s) in it, where a newcomer was let in with "
                f"{accepted_with[member.room]} before: a member's leaving left it counted",
                client,
            )
    return None


def _broadcast_gap(observation: CrowdObservation) -> tuple[str, int] | None:
    """Where a message has reached every other live member of its room (two at least: a
    broadcast, not a reply to a partner), the same message from a member that had not sent it
    must reach every other live member too, whoever died in between; and a member that heard
    it so must go on hearing it while it is relayed at all (a survivor gone silent: no error,
    the route just stopped sending to it)."""
    broadcast: set[tuple[int, ClientStep]] = set()
    senders: dict[tuple[int, ClientStep], set[int]] = {}
    heard_by: dict[tuple[int, ClientStep], set[int]] = {}
    for record in observation.records:
        message = _sent_message(record.step)
        client = record.step.client
        if message is None or client not in record.live_before:
            continue
        room = record.live_before[client]
        key = (room, message)
        others = [c for c, r in record.live_before.items() if r == room and c != client]
        # Those still open after the step: one that ended meanwhile is another check's.
        listening = [
            c
            for c in others
            if not any(connection_ended(event) for event in record.received.get(c, []))
        ]
        missed = [c for c in listening if record.messages_to(c) == 0]
        if key in broadcast and client not in senders.get(key, set()) and missed:
            return (
                f"'{record.step}' reached {sorted(set(listening) - set(missed))} but not "
                f"client(s) {missed}, live members of room {room}, where the same message "
                "reached every member before: the broadcast stops at a member that is gone",
                missed[0],
            )
        silent = sorted(set(missed) & heard_by.get(key, set()))
        relayed = any(record.messages_to(c) for c in [client, *listening])
        if silent and relayed:
            return (
                f"'{record.step}' was relayed, but not to client(s) {silent}, live members of "
                f"room {room} that heard the same message before: a member's leaving silenced "
                "them",
                silent[0],
            )
        if len(others) >= 2 and not missed:
            broadcast.add(key)
            heard_by.setdefault(key, set()).update(others)
        senders.setdefault(key, set()).add(client)
    return None
