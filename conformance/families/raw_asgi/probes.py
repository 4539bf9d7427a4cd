"""Raw-ASGI probes: what a *server* does with the ASGI messages a framework never sends.

Starlette fills every key, refuses out-of-order calls itself and never sends a close without a
code, so on the Starlette puppet these paths of a server are never reached. Here the same puppet
route, through its raw channel (`RawSend`, `RawReceive`), hands the server messages exactly as
written: a close without `code` or with `reason: None`, an over-long reason, a send with both keys
or neither, accepts naming odd subprotocols, receives before accept and after the end, sends on a
closed connection, and a denial response in several chunks with headers.

Each probe is a short program (app steps and client actions in order, the same vocabulary the
lifecycle engine uses, on every transport) and a judge that reads what the app's steps returned
and what the client saw. Grades come from the catalogue (`checks.RAW_CHECKS`); checks of a
feature newer than the server's advertised spec version, or of an extension it does not
advertise, are `unimplemented` there (`model.graded_as_advertised`).
"""

from __future__ import annotations

from collections.abc import Sequence

from wsconform.conformance.engine.judgements import Judgement, deadline_only
from wsconform.conformance.engine.model import graded_as_advertised
from wsconform.conformance.engine.probes import (
    LONG_REASON,
    Briefly,
    Judge,
    Observe,
    RawProbe,
    RawRun,
    accept,
    close,
    judged,
    run_probe,
    send,
)
from wsconform.conformance.engine.rfc6455 import MAX_CLOSE_REASON_BYTES
from wsconform.conformance.engine.sessions import advertised_by
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientClose,
    ClientDrop,
    ClientSendBytes,
    Closed,
    Connect,
    Denied,
    Message,
    NoEvent,
    RawReceive,
    RawSend,
    StepOutcome,
    decode_value,
)
from wsconform.targets.servers.base import (
    Transport,
)


def _show(outcome: StepOutcome | None) -> str:
    if outcome is None:
        return "no outcome within the bound"
    if outcome.raised:
        return f"raised {outcome.exc_type}({outcome.exc_message[:80]})"
    return f"returned {outcome.value!r}"[:160]


def _closed(run: RawRun) -> Closed | None:
    closed: Closed | None = run.first(Closed)
    return closed


def _received_type(outcome: StepOutcome | None) -> str | None:
    if outcome is None or outcome.raised or not isinstance(outcome.value, dict):
        return None
    kind = outcome.value.get("type")
    return kind if isinstance(kind, str) else None


def _raised_oserror(outcome: StepOutcome | None) -> bool:
    return outcome is not None and outcome.raised and "OSError" in outcome.exc_bases


def _only_waited(run: RawRun) -> bool:
    """Nothing went wrong but time: the client's last look found silence, with no close, and
    the app's last step raised nothing. A MUST that fails on this alone is policy
    (`deadline_only`): no spec sets the suite's bound."""
    last = run.outcome(-1) if run.outcomes else None
    return (
        _closed(run) is None
        and bool(run.events)
        and isinstance(run.events[-1], NoEvent)
        and not (last is not None and last.raised)
    )


def _seen(run: RawRun) -> str:
    return ", ".join(repr(event) for event in run.events) or "nothing"


# --- the probes ---------------------------------------------------------------------------------


def _close_without_code(run: RawRun) -> list[Judgement]:
    closed = _closed(run)
    judgement = Judgement(
        "raw.close-code-defaults-to-1000",
        closed is not None and closed.close_frame_seen and closed.code == 1000,
        f"close without a code -> {_show(run.outcome(-1))}; client saw {_seen(run)}",
    )
    return [deadline_only(judgement, _only_waited(run))]


def _close_reason_none(run: RawRun) -> list[Judgement]:
    closed = _closed(run)
    judgement = Judgement(
        "raw.close-reason-none-is-empty",
        closed is not None and closed.code == 4001 and closed.reason == "",
        f"close 4001 with reason None -> {_show(run.outcome(-1))}; client saw {_seen(run)}",
    )
    return [deadline_only(judgement, _only_waited(run))]


