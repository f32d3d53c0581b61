"""The scalar's history as an inline SVG, drawn by hand: one polyline over the cycles of
the last sessions, a dashed line and the date where each session starts, and a few
horizontal grid lines labelled with the scalar. Cycles are spaced evenly (not by time),
so nights and weekends take no room and every session reads at the same width."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape
from typing import Any

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round grid values covering [low, high]: steps of 1, 2 or 5 x 10^k."""
    if high - low < 1e-9:  # a flat series: a unit band around it
        low, high = low - 0.5, high + 0.5
    span = high - low
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, 10) for k in range(first, max(last, first + 1) + 1)]


def scalar_svg(history: Sequence[dict[str, Any]]) -> str:
    """``history``: rows of ``scalar_history`` (started_at, trading_day, scalar), oldest first."""
    if not history:
        return '<p class="muted" id="scalar-plot-empty">no cycle with a scalar yet</p>'
    values = [float(r["scalar"]) for r in history]
    ticks = nice_ticks(min(values), max(values))
    low, high = ticks[0], max(ticks[-1], ticks[0] + 1e-9)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(values)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / (high - low))

    parts = [
        f'<svg id="scalar-plot" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="hedge scalar over the last sessions">'
    ]
    for t in ticks:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:g}</text>'
        )
    previous: date | None = None
    for i, row in enumerate(history):
        day = date.fromisoformat(str(row["trading_day"]))
        if day != previous:
            parts.append(
                f'<line class="session" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{TOP}" '
                f'y2="{HEIGHT - BOTTOM}"/><text class="axis" x="{x(i) + 3:.1f}" '
                f'y="{HEIGHT - 10}">{escape(f"{day:%d-%b}")}</text>'
            )
            previous = day
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline id="scalar-line" class="line" points="{points}"/>')
    last = values[-1]
    parts.append(f'<circle class="dot" cx="{x(n - 1):.1f}" cy="{y(last):.1f}" r="3"/>')
    parts.append("</svg>")
    return "".join(parts)
