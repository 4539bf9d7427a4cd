"""Every value a route is handed, predicted from what the client sent: the request target,
headers and subprotocols in the scope, its client and server addresses, the path parameters its
router found, each message, the code and reason of the client's close (1005 for a close without
a code, 1006 for a drop), and what the server's send raises once the connection is gone. The
witness follows the connection (targets/servers/handed.py); where the app is not seen (`--url`),
nothing here is judged.

Each prediction is judged only where it is certain. A value the client itself may have changed
on the way (dot segments in a path, a header value outside ASCII) is not judged, nor is a path
parameter of another route than the plan's, nor a close code when the app or the server had
ended the connection first: what the app then hears answers its own close, not the client's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.model import graded_as_advertised
from wsconform.conformance.engine.plans import (
    CloseWith,
    ConnectionPlan,
    Drop,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.rfc6455 import MAX_CLOSE_REASON_BYTES, is_valid_wire_close_code
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    Advertised,
    Closed,
    connection_ended,
    subprotocols_offered,
)

# What a convertor makes of the text in the path, as the route's code gets it (the witness
# shows each value as its `str`). A convertor not listed here is not predicted.
_CONVERTED: dict[str, Callable[[str], object]] = {
    "str": str,
    "path": str,
    "int": int,
    "float": float,
    "uuid": uuid.UUID,
}


def _target(plan: ConnectionPlan, handed: dict[str, Any]) -> Judgement | None:
    path, _, query = plan.target.partition("?")
    decoded = unquote(path)
    segments = decoded.split("/")[1:]
    # A client may resolve dot segments or merge empty ones before the request leaves it
    # (httpx does); an empty last segment is only a trailing slash.
    if "." in segments or ".." in segments or "" in segments[:-1]:
        return None
    got = (handed.get("path"), handed.get("query_string"))
    return Judgement(
        "generic.values.request-target",
        got == (decoded, query),
        f"sent {plan.target!r}: the app got path {got[0]!r}, query_string {got[1]!r}"
        f" (expected {decoded!r}, {query!r})",
        cause="the scope's path or query_string is not what the client sent",
    )


def _headers(plan: ConnectionPlan, handed: dict[str, Any]) -> Judgement | None:
    # Header values outside ASCII: a client may encode them as UTF-8 or Latin-1, so what the
    # server should hand over is not certain. Leading and trailing blanks are not part of a
    # field's value (RFC 9110 5.5).
    sent = [(name.lower(), value.strip(" \t")) for name, value in plan.headers if value.isascii()]
    if not sent:
        return None
    got = [(str(name).lower(), str(value)) for name, value in handed.get("headers", [])]
    missing = [f"{name}: {value[:60]!r}" for name, value in sent if (name, value) not in got]
    return Judgement(
        "generic.values.request-headers",
        not missing,
        f"headers sent but not in the app's scope: {', '.join(missing) or 'none'}",
        cause="a header the client sent is not in the scope as sent",
    )


def _expected_param(convertor: str, value: str) -> str | None:
    convert = _CONVERTED.get(convertor)
    if convert is None:
        return None
    try:
        return str(convert(value))
    except ValueError:
        return None


def _path_params(plan: ConnectionPlan, handed: dict[str, Any]) -> Judgement | None:
    params = handed.get("path_params")
    if not plan.path_values or params is None or handed.get("handler") != plan.handler:
        return None  # no router filled them, or another route than the plan's matched
    expected = {
        name: value
        for name, convertor, sent in plan.path_values
        if (value := _expected_param(convertor, sent)) is not None
    }
    wrong = [
        f"{name}: {params.get(name)!r} (expected {value!r})"
        for name, value in expected.items()
        if params.get(name) != value
    ]
    return Judgement(
        "generic.values.path-params",
        not wrong,
        f"{plan.route} from {plan.target!r}: path parameters {', '.join(wrong) or 'as sent'}",
        cause="a path parameter the route gets is not the value in the path",
    )


def _sent_messages(plan: ConnectionPlan) -> list[dict[str, Any]]:
    """The receive events the client's messages make, in order, as the witness shows them."""
    events: list[dict[str, Any]] = []
    for step in plan.steps:
        if isinstance(step, CloseWith | Drop):
            break
        if isinstance(step, SendText):
            events.append({"type": "websocket.receive", "text": step.text})
        elif isinstance(step, SendBytes):
            events.append({"type": "websocket.receive", "bytes": step.data.hex()})
    return events


