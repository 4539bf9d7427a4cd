"""wsconform installs beside a project's own pins and runs there (issue 25): the built wheel goes
into a fresh venv pinned like a 2023 project (Starlette 0.27, FastAPI 0.103, httpx 0.24, h11
0.14, anyio 3.7, uvicorn 0.23), and into one of a project on Starlette alone, which must get no
FastAPI, PyJWT, requests or httpx2 with it. `wsconform run` then checks each project's own small
app and exits with the documented status: 0, for a correct app."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from wsconform.conformance.engine.lock import unlocked_environ

from tests.test_installed import INSTALL_BOUND_S

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "tests" / "user_apps" / "pinned_projects"
pytestmark = pytest.mark.slow

# What a 2023 lock file pins: httpx < 0.28 and h11 0.14 are what Starlette 0.27's TestClient
# needs, and what a requirement of httpx2 (h11 >= 0.16, anyio >= 4.10) made unresolvable.
PINNED_2023 = (
    "starlette==0.27.0",
    "fastapi==0.103.0",
    "httpx==0.24.1",
    "h11==0.14.0",
    "anyio==3.7.1",
    "uvicorn==0.23.2",
)
STARLETTE_ONLY = ("starlette",)
# Used by the reference suite only (the `dev` extra), never by a user's run.
NOT_FOR_A_STARLETTE_PROJECT = ("fastapi", "jwt", "requests", "httpx2")
EXIT_CLEAN = 0  # src/wsconform/cli.py: no finding


def run(command: list[str], cwd: Path, bound: float = 600) -> subprocess.CompletedProcess[str]:
    # Unlocked: the project's pins, not wsconform's lock (tox sets UV_CONSTRAINT to it), and
    # nothing of this repository importable.
    env = {key: value for key, value in unlocked_environ().items() if key != "PYTHONPATH"}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=bound, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (it comes with tox-uv, which the README installs)")
    wheels = tmp_path_factory.mktemp("wheel")
    done = run([uv, "build", "--wheel", "--out-dir", str(wheels), str(ROOT)], ROOT, INSTALL_BOUND_S)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = wheels.glob("wsconform-*.whl")
    return built


def project_with(wheel: Path, pins: tuple[str, ...], app: str, work: Path) -> tuple[Path, Path]:
    """(a project folder holding `app` as app.py, the bin folder of its venv with the project's
    pins and the wheel). The venv is the project's `.venv`, where uv and Poetry put it: the
    checks then run from inside the folder whose modules a fresh app per example re-imports."""
    uv = shutil.which("uv")
    assert uv is not None
    project = work / "project"
    venv = project / ".venv"
    python = venv / "bin" / "python"
    project.mkdir()
    shutil.copy(APPS / app, project / "app.py")
    done = run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], work)
    assert done.returncode == 0, done.stderr[-3000:]
    install = [uv, "pip", "install", "--quiet", "--python", str(python), str(wheel), *pins]
    done = run(install, work, INSTALL_BOUND_S)
    assert done.returncode == 0, done.stderr[-3000:]
    return project, venv / "bin"


def installed_versions(bin_dir: Path, names: tuple[str, ...], cwd: Path) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json, sys;"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    done = run([str(bin_dir / "python"), "-c", script, *names], cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def unusable_reason_of_testclient(bin_dir: Path, cwd: Path) -> str:
    script = (
        "from wsconform.targets.servers.testclient import unusable_reason;"
        "print(unusable_reason() or '')"
    )
    done = run([str(bin_dir / "python"), "-c", script], cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def wsconform_run(bin_dir: Path, cwd: Path, server: str) -> subprocess.CompletedProcess[str]:
    return run([str(bin_dir / "wsconform"), "run", "app:app", "--server", server], cwd)


def test_installs_and_runs_beside_2023_pins(wheel: Path, tmp_path: Path) -> None:
    project, bin_dir = project_with(wheel, PINNED_2023, "fastapi_2023_app.py", tmp_path)
    wanted = dict(pin.split("==") for pin in PINNED_2023)
    assert installed_versions(bin_dir, tuple(wanted), project) == wanted
    # Starlette 0.27's TestClient on httpx 0.24: usable, so both transports give verdicts.
    assert unusable_reason_of_testclient(bin_dir, project) == ""
    for server in ("inmemory", "testclient"):
        done = wsconform_run(bin_dir, project, server)
        assert done.returncode == EXIT_CLEAN, (server, done.stdout[-3000:] + done.stderr[-3000:])
        results = json.loads((project / "wsconform-report" / "results.json").read_text())
        assert {result["server"] for result in results["results"]} == {server}


def test_a_starlette_only_project_gets_only_what_it_uses(wheel: Path, tmp_path: Path) -> None:
    project, bin_dir = project_with(wheel, STARLETTE_ONLY, "starlette_only_app.py", tmp_path)
    script = (
        "import importlib.util, sys;"
        "print(' '.join(n for n in sys.argv[1:] if importlib.util.find_spec(n)))"
    )
    done = run([str(bin_dir / "python"), "-c", script, *NOT_FOR_A_STARLETTE_PROJECT], project)
    assert done.returncode == 0 and done.stdout.split() == [], done.stdout + done.stderr
    done = wsconform_run(bin_dir, project, "inmemory")
    assert done.returncode == EXIT_CLEAN, done.stdout[-3000:] + done.stderr[-3000:]
    # This Starlette's TestClient is built on httpx2, which the project does not have: the
    # transport says so, instead of a crash or a deprecated fallback, and the run goes on.
    reason = unusable_reason_of_testclient(bin_dir, project)
    assert reason.startswith("not usable here: install httpx2"), reason
    done = wsconform_run(bin_dir, project, "testclient")
    assert done.returncode == EXIT_CLEAN, done.stdout[-3000:] + done.stderr[-3000:]
    index = json.loads((project / "wsconform-report" / "index.json").read_text())
    assert index["unavailable_servers"] == {"testclient": reason}
