"""wsconform as a user installs it: the built wheel in a fresh virtual environment beside a
project of its own (examples/chatproject: an app with a lifespan-connected broker, a dependency
of its own, its own tests), outside this repository. The command, the pytest entry point and the
Python API must all work there, and nothing but `wsconform` may land in site-packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runs import WITHOUT_CROWDS

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "examples" / "chatproject"
# Building and installing resolves every dependency: bounded, but generously.
INSTALL_BOUND_S = 900
pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, bound: float = 600) -> subprocess.CompletedProcess[str]:
    # Outside the repository nothing of it may be importable: a clean environment.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=bound, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the project's copy, its venv's bin folder) with the wheel and the project installed."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (it comes with tox-uv, which the README installs)")
    work = tmp_path_factory.mktemp("installed")
    wheels, project, venv = work / "dist", work / "chatproject", work / "venv"
    shutil.copytree(PROJECT, project)
    steps = [
        ([uv, "build", "--wheel", "--out-dir", str(wheels), str(ROOT)], ROOT),
        ([uv, "venv", "--python", sys.executable, str(venv)], work),
    ]
    for command, cwd in steps:
        done = run(command, cwd, INSTALL_BOUND_S)
        assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = wheels.glob("wsconform-*.whl")
    python = venv / "bin" / "python"
    install = [uv, "pip", "install", "--python", str(python), str(wheel), f"{project}[dev]"]
    done = run(install, project, INSTALL_BOUND_S)
    assert done.returncode == 0, done.stderr[-3000:]
    yield project, venv / "bin"


def test_only_the_wsconform_namespace_is_installed(installed: tuple[Path, Path]) -> None:
    project, bin_dir = installed
    listing = run(
        [str(bin_dir / "python"), "-c", "import importlib.metadata as m;"
         "print(m.distribution('wsconform').read_text('top_level.txt'))"],
        project,
    )  # fmt: skip
    assert listing.stdout.split() == ["wsconform"], listing.stdout + listing.stderr


def test_the_command_runs_in_the_project_and_writes_its_report(
    installed: tuple[Path, Path],
) -> None:
    project, bin_dir = installed
    done = run([str(bin_dir / "wsconform"), "run", "chatproject.main:app"], project)
    report = project / "wsconform-report"
    results = json.loads((report / "results.json").read_text())
    alone = [
        finding
        for finding in results["findings"]
        if not any(check.startswith("generic.crowd.") for check in finding["checks"])
    ]
    crowd = [finding for finding in results["findings"] if finding not in alone]
    leaves = [finding["leaf"] for finding in alone]
    # Exit 1: the binary-frame bug; no false alarm from the broker the lifespan connects.
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(leaves) == 1 and "KeyError at chatproject/main.py" in leaves[0], leaves
    # And what that bug does to a room: the crashed member stays in it, the next publish sends
    # to its dead socket, and the publisher's handler leaves without closing its own.
    assert [finding["checks"] for finding in crowd] == [["generic.crowd.no-collateral-failure"]]
    assert (report / "index.html").exists()
    assert (report / "repro" / f"{alone[0]['id']}.py").exists()


def test_routes_lists_the_projects_routes(installed: tuple[Path, Path]) -> None:
    project, bin_dir = installed
    done = run([str(bin_dir / "wsconform"), "routes", "chatproject.main:app"], project)
    assert done.returncode == 0 and "/rooms/{name}" in done.stdout, done.stdout + done.stderr


def test_the_pytest_entry_point_adds_the_generic_checks(installed: tuple[Path, Path]) -> None:
    project, bin_dir = installed
    done = run(
        [str(bin_dir / "pytest"), "--wsconform-app", "chatproject.main:app",
         "--wsconform-server", "inmemory", "-q", "-p", "no:cacheprovider", *WITHOUT_CROWDS],
        project,
    )  # fmt: skip
    # The project's own test (the API) and the entry point's both find the binary-frame bug.
    assert done.returncode == 1, done.stdout[-3000:]
    assert "test_generic_route[/rooms/{name}-inmemory]" in done.stdout
    assert "KeyError" in done.stdout


def test_without_the_option_the_plugin_stays_out_of_the_projects_tests(
    installed: tuple[Path, Path],
) -> None:
    project, bin_dir = installed
    done = run([str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider", "--collect-only"], project)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "test_websocket_route" in done.stdout and "test_generic" not in done.stdout
