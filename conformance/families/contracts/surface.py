"""Contracts of the framework-surface routes (`targets/surface.py`), as plain async functions of
a transport, like `conformance/families/contracts/endpoints.py`: each names one
`contract.surface.*` check, and its
expectations come from the framework's documentation of the feature, not from the route's code.

A feature the installed Starlette lacks (`targets/compat.py`), or that needs an ASGI extension
the server does not offer, is judged `unimplemented` (ok=None), never failed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wsconform.conformance.engine.checks import DENIAL_EXTENSION, Grade
from wsconform.conformance.engine.judgements import (
    ACCEPT_HEADERS_NOT_SENT,
    Judgement,
    client_close_code_heard,
    deadline_only,
)
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    Denied,
    Headers,
    Message,
    only_silence,
    rejected_before_accept,
)
from wsconform.conformance.families.contracts.endpoints import (
    Conversation,
    closed_with,
    json_of,
    server_claims,
)
from wsconform.targets import surface
from wsconform.targets.compat import (
    CLIENT_WHEN_MISSING,
    HAS_DENIAL_RESPONSE,
    HAS_WEBSOCKET_EXCEPTION,
)
from wsconform.targets.servers.base import REPLY_BOUND_S, Transport

ALLOWED: Headers = ((surface.ALLOW_HEADER, "yes"),)


async def _echoes(transport: Transport, path: str, greeting: str | None = None) -> list[str]:
    """What goes wrong on one echo route (empty when nothing does)."""
    chat = await Conversation.open(transport, path, ALLOWED)
    problems = [] if chat.accepted else [f"{path} not accepted: {chat.seen!r}"]
    if chat.accepted:
        if greeting is not None and await chat.hear() != Message(greeting):
            problems.append(f"{path} greeted with {chat.seen[-1]!r}")
        reply = await chat.say("hello")
        if reply != Message(surface.PREFIX_REPLY.format(text="hello")):
            problems.append(f"{path} answered {reply!r}")
    await chat.leave()
    return problems


def _judged(
    check_id: str, problems: Sequence[str], what: str, causes: Sequence[str] = ()
) -> list[Judgement]:
    """One judgement of every problem found; `causes` states the observation behind a
    problem that other checks observe too, which is the cause when it is the only problem."""
    cause = causes[0] if len(problems) == 1 and len(causes) == 1 else None
    return [
        Judgement(check_id, not problems, "; ".join(problems) if problems else what, cause=cause)
    ]


async def routers(transport: Transport) -> list[Judgement]:
    """A router's prefix is part of its routes' paths, also inside another router."""
    problems = []
    for path in ("/surface/prefixed/echo", "/surface/outer/inner/echo"):
        problems += await _echoes(transport, path)
    return _judged("contract.surface.router-prefix", problems, "both prefixed routes answer")


# Path convertors (Starlette's "Path Parameters"; FastAPI's path parameters with a type): the
# route gets the converted value; a segment the convertor does not match is no route at all.
# One check per convertor, so that a release fixing one is not hidden by another still failing.
UUID_TEXT = "0F8FAD5B-D9CB-469F-A165-70867728950E"  # RFC 9562 4: hex digits are case-insensitive


@dataclass(frozen=True)
class ConvertorCase:
    check_id: str
    converted: dict[str, tuple[str, str]]  # path -> (type name, text) the route must send
    not_matched: tuple[str, ...]  # paths that are no route


CONVERTOR_CASES = (
    ConvertorCase(
        "contract.surface.convertor-int",
        {"/surface/starlette/int/42": ("int", "42")},
        ("/surface/starlette/int/4x2",),
    ),
    ConvertorCase(
        "contract.surface.convertor-float",
        {"/surface/starlette/float/1.5": ("float", "1.5")},
        ("/surface/starlette/float/1x5",),  # the '.' of 1.5 is a literal dot, not any character
    ),
    ConvertorCase(
        "contract.surface.convertor-uuid",
        {f"/surface/starlette/uuid/{UUID_TEXT}": ("UUID", str(uuid.UUID(UUID_TEXT)))},
        ("/surface/starlette/uuid/not-a-uuid",),
    ),
    ConvertorCase(
        "contract.surface.convertor-path",
        {"/surface/starlette/path/a/b/c": ("str", "a/b/c")},
        (),
    ),
    ConvertorCase(
        "contract.surface.fastapi-path-convertor",
        {"/surface/items/5": ("int", "5")},
        ("/surface/items/five",),
    ),
)


async def convertors(transport: Transport) -> list[Judgement]:
    judgements = []
    for case in CONVERTOR_CASES:
        problems = []
        for path, (kind, text) in case.converted.items():
            chat = await Conversation.open(transport, path)
            got = json_of(await chat.hear()) if chat.accepted else None
            end = await chat.hear() if chat.accepted else None
            await chat.connection.release()
            if got != {"type": kind, "value": text} or end is None or not closed_with(end, 1000):
                problems.append(f"{path}: client saw {chat.seen!r}")
        for path in case.not_matched:
            chat = await Conversation.open(transport, path)
            await chat.connection.release()
            if not refused(chat.seen):
                problems.append(f"{path} (no route): client saw {chat.seen!r}")
        judgements += _judged(
            case.check_id, problems, "converts, and refuses what it does not match"
        )
    return judgements


async def _routed_problems(transport: Transport, path: str, params: dict[str, str]) -> list[str]:
    """What goes wrong in what routing hands the route at `path` (requested with a query):
    every path parameter on the way, the whole path and the query, as the client sent them."""
    query = "since=3&who=a%20b"
    chat = await Conversation.open(transport, f"{path}?{query}")
    got = json_of(await chat.hear()) if chat.accepted else None
    await chat.connection.release()
    if got != {"path_params": params, "path": path, "query": query}:
        return [f"{path}?{query} (params {params}): client saw {chat.seen!r}"]
    return []


async def mount_params(transport: Transport) -> list[Judgement]:
    """A Mount's path parameters reach the routes inside it, with their own (Starlette docs,
    'Routing - Submounting routes'), also inside another Mount."""
    problems = await _routed_problems(
        transport, "/surface/starlette/rooms/lobby/members/7", {"room": "lobby", "member": "7"}
    )
    return _judged("contract.surface.mount-path-params", problems, "every parameter routed")


async def prefix_params(transport: Transport) -> list[Judgement]:
    """A parameter in include_router's prefix reaches the route, which declares only its own."""
    problems = await _routed_problems(
        transport, "/surface/teams/red/members/7", {"team": "red", "member": "7"}
    )
    return _judged("contract.surface.prefix-path-params", problems, "every parameter routed")


