"""The compat environment can install the oldest releases the suite supports: the floor's pins
(conformance/compat_floor.txt) resolve, in one dry run, together with the extras `tox -e compat`
installs. A requirement that makes the floor unresolvable (the `bench` extra's websockets>=13
once made every uvicorn before ~0.30 uninstallable there) fails here, not silently in a matrix."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wsconform.conformance.lock import unlocked_environ

ROOT = Path(__file__).resolve().parents[1]
FLOOR = ROOT / "conformance" / "compat_floor.txt"


def compat_extras() -> str:
    """The extras `tox -e compat` installs (its `extras`), as pip spells them."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    return ",".join(tox["testenv:compat"]["extras"].split())


def resolve(requirements: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (it comes with tox-uv, which the README installs)")
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
