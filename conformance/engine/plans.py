"""Connection plans: what a generated client does on one connection of a user's route (where it
connects, what it sends, how it leaves), and what it observed. The generic family makes and judges
them; a finding keeps its plan, so that a report and a repro script can replay it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wsconform.conformance.engine.vocabulary import ClientEvent, Headers


@dataclass(frozen=True)
class SendText:
    text: str

    def __str__(self) -> str:
        return f"send_text({self.text[:80]!r})"


@dataclass(frozen=True)
class SendBytes:
    data: bytes

    def __str__(self) -> str:
        return f"send_bytes({self.data[:40]!r})"


@dataclass(frozen=True)
class CloseWith:
    code: int | None
    reason: str = ""

    def __str__(self) -> str:
        return f"close({self.code}, {self.reason[:40]!r})"


@dataclass(frozen=True)
class Drop:
    def __str__(self) -> str:
        return "drop()  # TCP abort, no close frame"


ClientStep = SendText | SendBytes | CloseWith | Drop


@dataclass(frozen=True)
class ConnectionPlan:
    """One generated connection: where it goes, what it carries, what the client then does."""

    route: str
    target: str  # path and query string
    headers: Headers
    steps: tuple[ClientStep, ...]
    # What the route's own code should find in its path parameters: (name, convertor, value
    # put in the path), and the route's handler (module.qualname) to tell that it matched.
    path_values: tuple[tuple[str, str, str], ...] = ()
    handler: str | None = None

    def __repr__(self) -> str:
        headers = "".join(f"\n  header {name}: {value[:80]!r}" for name, value in self.headers)
        steps = "".join(f"\n  {step}" for step in self.steps)
        return f"connect {self.target!r}{headers}{steps}"


@dataclass
class Observation:
    seen: list[ClientEvent]
    app_errors: list[str]
    # How many events had arrived when the client sent its close: what follows is the
    # server's answer to it (which echoes the client's code), not the server's own doing.
    client_closed_at: int | None = None
    # The code and reason of that close (code None: a close without a code).
    client_close_code: int | None = None
    client_close_reason: str = ""
    # How many events had arrived when the client dropped the connection (no close frame).
    client_dropped_at: int | None = None
    # What the app was handed (targets/servers/handed.py); None where the app is not seen.
    handed: dict[str, Any] | None = None
    # The client's socket, (local, peer) as (host, port), where the server is handed that
    # very socket (no proxy in between); None otherwise.
    client_socket: tuple[tuple[str, int], tuple[str, int]] | None = None

    def before_client_close(self) -> list[ClientEvent]:
        return self.seen if self.client_closed_at is None else self.seen[: self.client_closed_at]


# --- several clients on one route --------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    """The client connects to one of the plan's rooms (the same room: the same path, query and
    headers as every other client that joins it)."""

    room: int

    def __str__(self) -> str:
        return f"joins room {self.room}"


@dataclass(frozen=True)
class Fails:
    """The client sends a message the route was seen to raise on, alone: its handler fails."""

    step: SendText | SendBytes

    def __str__(self) -> str:
        return f"makes its handler fail: {self.step}"


CrowdAction = Join | Fails | ClientStep


@dataclass(frozen=True)
class ClientDoes:
    client: int
    action: CrowdAction

    def __str__(self) -> str:
        return f"client {self.client} {self.action}"


@dataclass(frozen=True)
class CrowdPlan:
    """Several clients on one route: the rooms they may join (connections filled alike), then
    what each does, in order. Steps of a client that has not joined, or has left, are skipped:
    a shrunk plan has none left."""

    route: str
    rooms: tuple[tuple[str, Headers], ...]  # (path and query, headers) per room
    steps: tuple[ClientDoes, ...]

    @property
    def target(self) -> str:
        return self.rooms[0][0]

    @property
    def headers(self) -> Headers:
        return self.rooms[0][1]

    def clients(self) -> list[int]:
        return sorted({step.client for step in self.steps})

    def alone(self, client: int, until: int) -> CrowdPlan:
        """Only what `client` did, up to step `until` included: does it fail by itself?"""
        own = tuple(step for step in self.steps[: until + 1] if step.client == client)
        return CrowdPlan(self.route, self.rooms, own)

    def __repr__(self) -> str:
        rooms = "".join(
            f"\n  room {index}: {target!r}"
            + "".join(f" header {name}: {value[:80]!r}" for name, value in headers)
            for index, (target, headers) in enumerate(self.rooms)
        )
        steps = "".join(f"\n  {step}" for step in self.steps)
        return f"crowd on {self.route!r}{rooms}{steps}"
