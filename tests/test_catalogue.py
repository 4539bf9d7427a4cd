"""The catalogue, the directed scenarios and the results schema agree with each other."""

from __future__ import annotations

import json
from pathlib import Path

from wsconform.conformance.checks import CATALOGUE, CHECKS, RETIRED, Grade, Layer, Verdict
from wsconform.conformance.data import EXPECTED_DIR
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import Baseline, ResultsRecorder
from wsconform.conformance.engine.sessions import LoopRunner, run_actions
from wsconform.conformance.families.lifecycle.catalogue import LIFECYCLE_CHECKS
from wsconform.conformance.families.lifecycle.scenarios import SCENARIOS
from wsconform.targets.puppet import build_puppet_app
from wsconform.targets.servers.inmemory import InMemoryTransport


def test_check_ids_are_unique_and_dotted() -> None:
    ids = [check.id for check in CATALOGUE]
    assert (len(ids) == len(set(ids)), all("." in check_id for check_id in ids)) == (True, True)


def test_directed_scenarios_cover_every_check() -> None:
    covered = {check_id for scenario in SCENARIOS for check_id in scenario.checks}
    assert covered == {check.id for check in LIFECYCLE_CHECKS}


def test_each_scenario_judges_the_checks_it_names(loop_runner: LoopRunner) -> None:
    transport = InMemoryTransport(build_puppet_app())
    unjudged = {}
    for scenario in SCENARIOS:
        session = loop_runner.run(run_actions(transport, scenario.actions, scenario.name))
        judged = {j.check_id for line in session.transcript for j in line.judgements}
        missing = set(scenario.checks) - judged
        if missing:
            unjudged[scenario.name] = missing
    assert unjudged == {}


def test_results_json_has_the_documented_schema(loop_runner: LoopRunner, tmp_path: Path) -> None:
    transport = InMemoryTransport(build_puppet_app())
    recorder = ResultsRecorder()
    session = loop_runner.run(run_actions(transport, SCENARIOS[0].actions, "schema"))
    recorder.add(
        "inmemory", [j for line in session.transcript for j in line.judgements], session.evidence
    )
    recorder.write(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    first = data["results"][0]
    assert (sorted(data), sorted(data["checks"][0]), sorted(first)) == (
        [
            "advertised",
            "checks",
            "environment",
            "facts",
            "findings",
            "mode",
            "observations",
            "results",
            "retired_checks",
            "servers",
            "unavailable_servers",
        ],
        ["extension", "grade", "id", "layer", "requirement", "since", "source", "title"],
        ["check", "evidence", "server", "verdict"],
    )


def test_baselines_name_only_known_checks() -> None:
    """Known: in the catalogue, or retired (never reused; a baseline recorded before the
    retirement still lists it until the next re-recording, and reports.compare names it)."""
    for path in sorted(EXPECTED_DIR.glob("*.json")):
        baseline = Baseline.load(path.stem)
        known = set(CHECKS) | set(RETIRED)
        assert baseline is not None and set(baseline.verdicts) <= known, path.name


def test_every_check_names_its_source() -> None:
    assert [check.id for check in CATALOGUE if not check.source.strip()] == []


def test_policies_say_they_are_the_suites_own() -> None:
    unlabelled = [
        check.id
        for check in CATALOGUE
        if check.grade is Grade.POLICY and not check.requirement.startswith("Suite policy:")
    ]
    assert unlabelled == []


def test_only_a_must_check_can_fail() -> None:
    failing = {check.grade: Judgement(check.id, False, "failed").verdict for check in CATALOGUE}
    assert failing == {
        Grade.MUST: Verdict.FAIL,
        Grade.SHOULD: Verdict.NON_STRICT,
        Grade.POLICY: Verdict.NON_STRICT,
        Grade.INFO: Verdict.INFORMATIONAL,
        Grade.CLAIM: Verdict.INFORMATIONAL,
    }


def test_ordering_checks_are_judged_as_the_frameworks() -> None:
    layers = {check.layer for check in CATALOGUE if check.id.startswith("order.")}
    assert layers == {Layer.FRAMEWORK}


def test_retired_ids_are_never_reused() -> None:
    reused = set(RETIRED) & set(CHECKS)
    replacements_known = all(new in CHECKS for replaced in RETIRED.values() for new in replaced)
    assert (reused, replacements_known) == (set(), True)
