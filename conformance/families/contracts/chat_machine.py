"""The chat room as a state machine: members join (names repeat on purpose), speak, leave
cleanly or drop; a model of the room predicts every delivery, and each member must hear exactly
that, once, in order, and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

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

ChatSink = Callable[[list[Judgement]], list[Judgement]]


class ChatFinding(AssertionError):
    pass


@dataclass(eq=False)
class Member:
    name: str
    conversation: Conversation


class ChatMachine(RuleBasedStateMachine):
    transport: Transport
    runner: LoopRunner
    sink: ChatSink

    def __init__(self) -> None:
        super().__init__()
        self.members: list[Member] = []

    def _expect(self, deliveries: list[tuple[Member, Message]], what: str) -> None:
        """Each member in `deliveries` hears its message next. A duplicate or a stray message
        shows up as the wrong next message here, or in the silence checked at teardown."""

        # Everyone listens at once: a delivery the server never makes costs one reply bound
        # for the room, not one per member (each shrink candidate of a finding pays it again).
        async def everyone_listens() -> list[ClientEvent]:
            return await asyncio.gather(*(m.conversation.hear() for m, _ in deliveries))

        wrong = []
        events = self.runner.run(everyone_listens())
        for (member, expected), event in zip(deliveries, events, strict=True):
            heard = contracts.json_of(event)
            if heard is None or heard != contracts.json_of(expected):
                wrong.append(f"{member.name} heard {heard!r}, expected {expected!r}")
        self._judge(not wrong, f"{what}: {wrong or 'as predicted'}")

    def _judge(self, ok: bool, detail: str) -> None:
        findings = self.sink([Judgement("contract.chat", ok, detail)])
        if findings:
            raise ChatFinding(findings[0].detail)

    @precondition(lambda self: len(self.members) < MAX_MEMBERS)
    @rule(name=st.sampled_from(NAMES))
    def join(self, name: str) -> None:
        conversation = self.runner.run(Conversation.open(self.transport, f"/chatroom/{name}"))
        others = list(self.members)
        self.members.append(Member(name, conversation))
        notice = chat_message("system", f"{name} joined the chat")
        self._expect([(other, notice) for other in others], f"{name} joins")

    @precondition(lambda self: bool(self.members))
    @rule(data=st.data(), text=lifecycle.texts)
    def say(self, data: st.DataObject, text: str) -> None:
        speaker = data.draw(st.sampled_from(self.members), label="speaker")
        self.runner.run(speaker.conversation.connection.send_text(text))
        deliveries = [(speaker, chat_message("You", text))]
        deliveries += [
            (m, chat_message(speaker.name, text)) for m in self.members if m is not speaker
        ]
        self._expect(deliveries, f"{speaker.name} says {text!r}")

    @precondition(lambda self: bool(self.members))
    @rule(data=st.data(), abruptly=st.booleans())
    def leave(self, data: st.DataObject, abruptly: bool) -> None:
        leaver = data.draw(st.sampled_from(self.members), label="leaver")
        self.members.remove(leaver)
        connection = leaver.conversation.connection
        self.runner.run(connection.drop() if abruptly else connection.close(1000))
        self.runner.run(connection.release())
        notice = chat_message("system", f"Client #{leaver.name} left the chat")
        how = "drops" if abruptly else "leaves"
        self._expect([(m, notice) for m in self.members], f"{leaver.name} {how}")

    def teardown(self) -> None:
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