def _messages(plan: ConnectionPlan, handed: dict[str, Any]) -> Judgement | None:
    received = [e for e in handed.get("timeline", []) if e.get("type") == "websocket.receive"]
    if not received:
        return None
    sent = _sent_messages(plan)
    # The app may stop reading, the connection may end early: what it got is a prefix.
    ok = len(received) <= len(sent) and received == sent[: len(received)]
    return Judgement(
        "generic.values.messages",
        ok,
        f"the app received {_shown(received)}; the client sent {_shown(sent)}",
        cause="a message the app received is not the one the client sent",
    )


def _shown(events: list[dict[str, Any]]) -> str:
    return repr([event.get("text", event.get("bytes")) for event in events])[:300]


def _subprotocols(plan: ConnectionPlan, handed: dict[str, Any]) -> Judgement | None:
    offered = subprotocols_offered(plan.headers)
    if not offered:
        return None
    got = handed.get("subprotocols", [])
    return Judgement(
        "generic.values.subprotocols",
        got == offered,
        f"the client offered {offered!r}; the app's scope lists {got!r}",
        cause="the scope's subprotocols are not the ones the client offered, in its order",
    )


# Headers a server may be configured to trust for the client's address (uvicorn trusts them
# from 127.0.0.1 by default): where the plan sends one, the client address is not predicted.
_FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _address_fault(got: Any, socket_end: list[Any]) -> str | None:
    """What is wrong with a scope address against the socket's end (None: nothing, or it is
    left out, which the spec allows)."""
    if got is None or got == socket_end:
        return None
    if got[0] == socket_end[0] and str(got[1]) == str(socket_end[1]):
        return "port is text, not an integer"  # ASGI: 'the remote port as an integer'
    return "is not that end of the client's socket"


def _addresses(
    plan: ConnectionPlan, observation: Observation, handed: dict[str, Any]
) -> Judgement | None:
    """The scope's client and server are the two ends of the client's socket, where the
    server was handed that very socket; a server may leave either out (both are optional)."""
    if observation.client_socket is None:
        return None
    local, peer = observation.client_socket
    forwarded = any(name.lower() in _FORWARDING_HEADERS for name, _ in plan.headers)
    ends = {"server": list(peer)} if forwarded else {"client": list(local), "server": list(peer)}
    given = {key: handed.get(key) for key in ends if handed.get(key) is not None}
    if not given:
        return None  # both are optional: nothing to compare
    faults = {key: fault for key in given if (fault := _address_fault(given[key], ends[key]))}
    shown = ", ".join(f"{key} {given[key]!r} (the socket's {ends[key]!r})" for key in given)
    return Judgement(
        "generic.values.addresses",
        not faults,
        f"the app's scope: {shown}",
        cause="; ".join(f"the scope's {key} {fault}" for key, fault in faults.items()),
    )


def _disconnect_answering(
    left_at: int | None, observation: Observation, handed: dict[str, Any]
) -> dict[str, Any] | None:
    """The disconnect event the app got for the client's leaving (a close or a drop after
    `left_at` events), where nothing else can have caused it: the connection was open until
    then, and the app had not closed it itself (its close and the client's would cross)."""
    seen = observation.seen
    if left_at is None or not (seen and isinstance(seen[0], Accepted)):
        return None
    if any(connection_ended(event) for event in seen[:left_at]):
        return None  # the connection had ended before the client left
    first = _first_end(handed)
    # None where the app closed first, or never asked after the client left.
    return first if first is not None and first["type"] == "websocket.disconnect" else None


def _first_end(handed: dict[str, Any]) -> dict[str, Any] | None:
    """The first end the app took part in: its own close, or a disconnect event it received."""
    timeline: list[dict[str, Any]] = handed.get("timeline", [])
    ends = ("app:websocket.close", "websocket.disconnect")
    return next((event for event in timeline if event.get("type") in ends), None)


def _client_close(observation: Observation, handed: dict[str, Any]) -> list[Judgement]:
    """The code (1005 for none) and the reason of the client's close, as the app hears them."""
    event = _disconnect_answering(observation.client_closed_at, observation, handed)
    if event is None:
        return []
    code, got = observation.client_close_code, event.get("code")
    if code is None:
        return [
            Judgement(
                "generic.values.client-no-code-1005",
                got == 1005,
                f"the client closed without a code; the app's disconnect event had code {got!r}",
                cause="a client close without a code does not reach the app as 1005",
            )
        ]
    if not is_valid_wire_close_code(code):
        return []
    judged = [
        Judgement(
            "generic.values.client-close-code",
            got == code,
            f"the client closed with {code}; the app's disconnect event had code {got!r}",
            cause="the disconnect event's code is not the client's close code",
        )
    ]
    reason = observation.client_close_reason
    if reason:
        got_reason = event.get("reason")
        judged.append(
            Judgement(
                "generic.values.client-close-reason",
                got_reason == reason,
                f"the client closed with reason {reason[:60]!r}; the app's disconnect event had "
                f"reason {got_reason if got_reason is None else got_reason[:60]!r}",
                cause="the disconnect event's reason is not the client's close reason",
            )
        )
    return judged


