"""The checks catalogue: one stable ID per requirement, its grade, the layer it judges and where it
comes from, assembled from the check families (each family's `catalogue.py` sits beside the
probes and judges that decide its checks).

IDs are dotted by topic and never reused; reports, baselines and users' filters refer to them.
A check that is split or renamed keeps its old ID in `RETIRED`, so baselines and
`reports.compare` can say "renamed" instead of "new failure".

The types (`Check`, `Grade`, `Layer`, `Verdict`) live in the engine (`engine/checks.py`) and are
named here too: this module is the catalogue's public face.
"""

from __future__ import annotations

from wsconform.conformance.engine.checks import Check, Fact, Grade, Layer, Verdict
from wsconform.conformance.families.browser import catalogue as browser
from wsconform.conformance.families.claims import catalogue as claims
from wsconform.conformance.families.cluster import catalogue as cluster
from wsconform.conformance.families.contracts import catalogue as contracts
from wsconform.conformance.families.generic import catalogue as generic
from wsconform.conformance.families.lifecycle import catalogue as lifecycle
from wsconform.conformance.families.proxy import catalogue as proxy
from wsconform.conformance.families.raw_asgi import catalogue as raw_asgi
from wsconform.conformance.families.scope import catalogue as scope
from wsconform.conformance.families.shutdown import catalogue as shutdown
from wsconform.conformance.families.wire import catalogue as wire

__all__ = [
    "CATALOGUE",
    "CHECKS",
    "FACTS",
    "RETIRED",
    "Check",
    "Fact",
    "Grade",
    "Layer",
    "Verdict",
    "catalogue_json",
    "check",
    "renamed_to",
]

# Check IDs that were split, renamed or retired, with the IDs that replaced them (none for a
# check retired outright). Never reused.
RETIRED: dict[str, tuple[str, ...]] = {
    # It re-counted, under another ID, the verdict of every check with a `since` on a server
    # advertising that version (and turned best practices into policy failures): each feature's
    # own check, graded by the advertised version, already is the server held to its claim.
    "asgi.implements-advertised-version": (),
    # A page can never read a refused handshake's status, body or close code (WHATWG): checks
    # that it does could pass on no server. What the page sees there is a documented fact
    # (FACTS, browser.fact.*), shown in the frontend table and judged by no verdict.
    "browser.denial-reaches-page": (),
    "browser.error-before-accept-reaches-page": (),
    "browser.claim.close-before-accept-code-reaches-page": (),
    "close.code-and-reason-delivered": ("close.code-delivered", "close.reason-delivered"),
    "app-error.exception-before-accept-denies": (
        "app-error.exception-before-accept-no-upgrade",
        "app-error.exception-before-accept-http-error",
    ),
}


CATALOGUE: tuple[Check, ...] = (
    lifecycle.CHECKS
    + scope.CHECKS
    + wire.CHECKS
    + raw_asgi.CHECKS
    + shutdown.CHECKS
    + proxy.CHECKS
    + browser.CHECKS
    + contracts.CHECKS
    + generic.CHECKS
    + claims.CHECKS
    + cluster.CHECKS
)
CHECKS: dict[str, Check] = {check.id: check for check in CATALOGUE}
# What a client always sees in a case, whatever the server did: shown, never judged.
FACTS: tuple[Fact, ...] = browser.FACTS


def check(check_id: str) -> Check:
    try:
        return CHECKS[check_id]
    except KeyError:
        raise KeyError(f"unknown check {check_id!r}") from None


def renamed_to(check_id: str) -> str | None:
    """The retired ID that `check_id` replaced, if any."""
    return next((old for old, new in RETIRED.items() if check_id in new), None)


def catalogue_json() -> list[dict[str, str | None]]:
    """The catalogue as results.json and index.json list it."""
    return [
        {
            "id": c.id,
            "grade": c.grade.value,
            "layer": c.layer.value,
            "title": c.title,
            "requirement": c.requirement,
            "source": c.source,
            "since": c.since,
            "extension": c.extension,
        }
        for c in CATALOGUE
    ]
