"""The transport-neutral words the suite speaks: what a client saw, what the app was told to do.

Client events are the only thing a transport reports, whatever it is built on, so one model can
judge them all. Server steps are the puppet app's instructions; they travel as JSON because some
servers run the app in another process.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, get_args

from wsconform.conformance.engine.checks import DENIAL_EXTENSION

Headers: TypeAlias = tuple[tuple[str, str], ...]
JSON: TypeAlias = Any


def subprotocols_offered(headers: Headers) -> list[str]:
    """The subprotocols a request offers, in order: every Sec-WebSocket-Protocol line is a
    comma-separated list, and several lines are one list (RFC 6455 4.1 and 11.3.4, RFC 9110
    5.3)."""
    return [
        token.strip()
        for name, value in headers
        if name.lower() == "sec-websocket-protocol"
        for token in value.split(",")
        if token.strip()
    ]


def decode_headers(raw: Iterable[tuple[bytes, bytes]] | None) -> Headers:
    """ASGI/HTTP header pairs as lower-cased text, the form every event carries."""
    return tuple(
        (name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in raw or ()
    )


# --- what a server says it implements -------------------------------------------------------


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)  # an unreadable version claims nothing


@dataclass(frozen=True, slots=True)
class Advertised:
    """What a server put in the websocket scope about itself: `scope["asgi"]["spec_version"]`
    (the ASGI www spec says to assume "2.0" when it is missing) and `scope["extensions"]`."""

    spec_version: str = "2.0"
    extensions: tuple[str, ...] = ()
    reported: bool = True  # False when no connection told us (the default is assumed)

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> Advertised:
        asgi = scope.get("asgi") or {}
        return cls(
            spec_version=str(asgi.get("spec_version") or "2.0"),
            extensions=tuple(sorted(scope.get("extensions") or {})),
        )

    def at_least(self, version: str) -> bool:
        return _version_tuple(self.spec_version) >= _version_tuple(version)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_version": self.spec_version,
            "extensions": list(self.extensions),
            "reported": self.reported,
        }


@dataclass(frozen=True, slots=True)
class Visibility:
    """What the client side of a transport can observe. TestClient has no HTTP and no frames:
    checks that need them are `unimplemented` there rather than failed."""

    http_status: bool = True
    close_frames: bool = True
    # Whether the transport waits for an app that waits on a worker thread (a FileResponse
    # reads its file on one). The in-memory driver judges an idle loop as an app that is
    # waiting for the client, which a thread breaks.
    waits_for_threads: bool = True


# The newest spec with the denial extension: what a model assumes when told nothing else.
LATEST_SPEC = Advertised("2.5", (DENIAL_EXTENSION,))


# --- client-side events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """The handshake completed (HTTP 101)."""

    subprotocol: str | None
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Denied:
    """The handshake was refused with an HTTP response; `status` is None where a transport
    cannot see HTTP (TestClient)."""

    status: int | None
    body: bytes = b""
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Message:
    data: str | bytes


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection ended. `code` is None for a close frame without a status code (which
    RFC 6455 7.1.5 reports as 1005); `close_frame_seen` is False for a TCP drop (the code is
    then 1006 by definition, never sent on the wire)."""

    code: int | None
    reason: str = ""
    close_frame_seen: bool = True
    # The close frame's payload as it came off the wire, in bytes (None where no client reads
    # frames): a reason cut inside a character decodes with a replacement character, longer
    # in UTF-8 than what was sent. Not part of the event's identity or its repr.
    payload_bytes: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NoEvent:
    """Nothing arrived within the bound; a timeout is an observation, not an error."""

    after_s: float


@dataclass(frozen=True, slots=True)
class ClientRaised:
    """An in-process client raised instead of reporting a wire event (TestClient re-raises the
    app's exception in the test thread)."""

    exc_type: str
    message: str


ClientEvent: TypeAlias = Accepted | Denied | Message | Closed | NoEvent | ClientRaised


def connection_ended(event: ClientEvent) -> bool:
    """Is `event` the end of the connection as the client sees it: a close (or a drop), a
    refused handshake, or an in-process client failing?"""
    return isinstance(event, Closed | Denied | ClientRaised)


# --- server-side steps (the puppet's instructions) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accept:
    subprotocol: str | None = None
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class SendText:
    data: str


@dataclass(frozen=True, slots=True)
class SendBytes:
    data: bytes


@dataclass(frozen=True, slots=True)
class SendJson:
    data: JSON


@dataclass(frozen=True, slots=True)
class ReceiveText:
    pass


