"""The suite's data, each file named once: the per-server baselines and the lock the gate runs
on (`expected/`), the regression atlas, the compat floor, the pytest settings `wsconform run`
uses and the handshakes real clients send. Code finds them here, never by a path of its own."""

from __future__ import annotations

from pathlib import Path

# Resolved: an editable install may reach this module through a tree of links.
DATA = Path(__file__).resolve().parent
EXPECTED_DIR = DATA / "expected"
LOCK = EXPECTED_DIR / "lock.txt"
ATLAS = DATA / "atlas.toml"
COMPAT_FLOOR = DATA / "compat_floor.txt"
RUN_INI = DATA / "run.ini"
CLIENT_HANDSHAKES = DATA / "client_handshakes.toml"
