"""This repository's pytest configuration: the suite's plugins, the short spellings of its
options (`--server`, `--app`, ...; installed, only `--wsconform-*` exist) and the `dev`
Hypothesis profile by default."""

from __future__ import annotations

import pytest
from hypothesis import settings
from wsconform.conformance.engine import profiles  # noqa: F401 - registers the profiles
from wsconform.conformance.engine.options import add_options

pytest_plugins = [
    "wsconform.conformance.pytest_plugin",
    "wsconform.conformance.bench.plugin",
    "wsconform.conformance.engine.upstream_warnings",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, prefixed=False)


settings.load_profile("dev")
