"""Every raw-ASGI check passes on the sound in-memory server and fails on the one server with
exactly its flaw (`tests/broken_raw_servers.py`)."""

from __future__ import annotations

import pytest
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.raw_asgi import probes as raw_asgi
from wsconform.conformance.families.raw_asgi.catalogue import RAW_CHECKS
from wsconform.targets.servers.inmemory import InMemoryConnection

from tests.broken_raw_servers import CAUGHT_BY, CutsLongReasonInsideACharacter
from tests.broken_targets import broken_server


def verdicts(
    connection_class: type[InMemoryConnection], runner: LoopRunner
) -> dict[str, set[bool | None]]:
    transport = broken_server(connection_class)()
    judged: dict[str, set[bool | None]] = {}
    try:
        for _, _, judgements in runner.run(raw_asgi.run_probes(transport)):
            for judgement in judgements:
                judged.setdefault(judgement.check_id, set()).add(judgement.ok)
    finally:
        runner.run(transport.aclose())
    return judged


def test_every_raw_check_has_a_flawed_server() -> None:
    assert set(CAUGHT_BY) == {check.id for check in RAW_CHECKS}


def test_the_sound_server_passes_every_raw_check(loop_runner: LoopRunner) -> None:
    judged = verdicts(InMemoryConnection, loop_runner)
    assert {check.id: judged.get(check.id) for check in RAW_CHECKS} == {
        check.id: {True} for check in RAW_CHECKS
    }


@pytest.mark.parametrize("check_id", sorted(CAUGHT_BY))
def test_raw_check_catches_its_flaw(check_id: str, loop_runner: LoopRunner) -> None:
    judged = verdicts(CAUGHT_BY[check_id], loop_runner)
    assert False in judged.get(check_id, set()), judged
    # The flaw is exactly one: every other raw check still passes (a message that is delivered
    # cannot also be refused with 1009, so the limit's checks go down together).
    together = raw_asgi.LIMIT_CHECKS if check_id in raw_asgi.LIMIT_CHECKS else (check_id,)
    others = {
        other: oks
        for other, oks in judged.items()
        if other.startswith("raw.") and other not in together
    }
    assert all(oks == {True} for oks in others.values()), others


def test_a_reason_cut_inside_a_character_still_fits_its_frame(loop_runner: LoopRunner) -> None:
    # Its replacement character makes the decoded reason 125 bytes long; the frame is 125.
    judged = verdicts(CutsLongReasonInsideACharacter, loop_runner)
    assert judged["raw.close-long-reason-fits-a-frame"] == {True}