@dataclass(frozen=True, slots=True)
class ReceiveBytes:
    pass


@dataclass(frozen=True, slots=True)
class ReceiveJson:
    pass


@dataclass(frozen=True, slots=True)
class Close:
    code: int = 1000
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RaiseWebSocketException:
    code: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RaiseError:
    message: str = "puppet told to fail"


@dataclass(frozen=True, slots=True)
class Return:
    pass


@dataclass(frozen=True, slots=True)
class SendDenialResponse:
    status: int
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class RawSend:
    """An ASGI message handed to the server's `send` exactly as written, past Starlette: the
    shapes a framework never sends (a close without `code`, a send with both keys) reach the
    server as they are (`conformance/families/raw_asgi/probes.py`)."""

    message: dict[str, Any] = field(hash=False)
    # The app does not catch what `send` raises: the exception propagates to the server, as
    # from an app that does not handle the client's leaving (ASGI www 2.4 lets it).
    escapes: bool = False


@dataclass(frozen=True, slots=True)
class RawReceive:
    """One call of the server's `receive`, whatever state the connection is in; the outcome's
    value is the message."""


ServerStep: TypeAlias = (
    Accept
    | SendText
    | SendBytes
    | SendJson
    | ReceiveText
    | ReceiveBytes
    | ReceiveJson
    | Close
    | RaiseWebSocketException
    | RaiseError
    | Return
    | SendDenialResponse
    | RawSend
    | RawReceive
)

# By name, for the JSON codec: the same classes as the ServerStep union, listed once.
STEP_TYPES: dict[str, type[Any]] = {cls.__name__: cls for cls in get_args(ServerStep)}


# --- client-side actions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    query: str = ""
    headers: Headers = ()
    subprotocols: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientSendText:
    data: str


@dataclass(frozen=True, slots=True)
class ClientSendBytes:
    data: bytes


@dataclass(frozen=True, slots=True)
class ClientSendJson:
    """A text message holding `json.dumps(data)`, for the app's receive_json."""

    data: JSON


@dataclass(frozen=True, slots=True)
class ClientClose:
    """A close frame; `code=None` sends one without a status code."""

    code: int | None = 1000
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ClientDrop:
    """End TCP without a close frame."""


@dataclass(frozen=True, slots=True)
class ClientListen:
    """Listen for a while: nothing should arrive that the app did not send."""


ClientAction: TypeAlias = (
    Connect
    | ClientSendText
    | ClientSendBytes
    | ClientSendJson
    | ClientClose
    | ClientDrop
    | ClientListen
)
Action: TypeAlias = ServerStep | ClientAction  # what a scenario is a sequence of


