"""`conformance.tools.flake` lists exactly the verdicts that were not the same in every run."""

from __future__ import annotations

import json
from pathlib import Path

from wsconform.conformance.tools.flake import differing_verdicts


def results(path: Path, verdicts: dict[tuple[str, str], str]) -> Path:
    rows = [{"check": c, "server": s, "verdict": v} for (c, s), v in verdicts.items()]
    path.write_text(json.dumps({"results": rows}))
    return path


def test_only_verdicts_that_changed_between_runs_are_listed(tmp_path: Path) -> None:
    first = results(tmp_path / "1.json", {("a", "daphne"): "pass", ("b", "daphne"): "fail"})
    second = results(tmp_path / "2.json", {("a", "daphne"): "pass", ("b", "daphne"): "pass"})
    third = results(tmp_path / "3.json", {("a", "daphne"): "pass"})
    assert differing_verdicts([first, second, third]) == {
        ("b", "daphne"): ["fail", "pass", "absent"]
    }
