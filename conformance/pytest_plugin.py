"""pytest wiring: settings, transports as session fixtures, results.json and the baseline gate.

Registered by this repository's conftest.py, or by the installed entry point when a run asks for
it (`wsconform.pytest_entry`); the options themselves are in `conformance/engine/options.py`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from wsconform.conformance.engine import profiles  # noqa: F401 - registers the profiles
from wsconform.conformance.engine.discovery import WebSocketEndpoint, describe_routes, discover
from wsconform.conformance.engine.findings import write_repro_scripts
from wsconform.conformance.engine.gate import Gate
from wsconform.conformance.engine.lock import describe_moves
from wsconform.conformance.engine.options import RunSettings
from wsconform.conformance.engine.results import (
    Baseline,
    ResultsRecorder,
    baseline_renames,
    baselines_without_causes,
    gate_differences,
    is_cause_gone,
    write_results,
)
from wsconform.conformance.engine.sessions import PUPPET_APP, LoopRunner, advertised_by, app_served
from wsconform.conformance.engine.stacks import (
    baseline_moves,
    explain_difference,
    explained_by_a_release,
)
from wsconform.conformance.families.generic.routes import (
    AuthRoute,
    ConfigError,
    bind_auth_routes,
    find_config,
    load_auth_routes,
    route_vocabulary,
)
from wsconform.reports.html import write_report
from wsconform.reports.repro import write_scripts
from wsconform.reports.sarif import SARIF_FILE, write_sarif
from wsconform.targets.servers import all_transports
from wsconform.targets.servers.base import AppStartupFailed, Transport
from wsconform.targets.servers.witness import (
    LIFESPAN_ENV,
    AppImportFailed,
    AppWitness,
    describe_exception,
    load_app,
)

REFERENCE_APP = "wsconform.targets.reference:app"

recorder_key = pytest.StashKey[ResultsRecorder]()
differences_key = pytest.StashKey[list[str]]()
endpoints_key = pytest.StashKey[list[WebSocketEndpoint]]()
auth_routes_key = pytest.StashKey[list[AuthRoute]]()
url_key = pytest.StashKey["LiveUrl | None"]()
report_key = pytest.StashKey[list[Path]]()
settings_key = pytest.StashKey[RunSettings]()
# Observations a second run did not confirm (Gate.confirmed), as "test: what the first saw".
unsteady_key = pytest.StashKey["UnsteadyNotes"]()
# The user property a test leaves for such an observation.
UNSTEADY_PROPERTY = "unsteady"
# Where a pytest-xdist worker leaves its recorder's state for the controller.
WORKER_RESULTS = "wsconform_results"


def is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def run_settings(config: pytest.Config) -> RunSettings:
    return config.stash[settings_key]


def baselines_dir(config: pytest.Config) -> Path:
    return run_settings(config).baselines


def app_under_test(config: pytest.Config) -> str:
    """The import string of the app under test: the user's (a factory is called, see
    `load_app`), or the reference app."""
    settings = run_settings(config)
    if settings.app_factory:
        return f"{settings.app_factory}()"
    return settings.app or REFERENCE_APP


def selected_transports(config: pytest.Config) -> list[str]:
    known = all_transports()
    requested = [name.strip() for name in run_settings(config).server.split(",") if name.strip()]
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise pytest.UsageError(f"unknown --server {', '.join(unknown)}; known: {', '.join(known)}")
    return requested or [name for name, spec in known.items() if spec.opt_in_reason is None]


def left_out_unless_named(requested: str) -> dict[str, str]:
    """The transports a run leaves out because they run only when named, with why; none when
    `--server` names the transports itself."""
    if requested.strip():
        return {}
    return {
        name: f"runs only when named: {spec.opt_in_reason}"
        for name, spec in all_transports().items()
        if spec.opt_in_reason is not None
    }


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# The raw socket client always runs; a browser client runs beside it when asked.
CLIENTS = ("raw", "browser")


class OneLineTaskReports(logging.Filter):
    """asyncio reports a task or future garbage-collected with an exception nobody retrieved
    (an in-process server's task, after its loop ended) from the collector, wherever that runs:
    inside `ast.parse` too, where Hypothesis reads a test's source. Formatting the report's
    traceback parses source lines again (CPython 3.11's caret anchors), and that nested parse
    corrupts the outer one's AST recursion count: SystemError "AST constructor recursion depth
    mismatch" (seen once in a full run; the count is CPython gh-106905's). Such a report keeps
    its exception's one line, and no traceback: it is never a verdict (the witness keeps every
    app exception itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and "exception was never retrieved" in str(record.msg):
            error = record.exc_info[1]
            record.msg = f"{record.msg}\n{type(error).__name__}: {error}"
            record.exc_info = record.exc_text = None
        return True


def pytest_configure(config: pytest.Config) -> None:
    config.stash[settings_key] = settings = RunSettings.from_config(config)
    asyncio_logger = logging.getLogger("asyncio")
    if not any(isinstance(f, OneLineTaskReports) for f in asyncio_logger.filters):
        asyncio_logger.addFilter(OneLineTaskReports())
    # pytest-xdist declares this marker itself; declared here too so that a run without it
    # (`-p no:xdist`) still passes --strict-markers. The others are the suite's own, declared
    # here for a project whose configuration knows nothing of them.
    for marker in SUITE_MARKERS:
        config.addinivalue_line("markers", marker)
    config.stash[unsteady_key] = unsteady = UnsteadyNotes()
    config.pluginmanager.register(unsteady, "wsconform-unsteady-notes")
    selected_transports(config)  # fail fast on a typo, before collection
    if settings.client not in CLIENTS:
        raise pytest.UsageError(f"unknown --client {settings.client}; known: {', '.join(CLIENTS)}")
    # A terminated run (CI cancelling a job, `kill`) must stop the servers it started, as Ctrl-C
    # does: pytest tears fixtures down on KeyboardInterrupt but not on a bare SIGTERM.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    if settings.app_path:
        sys.path.insert(0, str(Path(settings.app_path).resolve()))
        # Servers in other processes import the app too.
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [settings.app_path, os.environ.get("PYTHONPATH")])
        )
    if settings.app and settings.app_factory:
        raise pytest.UsageError("give --app or --app-factory, not both")
    if settings.no_lifespan:
        # Read by every witness of the app, in this process and in servers' processes.
        os.environ[LIFESPAN_ENV] = "off"
    named = app_under_test(config)
    try:
        app = load_app(named)
        endpoints = discover(app)
    except AppImportFailed as exc:
        # One line, then the app's own traceback: not pytest's INTERNALERROR around it.
        raise pytest.UsageError(f"app {named} does not import: {exc}") from None
    except (ImportError, ValueError, TypeError) as exc:
        raise pytest.UsageError(f"app {named}: {exc}") from exc
    if settings.routes:
        print(f"WebSocket routes of {named}:\n{describe_routes(endpoints)}")
        pytest.exit("routes listed", returncode=0)
    if user_app_given(config):
        _check_the_app_starts(named, app)
    config.stash[endpoints_key] = endpoints
    # Each route's message vocabulary is read from its source now, before any server runs:
    # on Python 3.11 before 3.11.8, an `ast.parse` during the run, while a server thread
    # compiles a module it imports lazily, can make that import fail with "AST constructor
    # recursion depth mismatch" (CPython gh-106905), a crash then charged to the app.
    for endpoint in endpoints:
        route_vocabulary(endpoint)
    config.stash[auth_routes_key] = _auth_routes(config, endpoints)
    config.stash[url_key] = parse_live_url(
        settings.url, allow_remote_host=settings.allow_remote_host
    )
    config.stash[recorder_key] = recorder = ResultsRecorder()
    if user_app_given(config):
        recorder.mode = "app"
    if user_app_given(config) or settings.url:
        _collect_the_generic_checks(config)


