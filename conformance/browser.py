"""What a page sees: each lifecycle outcome through a real browser, beside the raw socket client.

A browser hides most of what the other families grade: a refused handshake (403, 500, a close
before accept with 4401, a denial response) reaches page script as `error` then `close` 1006
with no reason, exactly like a network failure; only 1000 and 3000-4999 may be sent by a page.
Each probe here is one lifecycle, run twice on the same server: with the raw socket client (what
the other families see) and from a page in Chromium (`targets/browser.py`), so the report can
show both. The checks (`browser.*`) are graded informational — what the WHATWG WebSockets
standard and RFC 6455 define for the page, no requirement on the server — except the seed
claims re-judged from the page's side (`claim`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsconform.conformance.engine import PUPPET_ROUTE
from wsconform.conformance.model import Judgement
from wsconform.conformance.raw_asgi import (
    LONG_REASON,
    Briefly,
    Observe,
    ProbeItem,
    RawProbe,
    RawRun,
    close,
    run_probe,
)
from wsconform.conformance.vocabulary import (
    Accept,
    ClientAction,
    ClientClose,
    ClientDrop,
    Close,
    Connect,
    RaiseError,
    RawReceive,
    Return,
    SendDenialResponse,
    StepOutcome,
    jsonable,
)
from wsconform.targets.browser import Browser, PageEvent, PageSocket
from wsconform.targets.servers.base import EXPECT_BOUND_S
from wsconform.targets.servers.network import SocketTransport

_numbers = itertools.count(1)
# The page the socket is opened from: a plain HTTP route of the puppet app, so the page has the
# server's origin, as a frontend served by the same app has.
PAGE_PATH = "/_puppet/health"


@dataclass
class PageRun:
    """The browser's side of one probe: the app steps' outcomes and what the page saw."""

    outcomes: list[StepOutcome | None] = field(default_factory=list)
    seen: list[PageEvent] = field(default_factory=list)

    def first(self, kind: str) -> PageEvent | None:
        return next((event for event in self.seen if event.type == kind), None)

    @property
    def shown(self) -> str:
        return ", ".join(str(event) for event in self.seen) or "nothing"


PageJudge = Callable[[PageRun], list[Judgement]]


@dataclass(frozen=True)
class BrowserProbe:
    name: str
    outcome: str  # the lifecycle outcome, as the report's table names it
    program: tuple[ProbeItem, ...]
    judge: PageJudge


async def run_on_page(transport: SocketTransport, browser: Browser, probe: BrowserProbe) -> PageRun:
    session = f"browser-{probe.name}-{next(_numbers)}"
    control = transport.control
    run = PageRun()
    page: PageSocket | None = None
    try:
        for item in probe.program:
            if isinstance(item, Connect):
                origin = f"127.0.0.1:{transport.port}"
                page = await browser.open(
                    f"http://{origin}{PAGE_PATH}",
                    f"ws://{origin}{PUPPET_ROUTE}/{session}",
                    list(item.subprotocols),
                )
            elif isinstance(item, Observe):
                assert page is not None, f"{probe.name}: observe before connect"
                await page.next_event(EXPECT_BOUND_S)
            elif isinstance(item, ClientClose):
                assert page is not None and item.code is not None
                await page.close(item.code, item.reason)
            elif isinstance(item, ClientDrop):
                assert page is not None
                await page.navigate_away()
            elif isinstance(item, Briefly | ClientAction):
                raise TypeError(f"{probe.name}: a page cannot do {item!r}")
            else:
                index = await control.submit(session, item)
                run.outcomes.append(await control.outcome(session, index, EXPECT_BOUND_S))
    finally:
        await control.submit(session, Return())
        if page is not None:
            run.seen = list(page.seen)
            await page.release()
        await control.forget(session)
    return run


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


def _clean_close(run: PageRun) -> PageEvent | None:
    event = run.first("close")
    return event if event is not None and event.was_clean else None


def _visible_refusal(check_id: str, what: str) -> PageJudge:
    """A refusal the page can tell from a network failure: anything but error + unclean 1006."""

    def judge(run: PageRun) -> list[Judgement]:
        closed = run.first("close")
        hidden = closed is None or (closed.code == 1006 and not closed.was_clean)
        return [Judgement(check_id, not hidden, f"{what}: the page saw {run.shown}")]

    return judge


def _open_with_subprotocol(run: PageRun) -> list[Judgement]:
    opened = run.first("open")
    return [
        Judgement(
            "browser.open-with-subprotocol",
            opened is not None and opened.protocol == "chat.v2",
            f"offered chat.v1, chat.v2; the app accepted chat.v2: the page saw {run.shown}",
        )
    ]


def _app_close_code(run: PageRun) -> list[Judgement]:
    closed = _clean_close(run)
    return [
        Judgement(
            "browser.app-close-code-reaches-page",
            closed is not None and (closed.code, closed.reason) == (4001, "bye"),
            f"the app accepted, then closed 4001 'bye': the page saw {run.shown}",
        )
    ]


def _refusal_code(run: PageRun) -> list[Judgement]:
    closed = run.first("close")
    return [
        Judgement(
            "browser.claim.close-before-accept-code-reaches-page",
            closed is not None and closed.code == 4401,
            f"the app closed 4401 before accepting: the page saw {run.shown}",
        )
    ]


def _error_after_accept(run: PageRun) -> list[Judgement]:
    closed = _clean_close(run)
    return [
        Judgement(
            "browser.error-after-accept-is-1011",
            closed is not None and closed.code == 1011,
            f"the app raised after accepting: the page saw {run.shown}",
        )
    ]


def _long_reason(run: PageRun) -> list[Judgement]:
    closed = _clean_close(run)
    return [
        Judgement(
            "browser.long-reason-closes-cleanly",
            closed is not None,
            f"the app closed 4001 with a 200-byte reason: the page saw {run.shown}",
        )
    ]


def _invalid_code(run: PageRun) -> list[Judgement]:
    closed = _clean_close(run)
    return [
        Judgement(
            "browser.invalid-close-code-closes-cleanly",
            closed is not None,
            f"the app closed with 401 (not a code for the wire): the page saw {run.shown}",
        )
    ]


def _received(run: PageRun) -> dict[str, Any]:
    last = run.outcomes[-1] if run.outcomes else None
    return last.value if last is not None and isinstance(last.value, dict) else {}


def _page_close(run: PageRun) -> list[Judgement]:
    heard = _received(run)
    return [
        Judgement(
            "browser.page-close-reaches-app",
            heard.get("type") == "websocket.disconnect"
            and (heard.get("code"), heard.get("reason") or "") == (4000, "done"),
            f"the page closed 4000 'done': the app's receive -> {heard or run.outcomes[-1:]}",
        )
    ]


def _navigation(run: PageRun) -> list[Judgement]:
    heard = _received(run)
    return [
        Judgement(
            "browser.navigation-reaches-app",
            heard.get("type") == "websocket.disconnect",
            f"the page navigated away: the app's receive -> {heard or run.outcomes[-1:]}",
        )
    ]


BROWSER_PROBES: tuple[BrowserProbe, ...] = (
    BrowserProbe(
        "subprotocol",
        "accept with a subprotocol",
        (Connect(subprotocols=("chat.v1", "chat.v2")), Accept("chat.v2"), Observe()),
        _open_with_subprotocol,
    ),
    BrowserProbe(
        "app-close",
        "close after accept (4001, reason)",
        (Connect(), Accept(), Observe(), Close(4001, "bye"), Observe()),
        _app_close_code,
    ),
    BrowserProbe(
        "close-before-accept",
        "close before accept (4401)",
        (Connect(), Close(4401, "login again"), Observe(), Observe()),
        _refusal_code,
    ),
    BrowserProbe(
        "denial",
        "denial response (403 + body)",
        (Connect(), SendDenialResponse(403, b"denied"), Observe(), Observe()),
        _visible_refusal("browser.denial-reaches-page", "the app denied with 403 'denied'"),
    ),
    BrowserProbe(
        "error-before-accept",
        "exception before accept",
        (Connect(), RaiseError("before accept"), Observe(), Observe()),
        _visible_refusal("browser.error-before-accept-reaches-page", "the app raised early"),
    ),
    BrowserProbe(
        "error-after-accept",
        "exception after accept",
        (Connect(), Accept(), Observe(), RaiseError("after accept"), Observe()),
        _error_after_accept,
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
        _long_reason,
    ),
    BrowserProbe(
        "invalid-close-code",
        "close with an invalid code (401)",
        (Connect(), Accept(), Observe(), Close(401, "unauthorized"), Observe(), Observe()),
        _invalid_code,
    ),
    BrowserProbe(
        "page-close",
        "the page closes (4000, reason)",
        (Connect(), Accept(), Observe(), ClientClose(4000, "done"), RawReceive()),
        _page_close,
    ),
    BrowserProbe(
        "navigation",
        "the page navigates away",
        (Connect(), Accept(), Observe(), ClientDrop(), RawReceive()),
        _navigation,
    ),
)
