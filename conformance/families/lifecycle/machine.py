"""The lifecycle state machine: Hypothesis explores both sides of a websocket in any order the
model allows, including the wrong orders on purpose, and every observation is judged.

Preconditions read the model's state only, so a run is deterministic for a given seed. A
judgement that fails is either *expected* (the transport's baseline already records that check as
failing: the session derails, ends, and exploration goes on with a new connection) or a finding:
the rule raises, naming the check, and Hypothesis shrinks the program and prints it with the
transcript.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.model import LifecycleModel
from wsconform.conformance.engine.sessions import LifecycleSession, LoopRunner
from wsconform.conformance.engine.vocabulary import (
    Action,
    ClientAction,
    ClientDrop,
    ClientListen,
    ClientSendBytes,
    ClientSendJson,
    ClientSendText,
    Connect,
    RaiseError,
    ReceiveBytes,
    ReceiveJson,
    ReceiveText,
    Return,
    ServerStep,
)
from wsconform.strategies import lifecycle as strategies
from wsconform.targets.servers.base import Transport

# Receives a session's judgements; returns the ones that are findings (not known divergences).
JudgementSink = Callable[[LifecycleSession, list[Judgement]], list[Judgement]]

_RECEIVES: dict[str, ServerStep] = {
    "text": ReceiveText(),
    "bytes": ReceiveBytes(),
    "json": ReceiveJson(),
}


class LifecycleFinding(AssertionError):
    """A judgement the baseline does not expect; the message names the check."""

    def __init__(self, message: str, check_ids: list[str]) -> None:
        super().__init__(message)
        self.check_ids = check_ids


class LifecycleMachine(RuleBasedStateMachine):
    transport: Transport
    runner: LoopRunner
    sink: JudgementSink

    def __init__(self) -> None:
        super().__init__()
        self.session: LifecycleSession | None = None
        self.sessions_run = 0

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def model(self) -> LifecycleModel:
        assert self.session is not None
        return self.session.model

    def _idle(self) -> bool:
        return self.session is None

    def _live(self, predicate: Callable[[LifecycleModel], bool]) -> bool:
        return self.session is not None and predicate(self.session.model)

    def _act(self, action: Action) -> None:
        assert self.session is not None
        judgements = self.runner.run(self.session.act(action))
        findings = self.sink(self.session, judgements)
        if findings:
            session = self.session
            self.session = None
            self.runner.run(session.finish())  # with the server record, for the transcript
            lines = [f"[{j.check_id}] {j.verdict.value}: {j.detail}" for j in findings]
            raise LifecycleFinding(
                "\n".join([*lines, "", session.describe()]), [j.check_id for j in findings]
            )

    def teardown(self) -> None:
        if self.session is not None:
            self.runner.run(self.session.finish(fetch_record=False))
            self.session = None

    # --- client rules --------------------------------------------------------------------------

    @precondition(lambda self: self._idle())
    @rule(connect=strategies.connects)
    def client_connects(self, connect: Connect) -> None:
        self.session = LifecycleSession(self.transport, "machine")
        self.sessions_run += 1
        self._act(connect)

    @precondition(lambda self: self._live(lambda m: m.may_client_act()))
    @rule(data=st.data())
    def client_sends(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(sorted(self.model.sendable_kinds())), label="kind")
        action: ClientAction
        if kind == "text":
            action = ClientSendText(data.draw(strategies.texts, label="text"))
        elif kind == "bytes":
            action = ClientSendBytes(data.draw(strategies.binaries, label="bytes"))
        else:
            action = ClientSendJson(data.draw(strategies.json_values, label="json"))
        self._act(action)

    @precondition(lambda self: self._live(lambda m: m.may_client_act()))
    @rule(data=st.data())
    def client_leaves(self, data: st.DataObject) -> None:
        """A close frame (with or without code) or, once nothing is in flight, a TCP drop."""
        ways: list[st.SearchStrategy[ClientAction]] = [strategies.client_closes]
        if self.model.may_drop():
            ways.append(st.just(ClientDrop()))
        self._act(data.draw(st.one_of(ways), label="leave"))

    @precondition(lambda self: self._live(lambda m: m.may_client_act()))
    @rule()
    def client_listens(self) -> None:
        self._act(ClientListen())

    # --- app rules -----------------------------------------------------------------------------

    @precondition(lambda self: self._live(lambda m: m.may_step()))
    @rule(data=st.data())
    def app_accepts(self, data: st.DataObject) -> None:
        self._act(data.draw(strategies.accepts(self.model.offered), label="accept"))

    @precondition(lambda self: self._live(lambda m: m.may_step()))
    @rule(send=strategies.app_sends)
    def app_sends(self, send: ServerStep) -> None:
        self._act(send)

    @precondition(lambda self: self._live(lambda m: m.may_step()))
    @rule(data=st.data())
    def app_receives(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(sorted(self.model.receivable_kinds())), label="kind")
        self._act(_RECEIVES[kind])

    @precondition(lambda self: self._live(lambda m: m.may_step()))
    @rule(close=strategies.app_closes)
    def app_closes(self, close: ServerStep) -> None:
        self._act(close)

    @precondition(lambda self: self._live(lambda m: m.may_raise()))
    @rule(data=st.data())
    def app_ends(self, data: st.DataObject) -> None:
        """Raise WebSocketException or another exception, return, or send a denial response.
        One rule for all of them, so that sessions are not mostly cut short before accept."""
        ways: list[st.SearchStrategy[ServerStep]] = [
            strategies.app_websocket_exceptions,
            st.just(RaiseError()),
            st.just(Return()),
        ]
        if self.model.may_deny():
            ways.append(strategies.app_denials)
        self._act(data.draw(st.one_of(ways), label="end"))

    # --- session end ---------------------------------------------------------------------------

    @precondition(lambda self: self._live(lambda m: m.finished))
    @rule()
    def session_ends(self) -> None:
        assert self.session is not None
        self.runner.run(self.session.finish(fetch_record=False))
        self.session = None


def machine_for(
    transport: Transport, runner: LoopRunner, sink: JudgementSink
) -> type[LifecycleMachine]:
    """A machine class bound to one transport (Hypothesis instantiates it per example)."""
    return type(
        f"LifecycleMachine_{transport.name.replace('-', '_')}",
        (LifecycleMachine,),
        {"transport": transport, "runner": runner, "sink": staticmethod(sink)},
    )