SUITE_MARKERS = (
    "xdist_group(name): tests that share one xdist worker",
    "generic: generic checks of the routes of a user's app (run with --app)",
    "url: over-the-wire generic checks of a running server (run with --url)",
    "routes(*paths): the reference routes a contract test needs in --app",
    "reference_app: generic checks of the reference app (the default suite only)",
)
GENERIC_TESTS = Path(__file__).resolve().parent / "suite" / "test_generic.py"
# Run beside the generic tests on a user's app served by several instances (--instances).
CLUSTER_TESTS = Path(__file__).resolve().parent / "suite" / "test_cluster.py"


def _collect_the_generic_checks(config: pytest.Config) -> None:
    """Pointed at a user's app from anywhere (`pytest --wsconform-app`, `wsconform run`), the
    generic checks are collected from the installed package, beside whatever else was asked."""
    asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    wanted = [GENERIC_TESTS]
    if run_settings(config).instances > 1:
        wanted.append(CLUSTER_TESTS)  # the app across instances, asked with --instances
    for tests in wanted:
        if not any(path == tests or path in tests.parents for path in asked):
            config.args.append(str(tests))


def reproduce_command(config: pytest.Config, transport: str, test: str) -> str:
    """The command that runs `test` again on `transport`, with everything that names the app:
    pasted in the project's folder, it needs nothing else."""
    settings = run_settings(config)
    if settings.app_factory:
        parts = ["wsconform", "run", "--factory", settings.app_factory]
    else:
        parts = ["wsconform", "run", settings.app or REFERENCE_APP]
    if settings.app_path:
        parts += ["--app-path", settings.app_path]
    if settings.config:
        parts += ["--config", settings.config]
    if settings.no_lifespan:
        parts.append("--no-lifespan")
    parts += ["--server", transport, "--", "-k", test]
    return shlex.join(parts)


