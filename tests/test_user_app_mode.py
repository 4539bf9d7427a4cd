"""`wsconform run` on apps of the kind users point it at (tests/user_apps/), each with one
trait the user-app mode must get right: no false alarm from a lifespan resource, no verdict
inherited from an earlier example, every distinct bug reported and shrunk on its own, the
leaf of an exception group with the app's frame, configuration bound to the app's routes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.engine.plans import ConnectionPlan, Observation
from wsconform.conformance.engine.sessions import LoopRunner
from wsconform.conformance.engine.vocabulary import Accepted, ClientRaised
from wsconform.conformance.families.generic.routes import judge, run_plan
from wsconform.targets.servers.inmemory import InMemoryTransport

from tests.runs import WITHOUT_CROWDS

ROOT = Path(__file__).resolve().parents[1]
APPS = "tests.user_apps"


def wsconform(
    tmp_path: Path, *arguments: str, crowds: bool = True
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """`wsconform run` on inmemory, as a user types it (without the crowd pass unless
    `crowds`: see tests/runs.py); its exit status and results.json."""
    report = tmp_path / "report"
    command = [
        sys.executable, "-m", "wsconform.cli", "run", *arguments,
        "--server", "inmemory", "--report-dir", str(report),
        *(() if crowds else ("--", *WITHOUT_CROWDS)),
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    results = report / "results.json"
    return run, json.loads(results.read_text()) if results.exists() else None


@pytest.mark.slow
def test_a_resource_the_lifespan_connects_raises_no_false_alarm(tmp_path: Path) -> None:
    run, results = wsconform(tmp_path, f"{APPS}.broker_app:app")
    assert (run.returncode, results["findings"]) == (0, []), run.stdout[-2000:]


@pytest.mark.slow
def test_without_the_lifespan_the_same_app_fails_on_its_missing_broker(tmp_path: Path) -> None:
    """The broken target of the test above: the lifespan is what makes the difference."""
    run, results = wsconform(tmp_path, f"{APPS}.broker_app:app", "--no-lifespan", crowds=False)
    assert run.returncode == 1
    assert any("broker" in finding["leaf"] for finding in results["findings"]), results


@pytest.mark.slow
def test_a_lifespan_that_fails_is_a_usage_error_showing_why(tmp_path: Path) -> None:
    run, _ = wsconform(tmp_path, f"{APPS}.broker_app:failing_startup", "--factory")
    assert run.returncode == 2
    assert "the broker refused the connection" in run.stdout + run.stderr


@pytest.mark.slow
def test_two_bugs_in_one_route_are_two_findings_each_shrunk(tmp_path: Path) -> None:
    run, results = wsconform(tmp_path, f"{APPS}.two_bugs_app:app", crowds=False)
    leaves = sorted(finding["leaf"].split(" at ")[0] for finding in results["findings"])
    assert run.returncode == 1
    assert leaves == ["websocket /orders: JSONDecodeError", "websocket /orders: KeyError"]
    plans = sorted(finding["plan"] for finding in results["findings"])
    assert plans == ["connect '/orders'\n  send_bytes(b'')", "connect '/orders'\n  send_text('')"]
    for finding in results["findings"]:
        assert finding["servers"]["inmemory"]["confirmed"] is True
        assert (tmp_path / "report" / "repro" / f"{finding['id']}.py").exists()


@pytest.mark.slow
def test_the_repro_script_reproduces_without_wsconform(tmp_path: Path) -> None:
    _, results = wsconform(tmp_path, f"{APPS}.two_bugs_app:app", crowds=False)
    script = tmp_path / "report" / "repro" / f"{results['findings'][0]['id']}.py"
    replayed = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    leaf = results["findings"][0]["leaf"].split(": ")[1].split(" at ")[0]
    assert replayed.returncode == 0, replayed.stdout[-2000:] + replayed.stderr[-2000:]
    assert f"the app raised {leaf}" in replayed.stdout.splitlines()[-1]
    assert results["findings"][0]["repro_script"] == f"repro/{script.name}"


@pytest.mark.slow
def test_an_exception_group_is_shown_by_its_leaf_and_the_apps_frame(tmp_path: Path) -> None:
    run, results = wsconform(tmp_path, f"{APPS}.taskgroup_app:app", crowds=False)
    leaves = [finding["leaf"] for finding in results["findings"]]
    assert run.returncode == 1
    assert any(
        "ValueError at tests/user_apps/taskgroup_app.py" in leaf and "in handle" in leaf
        for leaf in leaves
    ), leaves


@pytest.mark.slow
def test_state_an_earlier_example_left_behind_is_not_a_finding_but_a_crowd_shows_the_leak(
    tmp_path: Path,
) -> None:
    """Each connection on a fresh app is fine; two clients on one app show the leak as what
    it is: the second's greeting fails on the first's dead socket."""
    run, results = wsconform(tmp_path, f"{APPS}.leaky_app:app")
    found = [
        (finding["checks"], finding["plan"].count(" joins ")) for finding in results["findings"]
    ]
    assert found == [(["generic.crowd.no-collateral-failure"], 2)], run.stdout[-2000:]


def test_without_a_fresh_app_the_leak_fails_a_connection_that_is_fine_alone() -> None:
    """The broken target of the test above: two connections to one app, the second fails on
    the first's dead socket; on a fresh app the same connection passes."""
    runner = LoopRunner()
    transport = InMemoryTransport(f"{APPS}.leaky_app:app")
    plan = ConnectionPlan("/room", "/room", (), ())

    def errors_of_one_connection(fresh: bool) -> list[str]:
        if fresh:
            runner.run(transport.prepare_app(fresh=True))
        return runner.run(run_plan(transport, plan)).app_errors

    try:
        alone = errors_of_one_connection(fresh=True)
        after_another = errors_of_one_connection(fresh=False)
        fresh_again = errors_of_one_connection(fresh=True)
    finally:
        runner.run(transport.aclose())
        runner.close()
    assert (alone, fresh_again) == ([], [])
    assert after_another and "leaky_app.py" in after_another[0].partition("\n")[0]


