"""Verdicts per (check, transport), the evidence behind them, results.json and the baselines.

A check's verdict on a transport is the worst of every judgement made for it in the run (directed
scenarios and state machine alike): one MUST failure makes it `fail`, a SHOULD failure
`non-strict`. The evidence kept is the first failing session (or the first passing one), which is
what a reader needs to act. Beside the verdict, a pair keeps the cause of every failing judgement
(`Judgement.failure_cause`): the baselines record them, so that a new behaviour behind a check
that already fails is a difference too.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsconform.conformance.checks import (
    CATALOGUE,
    CHECKS,
    RETIRED,
    Grade,
    Verdict,
    catalogue_json,
    renamed_to,
)
from wsconform.conformance.data import EXPECTED_DIR, LOCK
from wsconform.conformance.engine.findings import Finding, finding_from_json
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.lock import describe_moves, lock_digest, locked_versions, moved
from wsconform.conformance.engine.vocabulary import Advertised, advertised_from_json

_FAILING = (Verdict.FAIL, Verdict.NON_STRICT)
# How a difference that is a recorded cause no longer seen ends (see `is_cause_gone`).
CAUSE_GONE = "(improvement)"
# Worst first: the verdict of a pair is the first of these any judgement had.
SEVERITY = (
    Verdict.FAIL,
    Verdict.NON_STRICT,
    Verdict.PASS,
    Verdict.INFORMATIONAL,
    Verdict.UNIMPLEMENTED,
)

ENVIRONMENT_PACKAGES = (
    "starlette",
    "fastapi",
    "pydantic",
    "uvicorn",
    "websockets",
    "wsproto",
    "hypercorn",
    "daphne",
    "twisted",
    "granian",
    "gunicorn",
    "uvicorn-worker",
    "trustme",
    "h11",
    "h2",
    "autobahn",
    "httpx",
    "httpx2",
    "anyio",
    "hypothesis",
    "pytest",
)


def write_results(data: dict[str, Any], path: Path) -> None:
    """A results.json, in the one format every writer of it uses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=repr))


def environment() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ENVIRONMENT_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def lock_status() -> str:
    """The lock a baseline is recorded on: its digest when the installed releases are the
    lock's, otherwise what differs (a baseline recorded off the lock says so)."""
    if not LOCK.exists():
        return "none"
    off = moved(locked_versions(LOCK), environment())
    return f"off the lock ({describe_moves(off)})" if off else lock_digest(LOCK)


@dataclass
class PairResult:
    verdicts: set[Verdict] = field(default_factory=set)
    details: list[str] = field(default_factory=list)
    evidence: dict[str, Any] | None = None
    evidence_verdict: Verdict | None = None
    # The cause of each failed judgement, with the worst verdict it was judged at.
    causes: dict[str, Verdict] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return next(v for v in SEVERITY if v in self.verdicts)

    def note_detail(self, detail: str) -> None:
        if len(self.details) < 5 and detail not in self.details:
            self.details.append(detail)

    def note_cause(self, cause: str, verdict: Verdict) -> None:
        known = self.causes.get(cause)
        if known is None or SEVERITY.index(verdict) < SEVERITY.index(known):
            self.causes[cause] = verdict

    def causes_json(self) -> dict[str, str]:
        return {cause: verdict.value for cause, verdict in sorted(self.causes.items())}

    def outranks_evidence(self, verdict: Verdict) -> bool:
        """Is `verdict` worse than the one whose evidence is kept? (First come, first kept.)"""
        return self.evidence_verdict is None or SEVERITY.index(verdict) < SEVERITY.index(
            self.evidence_verdict
        )


