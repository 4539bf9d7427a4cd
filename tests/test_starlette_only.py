"""The suite without FastAPI (a project on Starlette alone, or an atlas side whose Starlette
release no FastAPI accepts): it still collects every test, runs what needs no FastAPI, and skips
the contracts of the reference app's FastAPI routes with the reason, instead of failing to load
the reference app. FastAPI is hidden from a pytest run in a subprocess (`sys.modules`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# Each test runs the suite in a subprocess: seconds each (`-m "not slow"` leaves them out).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# `import fastapi` then raises ModuleNotFoundError, as where it is not installed.
WITHOUT_FASTAPI = (
    "import sys; sys.modules['fastapi'] = None; import pytest; sys.exit(pytest.main(sys.argv[1:]))"
)


def pytest_run(*args: str, fastapi: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *(["-m", "pytest"] if fastapi else ["-c", WITHOUT_FASTAPI])]
    return subprocess.run(
        [*command, "-q", "-p", "no:cacheprovider", "--hypothesis-profile", "ci", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def collected(run: subprocess.CompletedProcess[str]) -> list[str]:
    """The ids of the tests a run selected (`--collect-only -q`)."""
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_the_suite_selects_the_same_tests_without_fastapi() -> None:
    suite = ("conformance", "--ignore=conformance/bench", "--collect-only", "--server", "inmemory")
    without = collected(pytest_run(*suite))
    assert without and without == collected(pytest_run(*suite, fastapi=True))


def test_contracts_of_fastapi_routes_are_skipped_with_the_reason(tmp_path: Path) -> None:
    done = pytest_run(
        "conformance/suite/test_contracts.py", "conformance/suite/test_scenarios.py", "-rs",
        "-k", "welcome or rooms or static_tokens or test_chat[ or close-before-accept",
        "--server", "inmemory", "--no-baseline-gate", "--results", str(tmp_path / "results.json"),
    )  # fmt: skip
    skipped = sorted(re.findall(r"SKIPPED \[1\] .*: (FastAPI is not installed: .*)", done.stdout))
    assert (done.returncode, skipped) == (
        0,
        [
            "FastAPI is not installed: the reference app serves /rooms with it",
            "FastAPI is not installed: the reference app serves /secure/router with it",
        ],
    ), done.stdout[-3000:] + done.stderr[-3000:]
    # /welcome, /chatroom, and the static tokens in a header and in the query, need Starlette
    # only; in recording mode a failed verdict would show as an xfail.
    assert re.search(r"\b[5-9] passed", done.stdout), done.stdout[-3000:]
    assert "xfail" not in done.stdout, done.stdout[-3000:]
