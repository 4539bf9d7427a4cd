"""A finding's standalone script reproduces it with nothing but the user's project: the app
called as ASGI directly (no TestClient, whose httpx API changed under old Starlettes), or the
server that showed it started with its own command line; on the newest Starlette here and on the
oldest the suite supports; and a script that does not reproduce is not linked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from wsconform.conformance.data import COMPAT_FLOOR
from wsconform.conformance.engine.findings import Finding, write_repro_scripts
from wsconform.conformance.engine.lock import unlocked_environ
from wsconform.conformance.engine.plans import ClientDoes, CrowdPlan, Drop, Fails, Join, SendText
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.families.generic.crowd import CrowdObservation, judge_crowd, run_crowd
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.inmemory import InMemoryTransport

ROOT = Path(__file__).resolve().parents[1]
TWO_BUGS_APP = "tests.user_apps.two_bugs_app:app"
SCRIPT_BOUND_S = 120


def two_bugs_finding(leaf: str = "KeyError") -> Finding:
    """The finding wsconform records for a binary frame sent to /orders of two_bugs_app
    (Starlette's `receive_text` raises KeyError on a message without "text")."""
    error = f"websocket /orders: {leaf} at tests/user_apps/two_bugs_app.py:18 in orders: 'text'"
    return Finding(
        id="fb04f311",
        route="/orders",
        checks=["generic.no-server-error", "generic.no-unhandled-exception"],
        plan="connect '/orders'\n  send_bytes(b'')",
        steps=[["send_bytes", ""]],
        target="/orders",
        headers=[],
        leaf=error,
        servers={"inmemory": {"client_events": [], "app_errors": [error], "confirmed": True}},
    )


def run_script(python: str, script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, str(script)], cwd=ROOT, capture_output=True, text=True,
        timeout=SCRIPT_BOUND_S, check=False,
    )  # fmt: skip