def _check_the_app_starts(named: str, app: object) -> None:
    """An app whose lifespan startup fails cannot be judged: say so once, with its error,
    before any transport reports it as a failure of every route."""
    witness = AppWitness(app)

    async def start_and_stop() -> None:
        await witness.prepare(fresh=False)
        await witness.shutdown()

    try:
        asyncio.run(start_and_stop())
    except Exception as exc:
        raise pytest.UsageError(
            f"app {named}: its lifespan startup failed (--no-lifespan skips it):\n"
            f"{describe_exception(exc)}"
        ) from exc


def user_app_given(config: pytest.Config) -> bool:
    """Is the suite pointed at the user's app (not the reference app)?"""
    settings = run_settings(config)
    return bool(settings.app or settings.app_factory)


def _auth_routes(config: pytest.Config, endpoints: list[WebSocketEndpoint]) -> list[AuthRoute]:
    """[tool.wsconform] of the project that holds the app (or of --wsconform-config), each
    entry bound to a discovered route; one that matches none is a usage error."""
    given = run_settings(config).config
    path: Path | None = None
    if given:
        path = Path(given)
        if not path.exists():
            raise pytest.UsageError(f"--wsconform-config {given}: no such file")
    elif user_app_given(config):
        module = sys.modules[app_under_test(config).partition(":")[0]]
        path = find_config(Path(module.__file__ or ".").resolve().parent)
    try:
        return bind_auth_routes(load_auth_routes(path), endpoints) if path else []
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from exc


