"""pytest wiring: options, transports as session fixtures, results.json and the baseline gate."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.discovery import WebSocketEndpoint, describe_routes, discover
from conformance.engine import LoopRunner, advertised_by
from conformance.gate import Gate
from conformance.generic import AuthRoute, ConfigError, find_config, load_auth_routes
from conformance.results import (
    EXPECTED_DIR,
    Baseline,
    ResultsRecorder,
    baseline_renames,
    gate_differences,
)
from reports.html import write_report
from targets.servers import all_transports
from targets.servers.base import Transport, load_app

PUPPET_APP = "targets.puppet:app"
REFERENCE_APP = "targets.reference:app"
DEFAULT_RESULTS = Path("reports/out/results.json")

recorder_key = pytest.StashKey[ResultsRecorder]()
differences_key = pytest.StashKey[list[str]]()
endpoints_key = pytest.StashKey[list[WebSocketEndpoint]]()
auth_routes_key = pytest.StashKey[list[AuthRoute]]()
url_key = pytest.StashKey["LiveUrl | None"]()
report_key = pytest.StashKey[list[Path]]()
# Where a pytest-xdist worker leaves its recorder's state for the controller.
WORKER_RESULTS = "wsconform_results"


def is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wsconform", "websocket lifecycle conformance")
    group.addoption(
        "--server",
        default="",
        help="comma-separated transports to run on (default: every installed one); "
        f"known: {', '.join(all_transports())}",
    )
    group.addoption(
        "--app",
        default=REFERENCE_APP,
        help="module:attr of the app whose reference routes the contracts check "
        "(default: %(default)s)",
    )
    group.addoption(
        "--app-path",
        default="",
        help="directory to import --app from (prepended to sys.path)",
    )
    group.addoption(
        "--routes",
        action="store_true",
        help="list the WebSocket routes discovered in --app (with their parameters) and exit",
    )
    group.addoption(
        "--url",
        default="",
        help="ws://127.0.0.1:PORT/PATH of a running server: run the generic checks that need no"
        " app access against it, over the wire only",
    )
    group.addoption(
        "--wsconform-config",
        default="",
        help="a pyproject.toml with a [tool.wsconform] table (default: the nearest one above"
        " --app's module)",
    )
    group.addoption(
        "--results",
        default=str(DEFAULT_RESULTS),
        help="where results.json is written (default: %(default)s)",
    )
    group.addoption(
        "--record-baseline",
        action="store_true",
        help="write this run's verdicts as conformance/expected/<server>.json "
        "instead of gating on them",
    )
    group.addoption(
        "--baselines",
        default=str(EXPECTED_DIR),
        help="directory of the per-server expected-results files (default: conformance/expected)",
    )
    group.addoption(
        "--no-baseline-gate",
        action="store_true",
        help="report verdicts without failing on differences from the baselines",
    )


def baselines_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("baselines"))


def selected_transports(config: pytest.Config) -> list[str]:
    known = all_transports()
    requested = [name.strip() for name in config.getoption("server").split(",") if name.strip()]
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise pytest.UsageError(f"unknown --server {', '.join(unknown)}; known: {', '.join(known)}")
    return requested or list(known)


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist declares this marker itself; declared here too so that a run without it
    # (`-p no:xdist`) still passes --strict-markers.
    config.addinivalue_line("markers", "xdist_group(name): tests that share one xdist worker")
    selected_transports(config)  # fail fast on a typo, before collection
    # A terminated run (CI cancelling a job, `kill`) must stop the servers it started, as Ctrl-C
    # does: pytest tears fixtures down on KeyboardInterrupt but not on a bare SIGTERM.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    app_path = config.getoption("app_path")
    if app_path:
        sys.path.insert(0, str(Path(app_path).resolve()))
        # Servers in other processes import the app too.
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [app_path, os.environ.get("PYTHONPATH")])
        )
    try:
        app = load_app(config.getoption("app"))
        endpoints = discover(app)
    except (ImportError, ValueError, TypeError) as exc:
        raise pytest.UsageError(f"--app {config.getoption('app')}: {exc}") from exc
    if config.getoption("routes"):
        print(f"WebSocket routes of {config.getoption('app')}:\n{describe_routes(endpoints)}")
        pytest.exit("routes listed", returncode=0)
    config.stash[endpoints_key] = endpoints
    config.stash[auth_routes_key] = _auth_routes(config)
    config.stash[url_key] = parse_live_url(config.getoption("url"))
    config.stash[recorder_key] = ResultsRecorder()


def user_app_given(config: pytest.Config) -> bool:
    """Is the suite pointed at the user's app (not the reference app)?"""
    return bool(config.getoption("app") != REFERENCE_APP)


def _auth_routes(config: pytest.Config) -> list[AuthRoute]:
    given = config.getoption("wsconform_config")
    path: Path | None = None
    if given:
        path = Path(given)
        if not path.exists():
            raise pytest.UsageError(f"--wsconform-config {given}: no such file")
    elif user_app_given(config):
        module = sys.modules[config.getoption("app").partition(":")[0]]
        path = find_config(Path(module.__file__ or ".").resolve().parent)
    try:
        return load_auth_routes(path) if path else []
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from exc


@dataclass(frozen=True)
class LiveUrl:
    port: int
    target: str  # path and query


