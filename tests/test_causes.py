"""One cause, one failure: a behaviour failing several checks is one cause, the same whatever
data the run generated, and the report counts it once."""

from __future__ import annotations

from typing import Any

from wsconform.conformance.engine.judgements import (
    ACCEPT_HEADERS_NOT_SENT,
    Judgement,
    app_raised,
    observation_key,
)
from wsconform.conformance.engine.model import LifecycleModel
from wsconform.conformance.engine.results import ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Accepted,
    Advertised,
    Close,
    Closed,
    Connect,
    StepOutcome,
)
from wsconform.conformance.families.contracts import surface
from wsconform.reports.html import ReportInputs, build_index
from wsconform.reports.summary import markdown
from wsconform.targets import reference
from wsconform.targets.servers.inmemory import InMemoryTransport

from tests.broken_targets import Rewriting, when


def _failures(judgements: list[Judgement]) -> dict[str, str | None]:
    return {j.check_id: j.failure_cause for j in judgements if j.ok is False}


def _accept_with_headers_dropped(advertised: str) -> list[Judgement]:
    """The model's judgements of an accept whose headers never reach the 101 (granian)."""
    model = LifecycleModel(advertised=Advertised(advertised, ()))
    model.judge_client(Connect(), None, None)
    return model.judge_server(Accept(headers=(("x-a", "1"),)), StepOutcome(), Accepted(None, ()))


def test_accept_headers_dropped_is_one_cause_for_every_check_it_fails(
    loop_runner: LoopRunner,
) -> None:
    # Like granian: the 101 has the server's own headers, none of the app's.
    own_only = [(b"server", b"broken")]
    dropping = Rewriting(
        reference.app,
        to_client=when("websocket.accept", lambda message: {**message, "headers": own_only}),
        to_app=lambda message: message,
    )
    mounted = loop_runner.run(surface.mounted_app(InMemoryTransport(dropping)))
    judged = [*_accept_with_headers_dropped("2.3"), *mounted]
    causes = _failures(judged)
    assert sorted(causes) == ["contract.surface.mounted-app", "handshake.accept-headers"]
    assert len(set(causes.values())) == 1


def test_the_summary_counts_a_cause_once_and_lists_the_checks_it_fails() -> None:
    recorder = ResultsRecorder()
    mounted = Judgement(
        "contract.surface.mounted-app", False, "no x-a header", cause=ACCEPT_HEADERS_NOT_SENT
    )
    recorder.add("granian", [*_accept_with_headers_dropped("2.3"), mounted], dict)
    index = build_index(ReportInputs(recorder.to_json()))
    summary = markdown(index)
    assert [(entry["server"], entry["checks"]) for entry in index["causes"]] == [
        ("granian", ["contract.surface.mounted-app", "handshake.accept-headers"])
    ]
    assert "**Causes of failures:** 1 (`granian` 1) behind 2 failing verdicts" in summary


def test_a_close_code_replaced_is_one_cause_whatever_code_the_app_chose() -> None:
    def closed(code: int, seen: Closed) -> dict[str, str | None]:
        model = LifecycleModel()
        model.judge_client(Connect(), None, None)
        model.judge_server(Accept(), StepOutcome(), Accepted(None))
        return _failures(model.judge_server(Close(code, ""), StepOutcome(), seen))

    first, second = closed(4001, Closed(1000)), closed(3999, Closed(1000))
    other = closed(4001, Closed(None))
    assert list(first) == ["close.code-delivered"]
    assert first == second and other != first


def test_an_observation_key_leaves_out_what_differs_from_run_to_run() -> None:
    def denied(date: str, port: int, took: float) -> str:
        headers: Any = (("date", date), ("x-port", str(port)))
        return f"client saw Denied(status=403, body=b'', headers={headers!r}) on {port} in {took}"

    assert observation_key(denied("Wed, 02 Dec", 41234, 2.01)) == observation_key(
        denied("Thu, 03 Dec", 39999, 1.98)
    )
    assert observation_key("client saw Closed(code=1011)") != observation_key(
        "client saw Closed(code=1000)"
    )


def test_an_app_error_is_one_cause_wherever_its_line_moved() -> None:
    """A baseline's cause names the exception, the file and the function that raised it: an
    edit that moves the raising line (above it, in the same file) is not a new cause; another
    function or exception type is."""

    def error(line: int, function: str = "watched_send", kind: str = "RuntimeError") -> str:
        return f"websocket /ws: {kind} at targets/servers/witness.py:{line} in {function}: gone"

    assert app_raised([error(400)]) == app_raised([error(422)])
    assert (
        app_raised([error(400)])
        == "the app raised RuntimeError at targets/servers/witness.py in watched_send"
    )
    assert app_raised([error(400)]) != app_raised([error(400, function="relay")])
    assert app_raised([error(400)]) != app_raised([error(400, kind="KeyError")])
