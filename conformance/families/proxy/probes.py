"""Probes of a proxy in front of a server (`ProxiedTransport`: the stack, and `upstream`, the same
server and app reached around the proxy).

- Pass-through: each program is played through the proxy and around it, and only a difference is
  the proxy's (the server's own behaviour is judged by the other families, on both transports).
- Limits: a header line over the proxy's buffer; an idle connection past the proxy's read timeout
  (on a variant of the stack with a 1 s timeout: what the client and the app are then told).
- The classic misconfiguration (a variant without the upgrade headers): what the client gets.

The puppet is driven around the proxy (`ProxiedTransport.control`), so a proxy's timeout never
cuts the suite's own control requests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.probes import (
    Briefly,
    Observe,
    ProbeItem,
    RawProbe,
    RawRun,
    accept,
    close,
    run_probe,
)
from wsconform.conformance.engine.sessions import PUPPET_ROUTE
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientClose,
    ClientDrop,
    ClientEvent,
    Closed,
    Connect,
    Denied,
    RawReceive,
    Return,
    StepOutcome,
    jsonable,
)
from wsconform.conformance.families.proxy.catalogue import IDLE_FIX, UPGRADE_FIX
from wsconform.targets.servers.base import EXPECT_BOUND_S, REPLY_BOUND_S, Transport
from wsconform.targets.servers.network import ProxiedTransport

# Over the 8 KiB nginx takes for one request header line (large_client_header_buffers 4 8k) and
# under what uvicorn takes (h11: 16 KiB for the whole head), so only the proxy's limit is met.
LONG_REQUEST_HEADER_BYTES = 9 * 1024
# Over one memory page (nginx's proxy_buffer_size default, 4 KiB on x86-64), under uvicorn's
# own limit for what it sends.
LARGE_ACCEPT_HEADER_BYTES = 6 * 1024
LARGE_ACCEPT_HEADER = "x-wsconform-large"
# The read timeout of the short-timeout variant: under the client's wait for the next event
# (EXPECT_BOUND_S), so the cut is what that wait sees.
IDLE_TIMEOUT_MS = 1000

_sessions = itertools.count(1)
APP_CLOSE = (4321, "closed by the app")
CLIENT_CLOSE = (4322, "closed by the client")


@dataclass(frozen=True)
class PassThrough:
    """A program played both ways, and which of its observations must agree."""

    check_id: str
    program: tuple[ProbeItem, ...]
    # The last client event ("client") or the last app step's outcome ("app").
    compared: str


PASS_THROUGH = (
    PassThrough(
        "proxy.close-to-client-passes",
        (Connect(), RawReceive(), accept(), Observe(),
         close(code=APP_CLOSE[0], reason=APP_CLOSE[1]), Observe()),
        "client",
    ),
    PassThrough(
        "proxy.close-to-app-passes",
        (Connect(), RawReceive(), accept(), Observe(), ClientClose(*CLIENT_CLOSE), RawReceive()),
        "app",
    ),
    PassThrough(
        "proxy.client-drop-reaches-app",
        (Connect(), RawReceive(), accept(), Observe(), ClientDrop(), RawReceive()),
        "app",
    ),
    PassThrough(
        "proxy.large-accept-headers-pass",
        (Connect(), RawReceive(),
         accept(headers=[(LARGE_ACCEPT_HEADER.encode(), b"a" * LARGE_ACCEPT_HEADER_BYTES)]),
         Observe()),
        "client",
    ),
)  # fmt: skip


@dataclass
class ProxyRun:
    """What the probes saw, by check: the evidence of the family's verdicts."""

    seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        return {"source": "proxy probes", "seen": self.seen}


async def play(transport: Transport, name: str, program: tuple[ProbeItem, ...]) -> RawRun:
    run, _ = await run_probe(transport, RawProbe(name, program, lambda run: []))
    return run


def compared_value(run: RawRun, compared: str) -> Any:
    """The observation a pass-through check compares, in a form equal observations share (a
    1006 drop is equal to a 1006 drop whatever the bytes read before it)."""
    if compared == "client":
        event = run.events[-1] if run.events else None
        if isinstance(event, Closed):
            return ("Closed", event.code, event.reason, event.close_frame_seen)
        if isinstance(event, Accepted):
            # The header's first bytes: whether it came through, without 6 KiB of evidence.
            return ("Accepted", dict(event.headers).get(LARGE_ACCEPT_HEADER, "")[:16])
        if isinstance(event, Denied):
            return ("Denied", event.status)
        return jsonable(event)
    outcome: StepOutcome | None = run.outcome(-1)
    return None if outcome is None else jsonable(outcome)


