"""The engine: runs one lifecycle on any transport and grades every observation with the model.

Directed scenarios and the Hypothesis state machine both drive a `LifecycleSession`; neither knows
which transport is underneath. Every action leaves a transcript line (what was done, what the
app's step returned, what the client saw, what was judged), which is the evidence reports show.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.model import (
    Client,
    LifecycleModel,
    Listen,
    Plan,
)
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Accepted,
    Action,
    Advertised,
    ClientAction,
    ClientClose,
    ClientDrop,
    ClientEvent,
    ClientListen,
    ClientSendBytes,
    ClientSendJson,
    ClientSendText,
    Closed,
    Connect,
    Message,
    Return,
    ServerRecord,
    ServerStep,
    StepOutcome,
    event_shape,
    jsonable,
    outcome_shape,
    record_to_json,
)
from wsconform.targets.puppet import IDLE_TIMEOUT, PUPPET_STEP_BOUND_S
from wsconform.targets.servers.base import (
    EXPECT_BOUND_S,
    QUIET_BOUND_S,
    ClientConnection,
    Transport,
    TransportSpec,
)

T = TypeVar("T")
PUPPET_ROUTE = "/puppet"
PUPPET_APP = "wsconform.targets.puppet:app"  # the app every lifecycle session talks to
_session_numbers = itertools.count(1)


@dataclass
class TranscriptLine:
    actor: str  # "client" or "app"
    action: Any
    outcome: StepOutcome | None = None
    event: ClientEvent | None = None
    judgements: list[Judgement] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "action": jsonable(self.action),
            "outcome": None if self.outcome is None else jsonable(self.outcome),
            "client_saw": None if self.event is None else jsonable(self.event),
            "judged": [
                {"check": j.check_id, "verdict": j.verdict.value, "detail": j.detail}
                for j in self.judgements
            ],
        }

    def __str__(self) -> str:
        parts = [f"{self.actor:>6}: {self.action!r}"]
        if self.outcome is not None:
            parts.append(f"-> {self.outcome!r}")
        if self.event is not None:
            parts.append(f"| client saw {self.event!r}")
        text = " ".join(parts)
        for judgement in self.judgements:
            text += (
                f"\n          [{judgement.verdict.value}] {judgement.check_id}: {judgement.detail}"
            )
        return text


class LifecycleSession:
    """One connection to the puppet, from handshake to teardown."""

    def __init__(self, transport: Transport, label: str = "session") -> None:
        self.transport = transport
        self.session_id = f"{label}-{next(_session_numbers)}"
        self.model = LifecycleModel()
        self.transcript: list[TranscriptLine] = []
        self.record: ServerRecord | None = None
        self._connection: ClientConnection | None = None
        self._pending_index: int | None = None
        # When the app was last told anything (loop time): its puppet ends itself after
        # PUPPET_STEP_BOUND_S without an instruction. Taken before the instruction leaves:
        # the puppet's bound starts when it gets it, which may be long before the reply comes
        # back (a loaded server), and an end must never be judged as the server's for that.
        self._instructed_at = 0.0

    def act(self, action: Action) -> Coroutine[Any, Any, list[Judgement]]:
        """The coroutine that performs `action` and judges it (handed over, not awaited here:
        one frame less on every action)."""
        if isinstance(action, _CLIENT_ACTIONS):
            return self._client(action)
        return self._server(action)

    async def _server(self, step: ServerStep) -> list[Judgement]:
        plan = self.model.plan_server(step)
        control = self.transport.control
        self._instructed_at = asyncio.get_running_loop().time()
        index = await control.submit(self.session_id, step)
        outcome = await control.outcome(
            self.session_id, index, EXPECT_BOUND_S if plan.completes else QUIET_BOUND_S
        )
        if not plan.completes and outcome is None:
            self._pending_index = index
        event = None if plan.listen is Listen.NOTHING else await self._listen(plan)
        judgements = self.model.judge_server(step, outcome, event)
        self.transcript.append(TranscriptLine("app", step, outcome, event, judgements))
        if self.model.answer_due is not None:
            # The server answers only once the app has ended (granian's 403 to a close before
            # accept): the app returns, and the answer is judged then.
            judgements = judgements + await self._server(Return())
        return judgements

    async def _client(self, action: ClientAction) -> list[Judgement]:
        if isinstance(action, Connect):
            self.model.advertised = self.transport.advertised or await advertised_by(self.transport)
            self.model.visibility = self.transport.visibility
        plan = self.model.plan_client(action)
        if isinstance(action, Connect):  # the app starts, and waits for its first instruction
            self._instructed_at = asyncio.get_running_loop().time()
        await self._perform(action)
        pending_outcome = None
        if plan.resolves_pending and self._pending_index is not None:
            pending_outcome = await self.transport.control.outcome(
                self.session_id, self._pending_index, EXPECT_BOUND_S
            )
            self._pending_index = None
        event = None if plan.listen is Listen.NOTHING else await self._listen(plan)
        if isinstance(event, Closed) and await self._ended_by_its_puppet(event):
            # Not the server's doing, and nothing to judge: the program outlasted the suite's
            # own safety net (a run of client steps longer than the puppet waits).
            self.model.client, self.model.derailed = Client.ENDED, True
            self.transcript.append(TranscriptLine("client", action, pending_outcome, event))
            return []
        judgements = self.model.judge_client(action, pending_outcome, event)
        self.transcript.append(TranscriptLine("client", action, pending_outcome, event, judgements))
        return judgements

    async def _perform(self, action: ClientAction) -> None:
        if isinstance(action, Connect):
            path = f"{PUPPET_ROUTE}/{self.session_id}" + (
                f"?{action.query}" if action.query else ""
            )
            self._connection = await self.transport.connect(
                path, action.headers, action.subprotocols
            )
            return
        connection = self._connection
        assert connection is not None, "connect first"
        if isinstance(action, ClientSendText):
            await connection.send_text(action.data)
        elif isinstance(action, ClientSendBytes):
            await connection.send_bytes(action.data)
        elif isinstance(action, ClientSendJson):
            await connection.send_text(json.dumps(action.data))
        elif isinstance(action, ClientClose):
            await connection.close(action.code, action.reason)
        elif isinstance(action, ClientDrop):
            await connection.drop()

    async def _ended_by_its_puppet(self, event: Closed) -> bool:
        """Did the connection end (`event`) because the puppet gave up waiting for an
        instruction? Asked only of an end seen after the puppet's bound has passed since the
        last one."""
        if asyncio.get_running_loop().time() - self._instructed_at < PUPPET_STEP_BOUND_S:
            return False
        record = await self.transport.control.record(self.session_id)
        return record.ended == IDLE_TIMEOUT

    async def _listen(self, plan: Plan) -> ClientEvent | None:
        """What the client sees, for a plan that listens (the callers skip the others without
        a coroutine: most steps of a session listen for nothing)."""
        if self._connection is None:
            return None
        if plan.listen is Listen.EVENT:
            return await self._connection.next_event(EXPECT_BOUND_S)
        return await self._connection.quiet(QUIET_BOUND_S)

    async def finish(self, *, fetch_record: bool = True) -> None:
        """End the session whatever its state: the app is told to return, the client released."""
        control = self.transport.control
        if self.model.active and self.model.app_alive:
            index = await control.submit(self.session_id, Return())
        else:
            index = None
        if self._connection is not None:
            await self._connection.release()
        if index is not None:
            await control.outcome(self.session_id, index, QUIET_BOUND_S)
        if fetch_record:
            self.record = await control.record(self.session_id)
        await control.forget(self.session_id)

    def evidence(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "transcript": [line.to_json() for line in self.transcript],
            "server_record": None if self.record is None else record_to_json(self.record),
        }

    def program(self) -> str:
        """What was done, in order, as JSON text without the session's own name: the same
        program run on another transport has the same text."""
        return json.dumps([jsonable(line.action) for line in self.transcript], sort_keys=True)

    def observation(self) -> dict[str, Any]:
        """What the app's steps did and what the client saw, per action, with the verdicts they
        were given: compared across the transports that ran the same program (a difference
        under equal verdicts is one the model does not explain). What differs between servers
        by construction is left out: response headers, denial bodies, timings, exception
        messages. `visibility` groups the transports whose clients see the same things."""
        visibility = self.transport.visibility
        return {
            "visibility": f"http_status={visibility.http_status},"
            f" close_frames={visibility.close_frames}",
            "verdicts": sorted(
                {
                    f"{j.check_id}: {j.verdict.value}"
                    for line in self.transcript
                    for j in line.judgements
                }
            ),
            "observed": [
                [
                    line.actor,
                    outcome_shape(line.outcome),
                    _outcome_value(line.outcome),
                    event_shape(line.event),
                    _event_data(line.event),
                ]
                for line in self.transcript
            ],
            "transcript": self.describe(),
        }

    def describe(self) -> str:
        lines = [f"transcript of {self.session_id} on {self.transport.name}:"]
        lines += [str(line) for line in self.transcript]
        if self.record is not None:
            lines.append("server record (ASGI messages as the app saw them):")
            lines += [f"  {direction:>7} {message!r}" for direction, message in self.record.asgi]
            lines.append(f"  app ended: {self.record.ended}")
        return "\n".join(lines)


def _outcome_value(outcome: StepOutcome | None) -> Any:
    """What a step returned (the data received), or the code and reason an exception carried."""
    return None if outcome is None else jsonable(outcome.value)


def _event_data(event: ClientEvent | None) -> Any:
    """The part of a client event the app or the client chose: a message's data, a close
    reason, the subprotocol accepted (its shape says the rest)."""
    if isinstance(event, Message):
        return jsonable(event.data)
    if isinstance(event, Closed):
        return event.reason
    if isinstance(event, Accepted):
        return event.subprotocol
    return None


async def advertised_by(transport: Transport) -> Advertised:
    """What the server behind `transport` advertises in the websocket scope, learnt once from
    a probe connection to the puppet and kept on the transport. An app without the puppet
    cannot tell: the spec's default ("2.0", no extensions) is assumed and marked unreported."""
    if transport.advertised is not None:
        return transport.advertised
    session = f"advertised-probe-{next(_session_numbers)}"
    control = transport.control
    connection = await transport.connect(f"{PUPPET_ROUTE}/{session}")
    try:
        index = await control.submit(session, Accept())
        await control.outcome(session, index, EXPECT_BOUND_S)
        record = await control.record(session)
        await control.submit(session, Return())
    finally:
        await connection.release()
    await control.forget(session)
    transport.advertised = record.advertised or Advertised(reported=False)
    return transport.advertised


