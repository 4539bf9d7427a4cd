"""The pytest entry point (`pytest11`) of an installed wsconform.

Loaded by every pytest run in an environment where wsconform is installed, so it stays inert:
it only adds the `--wsconform-*` options. Given `--wsconform-app` (or `--wsconform-url`), it
registers the suite's plugin before the command line is parsed, and that plugin adds the
generic checks of the app's routes to what pytest collects:

    pytest --wsconform-app myapp.main:app [--wsconform-server inmemory,uvicorn-sansio]
"""

from __future__ import annotations

import pytest

from wsconform.conformance.engine.options import add_options

ENGINE_PLUGIN = "wsconform.conformance.pytest_plugin"
ACTIVATING = ("--wsconform-app", "--wsconform-app-factory", "--wsconform-url")


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser, prefixed=True)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    asked = any(arg.split("=")[0] in ACTIVATING for arg in args)
    if asked and not early_config.pluginmanager.has_plugin(ENGINE_PLUGIN):
        early_config.pluginmanager.import_plugin(ENGINE_PLUGIN)
