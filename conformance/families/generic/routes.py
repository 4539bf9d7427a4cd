"""Generic checks of any app's WebSocket routes: connections generated from each route's
declarations, driven with generated client behaviour, judged on what any correct route must do.

No pytest here: plans, how one runs, how it is judged, and the `[tool.wsconform]` auth table.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import re
import shlex
import subprocess
import textwrap
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from wsconform.conformance.data import TOMLDecodeError, read_toml
from wsconform.conformance.engine.discovery import Location, Parameter, WebSocketEndpoint, serves
from wsconform.conformance.engine.judgements import Judgement, app_raised
from wsconform.conformance.engine.plans import (
    ClientStep,
    CloseWith,
    ConnectionPlan,
    Drop,
    Observation,
    SendBytes,
    SendText,
)
from wsconform.conformance.engine.rfc6455 import is_valid_wire_close_code
from wsconform.conformance.engine.vocabulary import (
    Accepted,
    ClientEvent,
    ClientRaised,
    Closed,
    Denied,
    Headers,
    Message,
    NoEvent,
    connection_ended,
    event_shape,
    rejected_before_accept,
)
from wsconform.strategies import lifecycle
from wsconform.targets.servers.base import EXPECT_BOUND_S, REPLY_BOUND_S, Transport
from wsconform.targets.servers.handed import HANDED_HEADER, handler_name
from wsconform.targets.servers.witness import app_exceptions, is_returned_open

# How long the client listens after each of its steps for what the step caused.
STEP_LISTEN_S = 0.05


# --- client behaviour --------------------------------------------------------------------------


client_steps: st.SearchStrategy[ClientStep] = st.one_of(
    st.builds(SendText, lifecycle.texts),
    st.builds(SendText, lifecycle.json_values.map(json.dumps)),
    st.builds(SendBytes, st.binary(max_size=64)),
    st.builds(CloseWith, lifecycle.valid_close_codes | st.none(), lifecycle.close_reasons),
    st.just(Drop()),
)


# --- the message shapes a route expects, read from its own code ------------------------------

# Bounds on what is read from a route's code: enough for a message protocol's keys and values,
# few enough that examples stay small and generation fast.
MAX_MINED_STRINGS = 24
MAX_MINED_LENGTH = 40
MAX_HELPERS = 8
_LOOKUP_METHODS = ("get", "pop", "setdefault")


@dataclass(frozen=True)
class MessageVocabulary:
    """String literals a route's code reads messages with: the keys it looks up
    (`msg["action"]`, `msg.get("room")`, `"x" in msg`) and the values it compares with
    (`== "join"`, `in ("a", "b")`, `case "leave"`)."""

    keys: tuple[str, ...] = ()
    values: tuple[str, ...] = ()


def _sources(handler: object) -> list[str]:
    """The handler's code, and that of its module's functions it calls by name: one level,
    where a route commonly hands its messages to a helper."""
    try:
        own = textwrap.dedent(inspect.getsource(handler))  # type: ignore[arg-type]
        tree = ast.parse(own)
    except (OSError, TypeError, SyntaxError):
        return []
    module = inspect.getmodule(handler)
    names = dict.fromkeys(
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    )
    sources = [own]
    for name in list(names)[:MAX_HELPERS]:
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and inspect.getmodule(helper) is module:
            try:
                sources.append(textwrap.dedent(inspect.getsource(helper)))
            except (OSError, TypeError):
                continue
    return sources


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value if 0 < len(node.value) <= MAX_MINED_LENGTH else None
    return None


def _literals(node: ast.AST) -> list[str]:
    """The string literals of a constant or of a tuple, list or set display of them."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [text for item in items if (text := _literal(item)) is not None]