# What the client sends /surface/starlette/values: a header in mixed case, another on two lines,
# a query with a repeated key and an escape, two subprotocols.
VALUES_PATH = "/surface/starlette/values"
VALUES_QUERY = "tag=a&tag=b&who=a%20b"
VALUES_HEADERS: Headers = (
    ("X-WsConform-Case", "Mixed"),
    ("x-wsconform-dup", "first"),
    ("x-wsconform-dup", "second"),
)
VALUES_SUBPROTOCOLS = ("first", "second")
DEFAULT_PORTS = {"ws": 80, "wss": 443}


def predicted_values(scope: dict[str, Any]) -> dict[str, Any]:
    """What Starlette's WebSocket object must hand the app, from the raw scope the server gave
    (so a server's own fault is judged once, by the scope family) and the offers the client
    sent: the shape of /values' report."""
    headers = [(name, value) for name, value in scope["headers"]]
    hosts = [value for name, value in headers if name == "host"]
    if hosts:  # Starlette's URL is built from the Host header where there is one
        netloc = urlsplit(f"//{hosts[0]}")
        url = {"hostname": netloc.hostname, "port": netloc.port}
    elif scope["server"] is not None:  # ... else from the server's address, default port left out
        host, port = scope["server"]
        url = {
            "hostname": host,
            "port": None if DEFAULT_PORTS.get(scope["scheme"]) == port else port,
        }
    else:
        url = {"hostname": None, "port": None}
    return {
        "client": CLIENT_WHEN_MISSING if scope["client"] is None else scope["client"],
        "url": url,
        # ASGI: header names are lowercased by the server; a lookup by any case finds them all.
        "headers": {
            name: [value for raw, value in headers if raw == name]
            for name in surface.VALUE_HEADER_NAMES
        },
        "query_params": [list(pair) for pair in parse_qsl(scope["query_string"], True)],
        "subprotocols": list(VALUES_SUBPROTOCOLS),
    }


