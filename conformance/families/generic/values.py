"""Every value a route is handed, predicted from what the client sent: the request target and
headers in the scope, the path parameters its router found, each message, and the code of the
client's close. The witness follows the connection (targets/servers/handed.py); where the app
is not seen (`--url`), nothing here is judged.

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
from wsconform.conformance.engine.plans import (
    CloseWith,
    ConnectionPlan,
    Drop,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.rfc6455 import is_valid_wire_close_code
from wsconform.conformance.engine.vocabulary import Accepted, ClientRaised, Closed, Denied

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


def _client_close_code(observation: Observation, handed: dict[str, Any]) -> Judgement | None:
    code = observation.client_close_code
    at = observation.client_closed_at
    seen = observation.seen
    if code is None or at is None or not is_valid_wire_close_code(code):
        return None
    if not (seen and isinstance(seen[0], Accepted)):
        return None
    if any(isinstance(event, Closed | ClientRaised | Denied) for event in seen[:at]):
        return None  # the connection had ended before the client's close
    for event in handed.get("timeline", []):
        if event.get("type") == "app:websocket.close":
            return None  # the app's close and the client's crossed
        if event.get("type") == "websocket.disconnect":
            got = event.get("code")
            return Judgement(
                "generic.values.client-close-code",
                got == code,
                f"the client closed with {code}; the app's disconnect event had code {got!r}",
                cause="the disconnect event's code is not the client's close code",
            )
    return None  # the app never asked after the close


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
        params,
        _messages(plan, handed),
        _client_close_code(observation, handed),
    ]
    return [judgement for judgement in judged if judgement is not None]
