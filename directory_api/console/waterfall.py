"""The match-weight waterfall of a pair, as Splink draws one, in inline SVG drawn on the server.

The console's Content-Security-Policy allows no script and no inline style, so colours are SVG
presentation attributes; the chart has a title and a description, and the page prints the same
figures as a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, ROW, LEFT, RIGHT, TOP, BOTTOM = 640, 26, 110, 56, 12, 34
FOR, AGAINST, TOTAL, PRIOR = "#00703c", "#b3261e", "#0b2545", "#505a5f"
GRID = "#6f777b"


def _text(x: float, y: float, label: str, *, anchor: str = "start", weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="12" font-weight="{weight}" '
            f'fill="#0b0c0c" font-family="sans-serif">{escape(label)}</text>')


def waterfall_svg(bars: Sequence[dict[str, Any]], *, link_threshold: float, review_threshold: float,
                  chart_id: str = "waterfall") -> Markup:
    """One row per bar (``matching.stewardship.waterfall``): green adds evidence for a match, red against,
    each starting where the previous ended; dashed lines mark the review and link thresholds."""
    values = [0.0, link_threshold, review_threshold, *(b["start"] for b in bars), *(b["end"] for b in bars)]
    low, high = min(values) - 1, max(values) + 1
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + ROW * len(bars) + BOTTOM

    def x(value: float) -> float:
        return LEFT + (value - low) / (high - low) * plot_w

    parts = []
    for mark, label in ((link_threshold, "link"), (review_threshold, "review")):
        parts.append(f'<line x1="{x(mark):.1f}" y1="{TOP}" x2="{x(mark):.1f}" y2="{height - BOTTOM}" '
                     f'stroke="{GRID}" stroke-dasharray="4 3"/>')
        # Review to the left of its line, link to the right: the two labels never overlap.
        parts.append(_text(x(mark) + (4 if label == "link" else -4), height - BOTTOM + 26, f"{label} {mark:g}",
                           anchor="start" if label == "link" else "end"))
    parts.append(f'<line x1="{x(0):.1f}" y1="{TOP}" x2="{x(0):.1f}" y2="{height - BOTTOM}" stroke="#0b0c0c"/>')
    parts.append(_text(x(0), height - BOTTOM + 13, "0", anchor="middle"))
    for i, bar in enumerate(bars):
        y = TOP + i * ROW
        start, end = float(bar["start"]), float(bar["end"])
        if bar["name"] == "total":
            colour = TOTAL
        elif bar["name"] == "prior":
            colour = PRIOR
        else:
            colour = FOR if end >= start else AGAINST
        left, width = x(min(start, end)), max(abs(x(end) - x(start)), 1.5)
        weight = float(bar["weight"])
        parts.append(f'<rect x="{left:.1f}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" fill="{colour}">'
                     f"<title>{escape(bar['name'])}: {weight:+.2f}</title></rect>")
        parts.append(_text(LEFT - 8, y + ROW / 2 + 4, str(bar["name"]), anchor="end",
                           weight="bold" if bar["name"] == "total" else "normal"))
        label_x = x(max(start, end)) + 4
        parts.append(_text(label_x, y + ROW / 2 + 4, f"{weight:+.2f}"))
    total = float(bars[-1]["end"]) if bars else 0.0
    steps = ", ".join(f"{b['name']} {float(b['weight']):+.2f}" for b in bars[:-1])
    description = (f"Match weight {total:.2f}: {steps}"
                   f". Thresholds: review {review_threshold:g}, link {link_threshold:g}.")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false" class="waterfall">'
        f'<title id="{chart_id}-title">Match-weight waterfall</title><desc id="{chart_id}-desc">'
        f"{escape(description)}</desc>{''.join(parts)}</svg>")