async def pass_through(stack: ProxiedTransport, run: ProxyRun) -> list[Judgement]:
    judgements = []
    for probe in PASS_THROUGH:
        proxied = compared_value(await play(stack, probe.check_id, probe.program), probe.compared)
        direct = compared_value(
            await play(stack.upstream, probe.check_id, probe.program), probe.compared
        )
        run.seen[probe.check_id] = {"through_the_proxy": proxied, "without_it": direct}
        judgements.append(
            Judgement(
                probe.check_id,
                proxied == direct,
                f"through the proxy: {proxied}; the server alone: {direct}",
                cause=f"through the proxy: {proxied}",
            )
        )
    return judgements


async def oversized_request(stack: Transport, run: ProxyRun) -> Judgement:
    headers = (("x-wsconform-long", "x" * LONG_REQUEST_HEADER_BYTES),)
    # The app's accept is offered briefly: a proxy that refuses never lets the app hear of it.
    program = (Connect(headers=headers), Briefly(RawReceive()), Briefly(accept()), Observe())
    event = (await play(stack, "proxy-long-header", program)).events[-1]
    run.seen["proxy.oversized-request-headers-answered"] = {"client_saw": jsonable(event)}
    answered = isinstance(event, Accepted) or (
        isinstance(event, Denied) and event.status is not None and 400 <= event.status < 500
    )
    return Judgement(
        "proxy.oversized-request-headers-answered",
        answered,
        f"a {LONG_REQUEST_HEADER_BYTES}-byte header line: the client saw {describe(event)}",
    )


async def idle_cut(short_timeout: Transport, run: ProxyRun) -> list[Judgement]:
    """On a stack whose proxy cuts after IDLE_TIMEOUT_MS of silence: an open websocket left
    idle, then what the client saw and what the app blocked in receive was given."""
    session = f"proxy-idle-{next(_sessions)}"
    control = short_timeout.control
    connection = await short_timeout.connect(f"{PUPPET_ROUTE}/{session}")
    try:
        for step in (RawReceive(), accept()):  # the connect message, then the 101
            await control.outcome(session, await control.submit(session, step), EXPECT_BOUND_S)
        client = await connection.next_event(REPLY_BOUND_S)
        if isinstance(client, Accepted):
            # The cut, timed by the proxy from the 101; the reply bound (not the shorter one
            # of an expected event) keeps a loaded machine from missing it.
            client = await connection.next_event(REPLY_BOUND_S)
        app = await control.outcome(
            session, await control.submit(session, RawReceive()), EXPECT_BOUND_S
        )
    finally:
        await control.submit(session, Return())
        await connection.release()
        await control.forget(session)
    app_value = None if app is None else app.value
    run.seen["proxy.idle-cut"] = {
        "timeout_ms": IDLE_TIMEOUT_MS,
        "client_saw": jsonable(client),
        "app_received": app_value,
    }
    if not isinstance(client, Closed):
        why = f"not cut: the client saw {describe(client)} after {IDLE_TIMEOUT_MS} ms idle"
        return [
            Judgement("proxy.idle-cut-client-told", None, why),
            Judgement("proxy.idle-cut-app-told", None, why),
        ]
    app_told = isinstance(app_value, dict) and app_value.get("type") == "websocket.disconnect"
    return [
        Judgement(
            "proxy.idle-cut-client-told",
            client.close_frame_seen,
            f"idle past the proxy's {IDLE_TIMEOUT_MS} ms read timeout, the client saw "
            f"{describe(client)}; avoided by {IDLE_FIX}",
        ),
        Judgement(
            "proxy.idle-cut-app-told",
            app_told,
            f"idle past the proxy's {IDLE_TIMEOUT_MS} ms read timeout, the app's receive gave "
            f"{app_value!r}; avoided by {IDLE_FIX}",
        ),
    ]


async def missing_upgrade_headers(
    misconfigured: Transport, run: ProxyRun, path: str | None = None
) -> Judgement:
    """What a client gets from a proxy that forwards no upgrade (`path`: a route of the app;
    by default a puppet session's, where the app would accept)."""
    connection = await misconfigured.connect(path or f"{PUPPET_ROUTE}/proxy-no-upgrade")
    try:
        event = await connection.next_event(REPLY_BOUND_S)
    finally:
        await connection.release()
    run.seen["proxy.missing-upgrade-headers-http-error"] = {"client_saw": jsonable(event)}
    error = isinstance(event, Denied) and event.status is not None and event.status >= 400
    return Judgement(
        "proxy.missing-upgrade-headers-http-error",
        error,
        f"without the upgrade headers the client saw {describe(event)}; the fix: {UPGRADE_FIX}",
        cause=f"without the upgrade headers the client saw {describe(event)}",
    )


def describe(event: ClientEvent) -> str:
    if isinstance(event, Denied):
        return f"HTTP {event.status}"
    if isinstance(event, Closed):
        frame = "a close frame" if event.close_frame_seen else "no close frame"
        return f"Closed(code={event.code}, {frame})"
    return type(event).__name__
