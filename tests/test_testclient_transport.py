"""TestClient can block forever; the transport must turn that into a bounded NoEvent and still
release every thread it started."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from importlib.machinery import ModuleSpec

import pytest
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner, run_actions
from wsconform.conformance.engine.vocabulary import (
    ClientEvent,
    Close,
    Closed,
    Connect,
    Denied,
    NoEvent,
    Return,
    SendDenialResponse,
    ServerStep,
)
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import Transport


@pytest.fixture(scope="module")
def testclient(loop_runner: LoopRunner) -> Iterator[Transport]:
    with all_transports()["testclient"].serve(PUPPET_APP) as transport:
        yield transport
        loop_runner.run(transport.aclose())


def _client_events(
    transport: Transport, runner: LoopRunner, *steps: ServerStep
) -> list[ClientEvent]:
    session = runner.run(run_actions(transport, [Connect(), *steps], "testclient"))
    return [line.event for line in session.transcript if line.event is not None]


def _testclient_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("testclient")}


def test_return_before_accept_is_a_bounded_no_event(
    testclient: Transport, loop_runner: LoopRunner
) -> None:
    before = _testclient_threads()
    events = _client_events(testclient, loop_runner, Return())
    for thread in _testclient_threads() - before:
        thread.join(5.0)
    assert (events, _testclient_threads() - before) == ([NoEvent(after_s=2.0)], set())


def test_close_before_accept_is_reported_as_testclient_sees_it(
    testclient: Transport, loop_runner: LoopRunner
) -> None:
    events = _client_events(testclient, loop_runner, Close(4003, "no"))
    assert events == [Closed(code=4003, reason="no", close_frame_seen=False)]


def test_denial_response_keeps_its_status_and_body(
    testclient: Transport, loop_runner: LoopRunner
) -> None:
    events = _client_events(testclient, loop_runner, SendDenialResponse(451, b"legal"))
    [denied] = events
    assert isinstance(denied, Denied)
    assert (denied.status, denied.body) == (451, b"legal")
    assert ("content-type", "text/plain; charset=utf-8") in denied.headers


def test_without_its_http_client_the_transport_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """This Starlette's TestClient looks for httpx2, which wsconform does not require (issue 25):
    where it is not installed, the transport is skipped with what to install, before any import
    of starlette.testclient (whose httpx fallback warns, an error under `filterwarnings`)."""
    find_spec = importlib.util.find_spec

    def without_httpx2(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "httpx2" else find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_httpx2)
    reason = all_transports()["testclient"].unavailable_reason()
    assert reason is not None and reason.startswith("not usable here: install httpx2"), reason