# Each value /values reports: its check, and which keys of the report it judges.
VALUE_CHECKS = (
    ("contract.surface.client-address", ("client", "url")),
    ("contract.surface.headers-multi", ("headers",)),
    ("contract.surface.query-params-multi", ("query_params",)),
    ("contract.surface.subprotocols-offered", ("subprotocols",)),
)


async def framework_values(transport: Transport) -> list[Judgement]:
    """Every value Starlette's WebSocket object hands the app, as predicted from the raw scope
    and from what the client offered."""
    connection = await transport.connect(
        f"{VALUES_PATH}?{VALUES_QUERY}", VALUES_HEADERS, VALUES_SUBPROTOCOLS
    )
    chat = Conversation(connection)
    await chat.hear()
    got = json_of(await chat.hear()) if chat.accepted else None
    await chat.connection.release()
    if not isinstance(got, dict) or "scope" not in got:
        return [
            Judgement(check_id, False, f"client saw {chat.seen!r}") for check_id, _ in VALUE_CHECKS
        ]
    expected = predicted_values(got["scope"])
    judgements = []
    for check_id, keys in VALUE_CHECKS:
        problems = [
            f"{key}: predicted {expected[key]!r}, the app got {got[key]!r}"
            for key in keys
            if got[key] != expected[key]
        ]
        judgements += _judged(check_id, problems, ", ".join(f"{key} as predicted" for key in keys))
    return judgements


def refused(seen: Sequence[ClientEvent], status: int | None = 403) -> bool:
    """Refused before accept; where the transport shows an HTTP status, with `status`."""
    if not rejected_before_accept(seen):
        return False
    first = seen[0]
    return status is None or not isinstance(first, Denied) or first.status in (None, status)


async def endpoint_class(transport: Transport) -> list[Judgement]:
    """WebSocketEndpoint: on_receive gets each text, on_disconnect the client's close code."""
    key = uuid.uuid4().hex
    chat = await Conversation.open(transport, f"/surface/starlette/endpoint/{key}")
    reply = await chat.say("hi") if chat.accepted else None
    await chat.connection.close(4001)
    await chat.hear()  # the server's answering close: the handshake is complete
    await chat.connection.release()
    await transport.app_idle(REPLY_BOUND_S)
    recorded = (await transport.request("GET", f"/surface/endpoint-closes/{key}")).json()
    check_id = "contract.surface.endpoint-class"
    if reply != Message("endpoint: hi"):
        return [Judgement(check_id, False, f"on_receive: client saw {chat.seen!r}")]
    if recorded != {"code": 4001}:
        # Only the disconnect code is wrong: ASGI defines it without a keyword, so this counts
        # as close.client-code-reaches-app does (informational), with that check's cause.
        detail = f"on_disconnect got {recorded!r} for the client's close 4001"
        heard = recorded.get("code") if isinstance(recorded, dict) else recorded
        return [
            Judgement(check_id, False, detail, Grade.INFO, cause=client_close_code_heard(heard))
        ]
    return [Judgement(check_id, True, "on_receive and on_disconnect")]


