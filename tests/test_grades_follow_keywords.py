"""A check's grade follows its source's keyword: each check below was once graded above what
its source says (issue 27), and names the sentence that sets its grade now."""

from __future__ import annotations

import pytest
from wsconform.conformance.checks import CHECKS, RETIRED, Grade, Verdict
from wsconform.conformance.engine.model import LifecycleModel
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import (
    Accept,
    Accepted,
    Close,
    Closed,
    Connect,
    StepOutcome,
)
from wsconform.conformance.families.contracts import surface
from wsconform.targets.servers.inmemory import InMemoryTransport

from tests import broken_surface_apps

# check -> (grade, words of its source that set it)
GRADED_BY_KEYWORD = {
    "close.client-code-reaches-app": (Grade.INFO, "a definition"),
    "handshake.denial-response": (Grade.SHOULD, "should send the HTTP response"),
    "contract.surface.denial-response": (Grade.SHOULD, "should send the HTTP response"),
    "wire.failure-close-code": (Grade.SHOULD, "SHOULD send a Close frame"),
    "close.invalid-app-code-refused": (Grade.SHOULD, "MUST NOT be set in a Close frame"),
    "raw.accept-unoffered-subprotocol-refused": (Grade.SHOULD, "4.2.2"),
    "data.text-exact": (Grade.POLICY, "wsconform policy"),
    "data.bytes-exact": (Grade.POLICY, "wsconform policy"),
}


@pytest.mark.parametrize("check_id", sorted(GRADED_BY_KEYWORD))
def test_grade_follows_the_sources_keyword(check_id: str) -> None:
    grade, words = GRADED_BY_KEYWORD[check_id]
    check = CHECKS[check_id]
    assert (check.grade, words in check.source) == (grade, True)


def test_the_advertised_version_is_not_judged_twice() -> None:
    assert (
        "asgi.implements-advertised-version" in CHECKS,
        RETIRED.get("asgi.implements-advertised-version"),
    ) == (False, ())


def test_an_endpoint_losing_only_the_close_code_is_informational(loop_runner: LoopRunner) -> None:
    transport = InMemoryTransport(broken_surface_apps.endpoint_close_code_lost)
    judgements = loop_runner.run(surface.endpoint_class(transport))
    assert [j.verdict for j in judgements] == [Verdict.INFORMATIONAL]


@pytest.mark.parametrize(
    ("code", "level"), [(1006, None), (1005, None), (401, Grade.POLICY), (1004, Grade.POLICY)]
)
def test_a_relayed_invalid_code_is_a_should_only_where_a_keyword_forbids_it(
    code: int, level: Grade | None
) -> None:
    model = LifecycleModel()
    model.judge_client(Connect(), None, None)
    model.judge_server(Accept(), StepOutcome(), Accepted(subprotocol=None))
    judgements = model.judge_server(Close(code), StepOutcome(), Closed(code=code))
    refused = [j for j in judgements if j.check_id == "close.invalid-app-code-refused"]
    assert [(j.verdict, j.level) for j in refused] == [(Verdict.NON_STRICT, level)]