def parse_live_url(url: str) -> LiveUrl | None:
    """`--url`, refused unless it is a ws:// URL on this machine's loopback."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "ws" or parts.hostname not in ("127.0.0.1", "localhost") or not parts.port:
        raise pytest.UsageError(
            f"--url {url}: give ws://127.0.0.1:PORT/PATH (a server on this machine's loopback)"
        )
    return LiveUrl(parts.port, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Three modes. Default: the server suite (puppet and reference app); generic tests are
    left out. `--app`: the user's app, so the puppet's tests (which never touch it) are left
    out. `--url`: only the over-the-wire tests."""
    if config.stash[url_key] is not None:
        keep = [item for item in items if item.get_closest_marker("url")]
    elif user_app_given(config):
        keep = [
            item
            for item in items
            if "transport" not in getattr(item, "fixturenames", ())
            and not item.get_closest_marker("url")
        ]
    else:
        keep = [
            item
            for item in items
            if not item.get_closest_marker("generic") and not item.get_closest_marker("url")
        ]
    kept = {id(item) for item in keep}
    deselected = [item for item in items if id(item) not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep
    for item in items:
        server = transport_of(item)
        if server is not None:
            # `-n N --dist loadgroup` (pytest-xdist) keeps a transport's tests on one worker, so
            # each server starts once and transports run side by side; a shard of the lifecycle
            # machine gets a worker (and a server) of its own.
            shard = _params(item).get("shard")
            group = server if shard is None else f"{server}-machine-{shard}"
            item.add_marker(pytest.mark.xdist_group(group))


def _params(item: pytest.Item) -> dict[str, object]:
    params: dict[str, object] = getattr(getattr(item, "callspec", None), "params", {})
    return params


def transport_of(item: pytest.Item) -> str | None:
    params = _params(item)
    server = params.get("transport") or params.get("app_transport")
    return server if isinstance(server, str) else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture in ("transport", "app_transport"):
        if fixture in metafunc.fixturenames:
            names = selected_transports(metafunc.config)
            metafunc.parametrize(fixture, names, indirect=True, scope="session")


@pytest.fixture(scope="session")
def loop_runner() -> Iterator[LoopRunner]:
    runner = LoopRunner()
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def recorder(request: pytest.FixtureRequest) -> ResultsRecorder:
    return request.config.stash[recorder_key]


@pytest.fixture(scope="session")
def gate(request: pytest.FixtureRequest) -> Gate:
    return Gate(
        recording=request.config.getoption("record_baseline"),
        directory=baselines_dir(request.config),
    )


def _serve(
    request: pytest.FixtureRequest, import_string: str, loop_runner: LoopRunner
) -> Iterator[Transport]:
    spec = all_transports()[request.param]
    reason = spec.unavailable_reason()
    if reason is not None:
        request.config.stash[recorder_key].add_unavailable(spec.name, reason)
        pytest.skip(f"{spec.name}: {reason}")
    with spec.serve(import_string) as served:
        try:
            yield served
        finally:
            loop_runner.run(served.aclose())


@pytest.fixture(scope="session")
def transport(request: pytest.FixtureRequest, loop_runner: LoopRunner) -> Iterator[Transport]:
    """One served puppet app per transport and session, always stopped afterwards."""
    for served in _serve(request, PUPPET_APP, loop_runner):
        advertised = loop_runner.run(advertised_by(served))
        request.config.stash[recorder_key].add_advertised(served.name, advertised)
        yield served


@pytest.fixture(scope="session")
def app_transport(request: pytest.FixtureRequest, loop_runner: LoopRunner) -> Iterator[Transport]:
    """The app under contract (--app, default the reference app) on one transport."""
    yield from _serve(request, request.config.getoption("app"), loop_runner)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist, on the controller: a worker is done; take what it recorded."""
    output = getattr(node, "workeroutput", {})
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    if WORKER_RESULTS in output:
        config.stash[recorder_key].merge(json.loads(output[WORKER_RESULTS]))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    recorder = config.stash[recorder_key]
    if is_xdist_worker(config):
        # The controller merges every worker's results and writes them, once.
        # As JSON text: execnet cannot carry every value evidence holds (ints past 32 bits).
        state = json.dumps(recorder.state())
        config.workeroutput[WORKER_RESULTS] = state  # type: ignore[attr-defined]
        return
    if not (recorder.pairs or recorder.unavailable):
        return
    results_path = Path(config.getoption("results"))
    recorder.write(results_path)
    recording = config.getoption("record_baseline")
    if recording:
        for name in recorder.transports():
            Baseline.write(name, recorder.verdicts(name), baselines_dir(config))
    # The report beside results.json, so that every suite run leaves one to read.
    config.stash[report_key] = write_report(results_path, expected_dir=baselines_dir(config))
    if recording:
        return
    differences = gate_differences(recorder, baselines_dir(config))
    config.stash[differences_key] = differences
    if differences and not config.getoption("no_baseline_gate") and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    recorder = config.stash[recorder_key]
    if not recorder.pairs:
        return
    reporter = terminalreporter
    reporter.section("wsconform")
    reporter.line(f"results: {config.getoption('results')} ({len(recorder.pairs)} verdicts)")
    for path in config.stash.get(report_key, []):
        reporter.line(f"report: {path}")
    if config.getoption("record_baseline"):
        where, names = baselines_dir(config), ", ".join(recorder.transports())
        reporter.line(f"baselines re-recorded in {where} for: {names}")
        return
    verdicts = {name: recorder.verdicts(name) for name in recorder.transports()}
    for note in baseline_renames(verdicts, baselines_dir(config)):
        reporter.line(f"renamed check: {note}")
    differences = config.stash.get(differences_key, [])
    if not differences:
        reporter.line("baseline gate: every verdict matches its baseline")
        return
    gated = "" if config.getoption("no_baseline_gate") else " (the run fails)"
    reporter.line(f"baseline gate: {len(differences)} difference(s){gated}:", red=True)
    for line in differences:
        reporter.line(f"  {line}")
