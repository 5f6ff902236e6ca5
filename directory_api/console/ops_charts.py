"""Inline SVG charts for the operations and model pages: no script, no CDN, no inline CSS.

The console's Content-Security-Policy allows no script and no inline style, so colours are SVG
presentation attributes. Every chart carries a title and a description for screen readers, and the
pages print the same figures as a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from warehouse.operations_days import DailyVolume

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 48, 16, 40
BAR = "#1d70b8"        # GOV.UK blue: rows read
RATE = "#d4351c"       # red: quarantine rate
DECISION_COLOURS = {"link": "#00703c", "review": "#f47738", "apart": "#505a5f"}


def _nice_top(value: float) -> float:
    """The axis maximum: 1, 2 or 5 times a power of ten, at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _frame(chart_id: str, title: str, description: str, body: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        f"{body}</svg>")


def _text(x: float, y: float, label: str, *, anchor: str = "middle", size: int = 11, fill: str = "#0b0c0c") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" '
            f'font-family="sans-serif">{escape(label)}</text>')


def _polyline(points: list[str]) -> str:
    if len(points) < 2:
        return ""
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{RATE}" stroke-width="2"/>'


def volume_chart(feed: str, series: Sequence[DailyVolume]) -> Markup:
    """Rows read per day as bars (left axis) and the share quarantined as a line (right axis, 0–100 %)."""
    chart_id = f"volumes-{feed}"
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_top(max((d.read for d in series), default=0))
    step = plot_w / max(1, len(series))
    parts = [f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#505a5f"/>',
             _text(LEFT - 6, TOP + 4, f"{top:,.0f}", anchor="end"), _text(LEFT - 6, TOP + plot_h, "0", anchor="end"),
             _text(LEFT + plot_w + 6, TOP + 4, "100%", anchor="start"),
             _text(LEFT + plot_w + 6, TOP + plot_h, "0%", anchor="start")]
    segment: list[str] = []
    for i, day in enumerate(series):
        x = LEFT + i * step
        height = plot_h * day.read / top
        if not day.read:
            # A day without rows has no rate: the line breaks there rather than dropping to 0 %.
            parts.append(_polyline(segment))
            segment = []
            continue
        parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{TOP + plot_h - height:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{height:.1f}" fill="{BAR}"><title>{escape(day.day.isoformat())}: '
                     f"{day.read:,} rows read, {day.quarantined:,} quarantined</title></rect>")
        y = TOP + plot_h * (1 - day.quarantine_rate)
        segment.append(f"{x + step / 2:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x + step / 2:.1f}" cy="{y:.1f}" r="3" fill="{RATE}"/>')
    parts.append(_polyline(segment))
    if series:
        parts.append(_text(LEFT, HEIGHT - 8, series[0].day.isoformat(), anchor="start"))
        parts.append(_text(LEFT + plot_w, HEIGHT - 8, series[-1].day.isoformat(), anchor="end"))
    read = sum(d.read for d in series)
    quarantined = sum(d.quarantined for d in series)
    description = (f"{feed}: {read:,} rows read over {len(series)} days, {quarantined:,} quarantined "
                   f"({100 * quarantined / read if read else 0:.1f}%). "
                   "Bars: rows read per day; line: share quarantined.")
    return _frame(chart_id, f"Daily volumes and quarantine rate of the {feed} feed", description, "".join(parts))


@dataclass(frozen=True)
class WeightBin:
    """Pairs whose match weight falls in [low, low + width), by the decision the linker made."""

    low: float
    counts: dict[str, int]


def _log_height(count: int, top: float, plot_h: float) -> float:
    return plot_h * math.log10(1 + count) / math.log10(1 + top)


def weight_histogram(bins: Sequence[WeightBin], width: float, thresholds: dict[str, float]) -> Markup:
    """Pairs per weight bin, one bar per decision (apart, review, link) side by side, on a log scale (the links
    far above the thresholds outnumber the pairs near them a hundred to one), each threshold a dashed line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if not bins:
        return _frame("weights", "Match weights", "No scored pairs.", _text(WIDTH / 2, HEIGHT / 2, "no pairs"))
    low, high = bins[0].low, bins[-1].low + width
    top = 10 ** math.ceil(math.log10(max(2, max(max(b.counts.values(), default=0) for b in bins))))

    def x_of(weight: float) -> float:
        return LEFT + plot_w * (weight - low) / (high - low)

    parts = [f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#505a5f"/>']
    tick = 1
    while tick <= top:
        y = TOP + plot_h - _log_height(tick, top, plot_h)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(_text(LEFT - 6, y + 4, f"{tick:,}", anchor="end"))
        tick *= 10
    order = ("apart", "review", "link")
    for b in bins:
        slot = (x_of(b.low + width) - x_of(b.low) - 2) / len(order)
        for index, decision in enumerate(order):
            count = b.counts.get(decision, 0)
            if not count:
                continue
            height = _log_height(count, top, plot_h)
            parts.append(f'<rect x="{x_of(b.low) + 1 + index * slot:.1f}" y="{TOP + plot_h - height:.1f}" '
                         f'width="{slot:.1f}" height="{height:.1f}" fill="{DECISION_COLOURS[decision]}">'
                         f"<title>weight {b.low:g} to {b.low + width:g}: {count:,} {decision}</title></rect>")
    for mark in range(math.ceil(low), math.floor(high) + 1, max(1, int((high - low) // 10))):
        parts.append(_text(x_of(mark), HEIGHT - 22, f"{mark:g}"))
    for name, value in thresholds.items():
        if low <= value <= high:
            parts.append(f'<line x1="{x_of(value):.1f}" y1="{TOP}" x2="{x_of(value):.1f}" y2="{TOP + plot_h}" '
                         f'stroke="#0b0c0c" stroke-width="2" stroke-dasharray="6 3"/>')
            parts.append(_text(x_of(value) + 4, TOP + 12, f"{name} {value:g}", anchor="start"))
    parts.append(_text(LEFT + plot_w / 2, HEIGHT - 6, "match weight"))
    parts.append(_text(14, TOP + plot_h / 2, "pairs (log scale)", anchor="middle", size=10).replace(
        "<text ", f'<text transform="rotate(-90 14 {TOP + plot_h / 2:.1f})" ', 1))
    total = sum(sum(b.counts.values()) for b in bins)
    description = (f"{total:,} scored pairs by match weight on a log scale, one bar per decision (grey apart, orange "
                   f"review, green link); thresholds: " + ", ".join(f"{k} {v:g}" for k, v in thresholds.items()) + ".")
    return _frame("weights", "Distribution of match weights", description, "".join(parts))
