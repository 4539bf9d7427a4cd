"""The systematic orderings: valid by construction, one program per class in the covering set,
and able to catch what random sampling misses — a server that loses the client's queued
messages when the client's close arrives before the app's first receive."""

from __future__ import annotations

from starlette.types import Message as AsgiMessage
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.lifecycle import orderings
from wsconform.targets.puppet import build_puppet_app
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.inmemory import InMemoryConnection, InMemoryTransport

from tests.broken_targets import broken_server

QUEUED_THEN_CLOSED = ("accept", "client-send", "client-send", "client-close", "receive")


class LosesQueuedMessagesOnClose(InMemoryConnection):
    """Empties the app's inbox when the client leaves: the disconnect overtakes the data."""

    def _leave(self, code: int, reason: str) -> None:
        kept: list[AsgiMessage] = []
        while not self._to_app.empty():
            message = self._to_app.get_nowait()
            if message["type"] != "websocket.receive":
                kept.append(message)
        for message in kept:
            self._to_app.put_nowait(message)
        super()._leave(code, reason)


def failed(transport: Transport, program: tuple[str, ...], runner: LoopRunner) -> list[Judgement]:
    session = runner.run(orderings.run_program(transport, program))
    return [j for line in session.transcript for j in line.judgements if j.ok is False]


def test_programs_are_distinct_and_valid_by_construction() -> None:
    programs = list(orderings.programs())
    assert len(programs) == len(set(programs))
    assert all(program[0] in ("accept", "receive", "send", "close", "return", "raise")
               for program in programs)  # fmt: skip
    assert QUEUED_THEN_CLOSED in programs


def test_the_covering_set_shows_each_class_once() -> None:
    chosen = orderings.covering_set()
    classes = [orderings.ordering_class(program) for program in chosen]
    assert len(classes) == len(set(classes))
    every_class = {
        orderings.ordering_class(program)
        for program in orderings.programs(orderings.COVERING_STEPS)
        if len(orderings.ordering_class(program)) <= orderings.COVERING_KINDS
        or orderings.queued_then_left(orderings.ordering_class(program))
    }
    assert set(classes) == every_class
    # Repeats are kept where the class allows them: two sends queued before the close.
    assert QUEUED_THEN_CLOSED in chosen


def test_no_program_fails_on_the_sound_in_memory_server(loop_runner: LoopRunner) -> None:
    transport = InMemoryTransport(build_puppet_app())
    failing = {
        orderings.describe(program): [j.check_id for j in judgements]
        for program in orderings.programs()
        if (judgements := failed(transport, program, loop_runner))
    }
    assert failing == {}


def test_orderings_catch_a_server_losing_queued_messages(loop_runner: LoopRunner) -> None:
    transport = broken_server(LosesQueuedMessagesOnClose)()
    caught = [
        program for program in orderings.covering_set() if failed(transport, program, loop_runner)
    ]
    assert QUEUED_THEN_CLOSED in caught


def test_one_program_replays_from_the_command_line(capsys: object) -> None:
    assert orderings.main(["--server", "inmemory", *QUEUED_THEN_CLOSED]) == 0