class ResultsRecorder:
    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str], PairResult] = {}
        # Transports asked for but not usable here (e.g. a --ws implementation an old uvicorn
        # lacks), with the reason: every check on them is `unimplemented`, none is gated.
        self.unavailable: dict[str, str] = {}
        # What each server put in scope["asgi"]["spec_version"] and scope["extensions"].
        self.advertised: dict[str, Advertised] = {}
        # What a client was seen to see where no verdict applies (a `Fact` of the catalogue):
        # (fact id, transport) -> the probe's evidence.
        self.facts: dict[tuple[str, str], dict[str, Any]] = {}
        # Distinct bugs found in a user's app, by id, each with every server that showed it.
        self.findings: dict[str, Finding] = {}
        # "app" when the run judged a user's app: the report then leads with its findings.
        self.mode = "suite"
        # Per program of the lifecycle machine (its actions as JSON text), per transport, the
        # session's `observation()`: the report compares the transports that ran the same
        # program (reports.results_file.unexplained_divergences).
        self.observations: dict[str, dict[str, dict[str, Any]]] = {}

    def add_observation(self, transport: str, program: str, observation: dict[str, Any]) -> None:
        """The first session of `program` on `transport` is kept (a later run of the same
        program adds nothing to compare)."""
        self.observations.setdefault(program, {}).setdefault(transport, observation)

    def add_finding(self, finding: Finding) -> None:
        known = self.findings.get(finding.id)
        if known is None:
            self.findings[finding.id] = finding
        else:
            known.merge(finding)

    def add_advertised(self, transport: str, advertised: Advertised) -> None:
        self.advertised[transport] = advertised

    def add_unavailable(self, transport: str, reason: str) -> None:
        self.unavailable[transport] = reason

    def add(
        self,
        transport: str,
        judgements: Iterable[Judgement],
        evidence: Callable[[], dict[str, Any]],
    ) -> None:
        """Record judgements; `evidence` is only called when this session's evidence is kept."""
        for judgement in judgements:
            pair = self.pairs.setdefault((judgement.check_id, transport), PairResult())
            verdict = judgement.verdict
            pair.verdicts.add(verdict)
            pair.note_detail(judgement.detail)
            cause = judgement.failure_cause
            if cause is not None:
                pair.note_cause(cause, verdict)
            if pair.outranks_evidence(verdict):
                pair.evidence = {**evidence(), "detail": judgement.detail}
                pair.evidence_verdict = verdict

    def add_fact(self, transport: str, fact_id: str, evidence: dict[str, Any]) -> None:
        """Record what a fact's probe showed on `transport` (the last run kept): no verdict."""
        self.facts[(fact_id, transport)] = evidence

    def attach(self, transport: str, check_ids: Iterable[str], extra: dict[str, Any]) -> None:
        """Add to the kept evidence (e.g. Hypothesis's shrunk program for a machine finding)."""
        for check_id in check_ids:
            pair = self.pairs.get((check_id, transport))
            if pair is not None:
                pair.evidence = {**(pair.evidence or {}), **extra}

    # --- across processes (pytest-xdist workers hand their results to the controller) ---------

    def state(self) -> dict[str, Any]:
        """Everything recorded, as plain JSON values (what an xdist worker can send back)."""
        state = {
            "pairs": [
                {
                    "check": check,
                    "server": transport,
                    "verdicts": sorted(verdict.value for verdict in pair.verdicts),
                    "details": pair.details,
                    "evidence": pair.evidence,
                    "evidence_verdict": pair.evidence_verdict and pair.evidence_verdict.value,
                    "causes": pair.causes_json(),
                }
                for (check, transport), pair in sorted(self.pairs.items())
            ],
            "facts": self._facts_json(),
            "unavailable": self.unavailable,
            "advertised": {name: adv.to_json() for name, adv in self.advertised.items()},
            "findings": [finding.to_json() for finding in self.findings.values()],
            "mode": self.mode,
            "observations": self.observations,
        }
        # Evidence may hold values JSON cannot (results.json shows them with repr).
        plain: dict[str, Any] = json.loads(json.dumps(state, default=repr))
        return plain

    def merge(self, state: Mapping[str, Any]) -> None:
        """Add another recorder's `state()`: verdicts are united, the worst evidence kept, so the
        result is what one process recording everything would hold."""
        for row in state["pairs"]:
            pair = self.pairs.setdefault((row["check"], row["server"]), PairResult())
            pair.verdicts |= {Verdict(value) for value in row["verdicts"]}
            for detail in row["details"]:
                pair.note_detail(detail)
            for cause, verdict in row.get("causes", {}).items():
                pair.note_cause(cause, Verdict(verdict))
            theirs = row["evidence_verdict"] and Verdict(row["evidence_verdict"])
            if theirs and pair.outranks_evidence(theirs):
                pair.evidence, pair.evidence_verdict = row["evidence"], theirs
        for row in state.get("facts", []):
            self.facts[(row["fact"], row["server"])] = row["evidence"]
        self.unavailable.update(state["unavailable"])
        for payload in state.get("findings", []):
            self.add_finding(finding_from_json(payload))
        if state.get("mode") == "app":
            self.mode = "app"
        for program, by_transport in state.get("observations", {}).items():
            for transport, observation in by_transport.items():
                self.add_observation(transport, program, observation)
        for name, payload in state["advertised"].items():
            advertised = advertised_from_json(payload)
            if advertised is not None:
                self.advertised[name] = advertised

    def verdicts(self, transport: str) -> dict[str, Verdict]:
        return {
            check: pair.verdict
            for (check, name), pair in sorted(self.pairs.items())
            if name == transport
        }

    def causes(self, transport: str) -> dict[str, list[str]]:
        """Per failing check on `transport`, the causes the gate compares."""
        gated = {
            check: gated_causes(pair.causes_json())
            for (check, name), pair in sorted(self.pairs.items())
            if name == transport
        }
        return {check: causes for check, causes in gated.items() if causes}

    def transports(self) -> list[str]:
        return sorted({name for _, name in self.pairs})

    def to_json(self) -> dict[str, Any]:
        unimplemented = [
            {
                "check": check.id,
                "server": transport,
                "verdict": Verdict.UNIMPLEMENTED.value,
                "evidence": {"details": [f"{transport} is not available here: {reason}"]},
            }
            for transport, reason in sorted(self.unavailable.items())
            for check in CATALOGUE
        ]
        return {
            "environment": environment(),
            "mode": self.mode,
            "findings": [finding.to_json() for finding in self.findings.values()],
            "servers": self.transports(),
            "unavailable_servers": self.unavailable,
            "advertised": {
                name: advertised.to_json() for name, advertised in sorted(self.advertised.items())
            },
            "checks": catalogue_json(),
            "retired_checks": {old: list(new) for old, new in RETIRED.items()},
            "facts": self._facts_json(),
            "observations": self.observations,
            "results": [
                {
                    "check": check,
                    "server": transport,
                    "verdict": pair.verdict.value,
                    **({"causes": pair.causes_json()} if pair.causes else {}),
                    "evidence": {"details": pair.details, **(pair.evidence or {})},
                }
                for (check, transport), pair in sorted(self.pairs.items())
            ]
            + unimplemented,
        }

    def _facts_json(self) -> list[dict[str, Any]]:
        return [
            {"fact": fact, "server": transport, "evidence": evidence}
            for (fact, transport), evidence in sorted(self.facts.items())
        ]

    def write(self, path: Path) -> None:
        write_results(self.to_json(), path)


