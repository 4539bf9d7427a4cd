"""Which failed judgements are findings, and how a test reports them.

A finding fails the test that saw it; a failure the transport's baseline already records is a
known divergence (xfail), so CI gates on change. While baselines are being re-recorded nothing
is a finding: every divergence is recorded and exploration goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wsconform.conformance.lock import describe_moves
from wsconform.conformance.model import Judgement
from wsconform.conformance.results import EXPECTED_DIR, Baseline, is_finding
from wsconform.conformance.upstream import baseline_moves


@dataclass
class Gate:
    recording: bool = False
    directory: Path = EXPECTED_DIR
    _baselines: dict[str, Baseline | None] = field(default_factory=dict)

    def baseline(self, transport: str) -> Baseline | None:
        if transport not in self._baselines:
            self._baselines[transport] = Baseline.load(transport, self.directory)
        return self._baselines[transport]

    def findings(self, transport: str, judgements: Sequence[Judgement]) -> list[Judgement]:
        if self.recording:
            return []
        baseline = self.baseline(transport)
        return [judgement for judgement in judgements if is_finding(judgement, baseline)]

    def settle(self, transport: str, judgements: Sequence[Judgement], transcript: str) -> None:
        """Fail on findings; xfail on known divergences; pass otherwise."""
        findings = self.findings(transport, judgements)
        if findings:
            lines = [f"[{j.check_id}] {j.verdict.value}: {j.detail}" for j in findings]
            moves = baseline_moves(transport, self.directory)
            if moves:
                # Said first: a release that moved is the likelier cause than the change.
                lines.insert(
                    0,
                    f"note: {transport}'s baseline was recorded with other releases than the"
                    f" installed ones ({describe_moves(moves)}); this may be their change",
                )
            pytest.fail("\n".join([*lines, "", transcript]), pytrace=False)
        known = sorted({f"{j.check_id} ({j.verdict.value})" for j in judgements if j.ok is False})
        if known:
            pytest.xfail("known divergence(s): " + ", ".join(known))