async def validation(transport: Transport) -> list[Judgement]:
    """FastAPI validates path, query and header parameters before the route runs: a valid set
    is accepted with converted values, an invalid one refused before accept (its handler
    closes 1008, which a server answers with HTTP 403)."""
    good = "/surface/validated/3?limit=2"
    chat = await Conversation.open(transport, good, (("x-client", "tab"),))
    got = json_of(await chat.hear()) if chat.accepted else None
    await chat.connection.release()
    problems = []
    if got != {"number": 3, "limit": 2, "client": "tab"}:
        problems.append(f"{good}: client saw {chat.seen!r}")
    for path, headers in (
        ("/surface/validated/three?limit=2", (("x-client", "tab"),)),  # path not an int
        ("/surface/validated/3?limit=0", (("x-client", "tab"),)),  # query below its minimum
        ("/surface/validated/3", (("x-client", "tab"),)),  # query missing
        ("/surface/validated/3?limit=2", ()),  # header missing
    ):
        bad = await Conversation.open(transport, path, headers)
        await bad.connection.release()
        if not refused(bad.seen):
            problems.append(f"{path} {dict(headers)}: client saw {bad.seen!r}")
    return _judged("contract.surface.validation", problems, "valid accepted, invalid refused")


async def websocket_exception(transport: Transport) -> list[Judgement]:
    """WebSocketException before accept, raised by the route or by a dependency, refuses the
    handshake; the dependency lets the right header through to the route."""
    problems = []
    silent = []  # refusals met with silence only: no spec sets the suite's bound
    for path, headers in (
        ("/surface/raise/websocket", ALLOWED),
        ("/surface/depends/websocket", ()),
        ("/surface/depends/websocket", ((surface.ALLOW_HEADER, "no"),)),
    ):
        chat = await Conversation.open(transport, path, headers)
        await chat.connection.release()
        if not refused(chat.seen):
            problems.append(f"{path} {dict(headers)}: client saw {chat.seen!r}")
            silent.append(only_silence(chat.seen))
    problems += await _echoes(transport, "/surface/depends/websocket", greeting="allowed")
    [judgement] = _judged(
        "contract.surface.websocket-exception-before-accept", problems, "refused, or let through"
    )
    return [deadline_only(judgement, len(silent) == len(problems) and all(silent))]


async def _unless_denials(transport: Transport, check_id: str) -> list[Judgement] | None:
    """The judgement `unimplemented` where a denial response cannot be sent, else None."""
    if not HAS_DENIAL_RESPONSE:
        return [Judgement(check_id, None, "the installed Starlette has no denial responses")]
    if DENIAL_EXTENSION not in (await server_claims(transport)).extensions:
        why = f"the server does not offer {DENIAL_EXTENSION}"
        return [Judgement(check_id, None, why)]
    return None


def _denied_with(seen: Sequence[ClientEvent], status: int, body: bytes) -> bool:
    """The denial response reached the client: its status and its whole body, where the
    transport can see them."""
    if not seen or not isinstance(seen[0], Denied) or any(isinstance(e, Accepted) for e in seen):
        return False
    first = seen[0]
    return first.status in (None, status) and (first.status is None or first.body == body)


async def http_exception(transport: Transport) -> list[Judgement]:
    """HTTPException before accept becomes a denial response with its status and detail
    (Starlette 0.41 'Allow to raise HTTPException before websocket.accept()')."""
    check_id = "contract.surface.http-exception-before-accept"
    not_claimed = await _unless_denials(transport, check_id)
    if not_claimed is not None:
        return not_claimed
    chat = await Conversation.open(transport, "/surface/raise/http")
    await chat.connection.release()
    detail = surface.HTTP_EXCEPTION_DETAIL
    bodies = (detail.encode(), json.dumps({"detail": detail}, separators=(",", ":")).encode())
    ok = any(_denied_with(chat.seen, surface.HTTP_EXCEPTION_STATUS, body) for body in bodies)
    return [Judgement(check_id, ok, f"client saw {chat.seen!r}")]


