"""The suite's command-line options, defined once.

Installed in someone's project, the pytest entry point (`wsconform.pytest_entry`) registers them
with a `--wsconform-` prefix only, so they cannot clash with the project's own options. This
repository's `conftest.py` adds the short spellings (`--server`, `--app`, ...) as aliases of the
same destinations, for the commands the README gives. Every reader goes through `RunSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from wsconform.conformance.data import EXPECTED_DIR

DEFAULT_RESULTS = Path("reports/out/results.json")


@dataclass(frozen=True)
class Option:
    name: str  # the short spelling, without dashes
    help: str
    default: Any = ""
    flag: bool = False

    @property
    def dest(self) -> str:
        return "wsconform_" + self.name.replace("-", "_")

    def add_to(self, group: Any, *, prefixed: bool) -> None:
        spelling = f"--wsconform-{self.name}" if prefixed else f"--{self.name}"
        if self.flag:
            group.addoption(spelling, dest=self.dest, action="store_true", help=self.help)
        else:
            group.addoption(spelling, dest=self.dest, default=self.default, help=self.help)


OPTIONS = (
    Option("server", "comma-separated transports to run on (default: every installed one)"),
    Option(
        "client",
        "the client beside the raw socket: 'browser' adds what a page in Chromium sees on every "
        "real server (the browser.* checks, reported as <server>+browser)",
        default="raw",
    ),
    Option("app", "module:attr of the app under test (default: the reference app)"),
    Option(
        "app-factory",
        "module:function returning the app under test; a fresh app is built for every "
        "generated example, so no example inherits another's state",
    ),
    Option("app-path", "directory to import the app from (prepended to sys.path)"),
    Option("routes", "list the WebSocket routes discovered in the app, and exit", flag=True),
    Option(
        "url",
        "ws:// or wss://127.0.0.1:PORT/PATH of a running server: the generic checks that need "
        "no app access, over the wire only (wss://: the certificate is verified)",
    ),
    Option(
        "insecure",
        "with a wss:// --url: do not verify the server's certificate (a self-signed one)",
        flag=True,
    ),
    Option(
        "allow-remote-host",
        "with --url: allow a host other than this machine's loopback (a staging server)",
        flag=True,
    ),
    Option(
        "config",
        "a pyproject.toml with a [tool.wsconform] table (default: the nearest one above the "
        "app's module)",
    ),
    Option("no-lifespan", "do not run the app's lifespan (startup/shutdown)", flag=True),
    Option(
        "instances",
        "serve the app (--app) in N uvicorn processes at once, its clients spread over them, "
        "and judge what crosses instances (the cluster.* checks)",
        default="1",
    ),
    Option(
        "broker",
        "redis://... URL the app's instances share, set in their environment as "
        "WSCONFORM_BROKER_URL (default with --instances: a redis-server the run starts, "
        "where one is installed)",
    ),
    Option(
        "results",
        "where results.json is written (the report goes beside it)",
        default=str(DEFAULT_RESULTS),
    ),
    Option(
        "record-baseline",
        "write this run's verdicts as conformance/data/expected/<server>.json instead of gating",
        flag=True,
    ),
    Option(
        "baselines",
        "directory of the per-server expected-results files",
        default=str(EXPECTED_DIR),
    ),
    Option(
        "no-baseline-gate", "report verdicts without failing on baseline differences", flag=True
    ),
)


def add_options(parser: pytest.Parser, *, prefixed: bool) -> None:
    group = parser.getgroup("wsconform", "websocket lifecycle conformance")
    for option in OPTIONS:
        option.add_to(group, prefixed=prefixed)


@dataclass(frozen=True)
class RunSettings:
    """What the options say, read once."""

    server: str
    client: str
    app: str
    app_factory: str
    app_path: str
    routes: bool
    url: str
    insecure: bool
    allow_remote_host: bool
    config: str
    no_lifespan: bool
    instances: int
    broker: str
    results: Path
    record_baseline: bool
    baselines: Path
    no_baseline_gate: bool

    @classmethod
    def from_config(cls, config: pytest.Config) -> RunSettings:
        values = {
            option.name.replace("-", "_"): config.getoption(option.dest) for option in OPTIONS
        }
        values["results"] = Path(values["results"])
        values["instances"] = int(values["instances"] or 1)
        values["baselines"] = Path(values["baselines"])
        return cls(**values)
