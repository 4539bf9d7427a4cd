"""wsconform: property and conformance tests of the WebSocket lifecycle of ASGI apps and servers.

Installed, everything lives under this package: `wsconform.conformance` (the checks, the model,
the engine), `wsconform.targets` (servers, puppet, reference apps), `wsconform.strategies` and
`wsconform.reports`. In the repository those four are the top-level folders (`conformance/`,
`targets/`, `strategies/`, `reports/`), mapped onto this package by pyproject.toml's
`package-dir`; this folder (`src/wsconform/`) holds the rest: the Python API (`wsconform.api`),
the command (`wsconform.cli`) and the pytest entry point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsconform.api import AppUnderTest, Route

__all__ = ["AppUnderTest", "Route", "from_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import wsconform` (done by every server process that loads the
    # witness app) stays free of pytest and Hypothesis.
    if name in __all__:
        from wsconform import api

        return getattr(api, name)
    raise AttributeError(f"module 'wsconform' has no attribute {name!r}")
