"""Systematic short orderings: every lifecycle program up to a few steps, beside the random ones.

Random sampling rarely shows a server the short, specific interleavings where lifecycle bugs
live — two client messages and a close queued before the app's first receive, closes crossing,
a raise or return right after accept. Here both sides' steps are enumerated from a small
alphabet (one representative per kind of step: the payloads are the Hypothesis machine's job),
in every order the rules of the protocol allow, after the handshake request:

- exhaustively on `inmemory` (up to `MAX_STEPS`), whose driver runs a session in about a
  millisecond;
- as a covering set on every other transport: one program per *ordering class*, the program
  with runs of the same step collapsed (two sends then a close is the class "send, close"), so
  each order of kinds of step is shown to each server once, with its repeats where they exist.

Which steps are allowed next is decided by a small simulation of both sides (`Sides`), so that
programs are valid by construction; the lifecycle model still decides every verdict, and a
program it derails is cut there (`run_program`).
"""

from __future__ import annotations

import argparse
import enum
import itertools
import shlex
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from wsconform.conformance.engine.sessions import (
    PUPPET_APP,
    LifecycleSession,
    LoopRunner,
    app_served,
)
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Action,
    ClientClose,
    ClientDrop,
    ClientSendText,
    Close,
    Connect,
    RaiseError,
    ReceiveText,
    Return,
    SendText,
)
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import Transport

# Exhaustive on inmemory: 3491 programs of up to 6 steps, a few seconds.
MAX_STEPS = 6
# The covering set on the other transports: classes of up to 3 kinds of step, plus the
# classes where client messages are queued and the client leaves before the app's receive;
# each shown by its longest program of up to 5 steps (accept, client-send twice, client-close,
# receive). Every class of 4 kinds would be 228 programs, a minute more on the slowest server.
COVERING_KINDS, COVERING_STEPS = 3, 5


class Peer(enum.Enum):
    WAITING = "waiting"  # the client before the handshake is answered; the app before accept
    OPEN = "open"
    CLOSED = "closed"  # the app sent a close / the client closed or dropped
    ENDED = "ended"  # the app returned or raised


@dataclass(frozen=True)
class Sides:
    """Both ends of one connection as far as the enumeration needs them."""

    client: Peer = Peer.WAITING
    app: Peer = Peer.WAITING
    queued: int = 0  # client messages the app has not received yet
    receiving: bool = False  # the app is blocked in a receive

    def app_may_step(self) -> bool:
        return self.app in (Peer.WAITING, Peer.OPEN, Peer.CLOSED) and not self.receiving

    def client_may_act(self) -> bool:
        return self.client is Peer.OPEN


# One representative per kind of step (the names are the ordering's alphabet).
STEPS: dict[str, Action] = {
    "accept": Accept(),
    "receive": ReceiveText(),
    "send": SendText("from the app"),
    "close": Close(1000, "done"),
    "return": Return(),
    "raise": RaiseError(),
    "client-send": ClientSendText("from the client"),
    "client-close": ClientClose(1000, "bye"),
    "client-drop": ClientDrop(),
}


def after(sides: Sides, step: str) -> Sides | None:
    """The sides after `step`, or None where the step is not possible now."""
    if step.startswith("client-"):
        if not sides.client_may_act():
            return None
        if step == "client-send":
            if sides.receiving:  # the blocked receive takes it at once
                return replace(sides, receiving=False)
            return replace(sides, queued=sides.queued + 1)
        if step == "client-drop" and sides.queued:
            return None  # as the machine: drops wait for an empty inbox (data may be lost)
        return replace(sides, client=Peer.CLOSED, receiving=False)
    if not sides.app_may_step():
        return None
    if step == "accept":
        if sides.app is not Peer.WAITING:
            return None  # a second accept is the machine's business, not an ordering
        return replace(sides, app=Peer.OPEN, client=Peer.OPEN)
    if step == "receive":
        if sides.queued:
            return replace(sides, queued=sides.queued - 1)
        if sides.client is Peer.OPEN and sides.app is Peer.OPEN:
            return replace(sides, receiving=True)
        return sides  # answered at once: a disconnect, or a state error
    if step == "send":
        return sides
    if step == "close":
        if sides.app is Peer.CLOSED:
            return None  # a duplicate close is a directed scenario
        client = Peer.CLOSED if sides.client is not Peer.CLOSED else sides.client
        return replace(sides, app=Peer.CLOSED, client=client)
    # return, raise: the app ends; only while the client can still see it (model.may_raise)
    if sides.client is Peer.CLOSED or sides.app is Peer.CLOSED:
        return None
    return replace(sides, app=Peer.ENDED, client=Peer.CLOSED)


