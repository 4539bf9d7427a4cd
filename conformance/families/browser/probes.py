"""What a page sees: each lifecycle outcome through a real browser, beside the raw socket client.

A browser hides most of what the other families grade: a refused handshake (403, 500, a close
before accept with 4401, a denial response) reaches page script as `error` then `close` 1006
with no reason, exactly like a network failure; only 1000 and 3000-4999 may be sent by a page.
Each probe here is one lifecycle, run twice on the same server: with the raw socket client (what
the other families see) and from a page in Chromium (`targets/browser.py`), so the report can
show both. The checks (`browser.*`) are graded informational — what the WHATWG WebSockets
standard and RFC 6455 define for the page, no requirement on the server. Where no server can
change what the page sees (every refused handshake is a network failure to script), the probe
still runs for the table but is a documented fact (`browser.fact.*`), never a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.probes import (
    LONG_REASON,
    Observe,
    ProbeClient,
    ProbeItem,
    RawProbe,
    RawRun,
    close,
    play,
    run_probe,
)
from wsconform.conformance.engine.sessions import advertised_by
from wsconform.conformance.engine.vocabulary import (
    LATEST_SPEC,
    Accept,
    Advertised,
    ClientAction,
    ClientClose,
    ClientDrop,
    Close,
    Connect,
    RaiseError,
    RawReceive,
    SendDenialResponse,
    StepOutcome,
    jsonable,
)
from wsconform.targets.browser import Browser, PageEvent, PageSocket
from wsconform.targets.servers.base import EXPECT_BOUND_S, REPLY_BOUND_S
from wsconform.targets.servers.network import SocketTransport

# The page the socket is opened from: a plain HTTP route of the puppet app, so the page has the
# server's origin, as a frontend served by the same app has.
PAGE_PATH = "/_puppet/health"


@dataclass
class PageRun:
    """The browser's side of one probe: the app steps' outcomes and what the page saw."""

    outcomes: list[StepOutcome | None] = field(default_factory=list)
    seen: list[PageEvent] = field(default_factory=list)
    # What the server advertises: a close reason is judged only from the version that has it.
    advertised: Advertised = LATEST_SPEC

    def first(self, kind: str) -> PageEvent | None:
        return next((event for event in self.seen if event.type == kind), None)

    @property
    def shown(self) -> str:
        return ", ".join(str(event) for event in self.seen) or "nothing"


PageJudge = Callable[[PageRun], list[Judgement]]


@dataclass(frozen=True)
class BrowserProbe:
    """A lifecycle run on a page: judged by `judge`, or, where no server can change what the
    page sees, shown as the fact `fact` (catalogue.BROWSER_FACTS) and judged by nothing."""

    name: str
    outcome: str  # the lifecycle outcome, as the report's table names it
    program: tuple[ProbeItem, ...]
    judge: PageJudge | None = None
    fact: str | None = None

    def __post_init__(self) -> None:
        if (self.judge is None) == (self.fact is None):
            raise ValueError(f"browser probe {self.name}: a judge or a fact, exactly one")


@dataclass
class _PageClient:
    """A page as a probe's client: it can close with a code or navigate away."""

    page: PageSocket

    async def observe(self) -> None:
        # A page's socket always reports a first event (open, or error and close): its absence
        # says only that a busy machine (Chromium beside eight workers) is slow, so it gets
        # the reply bound, which costs time only where it never comes. Later events may
        # rightly never come (a close the server does not send) and keep the shorter bound.
        await self.page.next_event(EXPECT_BOUND_S if self.page.seen else REPLY_BOUND_S)

    async def act(self, action: ClientAction) -> None:
        if isinstance(action, ClientClose) and action.code is not None:
            await self.page.close(action.code, action.reason)
        elif isinstance(action, ClientDrop):
            await self.page.navigate_away()
        else:
            raise TypeError(f"a page's script cannot do {action!r}")

    async def release(self) -> None:
        await self.page.release()


async def run_on_page(transport: SocketTransport, browser: Browser, probe: BrowserProbe) -> PageRun:
    endpoint = transport.endpoint
    pages: list[PageSocket] = []

    async def open_page(path: str, connect: Connect) -> ProbeClient:
        page = await browser.open(
            endpoint.url("http", PAGE_PATH), endpoint.url("ws", path), list(connect.subprotocols)
        )
        pages.append(page)
        return _PageClient(page)

    outcomes = await play(transport, probe.program, f"browser-{probe.name}", open_page)
    return PageRun(
        [outcome for _, outcome in outcomes],
        [e for page in pages for e in page.seen],
        await advertised_by(transport),
    )


async def run_raw(transport: SocketTransport, probe: BrowserProbe) -> RawRun:
    """The same lifecycle with the raw socket client, for the side-by-side."""
    raw, _ = await run_probe(transport, RawProbe(probe.name, probe.program, lambda run: []))
    return raw


def evidence(probe: BrowserProbe, raw: RawRun, page: PageRun) -> dict[str, Any]:
    return {
        "source": f"browser probe {probe.name}",
        "outcome": probe.outcome,
        "raw_client_saw": [jsonable(event) for event in raw.events],
        "raw_app_outcomes": [None if o is None else jsonable(o) for _, o in raw.outcomes],
        "page_saw": [str(event) for event in page.seen],
        "app_outcomes": [None if o is None else jsonable(o) for o in page.outcomes],
    }


# --- the judges ---------------------------------------------------------------------------------


def _received(run: PageRun) -> dict[str, Any]:
    last = run.outcomes[-1] if run.outcomes else None
    return last.value if last is not None and isinstance(last.value, dict) else {}


