"""Figures and their ratios to the baseline and the ceiling measured in the same run.

A raw figure from a shared, noisy machine says little; the same figure divided by what a
reference server reached with the same client a few seconds earlier is comparable across runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The keys every throughput benchmark puts in its `extra_info`.
FIGURE = "figure"
SERVER = "server"
ROLE = "role"
VALUE = "value"
UNIT = "unit"
HIGHER_IS_BETTER = "higher_is_better"
RATIO_TO_BASELINE = "ratio_to_baseline"
RATIO_TO_CEILING = "ratio_to_ceiling"
# A stack's (nginx, +tls): the id of the same app on the server without the layer, the layer's
# name, and the figure divided by that server's (the layer's price).
WITHOUT_LAYER = "without_layer"
LAYER = "layer"
RATIO_TO_WITHOUT_LAYER = "ratio_to_without_layer"


def figure_record(
    figure: str,
    server: str,
    role: str,
    value: float,
    unit: str,
    *,
    higher_is_better: bool = True,
    **details: Any,
) -> dict[str, Any]:
    """What a benchmark stores in `extra_info`: its figure, and `role` is "baseline",
    "ceiling" or "server" (the ratios are added once the references are measured)."""
    return {
        FIGURE: figure,
        SERVER: server,
        ROLE: role,
        VALUE: value,
        UNIT: unit,
        HIGHER_IS_BETTER: higher_is_better,
        **details,
    }


def attach_ratios(records: Iterable[dict[str, Any]]) -> None:
    """Give every record of a figure its value divided by the baseline's and the ceiling's
    value of the same figure in the same run (None where that reference was not measured), and
    a stack's record its value divided by the same server's without the layer.
    Every ratio is value / reference, so for memory (lower is better) above 1 means worse."""
    records = list(records)
    references: dict[tuple[str, str], float] = {
        (record[FIGURE], record[ROLE]): record[VALUE]
        for record in records
        if record.get(ROLE) in ("baseline", "ceiling")
    }
    by_server: dict[tuple[str, str], float] = {
        (record[FIGURE], record[SERVER]): record[VALUE] for record in records if FIGURE in record
    }
    for record in records:
        if FIGURE not in record:
            continue
        for role, key in (("baseline", RATIO_TO_BASELINE), ("ceiling", RATIO_TO_CEILING)):
            reference = references.get((record[FIGURE], role))
            record[key] = record[VALUE] / reference if reference else None
        if record.get(WITHOUT_LAYER):
            unlayered = by_server.get((record[FIGURE], record[WITHOUT_LAYER]))
            record[RATIO_TO_WITHOUT_LAYER] = record[VALUE] / unlayered if unlayered else None


@dataclass(frozen=True)
class RatioRegression:
    name: str
    figure: str
    before: float
    now: float

    def describe(self) -> str:
        change = (self.now / self.before - 1) * 100
        return (
            f"{self.name}: {self.figure} ratio_to_baseline {self.before:.3f} -> {self.now:.3f}"
            f" ({change:+.0f}%)"
        )


def ratio_regressions(
    current: Mapping[str, Mapping[str, Any]],
    compared: Mapping[str, Mapping[str, Any]],
    threshold_percent: float,
) -> list[RatioRegression]:
    """The benchmarks (by full name, with their `extra_info`) whose ratio to the baseline got
    worse than `compared`'s by more than `threshold_percent`, in the figure's direction."""
    regressions = []
    allowed = threshold_percent / 100
    for name, info in current.items():
        before = compared.get(name, {}).get(RATIO_TO_BASELINE)
        now = info.get(RATIO_TO_BASELINE)
        if not before or now is None or info.get(ROLE) != "server":
            continue
        change = now / before - 1
        worse = -change if info.get(HIGHER_IS_BETTER, True) else change
        if worse > allowed:
            regressions.append(RatioRegression(name, str(info[FIGURE]), before, now))
    return regressions


def describe_figure(info: Mapping[str, Any]) -> str:
    """The progress line of one benchmark: its figure and, once measured, its ratios."""
    line = f"{info[FIGURE]:>14} {info[SERVER]:<28} {info[VALUE]:>12,.1f} {info[UNIT]}"
    for key, label in (
        (RATIO_TO_BASELINE, "baseline"),
        (RATIO_TO_CEILING, "ceiling"),
        (RATIO_TO_WITHOUT_LAYER, f"without {info.get(LAYER)}"),
    ):
        if info.get(key) is not None:
            line += f"  {info[key]:.2f}x {label}"
    return line


def headroom_warnings(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The figures where a server under test reached the ceiling: there the load generator, not
    the server, may have been the limit, and the figure says less than it seems to."""
    return [
        f"{record[FIGURE]}: {record[SERVER]} reached {record[RATIO_TO_CEILING]:.2f}x the ceiling;"
        " the load generator may be what limits this figure"
        for record in records
        if record.get(ROLE) == "server"
        and record.get(HIGHER_IS_BETTER, True)
        and (record.get(RATIO_TO_CEILING) or 0) >= 1
    ]