def _close_too_long_reason(reason: str) -> Judge:
    """A reason over the 123 bytes a close frame holds: the frame must still fit."""
    check_id = "raw.close-long-reason-fits-a-frame"

    def judge(run: RawRun) -> list[Judgement]:
        detail = (
            f"close 4001 with a {len(reason.encode())}-byte reason -> {_show(run.outcome(-1))}; "
            f"saw {_seen(run)}"
        )
        if not run.visibility.close_frames:
            return [Judgement(check_id, None, f"no frames here: {detail}")]
        closed = _closed(run)
        if closed is None:
            return [Judgement(check_id, True, detail)]
        # The frame's own size where the client measured it: a reason the server cut inside a
        # character fits, though it decodes longer (RFC 6455 5.5 bounds the payload's bytes).
        payload = closed.payload_bytes
        if payload is None:
            payload = 2 + len(closed.reason.encode())
        fits = payload <= 2 + MAX_CLOSE_REASON_BYTES
        # One cause whichever over-long reason showed it (124 or 200 bytes).
        cause = (
            None if fits else "an over-long reason put on the wire: a close frame over 125 bytes"
        )
        return [Judgement(check_id, fits, detail, cause=cause)]

    return judge


def _close_reason_kept(reason: str) -> Judge:
    """A reason the close frame can hold (up to 123 bytes) reaches the client whole."""

    def judge(run: RawRun) -> list[Judgement]:
        closed = _closed(run)
        size = len(reason.encode())
        side = "exactly the limit" if size == MAX_CLOSE_REASON_BYTES else "under the limit"
        got = None if closed is None else closed.reason
        detail = f"close 4001 with a {size}-byte reason ({side}) -> the client got {got!r}"
        ok = closed is not None and closed.code == 4001 and closed.reason == reason
        return [Judgement("raw.close-reason-up-to-limit-kept", ok, f"{detail}; saw {_seen(run)}")]

    return judge


def close_probe(name: str, reason: str, judge: Judge) -> RawProbe:
    steps = (
        Connect(),
        RawReceive(),
        accept(),
        Observe(),
        close(code=4001, reason=reason),
        Observe(),
    )
    return RawProbe(name, steps, judge)


# Reasons around the 123 bytes a close frame holds (RFC 6455 5.5: 125, less the code's two),
# in two-byte characters with one one-byte character, so a count of characters is not enough.
REASON_UNDER_LIMIT = "é" * 60 + "x"  # 121 bytes
REASON_AT_LIMIT = "é" * 61 + "x"  # 123 bytes
REASON_OVER_LIMIT = "é" * 62  # 124 bytes


def _send_one_key_none(run: RawRun) -> list[Judgement]:
    messages = [event.data for event in run.events if isinstance(event, Message)]
    expected: list[str | bytes] = ["text with bytes None", b"bytes with text None"]
    judgement = Judgement(
        "raw.send-one-key-none",
        messages == expected,
        f"sends -> {_show(run.outcome(2))}, {_show(run.outcome(3))}; client saw {_seen(run)}",
    )
    # What came was right, only not all of it within the bound.
    late = messages == expected[: len(messages)] and _only_waited(run)
    return [deadline_only(judgement, late)]


# A key no ASGI version defines, on every message of a short conversation.
EXTRA_KEY = {"x-wsconform-extra": "ignore me"}


def _extra_keys(run: RawRun) -> list[Judgement]:
    outcomes = [run.outcome(index) for index in (1, 2, 3)]
    closed = _closed(run)
    ok = (
        not any(outcome is None or outcome.raised for outcome in outcomes)
        and run.first(Accepted) is not None
        and [event.data for event in run.events if isinstance(event, Message)] == ["extra"]
        and closed is not None
        and closed.code == 4001
    )
    shown = ", ".join(_show(outcome) for outcome in outcomes)
    return judged(
        "raw.extra-keys-ignored",
        ok,
        f"accept, send and close each with an extra key -> {shown}; client saw {_seen(run)}",
    )


def _send_no_data(run: RawRun) -> list[Judgement]:
    invented = run.first(Message)
    return judged(
        "raw.send-no-data-refused",
        invented is None,
        f"send with neither key -> {_show(run.outcome(-1))}; client saw {_seen(run)}",
    )


def _accept_unoffered(run: RawRun) -> list[Judgement]:
    accepted: Accepted | None = run.first(Accepted)
    named = accepted is not None and accepted.subprotocol == "chosen-by-nobody"
    return judged(
        "raw.accept-unoffered-subprotocol-refused",
        not named,
        f"offered 'offered'; accept('chosen-by-nobody') -> {_show(run.outcome(1))}; client "
        f"saw {_seen(run)}",
    )


def _accept_empty(run: RawRun) -> list[Judgement]:
    accepted: Accepted | None = run.first(Accepted)
    return judged(
        "raw.accept-empty-subprotocol-not-sent",
        accepted is None or accepted.subprotocol is None,
        f"accept(subprotocol='') -> {_show(run.outcome(1))}; client saw {_seen(run)}",
    )