@pytest.mark.slow
def test_a_configured_route_template_is_filled_and_judged(tmp_path: Path) -> None:
    run, results = wsconform(tmp_path, f"{APPS}.templated.app:app")
    verdicts = {row["check"]: row["verdict"] for row in results["results"]}
    assert run.returncode == 0, run.stdout[-2000:]
    assert verdicts["generic.auth.accepts-valid-token"] == "pass"
    assert verdicts["generic.auth.rejects-bad-tokens"] == "pass"


@pytest.mark.slow
def test_a_configured_route_the_app_lacks_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    config = ROOT / "tests" / "user_apps" / "missing_route.toml"
    run, _ = wsconform(tmp_path, f"{APPS}.broker_app:app", "--config", str(config))
    assert run.returncode == 2
    assert '"/no/such/ws"' in run.stdout + run.stderr


def test_judging_counts_testclients_reraise_as_the_server_error_it_is() -> None:
    """TestClient hands the client the app's exception: where the app raised, that is the
    route failing, not a pass of no-server-error."""
    raised = Observation([Accepted(None, ()), ClientRaised("KeyError", "'text'")], ["KeyError"])
    not_raised = Observation([Accepted(None, ()), ClientRaised("KeyError", "'text'")], [])
    failing = [
        {j.check_id for j in judge(observation) if j.ok is False}
        for observation in (raised, not_raised)
    ]
    assert "generic.no-server-error" in failing[0]
    assert "generic.no-server-error" not in failing[1]


@pytest.mark.slow
def test_the_report_leads_with_the_findings_and_leaves_out_what_did_not_run(
    tmp_path: Path,
) -> None:
    _, results = wsconform(tmp_path, f"{APPS}.two_bugs_app:app", crowds=False)
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.index('id="findings"') < page.index('id="summary"')
    assert page.count('class="finding"') == len(results["findings"]) == 2
    for absent in ("Seed claims", 'id="benchmarks"', "not run", "seed document"):
        assert absent not in page, absent
