"""The browser client: a page in Chromium reports what it sees, also on a deliberately broken
server, and each browser check fails on what a page sees from a server that gets it wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from wsconform.conformance.checks import CHECKS, FACTS, RETIRED
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import StepOutcome
from wsconform.conformance.families.browser import probes as browser
from wsconform.conformance.families.browser.catalogue import BROWSER_CHECKS
from wsconform.reports.frontend import frontend_table
from wsconform.reports.merge import merge
from wsconform.targets.browser import Browser, PageEvent, browser_unavailable
from wsconform.targets.raw_routes import WIRE_ECHO_ROUTE

from tests.wire_servers import PAGE_PATH, Flaw, serving

needs_chromium = pytest.mark.skipif(
    browser_unavailable() is not None, reason=f"no browser client: {browser_unavailable()}"
)


@pytest.fixture
def chromium(loop_runner: LoopRunner) -> Iterator[Browser]:
    started = Browser()
    loop_runner.run(started.start())
    try:
        yield started
    finally:
        loop_runner.run(started.close())


async def echo_then_close(chromium: Browser, flaw: Flaw) -> list[str]:
    async with serving(flaw) as port:
        page = await chromium.open(
            f"http://127.0.0.1:{port}{PAGE_PATH}", f"ws://127.0.0.1:{port}{WIRE_ECHO_ROUTE}", []
        )
        await page.next_event(2.0)  # open
        await page.send_text("hello")
        await page.next_event(2.0)  # the echo
        await page.close(1000, "bye")
        await page.until("close", 2.0)
        seen = [str(event) for event in page.seen]
        await page.release()
    return seen


@pytest.mark.slow
@needs_chromium
def test_the_page_reports_a_clean_close(chromium: Browser, loop_runner: LoopRunner) -> None:
    assert loop_runner.run(echo_then_close(chromium, Flaw.NONE)) == [
        "open(protocol='')",
        "message('hello')",
        "close(code=1000, reason='', wasClean=True)",  # the echo server answers the code alone
    ]


@pytest.mark.slow
@needs_chromium
def test_a_server_without_a_close_frame_is_an_unclean_1006_to_the_page(
    chromium: Browser, loop_runner: LoopRunner
) -> None:
    assert loop_runner.run(echo_then_close(chromium, Flaw.NO_CLOSE_FRAME)) == [
        "open(protocol='')",
        "message('hello')",
        "close(code=1006, reason='', wasClean=False)",
    ]


# What a page sees from a server that gets each outcome right, and from one that gets it wrong
# (as real servers do: uvicorn-sansio drops the connection on an app error after accept, granian
# puts a 202-byte close frame on the wire, a close-before-accept is a 403 everywhere).
OPENED = PageEvent("open", protocol="chat.v2")
CLEAN_4001 = PageEvent("close", code=4001, reason="bye", was_clean=True)
FAILED = PageEvent("close", code=1006, was_clean=False)
DISCONNECT_4000 = StepOutcome(
    value={"type": "websocket.disconnect", "code": 4000, "reason": "done"}
)
RIGHT_AND_WRONG: dict[str, tuple[browser.PageRun, browser.PageRun]] = {
    "browser.open-with-subprotocol": (
        browser.PageRun(seen=[OPENED]),
        browser.PageRun(seen=[PageEvent("open", protocol="")]),
    ),
    "browser.app-close-code-reaches-page": (
        browser.PageRun(seen=[OPENED, CLEAN_4001]),
        browser.PageRun(seen=[OPENED, PageEvent("close", code=1000, was_clean=True)]),
    ),
    "browser.error-after-accept-is-1011": (
        browser.PageRun(seen=[OPENED, PageEvent("close", code=1011, was_clean=True)]),
        browser.PageRun(seen=[OPENED, PageEvent("error"), FAILED]),
    ),
    "browser.long-reason-close-reaches-page": (
        browser.PageRun(seen=[OPENED, PageEvent("close", code=4001, was_clean=False)]),
        browser.PageRun(seen=[OPENED, PageEvent("error"), FAILED]),
    ),
    "browser.invalid-close-code-reaches-page": (
        browser.PageRun(seen=[OPENED, PageEvent("close", code=1011, was_clean=True)]),
        browser.PageRun(seen=[OPENED, PageEvent("error"), FAILED]),
    ),
    "browser.page-close-reaches-app": (
        browser.PageRun(outcomes=[None, DISCONNECT_4000], seen=[OPENED]),
        browser.PageRun(outcomes=[None, None], seen=[OPENED]),
    ),
    "browser.navigation-reaches-app": (
        browser.PageRun(outcomes=[None, DISCONNECT_4000], seen=[OPENED]),
        browser.PageRun(outcomes=[None, StepOutcome(exc_type="TimeoutError")], seen=[OPENED]),
    ),
}
# Each probe's judge names its one check, whatever the page saw.
JUDGES = {
    probe.judge(browser.PageRun())[0].check_id: probe.judge
    for probe in browser.BROWSER_PROBES
    if probe.judge is not None
}


def test_every_browser_check_has_a_probe_and_a_wrong_page() -> None:
    assert set(RIGHT_AND_WRONG) == {check.id for check in BROWSER_CHECKS} == set(JUDGES)


@pytest.mark.parametrize("check_id", sorted(RIGHT_AND_WRONG))
def test_browser_check_passes_right_and_fails_wrong(check_id: str) -> None:
    right, wrong = RIGHT_AND_WRONG[check_id]
    judge = JUDGES[check_id]
    assert [j.ok for j in judge(right)] == [True]
    assert [j.ok for j in judge(wrong)] == [False]


# --- what a page can never see: facts, not checks ----------------------------------------------

NEVER_PASSING = (
    "browser.denial-reaches-page",
    "browser.error-before-accept-reaches-page",
    "browser.claim.close-before-accept-code-reaches-page",
)


def test_what_no_server_can_show_a_page_is_a_fact_not_a_check() -> None:
    """A page cannot read a refused handshake's status, body or code (WHATWG): such checks
    could pass on no server. Their probes still run, each showing a fact of the catalogue."""
    facts = {probe.outcome: probe.fact for probe in browser.BROWSER_PROBES if probe.fact}
    assert (
        [check_id in CHECKS or RETIRED.get(check_id) != () for check_id in NEVER_PASSING],
        sorted(facts.values()),
    ) == ([False] * 3, sorted(fact.id for fact in FACTS))


def test_a_probe_is_judged_or_a_fact_never_both() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        browser.BrowserProbe("both", "both", (), judge=lambda run: [], fact="browser.fact.x")


def test_a_facts_observation_reaches_the_frontend_table_unjudged() -> None:
    recorder = ResultsRecorder()
    outcome = "denial response (403 + body)"
    evidence = {"outcome": outcome, "page_saw": ["error", "close 1006"]}
    recorder.add_fact("granian+browser", "browser.fact.denial-hidden", evidence)
    written = recorder.to_json()
    table = frontend_table(written["results"], written["facts"])
    assert (written["results"], table.facts, table.cells[(outcome, "granian")]) == (
        [],
        {outcome: "browser.fact.denial-hidden"},
        ("nothing", "error, close 1006"),
    )


def test_merged_runs_keep_their_facts() -> None:
    recorder = ResultsRecorder()
    recorder.add_fact("daphne+browser", "browser.fact.denial-hidden", {"outcome": "denial"})
    run = recorder.to_json()
    assert merge([run, {**run, "facts": []}])["facts"] == run["facts"]