def programs(max_steps: int = MAX_STEPS) -> Iterator[tuple[str, ...]]:
    """Every valid program of 1 to `max_steps` steps (after Connect), shortest first."""
    frontier: list[tuple[tuple[str, ...], Sides]] = [((), Sides())]
    for _ in range(max_steps):
        extended = []
        for program, sides in frontier:
            for step in STEPS:
                following = after(sides, step)
                if following is not None:
                    extended.append(((*program, step), following))
                    yield (*program, step)
        frontier = extended


def ordering_class(program: Sequence[str]) -> tuple[str, ...]:
    """The order of kinds of step, runs of the same step collapsed."""
    return tuple(step for step, _ in itertools.groupby(program))


def queued_then_left(kinds: Sequence[str]) -> bool:
    """Client messages queued, then the client's close or drop, all before the app's next
    receive: where a server can lose data or answer the close late."""
    if "client-send" not in kinds or "receive" not in kinds:
        return False
    sent, received = kinds.index("client-send"), kinds.index("receive")
    between = kinds[sent:received]
    return sent < received and ("client-close" in between or "client-drop" in between)


def covering_set(
    max_kinds: int = COVERING_KINDS, max_steps: int = COVERING_STEPS
) -> list[tuple[str, ...]]:
    """One program per ordering class of up to `max_kinds` kinds of step, or of the
    queued-then-left family: the longest (so repeats are shown), first found."""
    chosen: dict[tuple[str, ...], tuple[str, ...]] = {}
    for program in programs(max_steps):
        key = ordering_class(program)
        if len(key) > max_kinds and not queued_then_left(key):
            continue
        if key not in chosen or len(program) > len(chosen[key]):
            chosen[key] = program
    return list(chosen.values())


def actions_of(program: Sequence[str]) -> list[Action]:
    return [Connect(), *(STEPS[step] for step in program)]


async def run_program(transport: Transport, program: Sequence[str]) -> LifecycleSession:
    """The program on `transport`, then teardown; cut where the model derails or where the
    model says a step is not possible (the simulation is coarser than the model)."""
    session = LifecycleSession(transport, "ordering")
    try:
        for action in actions_of(program):
            if session.model.derailed or not _model_allows(session, action):
                break
            await session.act(action)
    finally:
        await session.finish()
    return session


def _model_allows(session: LifecycleSession, action: Action) -> bool:
    model = session.model
    if isinstance(action, Connect):
        return True
    if isinstance(action, ClientDrop):
        return model.may_drop()
    if isinstance(action, ClientSendText | ClientClose):
        return model.may_client_act()
    if isinstance(action, Return | RaiseError):
        return model.may_raise()
    return model.may_step()


def describe(program: Sequence[str]) -> str:
    return ", ".join(program)


def reproduce_command(transport: str, program: Sequence[str]) -> str:
    return shlex.join(
        [
            "python",
            "-m",
            "wsconform.conformance.families.lifecycle.orderings",
            "--server",
            transport,
            *program,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one program on one transport and print its transcript and verdicts."""
    parser = argparse.ArgumentParser(
        prog="python -m wsconform.conformance.families.lifecycle.orderings",
        description="Run one short ordering (steps after the handshake request) and print it.",
    )
    parser.add_argument("--server", default="inmemory", help="a transport (%(default)s)")
    parser.add_argument("steps", nargs="*", choices=sorted(STEPS), metavar="STEP")
    parser.add_argument("--list", action="store_true", help="print the covering set and exit")
    arguments = parser.parse_args(argv)
    if arguments.list:
        for program in covering_set():
            print(describe(program))
        return 0
    transports = all_transports()
    if arguments.server not in transports:
        parser.error(f"unknown --server {arguments.server}; known: {', '.join(transports)}")
    runner = LoopRunner()
    try:
        with app_served(transports[arguments.server], PUPPET_APP, runner) as transport:
            session = runner.run(run_program(transport, arguments.steps))
    finally:
        runner.close()
    print(session.describe())
    failed = [j for line in session.transcript for j in line.judgements if j.ok is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
