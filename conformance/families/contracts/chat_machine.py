"""The chat room as a crowd: members join (names repeat on purpose), speak alone or all at once,
leave cleanly, drop, drop while another speaks, or die by a message the text chat refuses; a
model of the room predicts every delivery. Each live member must hear exactly that: every
message once, each sender's messages in the order they were sent, a join and a leave notice
for every member that comes and goes, whatever way it goes, and nothing else; once everyone
has left, the room keeps nothing of them."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import ClientEvent, Message, NoEvent
from wsconform.conformance.families.contracts import endpoints as contracts
from wsconform.conformance.families.contracts.endpoints import Conversation, chat_message
from wsconform.strategies import lifecycle
from wsconform.targets.servers.base import QUIET_BOUND_S, Transport

# Few names, so that two tabs with the same name happen often.
NAMES = ("ann", "bob")
MAX_MEMBERS = 4
# Messages each speaker sends back to back when the room speaks at once.
MAX_BURST = 3

ChatSink = Callable[[list[Judgement]], list[Judgement]]


class ChatFinding(AssertionError):
    pass


RuleBody = TypeVar("RuleBody", bound=Callable[..., None])


def step(rule_body: RuleBody) -> RuleBody:
    """Marks the room unpredictable while a step runs; a step that ends normally clears the mark.
    A step can be cut short after it has acted: by a finding, or by Hypothesis itself (a draw
    that runs out of data raises inside the step while shrinking). The room then holds
    deliveries the model never predicted, and teardown must not judge them."""

    @functools.wraps(rule_body)
    def marked(self: ChatMachine, *args: Any, **kwargs: Any) -> None:
        self.unfinished_step = rule_body.__name__
        rule_body(self, *args, **kwargs)
        self.unfinished_step = None

    return cast(RuleBody, marked)


@dataclass(eq=False)
class Member:
    name: str
    conversation: Conversation


def joined(name: str) -> Message:
    return chat_message("system", f"{name} joined the chat")


def left(name: str) -> Message:
    return chat_message("system", f"Client #{name} left the chat")


def _canonical(message: Any) -> str:
    return json.dumps(message, sort_keys=True)


def _sender(message: Any) -> Any:
    return message.get("sender") if isinstance(message, dict) else None


def heard_as_predicted(heard: list[Any], expected: list[Any]) -> bool:
    """The same messages, each as often (a duplicate or a loss shows here), and from each
    sender in the order predicted; messages of different senders may interleave in any way
    (their handlers run concurrently on a real server)."""
    if sorted(map(_canonical, heard)) != sorted(map(_canonical, expected)):
        return False
    return all(
        [m for m in heard if _sender(m) == sender] == [m for m in expected if _sender(m) == sender]
        for sender in {_sender(m) for m in expected}
    )


class ChatMachine(RuleBasedStateMachine):
    transport: Transport
    runner: LoopRunner
    sink: ChatSink

    def __init__(self) -> None:
        super().__init__()
        self.members: list[Member] = []
        # The step that began and did not end normally (see `step`), if any.
        self.unfinished_step: str | None = None

    def _expect(self, deliveries: dict[Member, list[Message]], what: str) -> None:
        """Each member in `deliveries` hears exactly its messages next (in any interleaving of
        their senders). A stray message shows up here among the next ones, or in the silence
        checked at teardown."""

        async def hears(member: Member, count: int) -> list[ClientEvent]:
            events = []
            for _ in range(count):
                events.append(await member.conversation.hear())
                if not isinstance(events[-1], Message):
                    break  # an end or a silence: waiting for more costs bounds and shows nothing
            return events

        # Everyone listens at once: a delivery the server never makes costs one reply bound
        # for the room, not one per member (each shrink candidate of a finding pays it again).
        async def everyone_listens() -> list[list[ClientEvent]]:
            return await asyncio.gather(*(hears(m, len(ms)) for m, ms in deliveries.items()))

        wrong = []
        events = self.runner.run(everyone_listens())
        for (member, expected), got in zip(deliveries.items(), events, strict=True):
            heard = [contracts.json_of(event) for event in got]
            if not heard_as_predicted(heard, [contracts.json_of(m) for m in expected]):
                wrong.append(f"{member.name} heard {heard!r}, expected {expected!r}")
        self._judge(not wrong, f"{what}: {wrong or 'as predicted'}")

    def _judge(self, ok: bool, detail: str) -> None:
        findings = self.sink([Judgement("contract.chat", ok, detail)])
        if findings:
            raise ChatFinding(findings[0].detail)

    def _gone(self, leaver: Member) -> None:
        """The leaver's connection is over for the test too; an emptied room must have
        forgotten everyone (a newcomer then finds it as new)."""
        self.runner.run(leaver.conversation.connection.release())
        if not self.members:
            empty = self.runner.run(contracts.eventually_no_connections(self.transport))
            self._judge(empty, f"connections back to 0 once everyone had left: {empty}")

    @precondition(lambda self: len(self.members) < MAX_MEMBERS)
    @rule(name=st.sampled_from(NAMES))
    @step
    def join(self, name: str) -> None:
        conversation = self.runner.run(Conversation.open(self.transport, f"/chatroom/{name}"))
        others = list(self.members)
        self.members.append(Member(name, conversation))
        self._expect({other: [joined(name)] for other in others}, f"{name} joins")

    def _said(self, speaker: Member, text: str) -> dict[Member, Message]:
        """What each member hears when `speaker` says `text`."""
        return {
            m: chat_message("You" if m is speaker else speaker.name, text) for m in self.members
        }

    @precondition(lambda self: bool(self.members))
    @rule(data=st.data(), text=lifecycle.texts)
    @step
    def say(self, data: st.DataObject, text: str) -> None:
        speaker = data.draw(st.sampled_from(self.members), label="speaker")
        self.runner.run(speaker.conversation.connection.send_text(text))
        heard = self._said(speaker, text)
        self._expect({m: [heard[m]] for m in self.members}, f"{speaker.name} says {text!r}")

    @precondition(lambda self: bool(self.members))
    @rule(data=st.data())
    @step
    def speak_at_once(self, data: st.DataObject) -> None:
        """Several members send several messages each before anyone listens: their handlers
        relay concurrently. Speakers have different names, so that each sender's order can be
        told apart in what the others hear."""
        speakers = data.draw(
            st.lists(st.sampled_from(self.members), min_size=1, unique_by=lambda m: m.name),
            label="speakers",
        )
        # Everything drawn before anything is sent: a draw is where Hypothesis may end the
        # example, and a message already sent would then be one the model never predicted.
        bursts = [
            (speaker, data.draw(st.lists(lifecycle.texts, min_size=1, max_size=MAX_BURST)))
            for speaker in speakers
        ]
        expected: dict[Member, list[Message]] = {m: [] for m in self.members}
        for speaker, texts in bursts:
            for text in texts:
                self.runner.run(speaker.conversation.connection.send_text(text))
                for member, message in self._said(speaker, text).items():
                    expected[member].append(message)
        self._expect(expected, f"{[s.name for s in speakers]} speak at once")

    @precondition(lambda self: bool(self.members))
    @rule(data=st.data(), abruptly=st.booleans())
    @step
    def leave(self, data: st.DataObject, abruptly: bool) -> None:
        leaver = data.draw(st.sampled_from(self.members), label="leaver")
        self.members.remove(leaver)
        connection = leaver.conversation.connection
        self.runner.run(connection.drop() if abruptly else connection.close(1000))
        how = "drops" if abruptly else "leaves"
        self._expect({m: [left(leaver.name)] for m in self.members}, f"{leaver.name} {how}")
        self._gone(leaver)

    @precondition(lambda self: len(self.members) >= 2)
    @rule(data=st.data(), text=lifecycle.texts)
    @step
    def drop_while_another_speaks(self, data: st.DataObject, text: str) -> None:
        """A message sent, then its room loses a member before the relay is done: the relay
        may find the member's socket dead before its handler has heard of the drop. Whichever
        comes first, the others hear the message and the leave notice, once each."""
        speaker, leaver = data.draw(
            st.lists(st.sampled_from(self.members), min_size=2, max_size=2, unique=True),
            label="speaker, leaver",
        )

        async def at_once() -> None:
            # In one go: no turn of the server's loop between them, so that the relay of the
            # message finds the leaver's socket gone (on a real server, as the network has it).
            await speaker.conversation.connection.send_text(text)
            await leaver.conversation.connection.drop()

        self.runner.run(at_once())
        self.members.remove(leaver)
        heard = self._said(speaker, text)
        self._expect(
            {m: [heard[m], left(leaver.name)] for m in self.members},
            f"{speaker.name} says {text!r} as {leaver.name} drops",
        )
        self._gone(leaver)

    @precondition(lambda self: bool(self.members))
    @rule(data=st.data(), payload=st.binary(min_size=1, max_size=8))
    @step
    def send_what_the_chat_refuses(self, data: st.DataObject, payload: bytes) -> None:
        """The chat takes text: a binary message ends its sender's connection, cleanly
        (the reference closes 1003) or by crashing the handler (Starlette's `receive_text`
        raises on one). Either way the member is gone: its leaving announced, nothing more
        relayed to it, and no later relay fails on it."""
        member = data.draw(st.sampled_from(self.members), label="sender")
        self.members.remove(member)
        self.runner.run(member.conversation.connection.send_bytes(payload))
        self._expect({m: [left(member.name)] for m in self.members}, f"{member.name} sends bytes")
        self._gone(member)

    def teardown(self) -> None:
        if self.unfinished_step is not None:
            # Cut short: what the room still holds was never predicted, so it is not judged.
            for member in self.members:
                self.runner.run(member.conversation.leave())
            self.members.clear()
            return

        # Everyone listens at once: one quiet bound for the room, not one per member.
        async def everyone_listens() -> list[ClientEvent]:
            return await asyncio.gather(*(m.conversation.hear(QUIET_BOUND_S) for m in self.members))

        heard = self.runner.run(everyone_listens())
        extra = [
            (m.name, event)
            for m, event in zip(self.members, heard, strict=True)
            if not isinstance(event, NoEvent)
        ]
        for member in self.members:
            self.runner.run(member.conversation.leave())
        self.members.clear()
        self._judge(not extra, f"nothing beyond the predicted deliveries: {extra or 'none'}")
        empty = self.runner.run(contracts.eventually_no_connections(self.transport))
        self._judge(empty, f"connections back to 0 after everyone left: {empty}")


def chat_machine_for(transport: Transport, runner: LoopRunner, sink: ChatSink) -> type[ChatMachine]:
    return type(
        "ChatMachine",
        (ChatMachine,),
        {"transport": transport, "runner": runner, "sink": staticmethod(sink)},
    )
