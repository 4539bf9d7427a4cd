"""`python -m reports.compare` names what changed between two runs, and only that."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.compare import main


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
