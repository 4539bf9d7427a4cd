"""The seed claims' entries in the checks catalogue: one per claim scenario."""

from __future__ import annotations

from wsconform.conformance.engine.checks import Check
from wsconform.conformance.families.claims.claims import CLAIMS

# What the registry collects from this family.
CHECKS: tuple[Check, ...] = tuple(claim.check() for claim in CLAIMS)
