"""Every shutdown check passes on the sound in-memory server and fails on the one that stops
with exactly its flaw (`tests/broken_raw_servers.py`)."""

from __future__ import annotations

import contextlib

import pytest
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner
from wsconform.conformance.families.shutdown import probes as shutdown
from wsconform.conformance.families.shutdown.catalogue import SHUTDOWN_CHECKS
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.inmemory import InMemoryConnection

from tests.broken_raw_servers import SHUTDOWN_CAUGHT_BY
from tests.broken_targets import broken_server


def verdicts(
    connection_class: type[InMemoryConnection], runner: LoopRunner
) -> dict[str, set[bool | None]]:
    transport = broken_server(connection_class)()
    try:
        run = runner.run(shutdown.stop_with_connections(transport, lambda: None))
    finally:
        runner.run(transport.aclose())
    judged: dict[str, set[bool | None]] = {}
    for judgement in shutdown.judge(run):
        judged.setdefault(judgement.check_id, set()).add(judgement.ok)
    return judged


def test_every_shutdown_check_has_a_flawed_server() -> None:
    assert set(SHUTDOWN_CAUGHT_BY) == {check.id for check in SHUTDOWN_CHECKS}


def test_the_sound_server_passes_every_shutdown_check(loop_runner: LoopRunner) -> None:
    assert verdicts(InMemoryConnection, loop_runner) == {
        check.id: {True} for check in SHUTDOWN_CHECKS
    }


@pytest.mark.parametrize("check_id", sorted(SHUTDOWN_CAUGHT_BY))
def test_shutdown_check_catches_its_flaw(check_id: str, loop_runner: LoopRunner) -> None:
    judged = verdicts(SHUTDOWN_CAUGHT_BY[check_id], loop_runner)
    assert False in judged.get(check_id, set()), judged


@pytest.mark.slow
def test_uvicorn_with_the_common_graceful_timeout_ends_within_the_bound(
    loop_runner: LoopRunner,
) -> None:
    """uvicorn waits for a busy app without end unless given timeout_graceful_shutdown, as
    hypercorn is given graceful_timeout: configured alike, the verdict is the server's."""
    with contextlib.ExitStack() as serving:
        fresh = serving.enter_context(all_transports()["uvicorn-websockets"].serve(PUPPET_APP))
        run = loop_runner.run(shutdown.stop_with_connections(fresh, serving.close))
        loop_runner.run(fresh.aclose())
    ends = [j for j in shutdown.judge(run) if j.check_id == "shutdown.ends-within-bound"]
    assert [j.ok for j in ends] == [True], ends