# The key of a partly unsupported step's outcome value (see `StepOutcome.partly_unsupported`).
UNSUPPORTED_PART = "unsupported_part"


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a step did inside the app: returned `value`, or raised `exc_type(exc_message)`.

    `exc_bases` lists the exception's class hierarchy so the model can accept "an OSError
    subclass" without knowing each server's private exception classes.
    """

    value: JSON = None
    exc_type: str | None = None
    exc_message: str = ""
    exc_bases: tuple[str, ...] = ()

    @property
    def raised(self) -> bool:
        return self.exc_type is not None

    @classmethod
    def partly_unsupported(cls, why: str) -> StepOutcome:
        """The step was done without a part the installed release lacks (e.g. a close reason):
        the model grades what was done and reports the missing part as unimplemented."""
        return cls(value={UNSUPPORTED_PART: why})

    @property
    def unsupported_part(self) -> str | None:
        if self.raised or not isinstance(self.value, dict):
            return None
        why = self.value.get(UNSUPPORTED_PART)
        return why if isinstance(why, str) else None

    def raised_any(self, *names: str) -> bool:
        return self.raised and any(name in self.exc_bases for name in names)

    @classmethod
    def from_exception(cls, exc: BaseException) -> StepOutcome:
        bases = tuple(klass.__name__ for klass in type(exc).__mro__)
        attributes = {}
        # WebSocketDisconnect carries what the client sent; the model grades it.
        for name in ("code", "reason"):
            if hasattr(exc, name):
                attributes[name] = getattr(exc, name)
        return cls(
            value=attributes or None,
            exc_type=type(exc).__name__,
            exc_message=str(exc),
            exc_bases=bases,
        )


@dataclass
class ServerRecord:
    """Everything the puppet saw: each step with its outcome, and every ASGI message in order."""

    steps: list[tuple[ServerStep, StepOutcome | None]] = field(default_factory=list)
    asgi: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ended: str | None = None
    advertised: Advertised | None = None  # from the scope the app was called with


# --- JSON codecs (the record and the steps cross process boundaries) ---------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    return value


def decode_value(value: Any) -> Any:
    """A recorded value as the app had it (bytes again where the record carries base64)."""
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


def _as_headers(value: Any) -> Headers:
    return tuple((str(name), str(val)) for name, val in value)


def step_to_json(step: ServerStep) -> dict[str, Any]:
    return {"kind": type(step).__name__, "args": _encode(dataclasses.asdict(step))}


def step_from_json(payload: dict[str, Any]) -> ServerStep:
    kind = payload.get("kind")
    if kind not in STEP_TYPES:
        raise ValueError(f"unknown puppet step {kind!r}; known: {sorted(STEP_TYPES)}")
    args = decode_value(payload.get("args", {}))
    if kind == "Accept":
        args["headers"] = _as_headers(args.get("headers", ()))
    step: ServerStep = STEP_TYPES[kind](**args)
    return step


def outcome_to_json(outcome: StepOutcome) -> dict[str, Any]:
    return _encode(dataclasses.asdict(outcome))  # type: ignore[no-any-return]


def outcome_from_json(payload: dict[str, Any]) -> StepOutcome:
    data = decode_value(payload)
    data["exc_bases"] = tuple(data.get("exc_bases", ()))
    return StepOutcome(**data)


def record_to_json(record: ServerRecord) -> dict[str, Any]:
    return {
        "steps": [
            [step_to_json(step), None if outcome is None else outcome_to_json(outcome)]
            for step, outcome in record.steps
        ],
        "asgi": [[direction, _encode(message)] for direction, message in record.asgi],
        "ended": record.ended,
        "advertised": None if record.advertised is None else record.advertised.to_json(),
    }


def record_from_json(payload: dict[str, Any]) -> ServerRecord:
    return ServerRecord(
        steps=[
            (step_from_json(step), None if outcome is None else outcome_from_json(outcome))
            for step, outcome in payload["steps"]
        ],
        asgi=[(direction, decode_value(message)) for direction, message in payload["asgi"]],
        ended=payload["ended"],
        advertised=advertised_from_json(payload.get("advertised")),
    )


def advertised_from_json(payload: dict[str, Any] | None) -> Advertised | None:
    if payload is None:
        return None
    return Advertised(
        str(payload["spec_version"]),
        tuple(payload.get("extensions", ())),
        bool(payload.get("reported", True)),
    )


def jsonable(value: Any) -> Any:
    """Evidence for reports: bytes become base64 objects, dataclasses dicts with their kind."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"kind": type(value).__name__, **_encode(dataclasses.asdict(value))}
    return _encode(value)


def rejected_before_accept(events: Sequence[ClientEvent]) -> bool:
    """Refused during the handshake: an HTTP denial, or TestClient's close-without-accept."""
    if not events:
        return False
    first = events[0]
    no_data = not any(isinstance(event, Message) for event in events)
    return no_data and (
        isinstance(first, Denied) or (isinstance(first, Closed) and not first.close_frame_seen)
    )


def only_silence(events: Sequence[ClientEvent]) -> bool:
    """The client saw nothing but the end of its bound: no answer, right or wrong (what
    `judgements.deadline_only` turns from a MUST into policy)."""
    return bool(events) and all(isinstance(event, NoEvent) for event in events)


def event_shape(event: ClientEvent | None) -> str:
    """What kind of event the client saw, without the run's data (payloads, header values,
    timings): the part of an observation a failure's cause is keyed on."""
    if event is None:
        return "nothing (not listened)"
    if isinstance(event, Accepted):
        return "accepted" if event.subprotocol is None else "accepted with a subprotocol"
    if isinstance(event, Denied):
        return "denied" if event.status is None else f"denied with HTTP {event.status}"
    if isinstance(event, Message):
        return "a text message" if isinstance(event.data, str) else "a bytes message"
    if isinstance(event, Closed):
        if not event.close_frame_seen:
            return "a drop without close frame"
        return "a close frame without code" if event.code is None else f"close {event.code}"
    if isinstance(event, NoEvent):
        return "nothing within the bound"
    return f"the client raising {event.exc_type}"


def outcome_shape(outcome: StepOutcome | None) -> str:
    """What an app's step did, without the run's data; a disconnect keeps its code."""
    if outcome is None:
        return "no outcome within the bound"
    value = outcome.value
    heard = f" (code {value['code']})" if isinstance(value, dict) and "code" in value else ""
    return f"raised {outcome.exc_type}{heard}" if outcome.raised else f"returned{heard}"
