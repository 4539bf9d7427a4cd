"""The checks catalogue: one stable ID per requirement, its grade, the layer it judges and where it
comes from.

IDs are dotted by topic and never reused; reports, baselines and users' `--checks` filters all
refer to them. A check that is split or renamed keeps its old ID in `RETIRED`, so baselines and
`reports.compare` can say "renamed" instead of "new failure". A check is judged by the lifecycle
model (`conformance.engine.model`), which names the check in every judgement it makes.

Grades follow the source's own keyword: MUST where it says MUST/must, SHOULD where it says
should, INFO where it only defines a meaning (a best practice), POLICY where the rule is this
suite's own (each says why in its requirement).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Grade(enum.Enum):
    MUST = "MUST"  # a failure is `fail`
    SHOULD = "SHOULD"  # a failure is `non-strict`
    # The suite's own rule, no quoted requirement behind it: a failure is `non-strict`, and with
    # no baseline to compare with (a user's app) it is still a finding.
    POLICY = "policy"
    # A definition with no keyword, i.e. a best practice: `pass` where followed, `informational`
    # where not. Never a failure, but gated on change like every verdict.
    INFO = "informational"
    # A seed document's statement: `pass` where it holds, `informational` where it does not.
    CLAIM = "claim"


class Verdict(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NON_STRICT = "non-strict"
    INFORMATIONAL = "informational"
    UNIMPLEMENTED = "unimplemented"


class Layer(enum.Enum):
    """Who a verdict is about. A framework check is decided inside Starlette before the server
    sees a message, so on one Starlette release it is the same on every server."""

    FRAMEWORK = "framework"
    SERVER = "server"
    APP = "app"


@dataclass(frozen=True)
class Check:
    id: str
    grade: Grade
    title: str
    requirement: str  # what is required, paraphrased
    source: str  # where: document, section and its keyword
    layer: Layer
    # The ASGI www spec version that introduced the feature: on a server that advertises an
    # older one (scope["asgi"]["spec_version"], default "2.0") the check is `unimplemented`.
    since: str | None = None
    # The ASGI extension the feature belongs to: judged only where scope["extensions"] has it.
    extension: str | None = None


@dataclass(frozen=True)
class Fact:
    """What a client always sees in one case, whatever the server did: measured and shown (the
    frontend table), never a verdict, since no server can change it."""

    id: str
    title: str
    statement: str  # what holds, paraphrased
    source: str  # where: document and section
    # The checks that judge what the server itself did in this case (with the raw client).
    judged_by: tuple[str, ...]


WWW = "ASGI www spec 2.5"
CORE = "ASGI core spec"
DENIAL_EXTENSION = "websocket.http.response"
STARLETTE = "Starlette websockets.py, WebSocket state machine (raises RuntimeError)"

# Where a requirement comes from, as the catalogue's families cite it.
SCOPE_SPEC = f"{WWW}, 'Websocket Connection Scope'"
RFC6455 = "RFC 6455"
CLOSE_SEND = f"{WWW}, 'Close - send event'"
SEND_SEND = f"{WWW}, 'Send - send event'"
ACCEPT_SEND = f"{WWW}, 'Accept - send event'"
DISCONNECT_RECEIVE = f"{WWW}, 'Disconnect - receive event'"
WHATWG = "WHATWG WebSockets Standard"
SEEDS = "the seed documents' endpoint, as targets/reference.py specifies it"
REFERENCE = "the reference app's contract (targets/reference.py)"
