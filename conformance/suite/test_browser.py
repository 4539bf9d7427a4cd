"""What a page sees, beside the raw client, on every real server (`--client browser`;
`conformance/families/browser/probes.py`). Verdicts are reported under `<server>+browser`, a column
of its own
next to the server's; TestClient and the in-memory driver have no browser column (no socket a
page could open)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.browser import probes as browser
from wsconform.conformance.pytest_plugin import run_settings
from wsconform.targets.browser import Browser, browser_unavailable
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.network import SocketTransport

BROWSER_COLUMN = "{server}+browser"


@pytest.fixture
def page_browser(request: pytest.FixtureRequest, loop_runner: LoopRunner) -> Iterator[Browser]:
    if run_settings(request.config).client != "browser":
        pytest.skip("the browser client runs with --client browser")
    missing = browser_unavailable()
    if missing:
        pytest.skip(f"no browser client here: {missing}")
    chromium = Browser()
    loop_runner.run(chromium.start())
    try:
        yield chromium
    finally:
        loop_runner.run(chromium.close())


def test_what_the_page_sees(
    transport: Transport,
    page_browser: Browser,
    loop_runner: LoopRunner,
    recorder: ResultsRecorder,
    gate: Gate,
) -> None:
    if not isinstance(transport, SocketTransport):
        pytest.skip(f"{transport.name} has no socket a page could open: no browser column")
    column = BROWSER_COLUMN.format(server=transport.name)
    reproduce = f"tox -e suite -- --client browser --server {transport.name} -k test_browser"
    everything: list[Judgement] = []
    for probe in browser.BROWSER_PROBES:
        raw = loop_runner.run(browser.run_raw(transport, probe))
        page = loop_runner.run(browser.run_on_page(transport, page_browser, probe))
        shown = {**browser.evidence(probe, raw, page), "reproduce": reproduce}
        if probe.judge is None:
            assert probe.fact is not None
            recorder.add_fact(column, probe.fact, shown)  # shown, never judged
            continue
        judgements = probe.judge(page)
        everything += judgements
        recorder.add(column, judgements, partial(dict, shown))
    gate.settle(column, everything, "")