@functools.lru_cache(maxsize=256)
def message_vocabulary(handler: object) -> MessageVocabulary:
    """The keys and values a route's code reads its messages with (see MessageVocabulary),
    in the order they appear, bounded."""
    keys: dict[str, None] = {}
    values: dict[str, None] = {}
    for source in _sources(handler):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript):
                keys.update(dict.fromkeys(_literals(node.slice)))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _LOOKUP_METHODS
                and node.args
            ):
                keys.update(dict.fromkeys(_literals(node.args[0])))
            elif isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                for operator, left, right in zip(
                    node.ops, operands[:-1], operands[1:], strict=True
                ):
                    if isinstance(operator, ast.In | ast.NotIn):
                        # `"room" in msg` looks a key up; `action in ("a", "b")` lists values.
                        found = _literals(right)
                        (values if found else keys).update(dict.fromkeys(found or _literals(left)))
                    elif isinstance(operator, ast.Eq | ast.NotEq):
                        values.update(dict.fromkeys(_literals(left) + _literals(right)))
            elif isinstance(node, ast.MatchValue):
                values.update(dict.fromkeys(_literals(node.value)))
            elif isinstance(node, ast.MatchMapping):
                keys.update(dict.fromkeys(t for key in node.keys for t in _literals(key)))
    return MessageVocabulary(tuple(keys)[:MAX_MINED_STRINGS], tuple(values)[:MAX_MINED_STRINGS])


# What a field may hold instead of what the route expects: missing values, wrong types.
_WRONG_TYPES: list[Any] = [None, 0, -1, 1.5, True, "", [], {}]


@functools.lru_cache(maxsize=256)
def message_shapes(vocabulary: MessageVocabulary) -> st.SearchStrategy[ClientStep]:
    """JSON messages of the shapes a route expects and the ways they go wrong: `{}`, `null`
    and other wrong types at the top, objects built from the route's own keys holding its
    own values or wrong types, and its values as plain text."""
    fields = st.sampled_from(_WRONG_TYPES)
    if vocabulary.values:
        fields = st.sampled_from(vocabulary.values) | fields
    objects: st.SearchStrategy[Any] = st.just({})
    if vocabulary.keys:
        objects = st.dictionaries(
            st.sampled_from(vocabulary.keys), fields, max_size=min(len(vocabulary.keys), 4)
        )
    json_shapes = st.sampled_from(_WRONG_TYPES) | objects | st.lists(objects, max_size=2)
    shapes = json_shapes.map(lambda value: SendText(json.dumps(value)))
    if vocabulary.values:
        shapes |= st.sampled_from(vocabulary.values).map(SendText)
    return shapes


def route_vocabulary(endpoint: WebSocketEndpoint) -> MessageVocabulary:
    """`message_vocabulary` of the endpoint's own code (read once per route, then cached)."""
    handler = endpoint.handler if isinstance(endpoint.handler, Hashable) else None
    return message_vocabulary(handler)


def steps_for(endpoint: WebSocketEndpoint) -> st.SearchStrategy[ClientStep]:
    """Client steps for `endpoint`: any client behaviour, and the message shapes its code
    expects (last, so that a failure still shrinks to the simplest step that shows it)."""
    return client_steps | message_shapes(route_vocabulary(endpoint))


def _until_the_end(steps: list[ClientStep]) -> tuple[ClientStep, ...]:
    """Nothing the client does after its close or drop can reach the server."""
    for index, step in enumerate(steps):
        if isinstance(step, CloseWith | Drop):
            return tuple(steps[: index + 1])
    return tuple(steps)


# --- parameter values --------------------------------------------------------------------------

_SAFE_TEXT = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
VALID_VALUES: dict[str, st.SearchStrategy[str]] = {
    "int": st.integers(-1000, 10**6).map(str),
    "float": st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    "uuid": st.uuids().map(str),
    "bool": st.sampled_from(["true", "false", "1", "0"]),
    "str": _SAFE_TEXT,
    "path": st.lists(_SAFE_TEXT, min_size=1, max_size=3).map("/".join),
}
# Values of the wrong shape for each type; for text, the characters careless code trips on.
INVALID_VALUES: dict[str, st.SearchStrategy[str]] = {
    "int": st.sampled_from(["abc", "1.5", "", "9" * 40, "-", "0x10", "\uff11\uff12"]),
    "float": st.sampled_from(["abc", "", "1,5", "inf", "1e999"]),
    "uuid": st.sampled_from(["not-a-uuid", "", "1234", "g" * 32]),
    "bool": st.sampled_from(["maybe", "", "2"]),
    "str": st.sampled_from(["", " ", "%", "..", "'\"<>", "é🌍", "x" * 2000]),
    "path": st.sampled_from(["", "..", "a//b", "%2e%2e"]),
}


