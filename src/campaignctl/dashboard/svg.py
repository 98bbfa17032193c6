"""Charts drawn by hand as plain SVG: one function for every chart of the page, a day axis
with any number of bar and line series on it (sends per day, the forecast after them, the
balance and its burn-down). No script, no library: the page stays one server-rendered
document, and each mark carries its day and value (`<title>` for a tooltip, `data-` for a
test).

    chart([Series("sent", sent, "bar"), Series("forecast", ahead, "bar", "forecast")],
          title="Messages sent per day", today=today)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from xml.sax.saxutils import quoteattr

from markupsafe import Markup, escape

WIDTH = 720
HEIGHT = 180
LEFT = 52  # room for the value labels
BOTTOM = 22  # room for the day labels
TOP = 8


@dataclass(frozen=True)
class Series:
    """Values by day, drawn as bars or as a line; `css` names its colour in the page."""

    label: str
    points: Sequence[tuple[date, float]]
    kind: Literal["bar", "line"] = "bar"
    css: str = "primary"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.1f}"


def _f(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def chart(
    series: Sequence[Series],
    *,
    title: str,
    today: date | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Markup:
    """An SVG chart of the series on one day axis (from the first day of any series to the
    last), values from 0 to the largest; `today` marked by a vertical rule."""
    days = sorted({day for s in series for day, _ in s.points})
    if not days:
        return Markup(
            f'<svg class="chart empty" role="img" aria-label={quoteattr(title)} '
            f'viewBox="0 0 {width} 40" width="{width}" height="40">'
            f'<text x="{LEFT}" y="24">{escape(title)}: nothing yet</text></svg>'
        )
    first, last = days[0], days[-1]
    span = (last - first).days + 1
    top = max([0.0, *(v for s in series for _, v in s.points)]) or 1.0
    plot_w, plot_h = width - LEFT - 4, height - BOTTOM - TOP
    step = plot_w / span

    def x(day: date) -> float:
        return LEFT + (day - first).days * step

    def y(value: float) -> float:
        return TOP + plot_h - max(value, 0.0) / top * plot_h

    parts = [
        f'<svg class="chart" role="img" aria-label={quoteattr(title)} '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line class="axis" x1="{LEFT}" y1="{_f(y(0))}" x2="{width - 4}" y2="{_f(y(0))}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{_f(y(top) + 4)}" text-anchor="end">'
        f"{_number(top)}</text>",
        f'<text class="tick" x="{LEFT - 4}" y="{_f(y(0))}" text-anchor="end">0</text>',
        f'<text class="tick" x="{LEFT}" y="{height - 6}">{first.isoformat()}</text>',
        f'<text class="tick" x="{width - 4}" y="{height - 6}" text-anchor="end">'
        f"{last.isoformat()}</text>",
    ]
    if today is not None and first <= today <= last:
        mark = _f(x(today) + step / 2)
        parts.append(
            f'<line class="today" x1="{mark}" y1="{TOP}" x2="{mark}" y2="{_f(y(0))}">'
            f"<title>today, {today.isoformat()}</title></line>"
        )
    for s in series:
        label = escape(s.label)
        if s.kind == "bar":
            for day, value in s.points:
                if value <= 0:
                    continue
                height_px = y(0) - y(value)
                parts.append(
                    f'<rect class="bar {escape(s.css)}" data-series="{label}" '
                    f'data-day="{day.isoformat()}" data-value="{_f(value)}" '
                    f'x="{_f(x(day) + step * 0.1)}" y="{_f(y(value))}" '
                    f'width="{_f(max(step * 0.8, 0.5))}" height="{_f(max(height_px, 0.5))}">'
                    f"<title>{label} {day.isoformat()}: {_number(value)}</title></rect>"
                )
        else:
            points = " ".join(f"{_f(x(day) + step / 2)},{_f(y(value))}" for day, value in s.points)
            parts.append(
                f'<polyline class="line {escape(s.css)}" data-series="{label}" '
                f'points="{points}"><title>{label}</title></polyline>'
            )
            for day, value in s.points:
                parts.append(
                    f'<circle class="dot {escape(s.css)}" data-series="{label}" '
                    f'data-day="{day.isoformat()}" data-value="{_f(value)}" '
                    f'cx="{_f(x(day) + step / 2)}" cy="{_f(y(value))}" r="1.5">'
                    f"<title>{label} {day.isoformat()}: {_number(value)}</title></circle>"
                )
    parts.append("</svg>")
    return Markup("".join(parts))
