"""The suite's data, each file named once: the per-server baselines and the lock the gate runs
on (`expected/`), the regression atlas, the compat floor, the pytest settings `wsconform run`
uses, the handshakes real clients send and the mutants triaged as equivalent. Code finds them
here, never by a path of its own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# The parser's error, for a caller that reports a malformed file of the user's.
TOMLDecodeError = tomllib.TOMLDecodeError

# Resolved: an editable install may reach this module through a tree of links.
DATA = Path(__file__).resolve().parent
EXPECTED_DIR = DATA / "expected"
LOCK = EXPECTED_DIR / "lock.txt"
ATLAS = DATA / "atlas.toml"
COMPAT_FLOOR = DATA / "compat_floor.txt"
RUN_INI = DATA / "run.ini"
CLIENT_HANDSHAKES = DATA / "client_handshakes.toml"
EQUIVALENT_MUTANTS = DATA / "equivalent_mutants.toml"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables (tomllib from Python 3.11, its `tomli` backport on 3.10)."""
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    return data
