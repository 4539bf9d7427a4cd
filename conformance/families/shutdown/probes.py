"""Shutdown: a server stopped on its own graceful signal while connections are open in each state.

A fresh server is started, three connections are brought to a state each — a handshake the app
has not answered, an open connection whose app is idle, and one whose app is blocked in
`receive` — and the server is stopped the way its operator would (uvicorn's and hypercorn's
shutdown flag, SIGTERM for a server in its own process, `InMemoryTransport.shut_down`). Judged:
what each client gets (an HTTP answer to the pending handshake; a close frame, with the code for
"going away" or "restarting", on the open ones), what the blocked app gets (a disconnect, or
being cancelled), and that the server stops within the bound.

The app's side is read from the puppet's record where the app runs in this process; a server in
its own process takes that record with it, and the check is `unimplemented` there.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.probes import accept
from wsconform.conformance.engine.sessions import PUPPET_ROUTE
from wsconform.conformance.engine.vocabulary import (
    ClientEvent,
    Closed,
    Denied,
    RawReceive,
    ServerRecord,
    jsonable,
)
from wsconform.targets.puppet import find_registry
from wsconform.targets.servers.base import (
    EXPECT_BOUND_S,
    QUIET_BOUND_S,
    ClientConnection,
    Transport,
)
from wsconform.targets.servers.inmemory import InMemoryTransport

HANDSHAKING, OPEN_IDLE, IN_RECEIVE = "handshaking", "open-idle", "app-in-receive"
STATES = (HANDSHAKING, OPEN_IDLE, IN_RECEIVE)
# A graceful stop is judged finished in time within this bound: well under the puppet's own idle
# bound (10 s), so a server that waits for an idle app to give up fails steadily, not by a hair.
GRACEFUL_STOP_BOUND_S = 5.0
GOING_AWAY_CODES = (1001, 1012)  # RFC 6455 7.4.1 "going away"; IANA registry "service restart"
_numbers = itertools.count(1)


@dataclass
class Held:
    """One connection brought to its state before the server stops."""

    state: str
    session: str
    connection: ClientConnection


@dataclass
class ShutdownRun:
    held: dict[str, Held]
    stopped_in_s: float = 0.0
    stop_error: str = ""
    after: dict[str, ClientEvent] = field(default_factory=dict)  # the first event after stop
    records: dict[str, ServerRecord] | None = None  # None: the app's record is out of reach

    def evidence(self) -> dict[str, Any]:
        return {
            "stopped_in_s": round(self.stopped_in_s, 3),
            "stop_error": self.stop_error,
            "client_saw_after_stop": {state: jsonable(e) for state, e in self.after.items()},
            "app_records": None
            if self.records is None
            else {
                state: {
                    "ended": record.ended,
                    "steps": [
                        [jsonable(step), None if outcome is None else jsonable(outcome)]
                        for step, outcome in record.steps
                    ],
                }
                for state, record in self.records.items()
            },
        }


async def hold(transport: Transport, state: str) -> Held:
    session = f"shutdown-{state}-{next(_numbers)}"
    control = transport.control
    connection = await transport.connect(f"{PUPPET_ROUTE}/{session}")
    held = Held(state, session, connection)
    # The app has the connect message: the server has the connection and runs the app.
    await control.outcome(session, await control.submit(session, RawReceive()), EXPECT_BOUND_S)
    if state == HANDSHAKING:
        return held
    await control.outcome(session, await control.submit(session, accept()), EXPECT_BOUND_S)
    # The 101 is read here, so that the first event after the signal is what the stop sent.
    await connection.next_event(EXPECT_BOUND_S)
    if state == IN_RECEIVE:
        await control.outcome(session, await control.submit(session, RawReceive()), QUIET_BOUND_S)
    return held


async def stop_with_connections(transport: Transport, stop: Callable[[], None]) -> ShutdownRun:
    """Hold a connection in each state, then stop the server (`stop` leaves the serving context,
    on a thread, while this loop goes on reading what the clients get)."""
    run = ShutdownRun({state: await hold(transport, state) for state in STATES})
    registry = find_registry(getattr(transport.witness, "app", None))
    began = time.monotonic()
    try:
        if isinstance(transport, InMemoryTransport):
            if not await transport.shut_down():
                run.stop_error = "connections still open after the shutdown"
        else:
            await asyncio.to_thread(stop)
    except RuntimeError as exc:  # a serving context that could not stop its server
        run.stop_error = str(exc)
    run.stopped_in_s = time.monotonic() - began
    for state, held in run.held.items():
        run.after[state] = await held.connection.next_event(EXPECT_BOUND_S)
    if registry is not None:
        run.records = {
            state: registry.session(h.session).snapshot() for state, h in run.held.items()
        }
    for held in run.held.values():
        with contextlib.suppress(Exception):  # the server is gone; only local resources are left
            await held.connection.release()
    return run


def judge(run: ShutdownRun) -> list[Judgement]:
    pending = run.after[HANDSHAKING]
    judgements = [
        Judgement(
            "shutdown.handshake-answered",
            isinstance(pending, Denied),
            f"a handshake the app had not answered, at shutdown: the client saw {pending!r}",
        )
    ]
    for state in (OPEN_IDLE, IN_RECEIVE):
        event = run.after[state]
        framed = isinstance(event, Closed) and event.close_frame_seen
        detail = f"{state} connection at shutdown: the client saw {event!r}"
        judgements.append(Judgement("shutdown.open-connection-gets-close-frame", framed, detail))
        if framed:
            assert isinstance(event, Closed)
            judgements.append(
                Judgement("shutdown.close-code-going-away", event.code in GOING_AWAY_CODES, detail)
            )
    judgements.append(_app_hears_the_end(run))
    judgements.append(
        Judgement(
            "shutdown.ends-within-bound",
            not run.stop_error and run.stopped_in_s < GRACEFUL_STOP_BOUND_S,
            f"stopped in {run.stopped_in_s:.2f} s{'; ' + run.stop_error if run.stop_error else ''}",
        )
    )
    return judgements


def _app_hears_the_end(run: ShutdownRun) -> Judgement:
    check = "shutdown.app-hears-the-end"
    if run.records is None:
        return Judgement(check, None, "the app runs in the server's process, which is gone")
    record = run.records[IN_RECEIVE]
    receive = record.steps[-1][1] if record.steps else None
    value = receive.value if receive is not None else None
    told = isinstance(value, dict) and value.get("type") == "websocket.disconnect"
    cancelled = record.ended is not None and "cancelled" in record.ended
    return Judgement(
        check,
        told or cancelled,
        f"the app blocked in receive at shutdown: receive -> {receive!r}; app ended: "
        f"{record.ended}",
    )