@dataclass(frozen=True)
class LiveUrl:
    host: str
    port: int
    target: str  # path and query
    tls: bool  # wss://


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_live_url(url: str, *, allow_remote_host: bool = False) -> LiveUrl | None:
    """`--url`: a ws:// or wss:// URL, on this machine's loopback unless `allow_remote_host`
    (the suite's own tests never leave the machine; a user checking a staging server says so)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise pytest.UsageError(f"--url {url}: give ws://HOST:PORT/PATH or wss://HOST:PORT/PATH")
    if parts.hostname not in LOOPBACK_HOSTS and not allow_remote_host:
        raise pytest.UsageError(
            f"--url {url}: {parts.hostname} is not a server on this machine's loopback; pass "
            "--allow-remote-host to check a server elsewhere (a staging server)"
        )
    tls = parts.scheme == "wss"
    return LiveUrl(
        parts.hostname,
        parts.port or (443 if tls else 80),
        (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        tls,
    )


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
            and not item.get_closest_marker("reference_app")
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
    settings = run_settings(request.config)
    # --no-baseline-gate (compat, latest) reports verdicts and fails no test on one; a user's
    # app is still judged on its findings, which no baseline records.
    reporting_only = settings.no_baseline_gate and not user_app_given(request.config)
    return Gate(
        recording=settings.record_baseline or reporting_only,
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
    try:
        with app_served(spec, import_string, loop_runner) as served:
            yield served
    except AppStartupFailed as exc:
        pytest.exit(f"the app cannot start: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


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
    yield from _serve(request, app_under_test(request.config), loop_runner)


class UnsteadyNotes:
    """Keeps each unsteady observation a test reported, on the process that writes the
    summary (under xdist the controller, whose reports carry the workers' user properties)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.notes += [
                f"{report.nodeid}: {value}"
                for name, value in report.user_properties
                if name == UNSTEADY_PROPERTY
            ]


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
    settings = run_settings(config)
    results_path = settings.results
    write_repro_scripts(
        recorder.findings.values(),
        app_under_test(config),
        settings.app_path,
        results_path.parent / "repro",
    )
    results = recorder.to_json()
    # A standalone script for each server divergence, linked from its result.
    write_scripts(results["results"], results_path.parent / "repro")
    write_results(results, results_path)
    # For CI code scanning: each finding annotated at the app's line that raised it.
    write_sarif(results_path, results_path.parent / SARIF_FILE)
    recording = settings.record_baseline
    if recording:
        for name in recorder.transports():
            Baseline.write(
                name, recorder.verdicts(name), baselines_dir(config), recorder.causes(name)
            )
    # The report beside results.json, so that every suite run leaves one to read.
    config.stash[report_key] = write_report(results_path, expected_dir=baselines_dir(config))
    # The baselines record the reference targets' divergences: a user's app is gated on its
    # findings (failed tests), not on them.
    if recording or user_app_given(config):
        return
    directory = baselines_dir(config)
    differences = gate_differences(
        recorder, directory, lambda server, check: explain_difference(server, check, directory)
    )
    config.stash[differences_key] = differences
    failing = [line for line in differences if _fails_the_gate(line)]
    if failing and not settings.no_baseline_gate and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _fails_the_gate(difference: str) -> bool:
    """Every difference fails the gate but a moved release's news and a recorded cause the
    run did not meet again (both reported)."""
    return not (explained_by_a_release(difference) or is_cause_gone(difference))


