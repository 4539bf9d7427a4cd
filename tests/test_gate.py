"""The baseline gate: a changed verdict fails the run in both directions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest
from wsconform.conformance.checks import CATALOGUE, Verdict
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.results import (
    Baseline,
    ResultsRecorder,
    baseline_differences,
    baseline_renames,
    baselines_without_causes,
    gate_differences,
    is_cause_gone,
    is_improvement,
)
from wsconform.conformance.pytest_plugin import UNSTEADY_PROPERTY, UnsteadyNotes

FAIL = Judgement("close.code-delivered", False, "closed with 1000")
PASS = Judgement("close.code-delivered", True, "delivered")
SHOULD_FAIL = Judgement("close.client-no-code-gives-1005", False, "code 1005")


def _recorded(*judgements: Judgement) -> ResultsRecorder:
    recorder = ResultsRecorder()
    recorder.add("server-x", judgements, dict)
    return recorder


def test_must_failure_without_baseline_fails_the_gate(tmp_path: Path) -> None:
    differences = gate_differences(_recorded(FAIL, SHOULD_FAIL), tmp_path)
    assert differences == ["server-x: close.code-delivered fails (no baseline recorded)"]


def test_recorded_failure_is_not_a_difference(tmp_path: Path) -> None:
    Baseline.write("server-x", {FAIL.check_id: Verdict.FAIL}, tmp_path)
    assert gate_differences(_recorded(FAIL), tmp_path) == []


def test_recorded_failure_that_now_passes_is_a_difference(tmp_path: Path) -> None:
    Baseline.write("server-x", {FAIL.check_id: Verdict.FAIL}, tmp_path)
    differences = gate_differences(_recorded(PASS), tmp_path)
    assert differences == ["server-x: close.code-delivered fail -> pass (now passes)"]


def test_an_informational_check_that_no_longer_passes_is_not_called_an_improvement(
    tmp_path: Path,
) -> None:
    """A best practice recorded as passing that is now informational differs (the gate fails),
    and its line says it no longer passes: not "now passes", which reads as an improvement."""
    check = "raw.oversized-message-close-1009"
    Baseline.write("server-x", {check: Verdict.PASS}, tmp_path)
    differences = gate_differences(_recorded(Judgement(check, False, "1006")), tmp_path)
    assert differences == [f"server-x: {check} pass -> informational (no longer passes)"]
    assert not is_improvement(differences[0])


def test_new_failure_is_listed_before_what_now_passes(tmp_path: Path) -> None:
    Baseline.write(
        "server-x",
        {
            FAIL.check_id: Verdict.PASS,
            SHOULD_FAIL.check_id: Verdict.NON_STRICT,
            "data.text-exact": Verdict.FAIL,
        },
        tmp_path,
    )
    recorder = _recorded(
        FAIL,
        Judgement("close.client-no-code-gives-1005", True, ""),
        Judgement("data.text-exact", True, ""),
    )
    assert [line.split(" (")[-1] for line in gate_differences(recorder, tmp_path)] == [
        "new failure)",
        "now passes)",
        "now passes)",
    ]


def test_worst_judgement_decides_the_verdict() -> None:
    recorder = _recorded(PASS, FAIL, PASS)
    assert recorder.verdicts("server-x") == {FAIL.check_id: Verdict.FAIL}


def test_gate_treats_only_unrecorded_failures_as_findings(tmp_path: Path) -> None:
    Baseline.write("server-x", {FAIL.check_id: Verdict.FAIL}, tmp_path)
    gate = Gate(directory=tmp_path)
    assert gate.findings("server-x", [FAIL, SHOULD_FAIL, PASS]) == [SHOULD_FAIL]


def test_recording_gate_finds_nothing(tmp_path: Path) -> None:
    assert Gate(recording=True, directory=tmp_path).findings("server-x", [FAIL]) == []


def test_an_unavailable_server_is_reported_unimplemented_and_not_gated(tmp_path: Path) -> None:
    recorder = ResultsRecorder()
    recorder.add_unavailable("uvicorn-sansio", "uvicorn 0.15.0 has no --ws websockets-sansio")
    rows = [row for row in recorder.to_json()["results"] if row["server"] == "uvicorn-sansio"]
    assert {row["check"] for row in rows} == {check.id for check in CATALOGUE}
    assert {row["verdict"] for row in rows} == {"unimplemented"}
    assert "0.15.0" in rows[0]["evidence"]["details"][0]
    assert gate_differences(recorder, tmp_path) == []


def test_an_unstable_check_accepts_each_verdict_it_lists(tmp_path: Path) -> None:
    """A timing-dependent verdict, listed in the baseline's "unstable" table, gates on neither
    of its verdicts, and re-recording keeps the table."""
    check = "app-error.websocket-exception-before-accept"
    Baseline.write("daphne", {check: Verdict.FAIL}, tmp_path)
    path = tmp_path / "daphne.json"
    data = json.loads(path.read_text())
    data["unstable"] = {check: {"verdicts": ["fail", "pass"], "why": "timing"}}
    path.write_text(json.dumps(data))
    accepted = [
        baseline_differences({"daphne": {check: verdict}}, tmp_path)
        for verdict in (Verdict.PASS, Verdict.FAIL, Verdict.NON_STRICT)
    ]
    Baseline.write("daphne", {check: Verdict.PASS}, tmp_path)
    kept = Baseline.load("daphne", tmp_path)
    assert accepted[:2] == [[], []] and len(accepted[2]) == 1
    assert kept is not None and check in kept.unstable


def test_a_policy_failure_without_baseline_fails_the_gate(tmp_path: Path) -> None:
    # A user's app has no baseline: an app that raises on client input must still be a finding.
    policy = Judgement("generic.no-unhandled-exception", False, "KeyError")
    differences = gate_differences(_recorded(policy, SHOULD_FAIL), tmp_path)
    assert differences == ["server-x: generic.no-unhandled-exception fails (no baseline recorded)"]


def test_a_renamed_check_is_reported_as_renamed_not_as_a_new_failure(tmp_path: Path) -> None:
    Baseline.write("server-x", {"close.code-and-reason-delivered": Verdict.FAIL}, tmp_path)
    verdicts = {"server-x": {"close.code-delivered": Verdict.FAIL}}
    assert (baseline_differences(verdicts, tmp_path), baseline_renames(verdicts, tmp_path)) == (
        [],
        [
            "server-x: close.code-and-reason-delivered (fail) was renamed; close.code-delivered"
            " is fail (re-record the baseline)"
        ],
    )


# --- causes: a new behaviour behind a check that already fails --------------------------------

# daphne refuses close code 1001 (raises, nothing reaches the client): close.code-delivered fails.
REFUSED_1001 = Judgement(
    "close.code-delivered", False, "close(1001) raised", cause="raised; client saw nothing"
)
# The same check failing on another behaviour: every app close code goes out as 1000.
SENT_AS_1000 = Judgement(
    "close.code-delivered", False, "close(4001) sent 1000", cause="returned; client saw close 1000"
)


def _recorded_with_causes(tmp_path: Path, *judgements: Judgement) -> None:
    recorder = _recorded(*judgements)
    Baseline.write("server-x", recorder.verdicts("server-x"), tmp_path, recorder.causes("server-x"))


def test_a_second_cause_on_an_already_failing_check_fails_the_gate(tmp_path: Path) -> None:
    _recorded_with_causes(tmp_path, REFUSED_1001)
    gate = Gate(directory=tmp_path)
    assert gate.findings("server-x", [REFUSED_1001, SENT_AS_1000]) == [SENT_AS_1000]
    assert gate_differences(_recorded(REFUSED_1001, SENT_AS_1000), tmp_path) == [
        "server-x: close.code-delivered fail, new cause: returned; client saw close 1000"
        " (new failure)"
    ]


def test_a_cause_gone_is_reported_as_an_improvement_that_does_not_fail_the_gate(
    tmp_path: Path,
) -> None:
    _recorded_with_causes(tmp_path, REFUSED_1001, SENT_AS_1000)
    differences = gate_differences(_recorded(REFUSED_1001), tmp_path)
    assert differences == [
        "server-x: close.code-delivered fail, cause gone: returned; client saw close 1000"
        " (improvement)"
    ]
    assert [is_cause_gone(line) for line in differences] == [True]
    assert Gate(directory=tmp_path).findings("server-x", [REFUSED_1001]) == []


def test_a_baseline_without_causes_still_loads_and_gates_on_verdicts_only(tmp_path: Path) -> None:
    # The format before causes were recorded: a verdict per check and nothing else.
    (tmp_path / "server-x.json").write_text(
        json.dumps({"transport": "server-x", "verdicts": {"close.code-delivered": "fail"}})
    )
    baseline = Baseline.load("server-x", tmp_path)
    assert baseline is not None and baseline.causes is None
    assert Gate(directory=tmp_path).findings("server-x", [REFUSED_1001, SENT_AS_1000]) == []
    assert gate_differences(_recorded(SENT_AS_1000), tmp_path) == []
    assert baselines_without_causes(["server-x"], tmp_path) == ["server-x"]


def _gate_passing(tmp_path: Path) -> Gate:
    Baseline.write("server-x", {FAIL.check_id: Verdict.PASS}, tmp_path)
    return Gate(directory=tmp_path)


def test_a_finding_another_run_does_not_see_is_kept_as_unsteady(tmp_path: Path) -> None:
    """One run that missed the baseline, then one that matched it: the second is the
    observation kept, and the note says what the first saw."""
    runs = iter([("second", [PASS])])
    run, judgements, note = _gate_passing(tmp_path).confirmed(
        "server-x", ("first", [FAIL]), lambda: next(runs)
    )
    assert (run, judgements) == ("second", [PASS])
    assert note is not None and "closed with 1000" in note and "unsteady" in note


def test_a_finding_seen_twice_is_confirmed(tmp_path: Path) -> None:
    again = Judgement(FAIL.check_id, False, "closed with 1000 again")
    run, judgements, note = _gate_passing(tmp_path).confirmed(
        "server-x", ("first", [FAIL]), lambda: ("second", [again])
    )
    assert (run, judgements, note) == ("first", [FAIL], None)


def test_no_finding_means_no_second_run(tmp_path: Path) -> None:
    def never() -> tuple[str, list[Judgement]]:
        raise AssertionError("observed again without a finding")

    run, judgements, note = _gate_passing(tmp_path).confirmed("server-x", ("first", [PASS]), never)
    assert (run, judgements, note) == ("first", [PASS], None)


def test_unsteady_observations_are_kept_for_the_summary() -> None:
    notes = UnsteadyNotes()
    setup = [(UNSTEADY_PROPERTY, "not a call")]
    call = [("other", "x"), (UNSTEADY_PROPERTY, "close-probe: unsteady: a first run saw")]
    phases: tuple[tuple[Literal["setup", "call"], list[tuple[str, str]]], ...] = (
        ("setup", setup),
        ("call", call),
    )
    for when, properties in phases:
        notes.pytest_runtest_logreport(
            pytest.TestReport(
                "t::raw", ("t", 1, "raw"), {}, "passed", None, when, user_properties=properties
            )
        )
    assert notes.notes == ["t::raw: close-probe: unsteady: a first run saw"]
