"""`--upstream-warnings ignore` (conformance/engine/upstream_warnings.py), through pytest's own
parser
of `filterwarnings` lines and after the project's `error`: a warning attributed to the stack
under test is ignored, one attributed to the suite's own code is still an error."""

from __future__ import annotations

import warnings

import pytest
from _pytest.config import parse_warning_filter
from wsconform.conformance.engine.upstream_warnings import IGNORE_UPSTREAM


def warn_from(module: str) -> None:
    """A DeprecationWarning as Python attributes it to `module` (the frame its stacklevel names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings(*parse_warning_filter(IGNORE_UPSTREAM, escape=False))
        warnings.warn_explicit("deprecated", DeprecationWarning, "where.py", 1, module=module)


@pytest.mark.parametrize(
    "module", ["starlette.testclient", "anyio._lazyimport", "twisted.internet", "asyncio.events",
               "wsconformity", "_pytest.unraisableexception"]
)  # fmt: skip
def test_a_warning_of_the_stack_under_test_is_ignored(module: str) -> None:
    warn_from(module)


@pytest.mark.parametrize(
    "module", ["wsconform", "wsconform.targets.servers.testclient", "conformance.suite.test_wire",
               "tests.test_model", "conftest"]
)  # fmt: skip
def test_a_warning_of_the_suite_itself_is_still_an_error(module: str) -> None:
    with pytest.raises(DeprecationWarning, match="deprecated"):
        warn_from(module)