def _report_moved_releases(
    reporter: pytest.TerminalReporter,
    transports: list[str],
    directory: Path,
    differences: list[str],
) -> None:
    """Before any difference: the releases installed here that the baselines were not
    recorded with, so that what they changed is not read as a regression of the code."""
    moves: dict[str, set[str]] = {}
    for transport in transports:
        for name, pair in baseline_moves(transport, directory).items():
            moves.setdefault(describe_moves({name: pair}), set()).add(transport)
    if not moves:
        return
    reporter.line(
        "baseline gate: the installed releases are not those the baselines were recorded with"
        " (the lock, conformance/data/expected/lock.txt, pins them; `tox -r` reinstalls on it):",
        yellow=True,
    )
    for move, where in sorted(moves.items()):
        reporter.line(f"  {move} (baselines of {', '.join(sorted(where))})")
    if differences:
        reporter.line(
            "  a difference marked 'moved in its stack' is that release's news, not a regression"
            " of this code: it does not fail the gate (`tox -e latest` reports such news)"
        )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    recorder = config.stash[recorder_key]
    if not (recorder.pairs or recorder.unavailable):
        return
    reporter = terminalreporter
    reporter.section("wsconform")
    # Every server asked for that did not run, and why: a skip is not a pass. A run of every
    # server (no --server) lists those that run only when named too.
    skipped = dict(recorder.unavailable)
    if config.stash[url_key] is None:
        skipped.update(left_out_unless_named(run_settings(config).server))
    for server, reason in sorted(skipped.items()):
        reporter.line(f"skipped server {server}: {reason}", yellow=True)
    if not recorder.pairs:
        return
    settings = run_settings(config)
    for finding in recorder.findings.values():
        servers = ", ".join(sorted(finding.servers))
        confirmation = finding.confirmation()
        mark = f" ({confirmation})" if confirmation else ""
        routes = finding.route
        if finding.whose:
            routes += f" and any route like it ({finding.whose}'s doing, not the app's)"
        reporter.line(
            f"finding {finding.id}: {', '.join(finding.checks)} on {routes}"
            f" [{servers}]{mark}: {finding.leaf}",
            red=True,
        )
        if finding.repro_script:  # linked only once it has reproduced the finding
            reporter.line(f"  standalone repro: {settings.results.parent / finding.repro_script}")
    for note in config.stash[unsteady_key].notes:
        # Not a verdict: what one run saw and the next did not (the kept verdict is the
        # second run's); said, so that a machine too slow for the suite's bounds is noticed.
        reporter.line(f"unsteady observation, not confirmed by a second run: {note}", yellow=True)
    reporter.line(f"results: {settings.results} ({len(recorder.pairs)} verdicts)")
    for path in config.stash.get(report_key, []):
        reporter.line(f"report: {path}")
    if settings.record_baseline:
        where, names = baselines_dir(config), ", ".join(recorder.transports())
        reporter.line(f"baselines re-recorded in {where} for: {names}")
        return
    if user_app_given(config):
        return
    verdicts = {name: recorder.verdicts(name) for name in recorder.transports()}
    for note in baseline_renames(verdicts, baselines_dir(config)):
        reporter.line(f"renamed check: {note}")
    old_format = baselines_without_causes(recorder.transports(), baselines_dir(config))
    if old_format:
        reporter.line(
            f"baseline gate: the baselines of {', '.join(old_format)} record no causes (an older"
            " format): they gate on verdicts only, so a new cause behind a check that already"
            " fails goes unseen; re-record them (`tox -e record-baseline`)",
            yellow=True,
        )
    differences = config.stash.get(differences_key, [])
    _report_moved_releases(reporter, recorder.transports(), baselines_dir(config), differences)
    if not differences:
        reporter.line("baseline gate: every verdict matches its baseline")
        return
    news = [line for line in differences if explained_by_a_release(line)]
    gone = [line for line in differences if is_cause_gone(line)]
    failing = [line for line in differences if _fails_the_gate(line)]
    if gone:
        reporter.line(
            f"baseline gate: {len(gone)} recorded cause(s) not seen in this run (not failing;"
            " re-record to drop them):"
        )
        for line in gone:
            reporter.line(f"  {line}")
    if news:
        reporter.line(f"baseline gate: {len(news)} difference(s) a moved release explains:")
        for line in news:
            reporter.line(f"  {line}")
    if not failing:
        reporter.line("baseline gate: no difference the code under review must answer for")
        return
    gated = "" if settings.no_baseline_gate else " (the run fails)"
    reporter.line(f"baseline gate: {len(failing)} difference(s){gated}:", red=True)
    for line in failing:
        reporter.line(f"  {line}")
