"""The lock the gate runs on: every release that can decide a verdict, pinned in one file.

`conformance/data/expected/lock.txt` is a universal `uv pip compile` of the project with its
`fastapi`, `servers`, `bench` and `dev` extras (`tox -e lock` rewrites it). The gated environments
install
through it (tox sets `UV_CONSTRAINT` to it), so a fresh clone months later runs the releases the
baselines were recorded with, and a new upstream release never turns the gate red by itself.
What the newest releases change is `tox -e latest`'s news (`wsconform.conformance.tools.upstream`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from wsconform.conformance.data import LOCK

# The variable uv reads for constraints; tox sets it in the gated environments only.
CONSTRAINT_VARIABLE = "UV_CONSTRAINT"


def _pin_lines(path: Path) -> list[str]:
    """The lock's requirement lines: not its comments, nor the `# via` lines uv indents."""
    return [line for line in path.read_text().splitlines() if line and line[0] not in "# "]


def lock_digest(path: Path = LOCK) -> str:
    """A short fingerprint of the lock's pins, for `recorded_with`."""
    return hashlib.sha256("\n".join(_pin_lines(path)).encode()).hexdigest()[:12]


def locked_versions(path: Path = LOCK) -> dict[str, str]:
    """Package -> version the lock pins for this interpreter (its markers evaluated here)."""
    versions: dict[str, str] = {}
    for line in _pin_lines(path):
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pinned = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if pinned:
            versions[canonicalize_name(requirement.name)] = pinned[0]
    return versions


def installed_versions() -> dict[str, str]:
    """Package -> version of every distribution installed in this interpreter."""
    versions: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            versions.setdefault(canonicalize_name(name), distribution.version)
    return versions


def moved(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Every package both sides know whose version differs: name -> (old, new)."""
    old_names = {canonicalize_name(name): version for name, version in old.items()}
    return {
        canonicalize_name(name): (old_names[canonicalize_name(name)], version)
        for name, version in sorted(new.items())
        if canonicalize_name(name) in old_names and old_names[canonicalize_name(name)] != version
    }


def describe_moves(moves: Mapping[str, tuple[str, str]]) -> str:
    """`uvicorn 0.54.0 → 0.55.0, h11 0.14.0 → 0.16.0`."""
    return ", ".join(f"{name} {old} → {new}" for name, (old, new) in moves.items())


def dependency_closure(roots: Iterable[str]) -> set[str]:
    """The installed distributions `roots` need, themselves included: what a change of
    behaviour in one of them can come from. Extras are not followed (nobody asked for them)."""
    seen: set[str] = set()
    queue = [canonicalize_name(root) for root in roots]
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is not None and not _applies(requirement.marker):
                continue
            queue.append(canonicalize_name(requirement.name))
    return seen


def _applies(marker: Marker) -> bool:
    """Does a requirement's marker hold here without any extra asked for?"""
    return marker.evaluate({"extra": ""})


def unlocked_environ() -> dict[str, str]:
    """This process's environment without the lock: for the tools that resolve other stacks on
    purpose (the atlas's sides, the compat floor), which the gate's lock must not constrain."""
    return {name: value for name, value in os.environ.items() if name != CONSTRAINT_VARIABLE}