def _accept_protocol_header(run: RawRun) -> list[Judgement]:
    accepted: Accepted | None = run.first(Accepted)
    named = (
        []
        if accepted is None
        else [
            token.strip()
            for name, value in accepted.headers
            if name.lower() == "sec-websocket-protocol"
            for token in value.split(",")
        ]
    )
    return judged(
        "raw.accept-protocol-header-not-doubled",
        named in ([], ["first"]),
        f"offered 'first, second'; accept(subprotocol='first', headers=[sec-websocket-"
        f"protocol: second]) -> {_show(run.outcome(1))}; 101 named {named}",
    )


def _receive_before_accept(run: RawRun) -> list[Judgement]:
    second = run.outcome(1)
    return judged(
        "raw.receive-before-accept-waits",
        second is None,
        f"first receive -> {_show(run.outcome(0))}; second receive before accept -> "
        f"{_show(second)}",
    )


def _receive_disconnects(check_id: str, what: str) -> Judge:
    """The app's last receive, after `what` its second step did, returns websocket.disconnect."""

    def judge(run: RawRun) -> list[Judgement]:
        after = run.outcome(-1)
        return judged(
            check_id,
            _received_type(after) == "websocket.disconnect",
            f"{what} -> {_show(run.outcome(1))}; then receive -> {_show(after)}; client saw "
            f"{_seen(run)}",
        )

    return judge


def _receive_after_disconnect(run: RawRun) -> list[Judgement]:
    first, again = run.outcome(-2), run.outcome(-1)
    return judged(
        "raw.receive-after-disconnect-returns",
        _received_type(first) == "websocket.disconnect" and again is not None,
        f"the client closed 1000; receive -> {_show(first)}; receive again -> {_show(again)}",
    )


def _send_after_close(run: RawRun) -> list[Judgement]:
    late = run.outcome(-1)
    return judged(
        "raw.send-after-close-raises-oserror",
        _raised_oserror(late),
        f"close 1000, client saw {_seen(run)}; then send -> {_show(late)}",
    )


def _denial(run: RawRun) -> list[Judgement]:
    denied: Denied | None = run.first(Denied)
    detail = f"denial 403 in 2 chunks with x-denied-by -> client saw {_seen(run)}"
    if denied is not None and denied.status is None:  # TestClient: no HTTP to read
        return [
            Judgement("raw.denial-headers-delivered", None, f"no HTTP response here: {detail}"),
            Judgement("raw.denial-chunks-joined", None, f"no HTTP response here: {detail}"),
        ]
    headers = {} if denied is None else {name.lower(): value for name, value in denied.headers}
    late = run.outcome(-1)
    judgements = [
        Judgement(
            "raw.denial-headers-delivered",
            denied is not None and headers.get("x-denied-by") == "wsconform",
            detail,
        ),
        Judgement(
            "raw.denial-chunks-joined",
            denied is not None and denied.status == 403 and denied.body == b"no entry",
            detail,
        ),
    ]
    if denied is not None:  # only a denial that happened leaves a closed connection to send on
        judgements.append(
            Judgement(
                "raw.send-after-close-raises-oserror",
                _raised_oserror(late),
                f"after the denial's last chunk, send -> {_show(late)}",
            )
        )
    return judgements


_DENIAL_START = RawSend(
    {
        "type": "websocket.http.response.start",
        "status": 403,
        "headers": [(b"content-type", b"text/plain"), (b"x-denied-by", b"wsconform")],
    }
)

