"""A fresh app per example forgets the app's own modules, and only those: a virtualenv kept
inside the project (`.venv`, uv's and Poetry's default) holds pytest and the servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from wsconform.targets.servers.witness import forget_app_modules


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project folder with its app module and a library installed in its own `.venv`."""
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "venvlib_for_fresh_test.py").write_text("LOADED = True\n")
    (tmp_path / "app_for_fresh_test.py").write_text("import venvlib_for_fresh_test\n")
    sys.path[:0] = [str(tmp_path), str(site)]
    try:
        yield tmp_path
    finally:
        sys.path[:] = [entry for entry in sys.path if entry not in (str(tmp_path), str(site))]
        for name in ("app_for_fresh_test", "venvlib_for_fresh_test"):
            sys.modules.pop(name, None)


def test_the_apps_module_is_forgotten_and_its_venvs_libraries_stay(project: Path) -> None:
    __import__("app_for_fresh_test")
    forget_app_modules("app_for_fresh_test")
    assert ("app_for_fresh_test" in sys.modules, "venvlib_for_fresh_test" in sys.modules) == (
        False,
        True,
    )
