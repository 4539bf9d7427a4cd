"""A check's grade follows its source's keyword: each check below was once graded above what
its source says (issue 27), and names the sentence that sets its grade now."""

from __future__ import annotations

import re

import pytest
from wsconform.conformance.checks import CATALOGUE, CHECKS, RETIRED, Grade, Verdict
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
    "data.json-exact": (Grade.POLICY, "wsconform policy"),
    "wire.keepalive-pings-sent": (Grade.SHOULD, "should send PING frames"),
    "close.wire-code-valid": (Grade.MUST, "MUST NOT set 1005/1006/1015"),
    "disconnect.receive-after-client-close": (Grade.SHOULD, "the other should end too"),
    "disconnect.drop-reaches-app": (Grade.SHOULD, "the other should end too"),
    "disconnect.drop-code-1006": (Grade.INFO, "definition of 1006"),
    "disconnect.send-after-client-gone": (Grade.SHOULD, "(2.4, should)"),
    "contract.welcome": (Grade.POLICY, "wsconform policy"),
    "contract.moderated": (Grade.POLICY, "wsconform policy"),
    "contract.surface.mounted-app": (Grade.POLICY, "wsconform policy"),
    "contract.surface.http-exception-before-accept": (Grade.SHOULD, "should send the HTTP"),
    "order.duplicate-accept": (Grade.POLICY, "wsconform policy"),
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


# A citation: a section (a number such as 7.4.1, or a quoted title) and, in the same clause, the
# keyword that sets the grade.
SECTION = re.compile(r"\b\d+(?:\.\d+)+\b|'[^']+'")
KEYWORDS = {
    Grade.MUST: re.compile(r"\b(?:MUST|must|SHALL|shall)\b"),
    Grade.SHOULD: re.compile(r"\b(?:SHOULD|should|RECOMMENDED)\b"),
}


def cites_its_keyword(source: str, grade: Grade) -> bool:
    return any(
        SECTION.search(clause) and KEYWORDS[grade].search(clause) for clause in source.split(";")
    )


@pytest.mark.parametrize(
    ("source", "grade", "cited"),
    [
        ("RFC 6455 7.4.1: an endpoint MUST NOT set 1005", Grade.MUST, True),
        ("ASGI www spec, 'Close - send event': the server must close with 403", Grade.MUST, True),
        ("Starlette docs, 'Routing - Path Parameters'", Grade.MUST, False),  # no keyword
        ("the route's contract: it must echo", Grade.MUST, False),  # no section
        ("RFC 6455 7.1.7 (definitions); the endpoint SHOULD close", Grade.SHOULD, False),
        ("RFC 6455 7.1.7: the endpoint SHOULD close", Grade.MUST, False),  # a weaker keyword
    ],
)
def test_a_citation_is_a_section_with_its_keyword(source: str, grade: Grade, cited: bool) -> None:
    assert cites_its_keyword(source, grade) is cited


@pytest.mark.parametrize(
    "check_id", sorted(c.id for c in CATALOGUE if c.grade in (Grade.MUST, Grade.SHOULD))
)
def test_a_must_or_should_check_cites_the_section_that_sets_its_grade(check_id: str) -> None:
    """A failure at MUST or SHOULD is defended by its source's own sentence: no check is graded
    so without one (policy and informational checks say why they are not)."""
    check = CHECKS[check_id]
    assert cites_its_keyword(check.source, check.grade), check.source
