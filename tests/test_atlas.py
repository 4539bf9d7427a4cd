"""The atlas's judgement of a pair, from the two sides' results: detected only when a check
fails on the buggy release and passes on the fixed one, and nothing gets worse."""

from __future__ import annotations

import json
from pathlib import Path

from wsconform.conformance.data import ATLAS
from wsconform.conformance.tools.atlas import Pair, Side, judge_pair, load_atlas

PAIR = Pair(
    "example", "uvicorn", "0.19.0", "0.20.0", "ref", "a drop never reaches the app",
    ("uvicorn-wsproto",), ("uvicorn==0.19.0",), ("uvicorn==0.20.0",),
)  # fmt: skip


def side(tmp_path: Path, name: str, verdicts: dict[str, str]) -> Side:
    path = tmp_path / f"{name}.json"
    rows = [{"check": c, "server": "uvicorn-wsproto", "verdict": v} for c, v in verdicts.items()]
    path.write_text(json.dumps({"results": rows, "environment": {"uvicorn": name}}))
    return Side(path, versions={"uvicorn": name})


def test_a_failure_that_the_fix_turns_into_a_pass_is_detected(tmp_path: Path) -> None:
    judged = judge_pair(
        PAIR,
        side(tmp_path, "buggy", {"disconnect.drop-reaches-app": "fail", "data.text-exact": "pass"}),
        side(tmp_path, "fixed", {"disconnect.drop-reaches-app": "pass", "data.text-exact": "pass"}),
    )
    assert (judged["detected"], [f["check"] for f in judged["flips"]]) == (
        True,
        ["disconnect.drop-reaches-app"],
    )


def test_identical_verdicts_are_not_detected_and_say_why(tmp_path: Path) -> None:
    same = {"disconnect.drop-reaches-app": "pass"}
    judged = judge_pair(PAIR, side(tmp_path, "buggy", same), side(tmp_path, "fixed", same))
    assert not judged["detected"] and "identical verdicts" in judged["why_not"]


def test_a_fix_that_breaks_something_else_is_not_a_detection(tmp_path: Path) -> None:
    judged = judge_pair(
        PAIR,
        side(tmp_path, "buggy", {"disconnect.drop-reaches-app": "fail", "data.text-exact": "pass"}),
        side(tmp_path, "fixed", {"disconnect.drop-reaches-app": "pass", "data.text-exact": "fail"}),
    )
    assert not judged["detected"] and "data.text-exact" in judged["why_not"]


def test_a_side_that_could_not_run_is_reported_not_judged(tmp_path: Path) -> None:
    judged = judge_pair(PAIR, Side(None, "uv exited 1"), side(tmp_path, "fixed", {}))
    assert not judged["detected"] and judged["why_not"] == "not run: uv exited 1"


def test_the_atlas_file_loads_with_unique_ids() -> None:
    pairs = load_atlas(ATLAS)
    assert len({pair.id for pair in pairs}) == len(pairs) >= 5
    assert all(pair.buggy_pins[0] == f"{pair.package}=={pair.buggy}" for pair in pairs)


def caused_side(tmp_path: Path, name: str, causes: dict[str, str]) -> Side:
    """A side where close.code-delivered fails with `causes` (cause -> verdict)."""
    path = tmp_path / f"{name}.json"
    row = {"check": "close.code-delivered", "server": "uvicorn-wsproto", "verdict": "fail"}
    path.write_text(json.dumps({"results": [{**row, "causes": causes}]}))
    return Side(path, versions={"uvicorn": name})


def test_a_cause_the_fix_removes_is_detected_though_its_check_still_fails(
    tmp_path: Path,
) -> None:
    judged = judge_pair(
        PAIR,
        caused_side(tmp_path, "buggy", {"the drop is lost": "fail", "sends 1001": "fail"}),
        caused_side(tmp_path, "fixed", {"sends 1001": "fail"}),
    )
    assert (judged["detected"], [c["cause"] for c in judged["causes"]["fixed"]]) == (
        True,
        ["the drop is lost"],
    )


def test_a_cause_that_only_changed_its_wording_is_no_detection(tmp_path: Path) -> None:
    judged = judge_pair(
        PAIR,
        caused_side(tmp_path, "buggy", {"raised X at a.py:10": "fail"}),
        caused_side(tmp_path, "fixed", {"raised X at a.py:12": "fail"}),
    )
    assert (judged["detected"], judged["causes"]["fixed"]) == (False, [])
