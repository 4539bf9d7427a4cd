"""The docs' reference pages are generated (`python -m wsconform.reports.docs`), never edited by
hand: a page that differs from what the generator writes fails here and in `tox -e docs`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from wsconform.reports.docs import (
    DOCS,
    SNAPSHOT,
    main,
    pages,
    snapshot,
    stale_pages,
    write_snapshot,
)


def test_generated_reference_pages_are_current() -> None:
    stale = [f"docs/{path}" for path in stale_pages()]
    assert stale == [], "run `python -m wsconform.reports.docs` and commit the pages"


def test_check_mode_names_an_edited_page_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    (docs / SNAPSHOT).parent.mkdir(parents=True)
    shutil.copy(DOCS / SNAPSHOT, docs / SNAPSHOT)
    assert main(["--docs", str(docs)]) == 0
    edited = docs / "reference/checks.md"
    edited.write_text(edited.read_text().replace("MUST", "SHOULD", 1))
    status = main(["--check", "--docs", str(docs)])
    assert (status, capsys.readouterr().err.splitlines()) == (
        1,
        [
            "python -m wsconform.reports.docs: docs/reference/checks.md is stale:"
            " run `python -m wsconform.reports.docs` and commit it"
        ],
    )


def test_every_check_and_pair_has_a_row() -> None:
    from wsconform.conformance.checks import CATALOGUE
    from wsconform.conformance.tools.atlas import load_atlas

    generated = pages()
    checks, atlas = generated[Path("reference/checks.md")], generated[Path("reference/atlas.md")]
    assert [c.id for c in CATALOGUE if f"| `{c.id}` |" not in checks] == []
    assert [p.id for p in load_atlas() if f"| `{p.id}` |" not in atlas] == []


def test_the_snapshot_keeps_what_the_pages_show_and_no_transcript(tmp_path: Path) -> None:
    suite = {
        "environment": {"starlette": "1.10.0"},
        "servers": ["inmemory", "granian"],
        "unavailable_servers": {},
        "advertised": {"granian": {"spec_version": "2.3", "extensions": [], "reported": True}},
        "checks": [{"id": "a.check", "grade": "MUST", "title": "t", "requirement": "r"}],
        "results": [
            {
                "check": "a.check",
                "server": "granian",
                "verdict": "fail",
                "evidence": {"details": ["saw\n  nothing"], "transcript": ["long"]},
            },
            {"check": "a.check", "server": "inmemory", "verdict": "pass", "evidence": {}},
        ],
    }
    browser = {
        **suite,
        "servers": ["granian+browser"],
        "advertised": {},
        "results": [
            {
                "check": "a.check",
                "server": "granian+browser",
                "verdict": "informational",
                "evidence": {"outcome": "o", "page_saw": ["open"], "transcript": ["long"]},
            }
        ],
        "facts": [
            {
                "fact": "a.fact",
                "server": "granian+browser",
                "evidence": {"outcome": "f", "page_saw": ["error"], "transcript": ["long"]},
            }
        ],
    }
    assert snapshot([suite, browser]) == {
        "environment": {"starlette": "1.10.0"},
        "servers": ["granian", "granian+browser", "inmemory"],
        "unavailable_servers": {},
        "advertised": {"granian": {"spec_version": "2.3", "extensions": [], "reported": True}},
        "checks": [{"id": "a.check", "grade": "MUST"}],
        "results": [
            {"check": "a.check", "server": "granian", "verdict": "fail",
             "evidence": {"detail": "saw nothing"}},
            {"check": "a.check", "server": "granian+browser", "verdict": "informational",
             "evidence": {"outcome": "o", "page_saw": ["open"]}},
            {"check": "a.check", "server": "inmemory", "verdict": "pass"},
        ],
        "facts": [
            {"fact": "a.fact", "server": "granian+browser",
             "evidence": {"outcome": "f", "page_saw": ["error"]}},
        ],
    }  # fmt: skip


def test_a_written_snapshot_reads_back_as_the_snapshot(tmp_path: Path) -> None:
    runs = [json.loads((DOCS / SNAPSHOT).read_text())]
    run = tmp_path / "results.json"
    run.write_text(json.dumps(runs[0]))
    written = write_snapshot([run], tmp_path / "docs")
    assert json.loads(written.read_text()) == snapshot(runs)
