"""A judgement: one check's outcome on one observation, and the verdict it counts as by the
grade the catalogue gives the check. Every family's judges return these; results and the gate
read them."""

from __future__ import annotations

from dataclasses import dataclass

from wsconform.conformance.checks import CHECKS, Grade, Verdict


@dataclass(frozen=True)
class Judgement:
    check_id: str
    ok: bool | None  # None: the feature under test is not implemented here
    detail: str
    # The grade this failure counts at when the requirement is weaker than the check's own
    # (ASGI 2.4 says a send to a gone client *should* raise; raising the wrong thing is a bug).
    level: Grade | None = None

    @property
    def verdict(self) -> Verdict:
        if self.ok is None:
            return Verdict.UNIMPLEMENTED
        if self.ok:
            return Verdict.PASS
        return FAILURE_VERDICT[self.level or CHECKS[self.check_id].grade]


# What a failed judgement counts as, by the grade it is judged at.
FAILURE_VERDICT = {
    Grade.MUST: Verdict.FAIL,
    Grade.SHOULD: Verdict.NON_STRICT,
    Grade.POLICY: Verdict.NON_STRICT,
    Grade.INFO: Verdict.INFORMATIONAL,
    Grade.CLAIM: Verdict.INFORMATIONAL,
}


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
    )