def _drop_code(observation: Observation, handed: dict[str, Any]) -> Judgement | None:
    event = _disconnect_answering(observation.client_dropped_at, observation, handed)
    if event is None:
        return None
    got = event.get("code")
    return Judgement(
        "generic.values.drop-code-1006",
        got == 1006,
        f"the client dropped the connection (no close frame); the app's disconnect event had "
        f"code {got!r}",
        cause="a dropped connection does not reach the app as 1006",
    )


def _app_close_code(observation: Observation, handed: dict[str, Any]) -> Judgement | None:
    """The code of the app's close on the wire, where the server had to put it there: the
    app's first close after accept, with a code and a reason a close frame can carry (1000
    when it gives no code), while the connection was open on both sides; the client's first
    sign of an end is then the server's close frame."""
    seen = observation.seen
    if not (seen and isinstance(seen[0], Accepted)):
        return None  # a close before accept is a refusal, judged as such
    close = _first_end(handed)  # not a close where the app heard of an end first
    if close is None or close["type"] != "app:websocket.close" or "reason_type" in close:
        return None
    code = 1000 if close.get("code") is None else close["code"]
    reason = close.get("reason") or ""
    if not isinstance(code, int) or not is_valid_wire_close_code(code):
        return None  # the app's mistake (generic.close-code-valid), not the server's to relay
    if len(reason.encode()) > MAX_CLOSE_REASON_BYTES:
        return None
    ended_at = next((at for at, event in enumerate(seen) if connection_ended(event)), None)
    left = (observation.client_closed_at, observation.client_dropped_at)
    left_at = [at for at in left if at is not None]
    if ended_at is None or any(at <= ended_at for at in left_at):
        return None  # the client had left first: the end answers it
    end = seen[ended_at]
    if not (isinstance(end, Closed) and end.close_frame_seen):
        return None  # no close frame to read a code from (a drop is generic.no-server-error's)
    return Judgement(
        "generic.values.app-close-code",
        end.code == code,
        f"the app closed with {code}; the client's close frame had {end.code}",
        cause="the close frame carries another code than the app's close",
    )


def _refused_sends(handed: dict[str, Any]) -> Judgement | None:
    """What the server's send raised for messages the app was allowed to send (the only
    reason left to refuse one is a connection already closed)."""
    refused = [event for event in handed.get("timeline", []) if event.get("type") == "send-refused"]
    if not refused:
        return None
    wrong = [event for event in refused if not event.get("oserror")]
    shown = "; ".join(f"{event.get('message')}: {event.get('error')}" for event in refused)
    first = wrong[0].get("error", "") if wrong else ""
    return Judgement(
        "generic.values.refused-send-raises-oserror",
        not wrong,
        f"the server's send refused {shown[:400]}",
        cause=f"the server's send raised {first.partition(':')[0]}, not an OSError, for a "
        "message the app was allowed to send",
    )


def judge_values(plan: ConnectionPlan, observation: Observation) -> list[Judgement]:
    """The value predictions this connection allows (none where the app was not followed)."""
    handed = observation.handed
    if handed is None:
        return []
    target = _target(plan, handed)
    # The router reads its parameters from the path the server handed over: where that path
    # is wrong, so are they, and the one cause is the server's (counted once).
    params = _path_params(plan, handed) if target is not None and target.ok else None
    judged = [
        target,
        _headers(plan, handed),
        _subprotocols(plan, handed),
        _addresses(plan, observation, handed),
        params,
        _messages(plan, handed),
        *_client_close(observation, handed),
        _drop_code(observation, handed),
        _app_close_code(observation, handed),
        _refused_sends(handed),
    ]
    # A feature newer than the spec version the server claims is not held against it.
    advertised = Advertised(
        str(handed.get("spec_version") or "2.0"), tuple(handed.get("extensions", ()))
    )
    return graded_as_advertised([j for j in judged if j is not None], advertised)