def page_judge(check_id: str, what: str, holds: Callable[[PageRun], bool]) -> PageJudge:
    """One check on what the page saw after `what` the app or the page did."""

    def judge(run: PageRun) -> list[Judgement]:
        return [Judgement(check_id, holds(run), f"{what}: the page saw {run.shown}")]

    return judge


def app_judge(
    check_id: str, what: str, holds: Callable[[dict[str, Any], Advertised], bool]
) -> PageJudge:
    """One check on what the app's last receive returned after `what` the page did."""

    def judge(run: PageRun) -> list[Judgement]:
        heard = _received(run)
        detail = f"{what}: the app's receive -> {heard or run.outcomes[-1:]}"
        return [Judgement(check_id, holds(heard, run.advertised), detail)]

    return judge


def _reason_if(advertised: Advertised, since: str, reason: str) -> str | None:
    """The close reason to hold a server to: none below the spec version that introduced it."""
    return reason if advertised.at_least(since) else None


def _shows(run: PageRun, kind: str, **wanted: Any) -> bool:
    event = run.first(kind)
    return event is not None and all(
        getattr(event, name) == value for name, value in wanted.items()
    )


def _closes_with(run: PageRun, *codes: int) -> bool:
    """The page's close event carries one of `codes` (any the server sent, if none given), not
    the browser's 1006 for a failed connection. Not wasClean: whether the server ends TCP before
    or after the browser's own close is a race that says nothing of what script can read."""
    closed = run.first("close")
    if closed is None or closed.code == 1006:
        return False
    return not codes or closed.code in codes


def _disconnected(
    heard: dict[str, Any], code: int | None = None, reason: str | None = None
) -> bool:
    """The app heard a disconnect (with `code`, and `reason` unless None, where given)."""
    if heard.get("type") != "websocket.disconnect":
        return False
    return (code is None or heard.get("code") == code) and (
        reason is None or (heard.get("reason") or "") == reason
    )


BROWSER_PROBES: tuple[BrowserProbe, ...] = (
    BrowserProbe(
        "subprotocol",
        "accept with a subprotocol",
        (Connect(subprotocols=("chat.v1", "chat.v2")), Accept("chat.v2"), Observe()),
        judge=page_judge(
            "browser.open-with-subprotocol",
            "offered chat.v1, chat.v2; the app accepted chat.v2",
            lambda run: _shows(run, "open", protocol="chat.v2"),
        ),
    ),
    BrowserProbe(
        "app-close",
        "close after accept (4001, reason)",
        (Connect(), Accept(), Observe(), Close(4001, "bye"), Observe()),
        judge=page_judge(
            "browser.app-close-code-reaches-page",
            "the app accepted, then closed 4001 'bye' (the reason judged from ASGI 2.3)",
            lambda run: (
                _closes_with(run, 4001)
                and (
                    _reason_if(run.advertised, "2.3", "bye") is None
                    or _shows(run, "close", reason="bye")
                )
            ),
        ),
    ),
    BrowserProbe(
        "close-before-accept",
        "close before accept (4401)",
        (Connect(), Close(4401, "login again"), Observe(), Observe()),
        fact="browser.fact.close-before-accept-hidden",
    ),
    BrowserProbe(
        "denial",
        "denial response (403 + body)",
        (Connect(), SendDenialResponse(403, b"denied"), Observe(), Observe()),
        fact="browser.fact.denial-hidden",
    ),
    BrowserProbe(
        "error-before-accept",
        "exception before accept",
        (Connect(), RaiseError("before accept"), Observe(), Observe()),
        fact="browser.fact.error-before-accept-hidden",
    ),
    BrowserProbe(
        "error-after-accept",
        "exception after accept",
        (Connect(), Accept(), Observe(), RaiseError("after accept"), Observe()),
        judge=page_judge(
            "browser.error-after-accept-is-1011",
            "the app raised after accepting",
            lambda run: _closes_with(run, 1011),
        ),
    ),
    BrowserProbe(
        "long-reason",
        "close reason over 123 bytes",
        (
            Connect(),
            Accept(),
            Observe(),
            close(code=4001, reason=LONG_REASON),
            Observe(),
            Observe(),
        ),
        judge=page_judge(
            "browser.long-reason-close-reaches-page",
            "the app closed 4001 with a 200-byte reason",
            lambda run: _closes_with(run, 4001),
        ),
    ),
    BrowserProbe(
        "invalid-close-code",
        "close with an invalid code (401)",
        (Connect(), Accept(), Observe(), Close(401, "unauthorized"), Observe(), Observe()),
        judge=page_judge(
            "browser.invalid-close-code-reaches-page",
            "the app closed with 401 (not a code for the wire)",
            _closes_with,
        ),
    ),
    BrowserProbe(
        "page-close",
        "the page closes (4000, reason)",
        (Connect(), Accept(), Observe(), ClientClose(4000, "done"), RawReceive()),
        judge=app_judge(
            "browser.page-close-reaches-app",
            "the page closed 4000 'done' (the reason judged from ASGI 2.5)",
            lambda heard, advertised: _disconnected(
                heard, 4000, _reason_if(advertised, "2.5", "done")
            ),
        ),
    ),
    BrowserProbe(
        "navigation",
        "the page navigates away",
        (Connect(), Accept(), Observe(), ClientDrop(), RawReceive()),
        judge=app_judge(
            "browser.navigation-reaches-app",
            "the page navigated away",
            lambda heard, advertised: _disconnected(heard),
        ),
    ),
)