RAW_PROBES: tuple[RawProbe, ...] = (
    RawProbe(
        "close-without-code",
        (Connect(), RawReceive(), accept(), Observe(), close(), Observe()),
        _close_without_code,
    ),
    RawProbe(
        "close-reason-none",
        (Connect(), RawReceive(), accept(), Observe(), close(code=4001, reason=None), Observe()),
        _close_reason_none,
    ),
    close_probe("close-long-reason", LONG_REASON, _close_too_long_reason(LONG_REASON)),
    close_probe(
        "close-reason-over-limit", REASON_OVER_LIMIT, _close_too_long_reason(REASON_OVER_LIMIT)
    ),
    close_probe("close-reason-at-limit", REASON_AT_LIMIT, _close_reason_kept(REASON_AT_LIMIT)),
    close_probe(
        "close-reason-under-limit", REASON_UNDER_LIMIT, _close_reason_kept(REASON_UNDER_LIMIT)
    ),
    RawProbe(
        "send-one-key-none",
        (
            Connect(),
            RawReceive(),
            accept(),
            Observe(),
            send(text="text with bytes None", bytes=None),
            Observe(),
            send(bytes=b"bytes with text None", text=None),
            Observe(),
        ),
        _send_one_key_none,
    ),
    RawProbe(
        "extra-keys",
        (
            Connect(),
            RawReceive(),
            accept(**EXTRA_KEY),
            Observe(),
            send(text="extra", **EXTRA_KEY),
            Observe(),
            close(code=4001, **EXTRA_KEY),
            Observe(),
        ),
        _extra_keys,
    ),
    RawProbe(
        "send-no-data",
        (Connect(), RawReceive(), accept(), Observe(), send(), Observe()),
        _send_no_data,
    ),
    RawProbe(
        "accept-unoffered-subprotocol",
        (
            Connect(subprotocols=("offered",)),
            RawReceive(),
            accept(subprotocol="chosen-by-nobody"),
            Observe(),
        ),
        _accept_unoffered,
    ),
    RawProbe(
        "accept-empty-subprotocol",
        (Connect(subprotocols=("offered",)), RawReceive(), accept(subprotocol=""), Observe()),
        _accept_empty,
    ),
    RawProbe(
        "accept-protocol-header",
        (
            Connect(subprotocols=("first", "second")),
            RawReceive(),
            accept(subprotocol="first", headers=[(b"sec-websocket-protocol", b"second")]),
            Observe(),
        ),
        _accept_protocol_header,
    ),
    RawProbe(
        "receive-before-accept",
        (Connect(), RawReceive(), Briefly(RawReceive())),
        _receive_before_accept,
    ),
    RawProbe(
        "receive-after-refusal",
        (Connect(), RawReceive(), close(), Observe(), RawReceive()),
        _receive_disconnects("raw.receive-after-refusal-disconnects", "close before accept"),
    ),
    RawProbe(
        "receive-after-client-left",
        (Connect(), RawReceive(), ClientDrop(), accept(), RawReceive()),
        _receive_disconnects(
            "raw.receive-after-client-left-disconnects",
            "the client dropped during the handshake; accept",
        ),
    ),
    RawProbe(
        "receive-after-disconnect",
        (
            Connect(),
            RawReceive(),
            accept(),
            Observe(),
            ClientClose(1000),
            RawReceive(),
            RawReceive(),
        ),
        _receive_after_disconnect,
    ),
    RawProbe(
        "send-after-close",
        (Connect(), RawReceive(), accept(), Observe(), close(), Observe(), send(text="late")),
        _send_after_close,
    ),
    RawProbe(
        "denial-in-chunks",
        (
            Connect(),
            RawReceive(),
            _DENIAL_START,
            RawSend({"type": "websocket.http.response.body", "body": b"no", "more_body": True}),
            RawSend({"type": "websocket.http.response.body", "body": b" entry"}),
            Observe(),
            send(text="after the denial"),
        ),
        _denial,
    ),
)


# --- a message over the server's own limit ------------------------------------------------------

LIMIT_CHECKS = (
    "raw.oversized-message-not-delivered",
    "raw.oversized-message-close-1009",
    "raw.oversized-message-app-hears-1009",
    "raw.message-at-limit-delivered",
)


def at_limit_probe(limit: int) -> RawProbe:
    """One byte under the server's configured limit, then exactly the limit: both within it."""
    return RawProbe(
        "message-at-limit",
        (
            Connect(),
            RawReceive(),
            accept(),
            Observe(),
            ClientSendBytes(b"\x01" * (limit - 1)),
            RawReceive(),
            ClientSendBytes(b"\x02" * limit),
            RawReceive(),
        ),
        _judge_at_limit(limit),
    )


def _delivered(outcome: StepOutcome | None, size: int) -> bool:
    value = decode_value(outcome.value) if outcome is not None else None
    if not isinstance(value, dict) or value.get("type") != "websocket.receive":
        return False
    return isinstance(value.get("bytes"), bytes) and len(value["bytes"]) == size


def _judge_at_limit(limit: int) -> Judge:
    def judge(run: RawRun) -> list[Judgement]:
        sides = {"one byte under the limit": (run.outcome(-2), limit - 1)}
        sides["exactly the limit"] = (run.outcome(-1), limit)
        wrong = [
            f"{side} ({size} bytes): the app's receive -> {_show(outcome)[:80]}"
            for side, (outcome, size) in sides.items()
            if not _delivered(outcome, size)
        ]
        if not wrong:
            shown = f"{limit - 1} and {limit} bytes delivered (limit {limit})"
            return [Judgement("raw.message-at-limit-delivered", True, shown)]
        shown = f"{'; '.join(wrong)} (limit {limit}); client saw {_seen(run)}"
        return [Judgement("raw.message-at-limit-delivered", False, shown)]

    return judge


