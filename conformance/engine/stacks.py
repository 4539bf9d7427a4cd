"""Stacks: the distributions a verdict depends on, and which of them are installed at another
release than a baseline was recorded with. The gate uses it to tell a release's change from the
code's; the upstream watch (`tools/upstream.py`) to attribute what the newest releases move."""

from __future__ import annotations

import functools
from pathlib import Path

from wsconform.conformance.checks import CHECKS, Layer
from wsconform.conformance.data import EXPECTED_DIR
from wsconform.conformance.engine.lock import dependency_closure, describe_moves, moved
from wsconform.conformance.engine.results import Baseline, environment
from wsconform.targets.servers import all_transports

# What a framework- or app-layer verdict is decided by, whatever the server.
FRAMEWORK = ("starlette", "fastapi", "pydantic")


def stack_roots(server: str, layer: Layer | None) -> tuple[str, ...]:
    """The distributions a verdict of `server` (`uvicorn-sansio`, `daphne+browser`) on a check
    of `layer` depends on, before their dependencies are followed."""
    transport, _, client = server.partition("+")
    spec = all_transports().get(transport)
    roots = list(spec.packages) if spec is not None else []
    if client == "browser":
        roots.append("playwright")
    if layer is not Layer.SERVER or spec is None or not spec.packages:
        roots.extend(FRAMEWORK)
    return tuple(roots)


@functools.cache
def installed_stack(server: str, check: str) -> frozenset[str]:
    """`stack_roots` and what they depend on, as installed here."""
    known = CHECKS.get(check)
    return frozenset(dependency_closure(stack_roots(server, known.layer if known else None)))


def baseline_moves(server: str, baselines: Path = EXPECTED_DIR) -> dict[str, tuple[str, str]]:
    """The packages installed here at another release than `server`'s baseline was recorded
    with: what the gate names first, so that their flips are not read as the code's."""
    return moves_since(Baseline.load(server, baselines))


def moves_since(baseline: Baseline | None) -> dict[str, tuple[str, str]]:
    """`baseline_moves` of a baseline already loaded (None: no baseline, nothing moved)."""
    return moved(baseline.releases, environment()) if baseline is not None else {}


def in_stack(
    moves: dict[str, tuple[str, str]], server: str, check: str
) -> dict[str, tuple[str, str]]:
    """The `moves` of the verdict's own stack (and Python): a difference they can explain is
    upstream news, not the code's."""
    if not moves:
        return {}
    stack = installed_stack(server, check) | {"python"}
    return {name: pair for name, pair in moves.items() if name in stack}


# How the gate marks a difference that a moved release of its stack explains.
MOVED_MARK = " [moved in its stack: "


def explain_difference(server: str, check: str, baselines: Path = EXPECTED_DIR) -> str:
    """What the gate appends to a difference when the baseline's releases are not installed:
    the moved packages of the verdict's stack, or that none of them moved."""
    moves = baseline_moves(server, baselines)
    if not moves:
        return ""
    explaining = in_stack(moves, server, check)
    if not explaining:
        return " [no package of its stack moved]"
    return f"{MOVED_MARK}{describe_moves(explaining)}]"


def explained_by_a_release(difference: str) -> bool:
    """Is this gate difference (as `explain_difference` marked it) upstream news?"""
    return MOVED_MARK in difference
