"""Probes: short programs of app steps (raw ASGI messages through the puppet's raw channel) and
client actions, played in order on one puppet session, and what they saw. The raw-ASGI family
judges servers with them; the browser and shutdown families play the same programs with their
own clients."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.model import graded_as_advertised
from wsconform.conformance.engine.sessions import PUPPET_ROUTE, advertised_by
from wsconform.conformance.engine.vocabulary import (
    Action,
    ClientAction,
    ClientClose,
    ClientDrop,
    ClientEvent,
    ClientSendBytes,
    ClientSendText,
    Connect,
    RawSend,
    Return,
    ServerStep,
    StepOutcome,
    Visibility,
    jsonable,
)
from wsconform.targets.servers.base import (
    EXPECT_BOUND_S,
    QUIET_BOUND_S,
    ClientConnection,
    Transport,
)

_probe_numbers = itertools.count(1)


@dataclass(frozen=True)
class Observe:
    """Read the client's next event (bounded): what the previous steps made the server send."""


@dataclass(frozen=True)
class Briefly:
    """An app step expected to wait (a receive with nothing to receive): its outcome is read
    within the short quiet bound, and None then is the observation."""

    step: ServerStep


ProbeItem = Action | Observe | Briefly


@dataclass
class RawRun:
    """What one probe saw: each app step's outcome, each client event, in order."""

    outcomes: list[tuple[ServerStep, StepOutcome | None]] = field(default_factory=list)
    events: list[ClientEvent] = field(default_factory=list)
    visibility: Visibility = field(default_factory=Visibility)

    def outcome(self, position: int) -> StepOutcome | None:
        """The outcome of the program's `position`-th app step (0-based; -1 the last)."""
        return self.outcomes[position][1]

    def first(self, kind: type[Any]) -> Any:
        return next((event for event in self.events if isinstance(event, kind)), None)

    def evidence(self) -> dict[str, Any]:
        return {
            "app_steps": [
                {"step": jsonable(step), "outcome": None if done is None else jsonable(done)}
                for step, done in self.outcomes
            ],
            "client_saw": [jsonable(event) for event in self.events],
        }


Judge = Callable[[RawRun], list[Judgement]]


@dataclass(frozen=True)
class RawProbe:
    name: str
    program: tuple[ProbeItem, ...]
    judge: Judge

    def program_json(self) -> list[Any]:
        """The steps in order, as evidence (what `reports.repro` replays)."""
        return [
            {"kind": "Briefly", "step": jsonable(item.step)}
            if isinstance(item, Briefly)
            else jsonable(item)
            for item in self.program
        ]


# --- the messages -------------------------------------------------------------------------------


def send(**keys: Any) -> RawSend:
    return RawSend({"type": "websocket.send", **keys})


def accept(**keys: Any) -> RawSend:
    return RawSend({"type": "websocket.accept", **keys})


def close(**keys: Any) -> RawSend:
    return RawSend({"type": "websocket.close", **keys})


# A reason of 100 two-byte characters: 200 UTF-8 bytes, past the 123 a close frame has room for.
LONG_REASON = "é" * 100


# --- running one probe --------------------------------------------------------------------------


class ProbeClient(Protocol):
    """The client side of a probe's program: a socket connection, or a page in a browser."""

    async def observe(self) -> None:
        """Read the next event (bounded) and keep it."""

    async def act(self, action: ClientAction) -> None: ...

    async def release(self) -> None: ...


# Opens the probe's client on the puppet path it is given, as its Connect step says.
OpenClient = Callable[[str, Connect], Awaitable[ProbeClient]]


async def play(
    transport: Transport, program: Sequence[ProbeItem], label: str, open_client: OpenClient
) -> list[tuple[ServerStep, StepOutcome | None]]:
    """Run a program's steps in order on one puppet session; the app's step outcomes."""
    session = f"{label}-{next(_probe_numbers)}"
    control = transport.control
    outcomes: list[tuple[ServerStep, StepOutcome | None]] = []
    client: ProbeClient | None = None
    try:
        for item in program:
            if isinstance(item, Connect):
                client = await open_client(f"{PUPPET_ROUTE}/{session}", item)
            elif isinstance(item, Observe | ClientAction):
                assert client is not None, f"{label}: {item!r} before connect"
                await (client.observe() if isinstance(item, Observe) else client.act(item))
            else:
                step, bound = (
                    (item.step, QUIET_BOUND_S)
                    if isinstance(item, Briefly)
                    else (item, EXPECT_BOUND_S)
                )
                index = await control.submit(session, step)
                outcomes.append((step, await control.outcome(session, index, bound)))
    finally:
        # The app returns whatever state it is in (an app already gone ignores it), the client
        # is released, and the session forgotten: nothing outlives the probe.
        await control.submit(session, Return())
        if client is not None:
            await client.release()
        await control.forget(session)
    return outcomes


@dataclass
class _SocketClient:
    connection: ClientConnection
    events: list[ClientEvent]

    async def observe(self) -> None:
        self.events.append(await self.connection.next_event(EXPECT_BOUND_S))

    async def act(self, action: ClientAction) -> None:
        await _perform(self.connection, action)

    async def release(self) -> None:
        await self.connection.release()


async def run_probe(transport: Transport, probe: RawProbe) -> tuple[RawRun, list[Judgement]]:
    run = RawRun(visibility=transport.visibility)

    async def open_socket(path: str, connect: Connect) -> ProbeClient:
        connection = await transport.connect(path, connect.headers, connect.subprotocols)
        return _SocketClient(connection, run.events)

    run.outcomes = await play(transport, probe.program, f"raw-{probe.name}", open_socket)
    advertised = await advertised_by(transport)
    return run, graded_as_advertised(probe.judge(run), advertised)


async def _perform(connection: ClientConnection, action: ClientAction) -> None:
    if isinstance(action, ClientSendText):
        await connection.send_text(action.data)
    elif isinstance(action, ClientSendBytes):
        await connection.send_bytes(action.data)
    elif isinstance(action, ClientClose):
        await connection.close(action.code, action.reason)
    elif isinstance(action, ClientDrop):
        await connection.drop()
    else:
        raise TypeError(f"raw probes do not use {action!r}")


# --- what the judges read -----------------------------------------------------------------------


def judged(check_id: str, ok: bool | None, detail: str) -> list[Judgement]:
    """A probe's one judgement, as the judges return it."""
    return [Judgement(check_id, ok, detail)]