def oversized_probe(limit: int) -> RawProbe:
    """One byte more than the server is configured to take, in one binary message."""
    return RawProbe(
        "oversized-message",
        (
            Connect(),
            RawReceive(),
            accept(),
            Observe(),
            ClientSendBytes(b"\x00" * (limit + 1)),
            RawReceive(),
            Observe(),
        ),
        _judge_oversized(limit),
    )


def _judge_oversized(limit: int) -> Judge:
    def judge(run: RawRun) -> list[Judgement]:
        heard = run.outcome(-1)
        value = heard.value if heard is not None and isinstance(heard.value, dict) else {}
        closed = _closed(run)
        detail = (
            f"a {limit + 1}-byte message (limit {limit}): the app's receive -> "
            f"{_show(heard)}; client saw {_seen(run)}"
        )
        return [
            Judgement(
                "raw.oversized-message-not-delivered",
                value.get("type") != "websocket.receive",
                detail,
            ),
            Judgement(
                "raw.oversized-message-close-1009",
                closed is not None and closed.close_frame_seen and closed.code == 1009,
                detail,
            ),
            Judgement(
                "raw.oversized-message-app-hears-1009",
                value.get("type") == "websocket.disconnect" and value.get("code") == 1009,
                detail,
            ),
        ]

    return judge


def probes_for(transport: Transport) -> tuple[RawProbe, ...]:
    """The fixed probes, and the limit's where the server has one the suite knows."""
    limit = transport.max_message_bytes
    return (
        RAW_PROBES
        if limit is None
        else (*RAW_PROBES, at_limit_probe(limit), oversized_probe(limit))
    )


def unjudged_limits(transport: Transport) -> list[Judgement]:
    """The limit's checks where the server has no message limit the suite can know."""
    if transport.max_message_bytes is not None:
        return []
    why = f"{transport.name} has no message size limit the suite sets or knows"
    return [Judgement(check_id, None, why) for check_id in LIMIT_CHECKS]


# The app lets the exception of a send after the client left escape (ASGI www 2.4); then a new
# connection shows whether the server is still serving.
SEND_ERROR_ESCAPES = RawProbe(
    "send-error-escapes",
    (
        Connect(),
        RawReceive(),
        accept(),
        Observe(),
        ClientDrop(),
        RawReceive(),
        RawSend({"type": "websocket.send", "text": "to nobody"}, escapes=True),
    ),
    lambda run: [],
)
NEXT_CONNECTION = RawProbe(
    "next-connection",
    (Connect(), RawReceive(), accept(), Observe(), send(text="still serving"), Observe()),
    lambda run: [],
)


async def escaped_send_error(transport: Transport) -> tuple[RawProbe, RawRun, list[Judgement]]:
    """What the server does once the app let the exception of its send escape (ASGI 2.4: an
    OSError; whatever it raised, it is the server's own): it must have been prepared to catch
    it, so the next connection is served as any other."""
    check_id = "raw.escaped-send-error-caught"
    run, _ = await run_probe(transport, SEND_ERROR_ESCAPES)
    sent = run.outcome(-1)
    detail = f"send after the client left -> {_show(sent)}"
    if sent is None or not sent.raised:
        judgement = Judgement(check_id, None, f"{detail}: send raised nothing, so nothing escaped")
    else:
        after, _ = await run_probe(transport, NEXT_CONNECTION)
        messages = [event.data for event in after.events if isinstance(event, Message)]
        judgement = deadline_only(
            Judgement(
                check_id,
                after.first(Accepted) is not None and messages == ["still serving"],
                f"{detail}, escaped the app; the next connection saw {_seen(after)}",
            ),
            # The next connection met only silence: a server still busy, not one that broke.
            not messages and _only_waited(after),
        )
    return (
        SEND_ERROR_ESCAPES,
        run,
        graded_as_advertised([judgement], await advertised_by(transport)),
    )


async def run_probes(
    transport: Transport, probes: Sequence[RawProbe] | None = None
) -> list[tuple[RawProbe, RawRun, list[Judgement]]]:
    results = []
    for probe in probes_for(transport) if probes is None else probes:
        run, judgements = await run_probe(transport, probe)
        results.append((probe, run, judgements))
    if probes is None:
        results.append(await escaped_send_error(transport))
    return results


async def observe_again(transport: Transport, probe: RawProbe) -> tuple[RawRun, list[Judgement]]:
    """One more run of `probe` (the escaped send error with the connection after it)."""
    if probe is SEND_ERROR_ESCAPES:
        _, run, judgements = await escaped_send_error(transport)
        return run, judgements
    return await run_probe(transport, probe)