async def denial_responses(transport: Transport) -> list[Judgement]:
    """send_denial_response with a plain, JSON, streaming or file response: the client gets
    its status and body (Starlette 0.37 and 1.0.0 release notes)."""
    check_id = "contract.surface.denial-response"
    not_claimed = await _unless_denials(transport, check_id)
    if not_claimed is not None:
        return not_claimed
    problems: list[str] = []
    unjudged: list[str] = []
    for kind in surface.DENIAL_KINDS:
        if kind == "file" and not transport.visibility.waits_for_threads:
            # FileResponse reads its file on a worker thread, which this driver cannot see.
            unjudged.append(f"{kind} (on a thread {transport.name} does not wait for)")
            continue
        chat = await Conversation.open(transport, f"/surface/denial/{kind}")
        await chat.connection.release()
        body = surface.DENIAL_BODY
        if kind == "json":
            body = json.dumps({"detail": body.decode()}, separators=(",", ":")).encode()
        if not _denied_with(chat.seen, surface.DENIAL_STATUS, body):
            problems.append(f"{kind}: client saw {chat.seen!r}")
    return _judged(check_id, problems, "delivered; not judged: " + ", ".join(unjudged or ["-"]))


async def mounted_app(transport: Transport) -> list[Judgement]:
    """A FastAPI app mounted in another: its app-level dependency guards its websocket routes,
    its middleware sees and changes the websocket scope and accept, and its exception handler
    turns the route's exception into the handler's close."""
    problems, causes = [], []
    kept_out = await Conversation.open(transport, "/surface/app/echo")
    await kept_out.connection.release()
    if not refused(kept_out.seen):
        problems.append(f"app-level dependency let a connection through: {kept_out.seen!r}")
    chat = await Conversation.open(transport, "/surface/app/echo", ALLOWED)
    if not chat.accepted:
        problems.append(f"allowed connection refused: {chat.seen!r}")
    else:
        accept = chat.seen[0]
        assert isinstance(accept, Accepted)
        greeting = await chat.hear()
        if greeting != Message("middleware: seen"):
            problems.append(f"middleware's scope key not seen by the route: {greeting!r}")
        # Accept headers are ASGI spec 2.1: judged only where the server claims it.
        headers_claimed = (await server_claims(transport)).at_least("2.1")
        if headers_claimed and accept.headers and surface.MIDDLEWARE_HEADER not in accept.headers:
            problems.append(f"middleware's accept header missing: {accept.headers!r}")
            causes.append(ACCEPT_HEADERS_NOT_SENT)
        reply = await chat.say("hello")
        if reply != Message(surface.PREFIX_REPLY.format(text="hello")):
            problems.append(f"echo answered {reply!r}")
    await chat.leave()
    return _judged("contract.surface.mounted-app", problems, "dependency, middleware, echo", causes)


async def exception_handler(transport: Transport) -> list[Judgement]:
    """An exception handler registered for the route's exception closes the websocket as the
    handler says (Starlette 0.21: 'support for WebSocket exception handlers')."""
    check_id = "contract.surface.exception-handler"
    if not HAS_WEBSOCKET_EXCEPTION:
        return [Judgement(check_id, None, "the installed Starlette has no websocket handlers")]
    chat = await Conversation.open(transport, "/surface/app/echo", ALLOWED)
    end = None
    if chat.accepted:
        await chat.hear()  # the greeting
        end = await chat.say("overload")
    await chat.connection.release()
    # A close reason is ASGI spec 2.3: required only where the server claims it.
    reason = surface.HANDLED_REASON if (await server_claims(transport)).at_least("2.3") else None
    ok = end is not None and closed_with(end, surface.HANDLED_CODE, reason)
    return [Judgement(check_id, ok, f"client saw {chat.seen!r}")]


# Each contract, with one route it needs (a user's app without it skips the contract).
SURFACE_CONTRACTS = {
    routers: "/surface/prefixed/echo",
    mount_params: "/surface/starlette/rooms/room/members/member",
    prefix_params: "/surface/teams/team/members/member",
    framework_values: VALUES_PATH,
    convertors: "/surface/starlette/int/1",
    endpoint_class: "/surface/starlette/endpoint/key",
    validation: "/surface/validated/1",
    websocket_exception: "/surface/raise/websocket",
    http_exception: "/surface/raise/http",
    denial_responses: "/surface/denial/plain",
    mounted_app: "/surface/app/echo",
    exception_handler: "/surface/app/echo",
}
