"""Upgrade checks: how a server answers a bad websocket handshake. Each probe writes one request
by hand on a plain socket (no HTTP library would send these) and reads the answer: a 101 with,
where the request reached the app, the scope the raw echo route reports, or an HTTP error.

The requirements come from RFC 6455 (section 4) and HTTP/1.1 (RFC 9110, RFC 9112): a handshake
the server cannot accept is answered with an HTTP error, never silence, and an invalid header
is refused or made harmless before the app sees it. The other way round, the handshakes common
clients really send (`conformance/data/client_handshakes.toml`) must all be upgraded, with every
subprotocol they offer reaching the app.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import itertools
import json
import os
import re
import ssl
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsconform.conformance.data import CLIENT_HANDSHAKES, read_toml
from wsconform.conformance.engine.judgements import Judgement, deadline_only
from wsconform.targets import frames
from wsconform.targets.frames import OP_TEXT, Frame
from wsconform.targets.raw_routes import DENIAL_MARK, REFUSAL_ROUTE, SCOPE_ECHO_ROUTE
from wsconform.targets.servers.base import EXPECT_BOUND_S
from wsconform.targets.wsclient import Endpoint

PATH = f"{SCOPE_ECHO_ROUTE}/upgrade"
LONG_HEADER_BYTES = 9 * 1024  # over the 8 KiB many servers allow for one header line


@dataclass
class Answer:
    """The server's answer to one handshake: its status (None: none within the bound, or the
    connection ended first), its headers, and the scope the app reported after a 101."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    scope: dict[str, Any] | None = None
    ended_silently: bool = False
    # A refusal announcing `Connection: close`: did the server then end the connection within
    # the bound (None: nothing announced)?
    closed_as_announced: bool | None = None

    def announces_close(self) -> bool:
        """RFC 9112 9.6: the `close` connection option."""
        tokens = self.headers.get("connection", "").lower().split(",")
        return self.status != 101 and "close" in (token.strip() for token in tokens)

    def describe(self) -> str:
        if self.status is None:
            return "no answer (the connection ended)" if self.ended_silently else "no answer"
        return f"HTTP {self.status}" + (" (the app got the request)" if self.scope else "")

    def app_header(self, name: str) -> str | None:
        """The value the app got for header `name`, if the request reached it."""
        for got_name, value in (self.scope or {}).get("headers", []):
            if got_name.lower() == name:
                return str(value)
        return None


def new_key() -> str:
    """A fresh Sec-WebSocket-Key (RFC 6455 4.1: 16 random bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode()


def request(
    *, key: str | None, path: str = PATH, method: str = "GET", version: str = "13", extra: str = ""
) -> bytes:
    """A handshake as raw bytes (no key header where `key` is None); `extra` is spliced in
    verbatim as header lines."""
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Version: {version}",
    ]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("latin-1")


def parse_head(head: bytes) -> tuple[int | None, dict[str, str]]:
    """A response head's status (None if unreadable) and headers, names lowercased."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }
    return status, headers


async def write_within(writer: asyncio.StreamWriter, data: bytes, bound: float) -> None:
    """Write `data` and wait up to `bound` seconds for it to leave the buffer. A server that
    stopped reading is not waited on longer: what it then fails to answer is the observation."""
    writer.write(data)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(writer.drain(), bound)


async def close_within(writer: asyncio.StreamWriter, bound: float) -> None:
    """Close and wait up to `bound` seconds: a close waits for the buffer to be flushed first,
    which never happens while the server does not read; then the connection is aborted."""
    with contextlib.suppress(OSError):
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), bound)
        except asyncio.TimeoutError:
            writer.transport.abort()


