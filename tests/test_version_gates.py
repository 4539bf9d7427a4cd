"""A feature is judged only where the server advertises the spec version that introduced it: the
reference contracts obey the advertised version as the lifecycle model does (a close reason is
ASGI www 2.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import Advertised, StepOutcome
from wsconform.conformance.families.browser import probes as browser
from wsconform.conformance.families.contracts import endpoints as contracts
from wsconform.targets import reference
from wsconform.targets.browser import PageEvent
from wsconform.targets.servers.base import Transport
from wsconform.targets.servers.inmemory import InMemoryTransport

Contract = Callable[[Transport], Awaitable[list[Judgement]]]


def reasons_dropped(app: ASGIApp, spec_version: str) -> ASGIApp:
    """A server advertising `spec_version` that sends every close without its reason (daphne,
    which advertises 2.0)."""

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await app(scope, receive, send)
            return

        async def send_without_reason(message: AsgiMessage) -> None:
            if message["type"] == "websocket.close":
                message = {key: value for key, value in message.items() if key != "reason"}
            await send(message)

        advertised = {**scope, "asgi": {**scope["asgi"], "spec_version": spec_version}}
        await app(advertised, receive, send_without_reason)

    return served


@pytest.mark.parametrize("contract", [contracts.custom_close, contracts.moderated])
@pytest.mark.parametrize(("spec_version", "ok"), [("2.0", True), ("2.3", False)])
def test_a_close_reason_is_judged_only_where_advertised(
    contract: Contract, spec_version: str, ok: bool, loop_runner: LoopRunner
) -> None:
    transport = InMemoryTransport(reasons_dropped(reference.app, spec_version))
    assert [j.ok for j in loop_runner.run(contract(transport))] == [ok]


def browser_judges() -> dict[str, browser.PageJudge]:
    return {
        probe.judge(browser.PageRun())[0].check_id: probe.judge
        for probe in browser.BROWSER_PROBES
        if probe.judge is not None
    }


@pytest.mark.parametrize(("spec_version", "ok"), [("2.0", True), ("2.3", False)])
def test_a_page_is_owed_the_close_reason_only_where_advertised(spec_version: str, ok: bool) -> None:
    seen = [PageEvent("open"), PageEvent("close", code=4001, reason="", was_clean=True)]
    run = browser.PageRun(seen=seen, advertised=Advertised(spec_version))
    judge = browser_judges()["browser.app-close-code-reaches-page"]
    assert [j.ok for j in judge(run)] == [ok]


@pytest.mark.parametrize(("spec_version", "ok"), [("2.4", True), ("2.5", False)])
def test_an_app_is_owed_the_pages_close_reason_only_where_advertised(
    spec_version: str, ok: bool
) -> None:
    heard = StepOutcome(value={"type": "websocket.disconnect", "code": 4000, "reason": ""})
    run = browser.PageRun(outcomes=[None, heard], advertised=Advertised(spec_version))
    judge = browser_judges()["browser.page-close-reaches-app"]
    assert [j.ok for j in judge(run)] == [ok]
