"""The ping barrier is sound on every server that uses it: a message the app has handed the
server (its send returned, as the control channel reports) always reaches the client before the
pong of a ping sent afterwards. A server where that ever failed would keep the timed quiet wait.
"""

from __future__ import annotations

import pytest
from wsconform.conformance.engine.sessions import PUPPET_ROUTE, LoopRunner
from wsconform.conformance.engine.vocabulary import (
    Accept,
    ClientEvent,
    Message,
    NoEvent,
    Return,
    SendText,
)
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import EXPECT_BOUND_S, Transport
from wsconform.targets.servers.network import PING_BARRIER_SERVERS

ROUNDS = 50


async def messages_seen_at_the_barrier(transport: Transport, session: str) -> list[ClientEvent]:
    """Each round: the app sends, its send returns, then the client asks the barrier."""
    control = transport.control
    connection = await transport.connect(f"{PUPPET_ROUTE}/{session}")
    try:
        await control.outcome(session, await control.submit(session, Accept()), EXPECT_BOUND_S)
        await connection.next_event(EXPECT_BOUND_S)  # Accepted
        seen = [await connection.quiet(0.0)]  # nothing sent yet: the pong alone
        for round_number in range(ROUNDS):
            index = await control.submit(session, SendText(f"message {round_number}"))
            await control.outcome(session, index, EXPECT_BOUND_S)
            seen.append(await connection.quiet(0.0))
        await control.submit(session, Return())
    finally:
        await connection.release()
        await control.forget(session)
    return seen


# A `<server>+tls` transport keeps its server's barrier (targets/servers/network.py): proven too.
BARRIER_TRANSPORTS = sorted(
    name for name in all_transports() if name.partition("+")[0] in PING_BARRIER_SERVERS
)


@pytest.mark.parametrize("server", BARRIER_TRANSPORTS)
def test_a_message_sent_before_the_barrier_is_always_seen_before_its_answer(
    server: str, loop_runner: LoopRunner
) -> None:
    spec = all_transports()[server]
    reason = spec.unavailable_reason()
    if reason is not None:
        pytest.skip(f"{server}: {reason}")
    with spec.serve("wsconform.targets.puppet:app") as transport:
        try:
            seen = loop_runner.run(messages_seen_at_the_barrier(transport, f"barrier-{server}"))
        finally:
            loop_runner.run(transport.aclose())
    assert seen == [
        NoEvent(after_s=0.0),
        *[Message(f"message {round_number}") for round_number in range(ROUNDS)],
    ]