@st.composite
def _value(draw: st.DrawFn, parameter: Parameter) -> str | None:
    """A valid value mostly, sometimes a wrong one, and for a header, query or cookie
    parameter sometimes none at all (None)."""
    # The first choice is what a failure shrinks to: an optional parameter left out, a
    # required one given a valid value.
    kinds = ["valid", "valid", "valid", "invalid", "absent"]
    if not parameter.required:
        kinds = ["absent", *kinds[:-1]]
    kind = draw(st.sampled_from(kinds))
    if kind == "absent" and parameter.location is not Location.PATH:
        return None
    if kind == "invalid":
        return draw(INVALID_VALUES.get(parameter.type, INVALID_VALUES["str"]))
    return draw(VALID_VALUES.get(parameter.type, VALID_VALUES["str"]))


# A path parameter of a route template: its name, and its convertor if one is given.
_PATH_PARAMETER = re.compile(r"{([^}:]+)(?::([^}]+))?}")


def _fill_path(template: str, values: dict[str, str]) -> str:
    def value_for(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        # A path parameter's value may not carry its own slashes, except for `:path`.
        return quote(value, safe="/" if match.group(2) == "path" else "")

    return _PATH_PARAMETER.sub(value_for, template)


@st.composite
def plans_for(draw: st.DrawFn, endpoint: WebSocketEndpoint) -> ConnectionPlan:
    values = {p.name: draw(_value(p), label=p.describe()) for p in endpoint.parameters}
    steps = _until_the_end(draw(st.lists(steps_for(endpoint), max_size=4)))
    # Subprotocols offered, drawn last and shrinking to none: the scope must list them as
    # offered (generic.values.subprotocols); a route that picks none still accepts.
    offered = draw(lifecycle.subprotocol_offers, label="subprotocols offered")
    return connection_plan(endpoint, values, steps, offered)


# What every route is sent first, whatever the generated exploration then draws: the commonest
# messages a route does not expect (an empty text, empty bytes, a JSON object without the keys
# it reads, JSON null), each alone on a connection. A fixed handful, so that a bug in reading
# the first message never depends on the derandomized seed of a short CI profile.
OPENING_STEPS: tuple[ClientStep, ...] = (
    SendText(""),
    SendBytes(b""),
    SendText("{}"),
    SendText("null"),
)


def opening_plans(endpoint: WebSocketEndpoint) -> list[ConnectionPlan]:
    """One connection per opening step, every required parameter given a valid value and
    every optional one left out."""
    values = {
        p.name: example_value(p) if p.required or p.location is Location.PATH else None
        for p in endpoint.parameters
    }
    return [connection_plan(endpoint, values, (step,)) for step in OPENING_STEPS]


def connection_plan(
    endpoint: WebSocketEndpoint,
    values: dict[str, str | None],
    steps: tuple[ClientStep, ...],
    subprotocols: Sequence[str] = (),
) -> ConnectionPlan:
    """A connection to `endpoint` with its parameters' `values` (None: left out) in their
    places: the path, the query, the headers and the cookies; `subprotocols` offered in one
    Sec-WebSocket-Protocol line (a header like any other: a repro script sends it as is)."""
    path_values = {
        p.name: value if value is not None else ""
        for p in endpoint.parameters_at(Location.PATH)
        for value in [values[p.name]]
    }
    target = _fill_path(endpoint.path, path_values)
    query = [(p.name, values[p.name]) for p in endpoint.parameters_at(Location.QUERY)]
    present_query = [(name, value) for name, value in query if value is not None]
    if present_query:
        target += "?" + urlencode(present_query)
    headers: list[tuple[str, str]] = [
        (p.name, value)
        for p in endpoint.parameters_at(Location.HEADER)
        if (value := values[p.name]) is not None and _header_safe(value)
    ]
    cookies = [
        f"{p.name}={quote(value)}"
        for p in endpoint.parameters_at(Location.COOKIE)
        if (value := values[p.name]) is not None
    ]
    if cookies:
        headers.append(("cookie", "; ".join(cookies)))
    if subprotocols:
        headers.append(("sec-websocket-protocol", ", ".join(subprotocols)))
    convertors = {
        match.group(1): match.group(2) or "str" for match in _PATH_PARAMETER.finditer(endpoint.path)
    }
    expected_params = tuple(
        (name, convertors.get(name, "str"), value) for name, value in path_values.items()
    )
    return ConnectionPlan(
        endpoint.path,
        target,
        tuple(headers),
        steps,
        expected_params,
        handler_name(endpoint.handler),
    )


def _header_safe(value: str) -> bool:
    """A header value the wire can carry at all (Latin-1, no line breaks)."""
    return value.isprintable() and all(ord(c) < 256 for c in value)


# --- running a plan ----------------------------------------------------------------------------


async def run_plan(transport: Transport, plan: ConnectionPlan) -> Observation:
    """Connect, do the plan's steps while listening, end politely if the plan did not, and
    collect what the app raised meanwhile."""
    # Followed where the app is seen: the witness then keeps what the app was handed.
    mark = uuid.uuid4().hex if transport.sees_the_app else None
    headers = plan.headers if mark is None else (*plan.headers, (HANDED_HEADER, mark))
    connection = await transport.connect(plan.target, headers)
    observation = Observation([await connection.next_event(REPLY_BOUND_S)], [])
    if transport.serves_the_clients_socket:
        observation.client_socket = connection.socket_addresses()
    try:
        if isinstance(observation.seen[0], Accepted):
            ended = False
            for step in plan.steps:
                ended = await _do(connection, step, observation) or await _app_has_ended(
                    transport, connection, observation
                )
                if ended:
                    break
            if not ended:
                observation.client_closed_at = len(observation.seen)
                observation.client_close_code = 1000
                await connection.close(1000)
                await listen_until_quiet(
                    connection, observation.seen, EXPECT_BOUND_S, until_end=True
                )
    finally:
        await connection.release()
    observation.app_errors = await transport.drain_app_errors()
    if mark is not None:
        observation.handed = (await transport.take_handed()).get(mark)
    return observation


async def _app_has_ended(transport: Transport, connection: Any, observation: Observation) -> bool:
    """Has the app returned or raised during the step? Then what comes next is the server
    ending the connection: listen for it (bounded) instead of racing it with the plan's next
    steps, so that what the client sees does not depend on how soon the server reacts."""
    if not transport.sees_the_app or not await transport.app_idle(0.0):
        return False
    await listen_until_quiet(connection, observation.seen, EXPECT_BOUND_S, until_end=True)
    return True


async def _do(connection: Any, step: ClientStep, observation: Observation) -> bool:
    """One step, then what it caused; True once the connection has ended (or was dropped)."""
    seen = observation.seen
    try:
        if isinstance(step, SendText):
            await connection.send_text(step.text)
        elif isinstance(step, SendBytes):
            await connection.send_bytes(step.data)
        elif isinstance(step, CloseWith):
            observation.client_closed_at = len(seen)
            observation.client_close_code = step.code
            observation.client_close_reason = step.reason
            await connection.close(step.code, step.reason)
            await listen_until_quiet(connection, seen, EXPECT_BOUND_S, until_end=True)
            return True
        else:
            observation.client_dropped_at = len(seen)
            await connection.drop()
            return True
    except Exception as error:  # the client could not even do it: part of the evidence
        seen.append(ClientRaised(type(error).__name__, str(error)))
        return True
    return await listen_until_quiet(connection, seen, STEP_LISTEN_S, until_end=False)


async def listen_until_quiet(
    connection: Any, seen: list[ClientEvent], bound: float, until_end: bool
) -> bool:
    """Collect events until quiet for `bound` (or, `until_end`, until the connection ends)."""
    while True:
        event = await connection.next_event(bound)
        if isinstance(event, NoEvent):
            if until_end:
                seen.append(event)
            return False
        seen.append(event)
        if connection_ended(event):
            return True


# --- judging -----------------------------------------------------------------------------------


def deliberate_refusal(first: ClientEvent) -> ClientEvent | None:
    """The app's own refusal of the handshake, where the client can tell it from a router's
    (a path no route matches is refused with close 1000, i.e. HTTP 403, and a 5xx is a server
    error): a close before accept with a code of the app's (TestClient reports it), or a
    denial response with a status of the app's."""
    if isinstance(first, Closed) and not first.close_frame_seen and first.code not in (None, 1000):
        return first
    if isinstance(first, Denied) and first.status is not None and first.status not in (403, 404):
        return first if first.status < 500 else None
    return None


# The one-line fix a finding of generic.browser.refusal-visible gives.
BROWSER_VISIBLE_FIX = (
    "Fix: accept, then close with a 4xxx code the frontend can act on "
    "(`await websocket.accept(); await websocket.close(4401, 'login again')`); a denial "
    "response (send_denial_response) is no better for a page, which reads neither its status "
    "nor its body."
)


def judge(observation: Observation, over_the_wire_only: bool = False) -> list[Judgement]:
    """The generic judgements of one connection. Over the wire only (`--url`), the app's
    exceptions cannot be seen, so that check is not judged."""
    seen = observation.seen
    shown = ", ".join(repr(event) for event in seen)[:600]
    accepted = bool(seen) and isinstance(seen[0], Accepted)
    # The witness reports a websocket left open at return among the app's errors; it is not
    # an exception, and has its own check. Nor is an exception the server's own send raised
    # for a message it had to take: that one is the server's (see app_exceptions).
    left_open = [error for error in observation.app_errors if is_returned_open(error)]
    raised = app_exceptions(observation.app_errors)
    # The server's own doing, before any close of the client's: a 5xx, a close 1011,
    # dropping an accepted connection (the client never drops before it stops listening), or
    # TestClient handing the client the exception the app raised (its way of failing). A
    # close or drop that answers the app's returning open is that check's finding, not this.
    server_errors = [
        event
        for event in observation.before_client_close()
        if (isinstance(event, Denied) and (event.status or 0) >= 500)
        or (isinstance(event, Closed) and event.code == 1011 and not left_open)
        or (isinstance(event, Closed) and accepted and not event.close_frame_seen and not left_open)
        or (isinstance(event, ClientRaised) and bool(raised))
    ]
    bad_codes = [
        event.code
        for event in seen
        if isinstance(event, Closed)
        and event.close_frame_seen
        and event.code is not None
        and not is_valid_wire_close_code(event.code)
    ]
    data_before_denial = not accepted and any(isinstance(event, Message) for event in seen)
    refusal = deliberate_refusal(seen[0]) if seen else None
    # Causes name the offending events only: how many messages came before them is the
    # generated program's doing.
    judgements = [
        Judgement(
            "generic.no-server-error",
            not server_errors,
            f"client saw {shown}",
            cause="the server ended it with " + ", ".join(map(event_shape, server_errors)),
        ),
        Judgement(
            "generic.close-code-valid",
            not bad_codes,
            f"close codes {bad_codes}: {shown}",
            cause=f"invalid close codes on the wire: {sorted(set(bad_codes))}",
        ),
        Judgement(
            "generic.no-data-before-denial",
            not data_before_denial,
            f"client saw {shown}",
            cause="a message before the denial",
        ),
        Judgement(
            "generic.browser.refusal-visible",
            refusal is None,
            f"the route refused the handshake ({refusal!r}): a browser page gets only `error` "
            f"and close 1006. {BROWSER_VISIBLE_FIX}",
            cause=f"the route refused the handshake: {event_shape(refusal)}",
        ),
    ]
    if not over_the_wire_only:
        judgements.append(
            Judgement(
                "generic.no-unhandled-exception",
                not raised,
                f"app raised {raised!r}",
                cause=app_raised(raised),
            )
        )
        judgements.append(
            Judgement(
                "generic.app-closes-before-returning",
                not left_open,
                f"{'; '.join(left_open) or 'no websocket left open'}: client saw {shown}",
                cause="the app returned with its websocket open",
            )
        )
    return judgements


# --- authenticated routes ([tool.wsconform]) ---------------------------------------------------

CONFIG_TABLE = "tool.wsconform"


class ConfigError(Exception):
    """The [tool.wsconform] table is wrong; the message says where and how."""


@dataclass(frozen=True)
class AuthRoute:
    """A route the user declares as authenticated, and how its token travels."""

    path: str  # the path to connect to, e.g. "/account/ws" (a template once bound: filled)
    location: Location  # query, header or cookie
    name: str  # the query parameter, header or cookie name
    format: str  # e.g. "{token}" or "Bearer {token}"
    valid_token: Callable[[], str]
    # The route's other required parameters, with valid values (filled once bound), so that
    # only the credential decides whether the route lets a connection in.
    others: tuple[tuple[Parameter, str], ...] = ()

    def request(self, token: str | None) -> tuple[str, Headers]:
        """Path and headers carrying `token` as configured (None: no credential at all), and
        every other required parameter of the route."""
        values = [*self.others]
        if token is not None:
            credential = Parameter(self.name, self.location, "str")
            values.append((credential, self.format.format(token=token)))
        query = [(p.name, value) for p, value in values if p.location is Location.QUERY]
        path = self.path
        if query:
            path += ("&" if "?" in path else "?") + urlencode(query)
        headers = [(p.name.lower(), v) for p, v in values if p.location is Location.HEADER]
        cookies = [f"{p.name}={quote(v)}" for p, v in values if p.location is Location.COOKIE]
        if cookies:
            headers.append(("cookie", "; ".join(cookies)))
        return path, tuple(headers)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.wsconform] table, from `start` upwards."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.exists() and "wsconform" in _load_toml(candidate).get("tool", {}):
            return candidate
    return None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except (OSError, TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error


def load_auth_routes(config_path: Path) -> list[AuthRoute]:
    """`[tool.wsconform.auth."<path>"]` tables: token = "query:NAME" | "header:NAME" |
    "cookie:NAME", optional format = "Bearer {token}", and valid-token = "module:function"
    (called for a valid token) or valid-token-command = "shell command" (its stdout)."""
    table = _load_toml(config_path).get("tool", {}).get("wsconform", {}).get("auth", {})
    routes = []
    for path, entry in table.items():
        where = f"{config_path} [{CONFIG_TABLE}.auth.{json.dumps(path)}]"
        location_name, _, name = str(entry.get("token", "")).partition(":")
        try:
            location = Location(location_name)
        except ValueError:
            location = Location.PATH
        if location is Location.PATH or not name:
            raise ConfigError(
                f'{where}: token must be "query:NAME", "header:NAME" or "cookie:NAME",'
                f" not {entry.get('token')!r}"
            )
        token_format = str(entry.get("format", "{token}"))
        if "{token}" not in token_format:
            raise ConfigError(f"{where}: format must contain {{token}}, not {token_format!r}")
        routes.append(
            AuthRoute(path, location, name, token_format, _token_source(entry, where, config_path))
        )
    return routes


# One valid value per type, for filling a configured route's parameters: one VALID_VALUES
# could draw for each type, so that only the credential can make the route refuse.
EXAMPLE_VALUES = {
    "int": "1",
    "float": "1.5",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "bool": "true",
    "path": "a/b",
    "str": "example",
}


def example_value(parameter: Parameter) -> str:
    return EXAMPLE_VALUES.get(parameter.type, EXAMPLE_VALUES["str"])


def _other_required(route: AuthRoute, endpoint: WebSocketEndpoint) -> list[tuple[Parameter, str]]:
    """The route's required query, header and cookie parameters but the credential's own,
    each with a valid value."""

    def is_the_credential(parameter: Parameter) -> bool:
        if parameter.location is not route.location:
            return False
        if route.location is Location.HEADER:  # header names are case-insensitive
            return parameter.name.lower() == route.name.lower()
        return parameter.name == route.name

    return [
        (parameter, example_value(parameter))
        for parameter in endpoint.parameters
        if parameter.required
        and parameter.location is not Location.PATH
        and not is_the_credential(parameter)
    ]


def bind_auth_routes(
    routes: Sequence[AuthRoute], endpoints: Sequence[WebSocketEndpoint]
) -> list[AuthRoute]:
    """Each configured route tied to a discovered one. A key may be a concrete path
    (`/items/7/ws`) or a route template (`/items/{item_id}/ws`, filled with valid values);
    a key that matches no route is an error that names it, never a silent failure."""

    def without_convertors(template: str) -> str:
        return _PATH_PARAMETER.sub(r"{\1}", template)

    bound = []
    for route in routes:
        template = without_convertors(route.path)
        by_template = [e for e in endpoints if without_convertors(e.path) == template]
        if by_template:
            endpoint = by_template[0]
            values = {p.name: example_value(p) for p in endpoint.parameters}
            path = _fill_path(endpoint.path, values)
            others = _other_required(route, endpoint)
            bound.append(replace(route, path=path, others=tuple(others)))
        elif "{" not in route.path and serves(endpoints, route.path):
            (endpoint, *_) = [e for e in endpoints if serves([e], route.path)]
            bound.append(replace(route, others=tuple(_other_required(route, endpoint))))
        else:
            known = ", ".join(e.path for e in endpoints) or "none"
            raise ConfigError(
                f'[{CONFIG_TABLE}.auth."{route.path}"] matches no WebSocket route of the app '
                f"(its routes: {known})"
            )
    return bound


def _token_source(entry: dict[str, Any], where: str, config_path: Path) -> Callable[[], str]:
    if "valid-token" in entry:
        module_name, _, attribute = str(entry["valid-token"]).partition(":")

        def imported() -> str:
            function = getattr(importlib.import_module(module_name), attribute)
            return str(function())

        return imported
    if "valid-token-command" in entry:
        command = shlex.split(str(entry["valid-token-command"]))

        def from_command() -> str:
            done = subprocess.run(
                command, cwd=config_path.parent, capture_output=True, text=True, timeout=60
            )
            if done.returncode != 0:
                raise ConfigError(f"{where}: valid-token-command failed: {done.stderr.strip()}")
            return done.stdout.strip()

        return from_command
    raise ConfigError(f'{where}: give valid-token = "module:function" or valid-token-command')


def _credential_shown(route: AuthRoute, token: str | None, flavour: str) -> str:
    shown = None if token is None else token[:60]
    named = f" ({flavour})" if flavour else ""
    return f"{route.path} with {route.location.value} credential {shown!r}{named}"


def judge_bad_credential(
    route: AuthRoute, token: str | None, seen: Sequence[ClientEvent], flavour: str = ""
) -> Judgement:
    return Judgement(
        "generic.auth.rejects-bad-tokens",
        rejected_before_accept(seen),
        f"{_credential_shown(route, token, flavour)}: client saw {seen!r}",
    )


def judge_bad_token_crash(
    route: AuthRoute, token: str | None, observation: Observation, flavour: str = ""
) -> Judgement:
    """A bad token may be let in (that is rejects-bad-tokens), but it must not make the
    route raise: a crash a forged credential triggers is a bug of its own."""
    seen = observation.seen
    accepted = bool(seen) and isinstance(seen[0], Accepted)
    when = "after accepting it" if accepted else "before accepting"
    # A websocket left open at return is not an exception: it has its own check.
    raised = app_exceptions(observation.app_errors)
    return Judgement(
        "generic.auth.bad-token-no-crash",
        not raised,
        f"{_credential_shown(route, token, flavour)}: the app raised {when} "
        f"{raised!r}; client saw {seen!r}",
    )


def judge_valid_credential(route: AuthRoute, seen: Sequence[ClientEvent]) -> Judgement:
    return Judgement(
        "generic.auth.accepts-valid-token",
        bool(seen) and isinstance(seen[0], Accepted),
        f"{route.path} with the valid token: client saw {list(seen)!r}",
    )
