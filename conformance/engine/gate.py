"""Which failed judgements are findings, and how a test reports them.

A finding fails the test that saw it; a failure the transport's baseline already records (the
same verdict, for a cause the baseline records for the check) is a known divergence (xfail), so
CI gates on change, and a new cause behind a check that already fails is a finding. So is a
failure that a release of the verdict's own stack explains, when the installed releases are not
those the baseline was recorded with (an edited lock, an old environment): that is upstream
news, named, not a regression of the code. While baselines are being re-recorded nothing is a
finding: every divergence is recorded and exploration goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from wsconform.conformance.data import EXPECTED_DIR
from wsconform.conformance.engine.judgements import Judgement
from wsconform.conformance.engine.lock import describe_moves
from wsconform.conformance.engine.results import Baseline, is_finding
from wsconform.conformance.engine.stacks import in_stack, moves_since

Run = TypeVar("Run")


@dataclass
class Gate:
    recording: bool = False
    directory: Path = EXPECTED_DIR
    _baselines: dict[str, Baseline | None] = field(default_factory=dict)
    _moves_since_baseline: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    def baseline(self, transport: str) -> Baseline | None:
        if transport not in self._baselines:
            self._baselines[transport] = Baseline.load(transport, self.directory)
        return self._baselines[transport]

    def findings(self, transport: str, judgements: Sequence[Judgement]) -> list[Judgement]:
        """The judgements that fail the gate: failures the baseline does not record and that
        no moved release of their own stack explains."""
        if self.recording:
            return []
        baseline = self.baseline(transport)
        return [
            judgement
            for judgement in judgements
            if is_finding(judgement, baseline) and not self._moves(transport, judgement)
        ]

    def news(self, transport: str, judgements: Sequence[Judgement]) -> list[str]:
        """Failures the baseline does not record that a moved release of the verdict's own
        stack explains: `check (uvicorn 0.55.0 → 0.54.0)`, each once."""
        if self.recording:
            return []
        baseline = self.baseline(transport)
        return sorted(
            {
                f"{judgement.check_id} ({describe_moves(moves)})"
                for judgement in judgements
                if is_finding(judgement, baseline) and (moves := self._moves(transport, judgement))
            }
        )

    def confirmed(
        self,
        transport: str,
        first: tuple[Run, list[Judgement]],
        again: Callable[[], tuple[Run, list[Judgement]]],
    ) -> tuple[Run, list[Judgement], str | None]:
        """A probe's run and judgements, a finding among them confirmed by one more run first.
        On a loaded machine a reply can miss the suite's bound, and what the client saw by then
        is part of a cause: one such run is not yet a regression. Where the second run has no
        finding, it is the observation kept, with a note saying what the first one saw (the
        third value); where it has one too, the first run is kept: the finding is confirmed."""
        run, judgements = first
        findings = self.findings(transport, judgements)
        if not findings:
            return run, judgements, None
        second_run, second = again()
        if self.findings(transport, second):
            return run, judgements, None
        seen = "; ".join(f"[{j.check_id}] {j.verdict.value}: {j.detail}" for j in findings)
        note = f"unsteady: a first run saw {seen}; a second run matched the baseline"
        return second_run, second, note

    def moves(self, transport: str) -> dict[str, tuple[str, str]]:
        """The releases installed here that the transport's baseline was not recorded with
        (read once per transport, like the baseline itself)."""
        if transport not in self._moves_since_baseline:
            self._moves_since_baseline[transport] = moves_since(self.baseline(transport))
        return self._moves_since_baseline[transport]

    def _moves(self, transport: str, judgement: Judgement) -> dict[str, tuple[str, str]]:
        return in_stack(self.moves(transport), transport, judgement.check_id)

    def settle(self, transport: str, judgements: Sequence[Judgement], transcript: str) -> None:
        """Fail on findings; xfail on known divergences and on failures a moved release
        explains (upstream news, named); pass otherwise."""
        findings = self.findings(transport, judgements)
        if findings:
            baseline = self.baseline(transport)
            lines = [
                f"[{j.check_id}] {j.verdict.value}: {j.detail}"
                + (
                    f" (new cause: {j.failure_cause}; the baseline records this verdict for"
                    " other causes)"
                    if baseline is not None and baseline.accepts(j.check_id, j.verdict)
                    else ""
                )
                for j in findings
            ]
            moves = self.moves(transport)
            if moves:
                # Said first: the environment is not the one the baseline was recorded in.
                lines.insert(
                    0,
                    f"note: {transport}'s baseline was recorded with other releases than the"
                    f" installed ones ({describe_moves(moves)}), none of them in these"
                    " verdicts' stack",
                )
            pytest.fail("\n".join([*lines, "", transcript]), pytrace=False)
        known = sorted({f"{j.check_id} ({j.verdict.value})" for j in judgements if j.ok is False})
        reasons = [f"known divergence(s): {', '.join(known)}"] if known else []
        news = self.news(transport, judgements)
        if news:
            reasons.append(f"moved with a release of its stack: {', '.join(news)}")
        if reasons:
            pytest.xfail("; ".join(reasons))