def assert_reproduced(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "REPRODUCED: close 1011 before the client closed; the app raised KeyError" in done.stdout


def test_a_finding_script_reproduces_on_the_newest_starlette_and_is_linked(
    tmp_path: Path,
) -> None:
    finding = two_bugs_finding()
    [script] = write_repro_scripts([finding], TWO_BUGS_APP, str(ROOT), tmp_path / "repro")
    assert finding.repro_script == "repro/fb04f311.py"
    assert finding.repro_verdict.startswith("REPRODUCED")
    assert_reproduced(run_script(sys.executable, script))


def test_a_script_that_does_not_reproduce_is_not_linked(tmp_path: Path) -> None:
    """A finding the app does not raise again (it raises KeyError, not ValueError)."""
    finding = two_bugs_finding(leaf="ValueError")
    [script] = write_repro_scripts([finding], TWO_BUGS_APP, str(ROOT), tmp_path / "repro")
    assert script.exists()
    assert (finding.repro_script, finding.repro_verdict.split(":")[0]) == ("", "NOT REPRODUCED")


def floor_pins(*names: str) -> list[str]:
    """The compat floor's pins of these packages: the oldest releases the suite supports."""
    lines = [line.strip() for line in COMPAT_FLOOR.read_text().splitlines()]
    return [line for line in lines if line.partition("=")[0].partition("<")[0] in names]


@pytest.mark.slow
def test_a_finding_script_reproduces_on_the_oldest_starlette(tmp_path: Path) -> None:
    """A project pinned to the oldest Starlette and FastAPI the suite supports, with a newer
    httpx beside them (its Client lost `app=` in 0.28): the scripts, of one connection and of
    a crowd, need none of it."""
    uv = subprocess.run(["uv", "--version"], capture_output=True, check=False)
    if uv.returncode != 0:
        pytest.skip("uv is not on PATH (it comes with tox-uv, which the README installs)")
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    pins = floor_pins("starlette", "fastapi", "anyio")
    assert [pin.partition("=")[0].partition("<")[0] for pin in pins] == [
        "starlette", "fastapi", "anyio"
    ]  # fmt: skip
    for command in (
        ["uv", "venv", "--quiet", "--python", sys.executable, str(venv)],
        ["uv", "pip", "install", "--quiet", "--python", str(python), *pins, "httpx>=0.28"],
    ):
        done = subprocess.run(
            command, env=unlocked_environ(), capture_output=True, text=True, timeout=600,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    [script] = write_repro_scripts([two_bugs_finding()], TWO_BUGS_APP, str(ROOT), tmp_path)
    assert_reproduced(run_script(str(python), script))
    # A crowd finding whose evidence is no exception (those differ across Starlette releases:
    # the script runs where wsconform ran, on the same release, never on another).
    broadcast_stops = CROWD_FINDINGS["generic.crowd.broadcast-reaches-all"]()
    [crowd_script] = write_repro_scripts([broadcast_stops], ROOMS_APP, str(ROOT), tmp_path)
    crowd = run_script(str(python), crowd_script)
    assert "REPRODUCED: client 2's ['send_text', '{}']" in crowd.stdout, crowd.stdout
    versions = run_script(str(python), _write(tmp_path / "v.py", VERSIONS))
    assert json.loads(versions.stdout)["starlette"] == pins[0].partition("==")[2]


VERSIONS = "import json, starlette; print(json.dumps({'starlette': starlette.__version__}))\n"

# Returns after accept without closing: uvicorn then ends the TCP connection without a close
# frame, which only a real server shows.
RETURNS_WITHOUT_CLOSE_APP = """
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute


async def greet(websocket):
    await websocket.accept()
    await websocket.send_text("hello")


app = Starlette(routes=[WebSocketRoute("/ws", greet)])
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_drop_only_a_real_server_showed_is_replayed_on_that_server(tmp_path: Path) -> None:
    server = "uvicorn-wsproto"
    reason = all_transports()[server].unavailable_reason()
    if reason:
        pytest.skip(f"{server}: {reason}")
    _write(tmp_path / "dropping_app.py", RETURNS_WITHOUT_CLOSE_APP)
    finding = Finding(
        id="d7000001", route="/ws", checks=["generic.no-server-error"], plan="connect '/ws'",
        steps=[], target="/ws", headers=[], leaf="client saw a drop",
        servers={server: {"client_events": [], "app_errors": [], "confirmed": True}},
    )  # fmt: skip
    [script] = write_repro_scripts([finding], "dropping_app:app", str(tmp_path), tmp_path / "r")
    done = run_script(sys.executable, script)
    assert "-m uvicorn dropping_app:app" in done.stdout and "--ws wsproto" in done.stdout
    assert "REPRODUCED: the connection was dropped without a close frame" in done.stdout
    assert finding.repro_script == "r/d7000001.py"


@pytest.mark.parametrize("server", ["uvicorn-sansio+tls", "nginx"])
def test_a_drop_seen_on_wss_or_behind_nginx_is_replayed_there(server: str, tmp_path: Path) -> None:
    reason = all_transports()[server].unavailable_reason()
    if reason:
        pytest.skip(f"{server}: {reason}")
    _write(tmp_path / "dropping_app.py", RETURNS_WITHOUT_CLOSE_APP)
    finding = Finding(
        id="d7000002", route="/ws", checks=["generic.no-server-error"], plan="connect '/ws'",
        steps=[], target="/ws", headers=[], leaf="client saw a drop",
        servers={server: {"client_events": [], "app_errors": [], "confirmed": True}},
    )  # fmt: skip
    [script] = write_repro_scripts([finding], "dropping_app:app", str(tmp_path), tmp_path / "r")
    done = run_script(sys.executable, script)
    assert "-m uvicorn dropping_app:app" in done.stdout, done.stdout
    started = {"uvicorn-sansio+tls": "--ssl-certfile", "nginx": "nginx: "}[server]
    assert started in done.stdout, done.stdout
    assert "REPRODUCED: the connection was dropped without a close frame" in done.stdout
    assert finding.repro_script == "r/d7000002.py"


ROOMS_APP = "tests.user_apps.rooms_app:app"


def crowd_finding(route: str, *steps: tuple[int, object]) -> Finding:
    """The finding wsconform records for a crowd plan on rooms_app, as `wsconform run` makes
    it: the plan run on a fresh app in memory and judged, each suspect alone on another."""
    runner, transport = LoopRunner(), InMemoryTransport(ROOMS_APP)

    def observe(plan: CrowdPlan) -> CrowdObservation:
        runner.run(transport.prepare_app(fresh=True))
        return runner.run(run_crowd(transport, plan))

    rooms = ((route.replace("{room}", "a"), ()),)
    plan = CrowdPlan(route, rooms, tuple(ClientDoes(c, a) for c, a in steps))  # type: ignore[arg-type]
    try:
        verdict = judge_crowd(plan, observe(plan), observe)
    finally:
        runner.run(transport.aclose())
        runner.close()
    ids = [j.check_id for j in verdict.judgements if j.ok is False]
    finding = Finding.from_failure(route, ids, plan, verdict.about)
    finding.seen_on("inmemory", verdict.about, True, "", "")
    return finding


def quit_stays_finding(route: str = "/quit-stays/{room}") -> Finding:
    """A member closed by "quit" stays in the room: the next relay raises in the sender."""
    return crowd_finding(
        route, (0, Join(0)), (1, Join(0)), (0, SendText("quit")), (1, SendText("{}"))
    )


CROWD_FINDINGS: dict[str, Callable[[], Finding]] = {
    "generic.crowd.no-collateral-failure": quit_stays_finding,
    "generic.crowd.broadcast-reaches-all": lambda: crowd_finding(
        "/broadcast-stops/{room}",
        (0, Join(0)),
        (1, Join(0)),
        (2, Join(0)),
        (1, SendText("{}")),
        (0, Fails(SendText("not json"))),
        (2, SendText("{}")),
    ),
    "generic.crowd.survivors-keep-working": lambda: crowd_finding(
        "/seats-kept/{room}", (0, Join(0)), (1, Join(0)), (1, Drop()), (2, Join(0))
    ),
    "generic.crowd.handlers-finish": lambda: crowd_finding("/waits-forever", (0, Join(0))),
}


@pytest.mark.parametrize("check_id", sorted(CROWD_FINDINGS))
def test_a_crowd_finding_script_replays_its_clients_and_is_linked(
    check_id: str, tmp_path: Path
) -> None:
    finding = CROWD_FINDINGS[check_id]()
    assert finding.checks == [check_id]
    [script] = write_repro_scripts([finding], ROOMS_APP, str(ROOT), tmp_path / "repro")
    done = run_script(sys.executable, script)
    assert (finding.repro_script, done.returncode) == (f"repro/{finding.id}.py", 0), done.stdout
    clients = {
        line.split(":")[0] for line in done.stdout.splitlines() if line.startswith("client ")
    }
    assert len(clients) >= 2 or check_id == "generic.crowd.handlers-finish", done.stdout


def test_a_crowd_script_on_the_correct_twin_is_not_linked(tmp_path: Path) -> None:
    """The quit-stays finding replayed on the route that leaves on quit does not reproduce."""
    finding = quit_stays_finding()
    finding.rooms = [["/quit-leaves/a", []]]
    write_repro_scripts([finding], ROOMS_APP, str(ROOT), tmp_path / "repro")
    assert (finding.repro_script, finding.repro_verdict.split(":")[0]) == ("", "NOT REPRODUCED")


def test_a_crowd_script_blames_the_victim_not_the_client_that_failed_itself(
    tmp_path: Path,
) -> None:
    """Client 0 crashes its own handler (its 1011 is its own doing) and stays in the room; the
    relay of client 1's next message raises in client 1's handler: the finding is client 1."""
    finding = crowd_finding(
        "/crash-stays/{room}",
        (0, Join(0)),
        (1, Join(0)),
        (0, Fails(SendText("not json"))),
        (1, SendText("{}")),
    )
    write_repro_scripts([finding], ROOMS_APP, str(ROOT), tmp_path / "repro")
    assert finding.repro_verdict.startswith("REPRODUCED: client 1's connection ended"), (
        finding.repro_verdict
    )