# --- baselines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    transport: str
    verdicts: dict[str, Verdict]
    recorded_with: dict[str, str]
    # Checks whose verdict on this server depends on timing, with every verdict that was seen
    # and why. Written by hand in the file's "unstable" table; re-recording keeps it.
    unstable: dict[str, Any] = field(default_factory=dict)
    # Per failing check, the causes of its failures; None for a file recorded before causes
    # were kept (gated on verdicts only until it is re-recorded).
    causes: dict[str, frozenset[str]] | None = None

    @classmethod
    def load(cls, transport: str, directory: Path = EXPECTED_DIR) -> Baseline | None:
        path = directory / f"{transport}.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        causes = data.get("causes")
        return cls(
            transport,
            {check: Verdict(verdict) for check, verdict in data["verdicts"].items()},
            data.get("recorded_with", {}),
            data.get("unstable", {}),
            None
            if causes is None
            else {check: frozenset(listed) for check, listed in causes.items()},
        )

    @property
    def releases(self) -> dict[str, str]:
        """Package -> version it was recorded with (`recorded_with` without the lock's digest)."""
        return {name: version for name, version in self.recorded_with.items() if name != "lock"}

    def accepts(self, check_id: str, verdict: Verdict) -> bool:
        """Is `verdict` what this baseline records for the check (or one of its unstable ones)?"""
        unstable = self.unstable.get(check_id, {}).get("verdicts", [])
        return self.verdicts.get(check_id) == verdict or verdict.value in unstable

    def new_causes(self, check_id: str, causes: Iterable[str]) -> list[str]:
        """The causes of a failing check this baseline does not record for it: none where the
        file has no causes (old format) or the check's verdict is recorded as unstable."""
        if self.causes is None or check_id in self.unstable:
            return []
        known = self.causes.get(check_id, frozenset())
        return sorted(set(causes) - known)

    def gone_causes(self, check_id: str, causes: Iterable[str]) -> list[str]:
        """The causes this baseline records for a check that the run did not see."""
        if self.causes is None or check_id in self.unstable:
            return []
        return sorted(self.causes.get(check_id, frozenset()) - set(causes))

    @staticmethod
    def write(
        transport: str,
        verdicts: Mapping[str, Verdict],
        directory: Path = EXPECTED_DIR,
        causes: Mapping[str, Iterable[str]] | None = None,
    ) -> Path:
        """Write the baseline; `causes` (per failing check) is left out only by callers that
        have none, which makes a file gated on verdicts alone."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{transport}.json"
        previous = Baseline.load(transport, directory)
        payload: dict[str, Any] = {
            "transport": transport,
            "recorded_with": {**environment(), "lock": lock_status()},
            "verdicts": {check: verdict.value for check, verdict in sorted(verdicts.items())},
        }
        if causes is not None:
            payload["causes"] = {
                check: sorted(listed) for check, listed in sorted(causes.items()) if listed
            }
        if previous is not None and previous.unstable:
            payload["unstable"] = previous.unstable
        path.write_text(json.dumps(payload, indent=1) + "\n")
        return path


def gated_causes(causes: Mapping[str, str]) -> list[str]:
    """Of a result's causes (cause -> verdict, as results.json has them), those of failures
    the gate compares: `fail` and `non-strict`, not best practices or claims."""
    failing = {verdict.value for verdict in _FAILING}
    return sorted(cause for cause, verdict in causes.items() if verdict in failing)


def fails_without_baseline(check_id: str, verdict: Verdict, level: Grade | None = None) -> bool:
    """With nothing to compare with (a user's app, a new server), MUST failures and failures of
    the suite's own policies are findings; SHOULD failures and best practices are not. `level`
    is the grade one judgement counted at, where weaker than the check's (a MUST check whose
    only evidence was the suite's time bound fails as policy)."""
    grade = level or CHECKS[check_id].grade
    return (verdict is Verdict.FAIL and grade is Grade.MUST) or (
        verdict is Verdict.NON_STRICT and grade is Grade.POLICY
    )


def is_finding(judgement: Judgement, baseline: Baseline | None) -> bool:
    """Does this judgement fail the gate? Without a baseline see `fails_without_baseline`;
    with one, any failure the baseline does not record with the same verdict, or with a cause
    it does not record for the check (a new bug behind a check that already fails)."""
    verdict = judgement.verdict
    if verdict not in _FAILING:
        return False
    if baseline is None:
        return fails_without_baseline(judgement.check_id, verdict, judgement.level)
    if not baseline.accepts(judgement.check_id, verdict):
        return True
    cause = judgement.failure_cause
    return cause is not None and bool(baseline.new_causes(judgement.check_id, [cause]))


def baselines_without_causes(
    transports: Iterable[str], directory: Path = EXPECTED_DIR
) -> list[str]:
    """The transports whose baseline was recorded before causes were kept."""
    return [
        transport
        for transport in transports
        if (baseline := Baseline.load(transport, directory)) is not None and baseline.causes is None
    ]


def gate_differences(
    recorder: ResultsRecorder,
    directory: Path = EXPECTED_DIR,
    explain: Callable[[str, str], str] = lambda transport, check: "",
) -> list[str]:
    """Every pair whose verdict differs from its baseline (both directions), or, for a
    transport with no baseline, every MUST failure."""
    transports = recorder.transports()
    verdicts = {transport: recorder.verdicts(transport) for transport in transports}
    causes = {transport: recorder.causes(transport) for transport in transports}
    return baseline_differences(verdicts, directory, explain, causes)


def baseline_renames(
    verdicts: Mapping[str, Mapping[str, Verdict]], directory: Path = EXPECTED_DIR
) -> list[str]:
    """Checks a baseline still records under a retired ID: reported as renamed (never as new
    failures) until the baseline is re-recorded."""
    notes = []
    for transport, transport_verdicts in verdicts.items():
        baseline = Baseline.load(transport, directory)
        if baseline is None:
            continue
        for check_id, verdict in sorted(transport_verdicts.items()):
            retired = renamed_to(check_id)
            if check_id not in baseline.verdicts and retired in baseline.verdicts:
                notes.append(
                    f"{transport}: {retired} ({baseline.verdicts[retired].value}) was renamed;"
                    f" {check_id} is {verdict.value} (re-record the baseline)"
                )
    return notes


def baseline_differences(
    verdicts: Mapping[str, Mapping[str, Verdict]],
    directory: Path = EXPECTED_DIR,
    explain: Callable[[str, str], str] = lambda transport, check: "",
    causes: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
) -> list[str]:
    """`gate_differences` for verdicts by transport and check, e.g. read back from results.json;
    `explain(transport, check)` is appended to each line (e.g. the releases that moved).
    With `causes` (per transport and failing check), a check whose verdict is the recorded one
    still differs by each cause the baseline does not record ("new cause", a failure) and each
    recorded one the run did not see ("cause gone", an improvement)."""
    differences = []
    for transport, transport_verdicts in verdicts.items():
        baseline = Baseline.load(transport, directory)
        if baseline is not None and causes is not None:
            differences += _cause_differences(
                transport, transport_verdicts, causes.get(transport, {}), baseline, explain
            )
        for check_id, verdict in transport_verdicts.items():
            if baseline is None:
                if fails_without_baseline(check_id, verdict):
                    differences.append(f"{transport}: {check_id} fails (no baseline recorded)")
                continue
            expected = baseline.verdicts.get(check_id)
            retired = renamed_to(check_id)
            if expected is None and retired in baseline.verdicts:
                # A renamed or split check: not a new failure, but the baseline needs
                # re-recording (`tox -e record-baseline`).
                continue
            if expected is None:
                if verdict in _FAILING:
                    differences.append(
                        f"{transport}: {check_id} is {verdict.value}, not in the baseline"
                        + explain(transport, check_id)
                    )
            elif not baseline.accepts(check_id, verdict):
                kind = _move_kind(expected, verdict)
                differences.append(
                    f"{transport}: {check_id} {expected.value} -> {verdict.value} ({kind})"
                    + explain(transport, check_id)
                )
    # New failures first: they are what a CI reader must act on.
    return sorted(differences, key=lambda line: (is_improvement(line), line))


# How a line of `baseline_differences` for a moved verdict ends, one per kind of move.
MOVE_KINDS = ("(new failure)", "(now passes)", "(no longer passes)", "(moved)")


def _move_kind(expected: Verdict, verdict: Verdict) -> str:
    """How a verdict moved from the recorded one: a failure, a pass, or neither (an
    informational check that no longer passes is not an improvement, nor a failure)."""
    if verdict in _FAILING:
        return "new failure"
    if verdict is Verdict.PASS:
        return "now passes"
    return "no longer passes" if expected is Verdict.PASS else "moved"


def is_improvement(difference: str) -> bool:
    """Is this line of `baseline_differences` something that got better?"""
    return "(now passes)" in difference or is_cause_gone(difference)


def is_cause_gone(difference: str) -> bool:
    """A recorded cause the run did not see: reported, never failing the gate, since a state
    machine's run need not meet every behaviour again (re-recording drops it)."""
    return difference.endswith(CAUSE_GONE)


def _cause_differences(
    transport: str,
    verdicts: Mapping[str, Verdict],
    causes: Mapping[str, Iterable[str]],
    baseline: Baseline,
    explain: Callable[[str, str], str],
) -> list[str]:
    """The causes that differ for the checks whose verdict the baseline accepts (a changed
    verdict is a difference of its own)."""
    lines = []
    for check_id, verdict in verdicts.items():
        if check_id not in baseline.verdicts or not baseline.accepts(check_id, verdict):
            continue
        seen = list(causes.get(check_id, ())) if verdict in _FAILING else []
        lines += [
            f"{transport}: {check_id} {verdict.value}, new cause: {cause} (new failure)"
            + explain(transport, check_id)
            for cause in baseline.new_causes(check_id, seen)
        ]
        if verdict in _FAILING:
            lines += [
                f"{transport}: {check_id} {verdict.value}, cause gone: {cause} {CAUSE_GONE}"
                for cause in baseline.gone_causes(check_id, seen)
            ]
    return lines
