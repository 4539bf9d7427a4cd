"""The catalogue, the directed scenarios and the results schema agree with each other."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.checks import CATALOGUE, CHECKS, LIFECYCLE_CHECKS
from conformance.engine import LoopRunner, run_actions
from conformance.results import EXPECTED_DIR, Baseline, ResultsRecorder
from conformance.scenarios import SCENARIOS
from targets.puppet import build_puppet_app
from targets.servers.inmemory import InMemoryTransport


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
        ["checks", "environment", "results", "servers", "unavailable_servers"],
        ["grade", "id", "requirement", "title"],
        ["check", "evidence", "server", "verdict"],
    )


def test_baselines_name_only_known_checks() -> None:
    for path in sorted(EXPECTED_DIR.glob("*.json")):
        baseline = Baseline.load(path.stem)
        assert baseline is not None and set(baseline.verdicts) <= set(CHECKS), path.name