async def run_actions(
    transport: Transport, actions: Iterable[Action], label: str, *, to_the_end: bool = False
) -> LifecycleSession:
    """A directed scenario: every action in order, then teardown. Once the model derails the
    rest is skipped, unless `to_the_end` (seed claims are decided on everything that happened)."""
    session = LifecycleSession(transport, label)
    try:
        for action in actions:
            if session.model.derailed and not to_the_end:
                break
            await session.act(action)
    finally:
        await session.finish()
    return session


class LoopRunner:
    """The one event loop the test process drives transports on, from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


_CLIENT_ACTIONS = (
    Connect,
    ClientSendText,
    ClientSendBytes,
    ClientSendJson,
    ClientClose,
    ClientDrop,
    ClientListen,
)


@contextlib.contextmanager
def app_served(spec: TransportSpec, import_string: str, runner: LoopRunner) -> Iterator[Transport]:
    """`import_string` served by `spec` with its app prepared (lifespan started), and at the
    end its lifespan stopped and the transport closed; raises AppStartupFailed if the app
    cannot start."""
    with spec.serve(import_string) as served:
        try:
            runner.run(served.prepare_app())
            yield served
        finally:
            # Best effort: a server that died has no lifespan left to shut down.
            with contextlib.suppress(httpx.HTTPError, OSError):
                runner.run(served.stop_app())
            runner.run(served.aclose())
