"""`wsconform`: the suite's generic checks against your own app, from your own project.

    wsconform run myapp.main:app [--server inmemory,uvicorn-sansio] [--report-dir DIR]
    wsconform run --factory myapp.main:create_app
    wsconform run myapp.main:app --url wss://staging.example:443/ws --allow-remote-host
    wsconform run myapp.main:app --instances 2 [--broker redis://127.0.0.1:6379/0]
    wsconform routes myapp.main:app

Exit status, as Schemathesis gives it: 0 no finding, 1 findings, 2 a usage error (a bad import
string, an app whose startup fails, a configuration entry that matches no route), 3 an
internal error of the suite.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from wsconform.conformance.data import RUN_INI
from wsconform.conformance.engine import profiles
from wsconform.conformance.engine.discovery import describe_routes, discover
from wsconform.conformance.pytest_plugin import GENERIC_TESTS
from wsconform.targets.servers.witness import AppImportFailed, load_app

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
# pytest's exit codes (pytest.ExitCode) -> ours.
_FROM_PYTEST = {
    pytest.ExitCode.OK: EXIT_CLEAN,
    pytest.ExitCode.TESTS_FAILED: EXIT_FINDINGS,
    pytest.ExitCode.USAGE_ERROR: EXIT_USAGE,
    pytest.ExitCode.NO_TESTS_COLLECTED: EXIT_USAGE,
    pytest.ExitCode.INTERRUPTED: EXIT_INTERNAL,
    pytest.ExitCode.INTERNAL_ERROR: EXIT_INTERNAL,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wsconform", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the generic checks of every WebSocket route")
    routes = commands.add_parser("routes", help="list the WebSocket routes found, and exit")
    for command in (run, routes):
        command.add_argument("app", help="module:attribute of the app (or of its factory)")
        command.add_argument(
            "--factory", action="store_true", help="APP is a function that returns the app"
        )
        command.add_argument(
            "--app-path",
            default=".",
            help="directory the app is imported from (default: the current one)",
        )
    run.add_argument("--server", default="", help="comma-separated transports (default: all)")
    run.add_argument(
        "--url",
        default="",
        help="check a running server over the wire instead (ws:// or wss://HOST:PORT/PATH)",
    )
    run.add_argument(
        "--insecure",
        action="store_true",
        help="with a wss:// --url: accept a certificate that does not verify (self-signed)",
    )
    run.add_argument(
        "--allow-remote-host",
        action="store_true",
        help="with --url: a host other than this machine's loopback (a staging server)",
    )
    run.add_argument("--report-dir", default="wsconform-report", help="where the report goes")
    run.add_argument("--config", default="", help="a pyproject.toml with [tool.wsconform]")
    run.add_argument("--no-lifespan", action="store_true", help="do not run the app's lifespan")
    run.add_argument(
        "--instances", type=int, default=1, help="serve the app in N processes (cluster checks)"
    )
    run.add_argument(
        "--broker", default="", help="redis:// URL the instances share ($WSCONFORM_BROKER_URL)"
    )
    run.add_argument("--profile", default="ci", choices=profiles.PROFILES, help="Hypothesis")
    run.add_argument("-v", "--verbose", action="store_true", help="pytest's full output")
    run.epilog = "Anything after -- goes to pytest, wherever the -- stands."
    return parser


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """The command line: what precedes the first `--` is ours, in any order; what follows
    goes to pytest (argparse alone takes `--` only after the last positional)."""
    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    arguments = _parser().parse_args(argv[:cut])
    arguments.pytest_args = argv[cut + 1 :]
    return arguments


def pytest_arguments(arguments: argparse.Namespace) -> list[str]:
    """The pytest command line that `wsconform run` stands for."""
    app_option = "--wsconform-app-factory" if arguments.factory else "--wsconform-app"
    common = [
        str(GENERIC_TESTS),
        app_option,
        arguments.app,
        "--wsconform-app-path",
        arguments.app_path,
        # The suite's own pytest settings, not the project's (its addopts and filters are
        # for its own tests), and no cache directory left in the project.
        "-c",
        str(RUN_INI),
        "--rootdir",
        os.getcwd(),
        "-p",
        "no:cacheprovider",
        # Collecting the checks from site-packages must not put site-packages first on
        # sys.path, ahead of the project the app is imported from.
        "--import-mode=importlib",
    ]
    report_dir = Path(arguments.report_dir)
    run = [
        *common,
        "--wsconform-results",
        str(report_dir / "results.json"),
        "--junitxml",
        str(report_dir / "junit.xml"),
        "--hypothesis-profile",
        arguments.profile,
        # pytest-benchmark, where the project has it, would leave .benchmarks/ behind.
        "-p",
        "no:benchmark",
    ]
    if arguments.server:
        run += ["--wsconform-server", arguments.server]
    if arguments.config:
        run += ["--wsconform-config", arguments.config]
    if arguments.url:
        run += ["--wsconform-url", arguments.url]
    if arguments.insecure:
        run.append("--wsconform-insecure")
    if arguments.allow_remote_host:
        run.append("--wsconform-allow-remote-host")
    if arguments.no_lifespan:
        run.append("--wsconform-no-lifespan")
    if arguments.instances > 1:
        run += ["--wsconform-instances", str(arguments.instances)]
    if arguments.broker:
        run += ["--wsconform-broker", arguments.broker]
    run += [] if arguments.verbose else ["-q", "--tb=no", "--no-header", "-p", "no:warnings"]
    return [*run, *arguments.pytest_args]


def list_routes(arguments: argparse.Namespace) -> int:
    """`wsconform routes`: the app imported and its routes printed, without a pytest run (whose
    exit would add a line of its own)."""
    named = f"{arguments.app}()" if arguments.factory else arguments.app
    try:
        endpoints = discover(load_app(named))
    except AppImportFailed as exc:
        print(f"wsconform: app {named} does not import: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ImportError, ValueError, TypeError) as exc:
        print(f"wsconform: app {named}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"WebSocket routes of {named}:\n{describe_routes(endpoints)}")
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    # Like `python -m`, the app is importable from where the command runs.
    sys.path.insert(0, str(Path(arguments.app_path).resolve()))
    if arguments.command == "routes":
        return list_routes(arguments)
    # Hypothesis's files (its example database, its cache) beside the report, not in the
    # project the command runs in: set here, and in the environment for pytest-xdist's workers
    # (`-- -n 2`), which recent Hypothesis releases read.
    hypothesis_home = Path(arguments.report_dir).resolve() / "hypothesis"
    set_hypothesis_home_dir(hypothesis_home)
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(hypothesis_home)
    status = pytest.main(pytest_arguments(arguments))
    return _FROM_PYTEST.get(pytest.ExitCode(status), EXIT_INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
