"""`python -m wsconform.reports.compare` names what changed between two runs, and only that."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
from wsconform.reports.compare import main


def results_file(path: Path, verdicts: dict[tuple[str, str], str]) -> Path:
    rows = [{"check": c, "server": s, "verdict": v} for (c, s), v in verdicts.items()]
    path.write_text(json.dumps({"results": rows}))
    return path


def test_prints_each_changed_pair_worse_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = results_file(
        tmp_path / "buggy.json",
        {("close.a", "uvicorn-wsproto"): "fail", ("close.b", "daphne"): "pass", ("c", "x"): "pass"},
    )
    after = results_file(
        tmp_path / "fixed.json",
        {
            ("close.a", "uvicorn-wsproto"): "pass",
            ("close.b", "daphne"): "non-strict",
            ("c", "x"): "pass",
        },
    )
    assert main([str(before), str(after)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 verdict(s) differ")
    assert lines[1].split() == ["close.b", "daphne", "pass", "->", "non-strict", "(worse)"]
    assert lines[2].split() == ["close.a", "uvicorn-wsproto", "fail", "->", "pass", "(better)"]


def test_a_pair_missing_from_one_run_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = results_file(tmp_path / "a.json", {("close.a", "granian"): "pass"})
    after = results_file(tmp_path / "b.json", {})
    assert main([str(before), str(after)]) == 1
    assert "(only in BEFORE)" in capsys.readouterr().out


def test_identical_runs_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = {("close.a", "granian"): "unimplemented"}
    before = results_file(tmp_path / "a.json", same)
    after = results_file(tmp_path / "b.json", same)
    assert main([str(before), str(after)]) == 0
    assert "no verdict differs" in capsys.readouterr().out


@pytest.mark.parametrize("content", [None, "not json", '{"servers": []}'])
def test_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    broken = tmp_path / "broken.json"
    if content is not None:
        broken.write_text(content)
    good = results_file(tmp_path / "good.json", {})
    assert main([str(broken), str(good)]) == 2
    assert str(broken) in capsys.readouterr().err


def test_every_step_down_from_pass_to_fail_is_worse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ladder = ["pass", "informational", "unimplemented", "non-strict", "fail"]
    steps = {(f"c{n}", "x"): step for n, step in enumerate(pairwise(ladder))}
    before = results_file(tmp_path / "a.json", {key: high for key, (high, _) in steps.items()})
    after = results_file(tmp_path / "b.json", {key: low for key, (_, low) in steps.items()})
    main([str(before), str(after)])
    directions = [line.split()[-1] for line in capsys.readouterr().out.splitlines()[1:]]
    assert directions == ["(worse)"] * 4


def test_a_retired_check_and_its_replacements_are_one_renamed_line_and_no_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "close.code-and-reason-delivered"
    before = results_file(tmp_path / "a.json", {(old, "daphne"): "fail"})
    after = results_file(
        tmp_path / "b.json",
        {("close.code-delivered", "daphne"): "pass", ("close.reason-delivered", "daphne"): "fail"},
    )
    status = main([str(before), str(after)])
    lines = capsys.readouterr().out.splitlines()
    assert (status, lines[:2], lines[2].split(), len(lines)) == (
        0,
        [
            f"no verdict differs between {before} and {after}",
            "1 check(s) renamed since BEFORE (not counted as differences):",
        ],
        [
            old, "daphne", "fail", "->", "close.code-delivered", "pass,",
            "close.reason-delivered", "fail", "(renamed)",
        ],
        3,
    )  # fmt: skip


def test_a_rename_is_listed_after_the_differences_it_does_not_count_among(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "app-error.exception-before-accept-denies"
    new = "app-error.exception-before-accept-no-upgrade"
    before = results_file(tmp_path / "a.json", {(old, "granian"): "pass", ("c", "x"): "pass"})
    after = results_file(tmp_path / "b.json", {(new, "granian"): "pass", ("c", "x"): "fail"})
    status = main([str(before), str(after)])
    lines = capsys.readouterr().out.splitlines()
    assert (status, lines[0].split()[:4], [line.split()[-1] for line in lines[1:]]) == (
        1,
        ["1", "verdict(s)", "differ", "between"],
        ["(worse)", "differences):", "(renamed)"],
    )


def caused_file(path: Path, rows: list[tuple[str, str, str, dict[str, str]]]) -> Path:
    """A results.json whose failing rows carry their causes (check, server, verdict, causes)."""
    results = [
        {"check": c, "server": s, "verdict": v, **({"causes": causes} if causes else {})}
        for c, s, v, causes in rows
    ]
    path.write_text(json.dumps({"results": results}))
    return path


HEADERS_IGNORED = "the 101 carries none of the app's accept headers"


def test_a_new_cause_behind_a_check_that_already_failed_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No verdict moves (close.code-delivered fails on both sides), but a new behaviour fails it:
    what the gate would stop, compare shows."""
    before = caused_file(
        tmp_path / "a.json", [("close.code-delivered", "daphne", "fail", {"sends 1001": "fail"})]
    )
    after = caused_file(
        tmp_path / "b.json",
        [("close.code-delivered", "daphne", "fail", {"sends 1001": "fail", "sends 1000": "fail"})],
    )
    assert main([str(before), str(after)]) == 1
    out = capsys.readouterr().out
    assert ("no verdict differs" in out, out.count("sends 1000"), "sends 1001" in out) == (
        True,
        1,
        False,
    )


def test_one_cause_failing_three_checks_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = caused_file(tmp_path / "a.json", [])
    checks = ("handshake.accept-headers", "contract.surface.mounted-app", "x.third")
    after = caused_file(
        tmp_path / "b.json", [(c, "granian", "fail", {HEADERS_IGNORED: "fail"}) for c in checks]
    )
    assert main([str(before), str(after)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if HEADERS_IGNORED in line]
    assert [sorted(line.split("[")[1].rstrip("]").split(", ")) for line in lines] == [
        sorted(checks)
    ]


def test_causes_are_not_compared_with_a_run_that_recorded_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = results_file(tmp_path / "a.json", {("close.a", "daphne"): "fail"})
    after = caused_file(tmp_path / "b.json", [("close.a", "daphne", "fail", {"x": "fail"})])
    assert main([str(before), str(after)]) == 0
    assert "causes not compared: BEFORE recorded none" in capsys.readouterr().out
