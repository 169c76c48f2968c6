"""Charts for the statistics page as inline SVG, drawn on the server.

No script and no style attribute (the console's Content-Security-Policy allows neither):
shapes carry presentation attributes and classes that stats.css colours. Every bar and
point has a <title>, which browsers show as a tooltip. Every text goes through `escape`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ivr.stats.digest import SeriesPoint
from ivr.stats.tables import Unit as U
from ivr.stats.tables import show

TARGET = 0.95  # GB/T 33358-2016: answer at least 95 % of the calls
W, H = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 34, 46


def nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value))


def _svg(width: int, height: int, label: str, body: str, css: str) -> str:
    return (
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def _text(x: float, y: float, text: str, css: str = "", anchor: str = "start") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def series_chart(points: Sequence[SeriesPoint], title: str) -> str:
    """Calls offered and answered as bars, the answer rate as a line against 95 %."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    top = nice_top(max((p.calls.offered for p in points), default=0))
    step = plot_w / max(len(points), 1)
    parts = [_axes(top, plot_w, plot_h), _legend()]
    every = max(1, math.ceil(len(points) / 16))
    for n, point in enumerate(points):
        x = LEFT + n * step
        parts.append(_bars(point, x, step, top, plot_h))
        if n % every == 0:
            parts.append(_text(x + step / 2, H - BOTTOM + 16, point.bucket.label, "tick", "middle"))
    parts.append(_rate_line(points, step, plot_h))
    target_y = TOP + plot_h * (1 - TARGET)
    parts.append(
        f'<line class="target" x1="{LEFT}" x2="{LEFT + plot_w}" '
        f'y1="{target_y:.1f}" y2="{target_y:.1f}"><title>目标接通率 95%</title></line>'
    )
    return _svg(W, H, title, "".join(parts), "series")


def _axes(top: float, plot_w: float, plot_h: float) -> str:
    parts = []
    for k in range(5):
        fraction = k / 4
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(_text(LEFT - 6, y + 4, f"{top * fraction:g}", "tick", "end"))
        parts.append(_text(LEFT + plot_w + 6, y + 4, f"{fraction * 100:g}%", "tick rate"))
    parts.append(_text(4, TOP - 12, "来电（通）", "axis"))
    parts.append(_text(LEFT + plot_w + 6, TOP - 12, "接通率", "axis rate"))
    return "".join(parts)


def _legend() -> str:
    items = (
        ("offered", "呼入量"),
        ("answered", "接通量"),
        ("rate", "接通率"),
        ("target", "95%目标"),
    )
    parts = []
    for n, (css, label) in enumerate(items):
        x = LEFT + 150 + n * 120
        parts.append(f'<rect class="key {css}" x="{x}" y="{TOP - 26}" width="14" height="10"/>')
        parts.append(_text(x + 18, TOP - 17, label, "legend"))
    return "".join(parts)


def _bars(point: SeriesPoint, x: float, step: float, top: float, plot_h: float) -> str:
    calls = point.calls
    width = max(step * 0.4, 1.0)
    tip = (
        f"{point.bucket.label} 呼入 {calls.offered} 接通 {calls.answered} "
        f"接通率 {show(calls.answer_rate, U.PERCENT)}"
    )
    out = []
    for n, (css, value) in enumerate((("offered", calls.offered), ("answered", calls.answered))):
        height = plot_h * value / top
        left = x + step * 0.1 + n * width
        out.append(
            f'<rect class="bar {css}" x="{left:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}"><title>{escape(tip)}</title></rect>'
        )
    return "".join(out)


def _rate_line(points: Sequence[SeriesPoint], step: float, plot_h: float) -> str:
    # one polyline per run of buckets that have a rate (a bucket without calls breaks it)
    runs: list[list[str]] = [[]]
    dots = []
    for n, point in enumerate(points):
        rate = point.calls.answer_rate
        if rate is None:
            runs.append([])
            continue
        x, y = LEFT + (n + 0.5) * step, TOP + plot_h * (1 - rate)
        runs[-1].append(f"{x:.1f},{y:.1f}")
        tip = f"{point.bucket.label} 接通率 {show(rate, U.PERCENT)}"
        dots.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(tip)}</title></circle>"
        )
    lines = [f'<polyline class="rate" points="{" ".join(run)}"/>' for run in runs if run]
    return "".join(lines + dots)


def share_chart(rows: Sequence[tuple[str, int]], title: str) -> str:
    """Horizontal bars of counts by name, largest first, with each one's share."""
    whole = sum(n for _, n in rows)
    label_w, bar_w, line_h = 150, 560, 26
    height = max(len(rows), 1) * line_h + 10
    top = max((n for _, n in rows), default=0) or 1
    parts = []
    for k, (name, count) in enumerate(rows):
        y = 5 + k * line_h
        width = bar_w * count / top
        share = show(count / whole if whole else None, U.PERCENT)
        parts.append(_text(label_w - 8, y + 16, name, "label", "end"))
        parts.append(
            f'<rect class="bar share" x="{label_w}" y="{y + 4}" width="{width:.1f}" height="16">'
            f"<title>{escape(f'{name} {count} 件（{share}）')}</title></rect>"
        )
        parts.append(_text(label_w + width + 6, y + 16, f"{count} 件  {share}", "value"))
    if not rows:
        parts.append(_text(10, 20, "本期无受理工单", "empty"))
    return _svg(label_w + bar_w + 130, height, title, "".join(parts), "shares")


def rate_bar(rate: float | None, target: float | None = None) -> str:
    """A small bar for a rate in a table cell, with its value beside it."""
    if rate is None:
        return '<span class="rate-none">—</span>'
    klass = "low" if target is not None and rate < target else "ok"
    label = show(rate, U.PERCENT)
    return (
        f'<svg class="rate-bar" viewBox="0 0 100 12" role="img" aria-label="{label}">'
        f'<rect class="track" x="0" y="1" width="100" height="10"/>'
        f'<rect class="fill {klass}" x="0" y="1" width="{rate * 100:.1f}" height="10"/></svg>'
        f'<span class="rate-value">{label}</span>'
    )
