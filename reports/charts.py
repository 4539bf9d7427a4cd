"""Inline SVG charts of the benchmarks: no script, no external file, readable offline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, Protocol

from wsconform.conformance.bench.ratios import (
    FIGURE,
    HIGHER_IS_BETTER,
    RATIO_TO_BASELINE,
    RATIO_TO_CEILING,
    ROLE,
    SERVER,
    UNIT,
    VALUE,
)

# What index.json keeps of each benchmark.
INDEX_KEYS = (FIGURE, SERVER, ROLE, VALUE, UNIT, RATIO_TO_BASELINE, RATIO_TO_CEILING)
ROLE_COLOURS = {"baseline": "#6b7280", "ceiling": "#1f2937", "server": "#2563eb"}
# Distinct line colours for the ratio history, one per server (cycled).
LINE_COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777"]

_BAR_HEIGHT = 18
_LABEL_WIDTH = 230
_BAR_AREA = 380
_VALUE_WIDTH = 190


class Run(Protocol):
    label: str
    benchmarks: list[dict[str, Any]]


def by_figure(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Benchmark records (their `extra_info`, or index.json's rows) by figure, in order."""
    figures: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        figures.setdefault(record[FIGURE], []).append(record)
    return figures


def records(benchmarks: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records of pytest-benchmark's benchmarks: their `extra_info`."""
    return [benchmark["extra_info"] for benchmark in benchmarks]


def bar_chart(figure: str, records: Sequence[Mapping[str, Any]]) -> str:
    """One horizontal bar per server, baseline and ceiling first in their own colours."""
    order = {"baseline": 0, "ceiling": 1, "server": 2}
    rows = sorted(records, key=lambda r: (order.get(r[ROLE], 3), -r[VALUE]))
    top = max((r[VALUE] for r in rows), default=0.0) or 1.0
    width = _LABEL_WIDTH + _BAR_AREA + _VALUE_WIDTH
    height = (len(rows) + 1) * (_BAR_HEIGHT + 4)
    parts = [
        f'<svg class="chart" role="img" width="{width}"'
        f' height="{height}" aria-label="{escape(figure)}">'
    ]
    for index, record in enumerate(rows):
        y = index * (_BAR_HEIGHT + 4)
        bar = max(1.0, record[VALUE] / top * _BAR_AREA)
        colour = ROLE_COLOURS.get(record[ROLE], ROLE_COLOURS["server"])
        label = f"{record[SERVER]} ({record[ROLE]})" if record[ROLE] != "server" else record[SERVER]
        ratio = record.get(RATIO_TO_BASELINE)
        note = (
            f" · {ratio:.2f}x baseline" if ratio is not None and record[ROLE] != "baseline" else ""
        )
        parts.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{bar:.1f}" height="{_BAR_HEIGHT}"'
            f' fill="{colour}"><title>{escape(label)}: {record[VALUE]:,.1f}'
            f" {escape(record[UNIT])}</title></rect>"
            f'<text x="{_LABEL_WIDTH + bar + 6:.1f}" y="{y + 13}">'
            f"{record[VALUE]:,.0f}{escape(note)}</text>"
        )
    unit = rows[0][UNIT] if rows else ""
    higher = not rows or rows[0].get(HIGHER_IS_BETTER, True)
    direction = "higher is better" if higher else "lower is better"
    parts.append(
        f'<text x="{_LABEL_WIDTH}" y="{height - 4}" class="axis">{escape(unit)}, {direction}</text>'
        "</svg>"
    )
    return "".join(parts)


def ratio_table(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Servers x figures, each cell (ratio to baseline, ratio to ceiling)."""
    figures = by_figure(records)
    servers: list[str] = []
    cells: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    for figure, records in figures.items():
        for record in records:
            if record[SERVER] not in servers:
                servers.append(record[SERVER])
            cells[(record[SERVER], figure)] = (
                record.get(RATIO_TO_BASELINE),
                record.get(RATIO_TO_CEILING),
            )
    return {"figures": list(figures), "servers": servers, "cells": cells}


def history_charts(runs: Sequence[Run]) -> dict[str, str]:
    """Per figure, a line per server of its ratio to the baseline across the runs; only when
    there are at least two runs to compare."""
    if len(runs) < 2:
        return {}
    series: dict[str, dict[str, list[float | None]]] = {}
    for position, run in enumerate(runs):
        for figure, figure_records in by_figure(records(run.benchmarks)).items():
            for record in figure_records:
                if record[ROLE] != "server":
                    continue
                line = series.setdefault(figure, {}).setdefault(record[SERVER], [None] * len(runs))
                line[position] = record.get(RATIO_TO_BASELINE)
    return {figure: _line_chart(lines, len(runs)) for figure, lines in series.items()}


def _line_chart(lines: Mapping[str, Sequence[float | None]], points: int) -> str:
    width, height, left, bottom, legend = 520, 200, 40, 20, 200
    values = [v for line in lines.values() for v in line if v is not None]
    top = max([*values, 1.0]) * 1.1
    step = (width - left - 10) / max(1, points - 1)

    def xy(index: int, value: float) -> str:
        x = left + index * step
        y = (height - bottom) * (1 - value / top) + 5
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg class="chart" role="img" width="{width + legend}" height="{height}">',
        f'<line x1="{left}" y1="{(height - bottom) * (1 - 1 / top) + 5:.1f}" x2="{width}"'
        f' y2="{(height - bottom) * (1 - 1 / top) + 5:.1f}" class="baseline-line"/>',
        f'<text x="2" y="{(height - bottom) * (1 - 1 / top) + 9:.1f}" class="axis">1x</text>',
    ]
    for number, (server, line) in enumerate(sorted(lines.items())):
        colour = LINE_COLOURS[number % len(LINE_COLOURS)]
        points_text = " ".join(xy(i, v) for i, v in enumerate(line) if v is not None)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points_text}">'
            f"<title>{escape(server)}</title></polyline>"
            f'<text x="{width + 8}" y="{14 + number * 14}" fill="{colour}">{escape(server)}</text>'
        )
    for index in range(points):
        parts.append(
            f'<text x="{left + index * step:.1f}" y="{height - 4}" class="axis"'
            f' text-anchor="middle">{index + 1}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
