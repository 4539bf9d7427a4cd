"""The compat environment can install the oldest releases the suite supports: the floor's pins
(conformance/data/compat_floor.txt) resolve, in one dry run, together with the extras `tox -e
compat`
installs. A requirement that makes the floor unresolvable (the `bench` extra's websockets>=13
once made every uvicorn before ~0.30 uninstallable there) fails here, not silently in a matrix.
And the floor *runs*: the suite, in a venv of its own on those releases, gives verdicts on the
in-memory and TestClient transports, with no test stopped at setup."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from wsconform.conformance.data import COMPAT_FLOOR as FLOOR
from wsconform.conformance.engine.lock import unlocked_environ

ROOT = Path(__file__).resolve().parents[1]
# The floor's run, kept to about half a minute: the puppet app's directed scenarios and claims,
# and the reference app's framework surface, on both transports (the lifecycle machine and the
# generic checks would take two minutes more and load no other code of the old releases).
FLOOR_RUN_TESTS = "test_seed_claim or test_directed_scenario or test_framework_surface"
FLOOR_SERVERS = ("inmemory", "testclient")


def compat_extras() -> str:
    """The extras `tox -e compat` installs (its `extras`), as pip spells them."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    return ",".join(tox["testenv:compat"]["extras"].split())


def uv_or_skip() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (it comes with tox-uv, which the README installs)")
    return uv


def resolve(requirements: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    uv = uv_or_skip()
    wanted = tmp_path / "floor.in"
    wanted.write_text("\n".join(requirements) + "\n")
    return subprocess.run(
        [uv, "pip", "compile", "--python-version", "3.11", "-q", str(wanted), "-o", os.devnull],
        cwd=ROOT, env=unlocked_environ(), capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def floor_pins() -> list[str]:
    lines = [line.strip() for line in FLOOR.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_compat_floor_resolves_with_the_compat_extras(tmp_path: Path) -> None:
    done = resolve([f"-e .[{compat_extras()}]", *floor_pins()], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_bench_extra_would_break_the_floor(tmp_path: Path) -> None:
    """The check above can fail: with the benchmarks' requirements, the floor does not resolve."""
    done = resolve(["-e .[servers,bench,dev]", *floor_pins()], tmp_path)
    assert done.returncode != 0 and "websockets" in done.stderr, done.stderr[-3000:]


@pytest.mark.slow
def test_the_compat_floor_gives_verdicts(tmp_path: Path) -> None:
    uv, venv = uv_or_skip(), tmp_path / "venv"
    python = venv / "bin" / "python"
    results, junit = tmp_path / "results.json", tmp_path / "junit.xml"
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(python),
         "-e", f"{ROOT}[{compat_extras()}]", *floor_pins()],
        # As `tox -e compat` runs it (its `commands`), on fewer tests.
        [str(python), "-m", "pytest", "conformance", "--ignore=conformance/bench",
         "--hypothesis-profile", "ci", "--no-baseline-gate", "--upstream-warnings", "ignore",
         "--server", ",".join(FLOOR_SERVERS), "-k", FLOOR_RUN_TESTS, "-n", "2",
         "--dist", "loadgroup", "-q", "--results", str(results), "--junitxml", str(junit)],
    ]  # fmt: skip
    for command in steps:
        # Unlocked: the floor's releases are not the lock's. A verdict that fails a test (an old
        # release's behaviour) is still a verdict, so pytest's 1 is not a failure here.
        done = subprocess.run(
            command, cwd=ROOT, env=unlocked_environ(), capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    stopped = [
        f"{case.get('classname')}::{case.get('name')}: {error.get('message', '')[:300]}"
        for case in ET.parse(junit).iter("testcase")
        for error in case.iter("error")
    ]
    assert stopped == []
    judged = {result["server"] for result in json.loads(results.read_text())["results"]}
    assert judged == set(FLOOR_SERVERS)
