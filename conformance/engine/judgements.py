"""A judgement: one check's outcome on one observation, and the verdict it counts as by the
grade the catalogue gives the check. Every family's judges return these; results and the gate
read them.

A failed judgement also names its *cause*: what the server was seen to do, as a stable key, so
that one behaviour failing several checks is counted once and a new behaviour behind a check
that already fails is still news. The key comes from the observation, never from the check: a
judge that knows the observation's shape states it (`cause=`; the lifecycle model states the
step, the state it came in and the kind of event the client saw); otherwise the judgement's own
detail is the observation, with what differs from run to run (payloads, header values, ports,
timings) taken out. A judgement derived from another's observation passes that one's cause on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from wsconform.conformance.checks import CHECKS, Grade, Verdict
from wsconform.targets.servers.witness import error_signature


@dataclass(frozen=True, slots=True)
class Judgement:
    check_id: str
    ok: bool | None  # None: the feature under test is not implemented here
    detail: str
    # The grade this failure counts at when the requirement is weaker than the check's own
    # (ASGI 2.4 says a send to a gone client *should* raise; raising the wrong thing is a bug).
    level: Grade | None = None
    # The observation this judgement rests on, where the detail is not a stable statement of
    # it (see `failure_cause`); a judgement derived from another one passes that one's cause on.
    cause: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.ok is None:
            return Verdict.UNIMPLEMENTED
        if self.ok:
            return Verdict.PASS
        return FAILURE_VERDICT[self.level or CHECKS[self.check_id].grade]

    @property
    def failure_cause(self) -> str | None:
        """The cause of a failure (None when the judgement did not fail)."""
        if self.ok is not False:
            return None
        return self.cause or observation_key(self.detail)


# What a failed judgement counts as, by the grade it is judged at.
FAILURE_VERDICT = {
    Grade.MUST: Verdict.FAIL,
    Grade.SHOULD: Verdict.NON_STRICT,
    Grade.POLICY: Verdict.NON_STRICT,
    Grade.INFO: Verdict.INFORMATIONAL,
    Grade.CLAIM: Verdict.INFORMATIONAL,
}

# Causes that judges of different families state alike, because they observe one behaviour.
ACCEPT_HEADERS_NOT_SENT = "the 101 carries none of the app's accept headers"


def client_close_code_heard(code: object) -> str:
    """The app heard `code` (or none) for the client's close frame, whatever code it had."""
    return f"the app hears {code!r} for the client's close code"


def app_raised(errors: Iterable[str]) -> str:
    """Exceptions escaped the app (the witness's reports): their types and the file and
    function that raised them, not their messages, the route and data that led there, or the
    line (which any edit above it moves: a baseline's cause must not)."""
    signatures = {_LINE_IN.sub(" in ", error_signature(error)) for error in errors}
    return "the app raised " + "; ".join(sorted(signatures))


# The line of a `file:line in function` place.
_LINE_IN = re.compile(r":\d+ in ")


# A key longer than this is cut: past it a detail lists data, not what the server did.
CAUSE_LIMIT = 160
# Python literals in a repr. The exception type a client or app raised is what happened, so
# `exc_type='...'` keeps its value; every other string or bytes value is the run's data. (A
# literal starts after a non-word character: the apostrophe of "app's" opens none; one a judge
# cut short runs to the end.)
_LITERAL = re.compile(
    r"""(?<![\w'])(?<!exc_type=)b?(?:'(?:[^'\\]|\\.)*(?:'|$)|"(?:[^"\\]|\\.)*(?:"|$))"""
)
# Headers differ per run (dates, accept keys, generated names): only their presence counts.
_HEADERS = re.compile(r"headers=\((?:[^()]|\([^()]*\))+\)")
# A list or tuple of data only (generated headers, payloads): how many items is data too.
_DATA_ONLY = re.compile(r"[\[(](?=[^\[\]]*'…')(?:'…'|[(), ]|\((?:'…'|, )*\))+[\])]")
# Timings, ports, sizes and dates vary; close codes and HTTP statuses (3-4 digits) do not.
_VOLATILE_NUMBER = re.compile(r"\d+\.\d+|\d{5,}")


def observation_key(detail: str) -> str:
    """`detail` with what varies from run to run taken out: the shape of what was observed."""
    key = _HEADERS.sub("headers=…", " ".join(detail.split()))
    key = _LITERAL.sub("'…'", key)
    key = _DATA_ONLY.sub("[…]", key)
    key = _VOLATILE_NUMBER.sub("N", key)
    return key if len(key) <= CAUSE_LIMIT else key[: CAUSE_LIMIT - 1] + "…"


def deadline_only(judgement: Judgement, waited: bool) -> Judgement:
    """A MUST failure whose only evidence is that nothing came within the suite's bound (`waited`)
    rests on a deadline no spec sets: it counts as policy, never as the MUST."""
    if judgement.ok is not False or not waited or judgement.level is not None:
        return judgement
    if CHECKS[judgement.check_id].grade is not Grade.MUST:
        return judgement
    return Judgement(
        judgement.check_id,
        False,
        f"{judgement.detail} (only the suite's time bound was missed: policy, not the MUST)",
        Grade.POLICY,
        # The observation is the same; only the grade it counts at changed.
        cause=judgement.failure_cause,
    )
