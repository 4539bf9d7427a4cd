"""`--upstream-warnings ignore`: the warnings of the stack under test are never errors, the
suite's own stay errors. For the runs on releases the lock did not choose (`tox -e compat`, the
atlas's sides), where an old Starlette importing a name the newest anyio deprecates would
otherwise fail every test at setup under the project's `filterwarnings = error`.

Why by the *attributed* module, and not a list of upstream packages: a warning is attributed to
the frame its `stacklevel` names, which for a deprecation is the caller, i.e. whoever uses the
deprecated name. anyio's alias warning lands on `starlette.testclient`, asyncio's on a server's
module, a new companion's on an old framework: a list (starlette, anyio, httpx, uvicorn,
twisted, ...) would always miss the next companion. The suite's own code is a short, fixed set
of modules, so everything else is the stack's, tooling included — while a deprecated name the
*suite* uses is attributed to the suite and still fails. Without the option nothing changes:
the gated runs stay strict on the lock, where a new warning is news.
"""

from __future__ import annotations

import pytest

# The suite's own modules as Python names them: the installed package, and the folders pytest
# imports test modules from (rootdir-relative: `conformance.suite.test_wire`, `tests.test_model`).
OWN_MODULES = ("wsconform", "conformance", "tests", "targets", "strategies", "reports",
               "examples", "conftest")  # fmt: skip
# A filter's module field is a regular expression matched at the start of the attributed
# module's name (pytest keeps ini filters unescaped, see `parse_warning_filter`), so a negative
# lookahead says "any module but ours". Appended after `error`, it takes precedence over it.
NOT_OURS = rf"(?!({'|'.join(OWN_MODULES)})(\.|$))"
IGNORE_UPSTREAM = f"ignore:::{NOT_OURS}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--upstream-warnings",
        choices=("error", "ignore"),
        default="error",
        help="'ignore': warnings attributed to any module but the suite's own are never errors "
        "(for old releases: tox -e compat, the atlas); default: the project's filters",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pytest reads `filterwarnings` again for every collection and test, so the line applies to
    # both (not to conftest imports, which precede the option).
    if config.getoption("upstream_warnings") == "ignore":
        config.addinivalue_line("filterwarnings", IGNORE_UPSTREAM)