async def send_handshake(endpoint: Endpoint, raw: bytes) -> Answer:
    reader, writer = await endpoint.open()
    try:
        await write_within(writer, raw, EXPECT_BOUND_S)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), EXPECT_BOUND_S)
        except asyncio.TimeoutError:
            return Answer(None)
        except (asyncio.IncompleteReadError, ConnectionError):
            return Answer(None, ended_silently=True)
        answer = Answer(*parse_head(head))
        if answer.announces_close():
            answer.closed_as_announced = await ends_within(reader, EXPECT_BOUND_S)
        if answer.status == 101:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.IncompleteReadError):
                frame = await asyncio.wait_for(frames.read(reader), EXPECT_BOUND_S)
                if frame.opcode == OP_TEXT:
                    answer.scope = json.loads(message_payload(frame, answer.headers))
        return answer
    finally:
        await close_within(writer, EXPECT_BOUND_S)


async def ends_within(reader: asyncio.StreamReader, bound: float) -> bool:
    """Does the server end the connection (EOF or a reset) within `bound` seconds? What it
    still sends meanwhile (a response's body) is read and dropped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    try:
        while (remaining := deadline - loop.time()) > 0:
            if not await asyncio.wait_for(reader.read(65536), remaining):
                return True  # EOF
    except (ConnectionError, ssl.SSLError):
        return True
    except asyncio.TimeoutError:
        pass
    return False


def message_payload(frame: Frame, headers: dict[str, str]) -> bytes:
    """A one-frame message's payload, inflated where the 101 accepted a real client's
    permessage-deflate offer and the frame says it is compressed (RSV1, RFC 7692 6 and 7.2.2)."""
    if frame.rsv & 0b100 and "permessage-deflate" in headers.get("sec-websocket-extensions", ""):
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(frame.payload + b"\x00\x00\xff\xff")
    return frame.payload


def _client_error(answer: Answer) -> bool:
    return answer.status is not None and 400 <= answer.status < 500


@dataclass(frozen=True)
class UpgradeProbe:
    check_id: str
    raw: bytes
    judge: Callable[[Answer], bool]
    what: str = ""  # what the request holds, where its first lines do not show it


def _answered(answer: Answer) -> bool:
    """Accepted, or refused with a 4xx (RFC 9110 5.4 for what is too large): never silence."""
    return answer.status == 101 or _client_error(answer)


# Sizes and counts around the limits HTTP parsers commonly set (8 KiB and 16 KiB for one line:
# websockets, h11 and others; 100 and 128 header lines): just under, exactly at and just over
# each, so that the failing probe names the side of the edge a server gets wrong.
HEADER_LINE_BYTES = (8191, 8192, 8193, 16383, 16384, 16385)
HEADER_COUNTS = (99, 100, 101, 127, 128, 129)
BASE_HEADER_COUNT = 5  # request() writes Host, Upgrade, Connection, version and key


def line_of(size: int) -> str:
    """A header line of exactly `size` bytes, its CRLF not counted."""
    name = "X-WsConform-Long: "
    return name + "x" * (size - len(name)) + "\r\n"


def headers_to(count: int) -> str:
    """Header lines that make a handshake of `count` lines in all."""
    return "".join(f"X-WsConform-{n}: {n}\r\n" for n in range(count - BASE_HEADER_COUNT))


def _refused_or_cleaned(header: str, forbidden: str) -> Callable[[Answer], bool]:
    """Refused with 400, or the app got the header with `forbidden` replaced."""

    def judge(answer: Answer) -> bool:
        if answer.status == 400:
            return True
        value = answer.app_header(header)
        return answer.status == 101 and value is not None and forbidden not in value

    return judge


def _refused_or_exactly(header: str, *allowed: str) -> Callable[[Answer], bool]:
    """Refused with a 4xx, or the app got the header once, with one of the `allowed` values:
    never split in two, cut short or otherwise altered."""

    def judge(answer: Answer) -> bool:
        if _client_error(answer):
            return True
        got = [name for name, _ in (answer.scope or {}).get("headers", [])]
        once = [name.lower() for name in got].count(header) == 1
        return answer.status == 101 and once and answer.app_header(header) in allowed

    return judge


PROBES = (
    UpgradeProbe(
        "upgrade.missing-key-refused",
        request(key=None),
        lambda answer: _client_error(answer),
    ),
    UpgradeProbe(
        "upgrade.unknown-version-refused",
        request(key=new_key(), version="12"),
        lambda answer: (
            _client_error(answer) and "13" in answer.headers.get("sec-websocket-version", "")
        ),
    ),
    UpgradeProbe(
        "upgrade.non-get-refused",
        request(key=new_key(), method="POST", extra="Content-Length: 0\r\n"),
        lambda answer: answer.status is not None and answer.status != 101,
    ),
    UpgradeProbe(
        "upgrade.space-before-colon-refused",
        request(key=new_key(), extra="X-WsConform-Space : value\r\n"),
        lambda answer: answer.status == 400,
    ),
    UpgradeProbe(
        "upgrade.nul-in-value-handled",
        request(key=new_key(), extra="X-WsConform-Nul: before\x00after\r\n"),
        _refused_or_cleaned("x-wsconform-nul", "\x00"),
    ),
    # RFC 9110 5.5: CR in a value is rejected or replaced with SP (MUST); a bare one, since a
    # CR LF pair would end the line.
    UpgradeProbe(
        "upgrade.cr-in-value-handled",
        request(key=new_key(), extra="X-WsConform-Cr: before\rafter\r\n"),
        _refused_or_exactly("x-wsconform-cr", "before after"),
    ),
    # RFC 9110 5.5: other control characters may be retained; the policy is that the value
    # reaches the app whole (as sent, or with SP for it) or not at all.
    UpgradeProbe(
        "upgrade.control-char-in-value-handled",
        request(key=new_key(), extra="X-WsConform-Vt: before\x0bafter\r\n"),
        _refused_or_exactly("x-wsconform-vt", "before\x0bafter", "before after"),
    ),
    UpgradeProbe(
        "upgrade.obs-fold-handled",
        request(key=new_key(), extra="X-WsConform-Fold: first\r\n  folded\r\n"),
        _refused_or_cleaned("x-wsconform-fold", "\n"),
    ),
    UpgradeProbe(
        "upgrade.long-header-answered",
        request(key=new_key(), extra=f"X-WsConform-Long: {'x' * LONG_HEADER_BYTES}\r\n"),
        _answered,
    ),
    *(
        UpgradeProbe(
            "upgrade.long-header-answered",
            request(key=new_key(), extra=line_of(size)),
            _answered,
            f"a {size}-byte header line",
        )
        for size in HEADER_LINE_BYTES
    ),
    *(
        UpgradeProbe(
            "upgrade.many-headers-answered",
            request(key=new_key(), extra=headers_to(count)),
            _answered,
            f"{count} header lines",
        )
        for count in HEADER_COUNTS
    ),
)


@dataclass(frozen=True)
class Refusal:
    """A handshake the app refuses (targets/raw_routes.py's Refusal), judged only for what the
    server then does with the connection, where `answered` tells that the refusal came."""

    check_id: str
    raw: bytes
    what: str
    answered: Callable[[Answer], bool]


REFUSALS = (
    Refusal(
        "upgrade.app-refusal-closes-as-announced",
        request(key=new_key(), path=f"{REFUSAL_ROUTE}/close"),
        "the app's close before accept",
        lambda answer: answer.status == 403,
    ),
    # A server that offers no denial extension gets the route's close instead: not this one.
    Refusal(
        "upgrade.denial-closes-as-announced",
        request(key=new_key(), path=f"{REFUSAL_ROUTE}/deny"),
        "the app's denial response",
        lambda answer: DENIAL_MARK in answer.headers,
    ),
)


def _closed_as_announced(answer: Answer, what: str, check_id: str) -> list[Judgement]:
    if answer.closed_as_announced is None:
        return []
    after = "ended" if answer.closed_as_announced else "was still open at the bound"
    return [
        Judgement(
            check_id,
            answer.closed_as_announced,
            f"{what}: HTTP {answer.status} with Connection: close; the connection {after}",
            cause="the connection stays open after a refusal announcing close",
        )
    ]


async def run_probes(endpoint: Endpoint) -> list[tuple[list[Judgement], dict[str, Any]]]:
    """Each bad handshake's judgement, with its replay (the request's bytes, the status), and
    for every refusal announcing close, whether the server closed."""
    results = []
    for probe in PROBES:
        answer = await send_handshake(endpoint, probe.raw)
        shown = probe.raw.split(b"\r\n", 1)[0] + b" ..."
        extra = [line for line in probe.raw.split(b"\r\n") if b"WsConform" in line]
        sent = probe.what or f"{[line[:60] for line in extra]!r}"
        judgement = deadline_only(
            Judgement(
                probe.check_id, probe.judge(answer), f"{shown!r} {sent}: {answer.describe()}"
            ),
            # No answer within the bound, the connection still open: no spec sets that deadline.
            waited=answer.status is None and not answer.ended_silently,
        )
        closed = _closed_as_announced(
            answer, f"{shown!r} {sent}", "upgrade.refusal-closes-as-announced"
        )
        judgements = [judgement, *closed]
        results.append((judgements, {"replay": _replay(probe.raw, answer)}))
    for refusal in REFUSALS:
        answer = await send_handshake(endpoint, refusal.raw)
        closed = _closed_as_announced(answer, refusal.what, refusal.check_id)
        if closed and refusal.answered(answer):  # nothing announced: nothing to judge
            results.append((closed, {"replay": _replay(refusal.raw, answer)}))
    return results


def _replay(raw: bytes, answer: Answer) -> dict[str, Any]:
    return {
        "request": base64.b64encode(raw).decode("ascii"),
        "writes": [],
        "expected": {"status": answer.status, "frames": []},
    }


# --- real clients' handshakes (conformance/data/client_handshakes.toml)
# ------------------------------------
# Polite handshakes, but not the suite's own: each recorded client's header names, order, case,
# token lists and extension offers, replayed byte for byte. One verdict per rule; the evidence
# names every client that breaks it.


@dataclass(frozen=True)
class ClientHandshake:
    """One client's opening handshake as the data file records it."""

    id: str
    release: str
    lines: tuple[str, ...]

    def request(self, endpoint: Endpoint) -> bytes:
        host, key = f"{endpoint.host}:{endpoint.port}", new_key()
        head = [
            f"GET {PATH} HTTP/1.1",
            *(line.replace("{host}", host).replace("{key}", key) for line in self.lines),
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    def offered_subprotocols(self) -> list[str]:
        """Every subprotocol offered, in order: 'a, b' and 'a,b' are two offers, and several
        Sec-WebSocket-Protocol lines are one list (RFC 6455 11.3.4, RFC 9110 5.3)."""
        offered = []
        for line in self.lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-protocol":
                offered += [token.strip() for token in value.split(",") if token.strip()]
        return offered


def load_client_handshakes(path: Path = CLIENT_HANDSHAKES) -> tuple[ClientHandshake, ...]:
    entries = read_toml(path)["client"]
    return tuple(
        ClientHandshake(entry["id"], entry["release"], tuple(entry["lines"])) for entry in entries
    )


@dataclass(frozen=True)
class Replayed:
    """One recorded handshake as sent (its bytes) and the server's answer."""

    client: ClientHandshake
    raw: bytes
    answer: Answer

    @property
    def subprotocols_seen(self) -> Any:
        return (self.answer.scope or {}).get("subprotocols")

    def replay(self) -> dict[str, Any]:
        return {
            "request": base64.b64encode(self.raw).decode("ascii"),
            "writes": [],
            "expected": {"status": self.answer.status, "frames": []},
        }


async def run_client_handshakes(
    endpoint: Endpoint,
) -> list[tuple[list[Judgement], dict[str, Any]]]:
    """Replay every recorded client handshake; judge that each is upgraded and that the app is
    offered every subprotocol the client sent. Each verdict's replay is its first failing
    client's request (else the first judged one)."""
    sent = []
    for client in load_client_handshakes():
        raw = client.request(endpoint)
        sent.append(Replayed(client, raw, await send_handshake(endpoint, raw)))
    refused = [one for one in sent if one.answer.status != 101]
    upgraded = Judgement(
        "upgrade.client-handshakes-upgraded",
        not refused,
        "; ".join(
            f"{one.client.id} ({one.client.release}): {one.answer.describe()}" for one in refused
        )
        or f"all {len(sent)} recorded client handshakes upgraded",
    )
    # Judged only on what was upgraded: a refusal is the other check's cause, counted there.
    offering = [
        one for one in sent if one.answer.status == 101 and one.client.offered_subprotocols()
    ]
    lost = [one for one in offering if one.subprotocols_seen != one.client.offered_subprotocols()]
    kept = Judgement(
        "upgrade.client-subprotocols-kept",
        not lost if offering else None,
        "; ".join(
            f"{one.client.id}: offered {one.client.offered_subprotocols()!r}, "
            f"the app got {one.subprotocols_seen!r}"
            for one in lost
        )
        or (
            f"{len(offering)} clients' offers reached the app whole"
            if offering
            else "no client offering subprotocols was upgraded"
        ),
    )
    return [
        ([upgraded], {"replay": (refused or sent)[0].replay()}),
        ([kept], {"replay": (lost or offering or sent)[0].replay()}),
    ]


# --- variations of them (strategies/handshakes.py) ---------------------------------------------
# What the RFCs make equivalent to a recorded handshake (name case, line order, Connection token
# order, case and extra tokens, the protocol offers over several lines, whitespace) must be
# treated like it: upgraded, the app offered the same subprotocols and handed the same fields.

# Hop-by-hop fields (RFC 9110 7.6.1) a server may consume; the variations change their tokens.
HOP_BY_HOP = frozenset({"connection", "upgrade"})


def field_tokens(fields: Any) -> dict[str, list[str]]:
    """Each field's list members over all its lines, in order, by lowercased name: what RFC
    9110 5.3 makes equal however the lines are split, cased or spaced."""
    tokens: dict[str, list[str]] = {}
    for name, value in fields:
        if name.lower() not in HOP_BY_HOP:
            members = [member.strip() for member in str(value).split(",")]
            tokens.setdefault(name.lower(), []).extend(member for member in members if member)
    return tokens


@dataclass(frozen=True)
class FieldLine:
    """A header line taken apart: `name:` then optional whitespace (SP or HTAB, RFC 9112 5.1)
    around the value. Placeholders ({host}, {key}) stay as written: no run data in it."""

    name: str
    before: str
    value: str
    after: str

    @classmethod
    def parse(cls, line: str) -> FieldLine:
        name, _, rest = line.partition(":")
        value = rest.strip(OWS_CHARS)
        before = rest[: len(rest) - len(rest.lstrip(OWS_CHARS))]
        return cls(name, before, value, rest[len(before) + len(value) :])

    def text(self) -> str:
        return f"{self.name}:{self.before}{self.value}{self.after}"


OWS_CHARS = " \t"
LIST_DELIMITER = re.compile(r"[ \t]*,[ \t]*")


def _with_field(lines: tuple[str, ...], field: str, **changed: str) -> tuple[str, ...]:
    """`lines` with every line of `field` (its name lowercased) changed as given."""
    parsed = [FieldLine.parse(line) for line in lines]
    return tuple(
        dataclasses.replace(one, **changed).text() if one.name.lower() == field else one.text()
        for one in parsed
    )


def _with_lines(lines: tuple[str, ...], name: str, new: list[str]) -> tuple[str, ...]:
    """`lines` with the lines of field `name` replaced by `new`, where the first of them was."""
    out: list[str] = []
    for line in lines:
        if FieldLine.parse(line).name.lower() != name:
            out.append(line)
        elif new:
            out, new = [*out, *new], []
    return tuple(out)


def _members(values: list[str]) -> list[str]:
    """A list field's members over all its lines, in order (RFC 9110 5.6.1)."""
    return [member for value in values for member in LIST_DELIMITER.split(value)]


def _delimiters(values: list[str]) -> set[str]:
    return {delimiter for value in values for delimiter in LIST_DELIMITER.findall(value)}


def _with_members(values: list[str], members: list[str]) -> list[str]:
    """A list field's line values with its members replaced, in order, by `members`; its lines
    and delimiters kept."""
    rest, out = iter(members), []
    for value in values:
        parts = re.split(f"({LIST_DELIMITER.pattern})", value)
        out.append(
            "".join(next(rest) if index % 2 == 0 else part for index, part in enumerate(parts))
        )
    return out


def _ows(space: str) -> str:
    return (
        "OWS " + " ".join("HTAB" if char == "\t" else "SP" for char in space) if space else "no OWS"
    )


def _list_changes(name: str, were: list[str], values: list[str]) -> dict[str, list[str]]:
    """Each change from a list field's line values `were` to `values`, alone: its name and the
    line values with only that change. The members are compared case-insensitively (the
    Connection and Upgrade tokens are, RFC 6455 4.2.1 items 3 and 4)."""
    sent, got = _members(were), _members(values)
    lowered = [member.lower() for member in sent]
    changes: dict[str, list[str]] = {}
    for member in got:
        if member.lower() not in lowered:
            changes[f"{member!r} added to the {name} list"] = [*were[:-1], f"{were[-1]}, {member}"]
        elif member not in sent:
            recased = sent[lowered.index(member.lower())]
            changes[f"the {name} member {recased!r} in another case"] = _with_members(
                were, [member if one == recased else one for one in sent]
            )
    order = [member.lower() for member in got if member.lower() in lowered]
    if sorted(order) == sorted(lowered) and order != lowered:
        changes[f"the {name} members in another order"] = _with_members(
            were, sorted(sent, key=lambda member: order.index(member.lower()))
        )
    for delimiter in sorted(_delimiters(values) - _delimiters(were)):
        changes[f"the {name} list delimited {delimiter!r}"] = [
            LIST_DELIMITER.sub(delimiter, value) for value in were
        ]
    sizes = [len(LIST_DELIMITER.split(value)) for value in values]
    if len(values) != len(were) and sum(sizes) == len(sent):
        # The split alone: the new lines delimited as the original was (any one of its own).
        delimiter = min(_delimiters(were), default=", ")
        cuts = [sum(sizes[:index]) for index in range(len(sizes) + 1)]
        changes[f"the {name} list over {len(values)} lines"] = [
            delimiter.join(sent[start:end]) for start, end in itertools.pairwise(cuts)
        ]
    return changes


def single_changes(
    original: tuple[str, ...], varied: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Each change `varied` makes to `original`, alone: what it is, named by the field and the
    kind of change (never by the client, never with run data), and the original lines with
    only that change made. The kinds are those strategies/handshakes.py draws: a name's case,
    the whitespace before or after a value, a list's members (case, order, added ones), its
    delimiters and lines, and the order of the lines."""
    mine: dict[str, list[FieldLine]] = {}
    theirs: dict[str, list[FieldLine]] = {}
    for lines, fields in ((original, mine), (varied, theirs)):
        for line in lines:
            one = FieldLine.parse(line)
            fields.setdefault(one.name.lower(), []).append(one)
    changes: dict[str, tuple[str, ...]] = {}
    for name, got in theirs.items():
        sent = mine.get(name)
        if not sent:
            continue
        for one in got:
            if one.name != sent[0].name:
                changes[f"the {name} name in another case"] = _with_field(
                    original, name, name=one.name
                )
            for side, space in (("before", one.before), ("after", one.after)):
                if space != getattr(sent[0], side):
                    changes[f"{_ows(space)} {side} the {name} value"] = _with_field(
                        original, name, **{side: space}
                    )
        were = [one.value for one in sent]
        for what, values in _list_changes(name, were, [one.value for one in got]).items():
            changes[what] = _with_lines(
                original, name, [f"{sent[0].name}: {value}" for value in values]
            )
    order = list(dict.fromkeys(FieldLine.parse(line).name.lower() for line in varied))
    if order != list(dict.fromkeys(mine)):
        rank = {name: index for index, name in enumerate(order)}
        changes["the field lines in another order"] = tuple(
            sorted(original, key=lambda line: rank.get(FieldLine.parse(line).name.lower(), -1))
        )
    return changes


async def refused_change(
    endpoint: Endpoint, original: ClientHandshake, varied: tuple[str, ...]
) -> str:
    """Why a variation was refused: the first change (by name) that alone, made to the recorded
    handshake, is refused too; else the recorded handshake itself, or the changes together."""
    for what, lines in sorted(single_changes(original.lines, varied).items()):
        one = ClientHandshake(original.id, original.release, lines)
        answer = await send_handshake(endpoint, one.request(endpoint))
        if answer.status != 101:
            return f"{what}: {answer.describe()}"
    answer = await send_handshake(endpoint, original.request(endpoint))
    if answer.status != 101:
        return f"{original.id}'s recorded handshake itself: {answer.describe()}"
    return "no single change, only the changes together, refused"


async def run_variation(
    endpoint: Endpoint, original: ClientHandshake, lines: tuple[str, ...]
) -> tuple[list[Judgement], dict[str, Any]]:
    """Replay one variation of `original`: is it upgraded, and does the app get what the client
    sent? The second is judged only after a 101 (a refusal is the first check's cause)."""
    client = ClientHandshake(original.id, original.release, lines)
    raw = client.request(endpoint)
    replayed = Replayed(client, raw, await send_handshake(endpoint, raw))
    answer = replayed.answer
    shown = f"{original.id} varied: {answer.describe()}"
    cause = None
    if answer.status != 101:
        # One cause per change a server refuses, however many clients' variations carry it.
        cause = await refused_change(endpoint, original, lines)
        shown += f" ({cause})"
    judgements = [
        Judgement("upgrade.client-variations-upgraded", answer.status == 101, shown, cause=cause)
    ]
    if answer.status == 101:
        sent_lines = raw.decode("latin-1").split("\r\n")[1:]
        sent = field_tokens(line.partition(":")[::2] for line in sent_lines if line)
        got = field_tokens((answer.scope or {}).get("headers", []))
        lost = {name: (members, got.get(name)) for name, members in sent.items()}
        lost = {name: pair for name, pair in lost.items() if pair[0] != pair[1]}
        offered = client.offered_subprotocols()
        problems = [
            f"{name}: sent {want!r}, the app got {had!r}" for name, (want, had) in lost.items()
        ]
        # The cause: what was altered, not which client's variation showed it.
        altered = [f"field {name} altered" for name in sorted(lost)]
        if replayed.subprotocols_seen != offered:
            problems.append(f"offered {offered!r}, the app got {replayed.subprotocols_seen!r}")
            altered.append("subprotocol offers altered")
        judgements.append(
            Judgement(
                "upgrade.client-variations-kept",
                not problems,
                f"{original.id} varied: " + ("; ".join(problems) or "every field and offer kept"),
                cause="; ".join(altered) or None,
            )
        )
    return judgements, {"replay": replayed.replay()}
