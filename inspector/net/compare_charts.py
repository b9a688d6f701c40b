"""The comparison's charts, described once and drawn as SVG (HTML, the window) or PNG.

A chart is a list of shapes on a 640-unit-wide plane: rectangles, lines, dots and text
whose ``y`` is its baseline, as in SVG. :func:`to_svg` writes them as an SVG document;
:func:`inspector.net.compare_png.to_png` paints the same shapes into a PNG, so the
Markdown report's pictures and the HTML report's drawings cannot drift apart.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from inspector.net.compare import TransportResult


@dataclass(frozen=True, slots=True)
class Rect:
    """A filled rectangle; ``role`` names it in the SVG (``class``)."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    role: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    """A vertical or horizontal line one unit wide."""

    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str


@dataclass(frozen=True, slots=True)
class Dot:
    """A filled circle."""

    cx: float
    cy: float
    r: float
    fill: str


@dataclass(frozen=True, slots=True)
class Text:
    """One line of text starting at ``x`` with its baseline at ``y``."""

    x: float
    y: float
    text: str
    bold: bool = False


Shape = Rect | Line | Dot | Text


@dataclass(frozen=True, slots=True)
class Chart:
    """A titled picture: its size in units and what is drawn, in order."""

    title: str
    width: int
    height: int
    shapes: tuple[Shape, ...]


WIDTH = 640
#: Where a row's label ends and its bar starts, and the bars' full length.
BAR_X = 130
BAR_SPAN = 400
ROW_HEIGHT = 22
BAR_COLOUR = "#4a7fb5"
BOX_COLOUR = "#6aa84f"
P99_COLOUR = "#cc0000"
INK = "#333333"


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], unit: str) -> Chart:
    """Horizontal bars, one row per label, the largest value across the full span."""
    top = max([v for v in values if v > 0], default=1.0)
    shapes: list[Shape] = [Text(10, 18, title, bold=True)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 30 + ROW_HEIGHT * i
        width = max(0.0, BAR_SPAN * value / top)
        shapes.append(Text(10, y + 14, label))
        shapes.append(Rect(BAR_X, y, width, 16, BAR_COLOUR, "bar"))
        shapes.append(Text(BAR_X + 6 + width, y + 13, f"{value:.3g} {unit}"))
    return Chart(title, WIDTH, 40 + ROW_HEIGHT * len(labels), tuple(shapes))


def latency_chart(results: Sequence[TransportResult]) -> Chart:
    """Latency per transport: a p50-p90 box, a p99 tick and a dot at the maximum (ms)."""
    rows = [r for r in results if r.ok and r.latencies_ns]
    top = max((max(r.latencies_ns) for r in rows), default=1) / 1e6
    title = "Latency (ms): p50-p90 box, p99 tick, max dot"

    def x(ns: int | None) -> float:
        return BAR_X + BAR_SPAN * ((ns or 0) / 1e6) / top

    shapes: list[Shape] = [Text(10, 18, title, bold=True)]
    for i, r in enumerate(rows):
        y = 30 + ROW_HEIGHT * i
        p50, p90, p99, peak = r.latency(0.5), r.latency(0.9), r.latency(0.99), max(r.latencies_ns)
        shapes += [
            Text(10, y + 14, r.transport),
            Rect(x(p50), y, max(1.0, x(p90) - x(p50)), 16, BOX_COLOUR, "box"),
            Line(x(p99), y, x(p99), y + 16, P99_COLOUR),
            Dot(x(peak), y + 8, 3, INK),
            Text(545, y + 13, "-" if p50 is None else f"{p50 / 1e6:.3f}"),
        ]
    return Chart(title, WIDTH, 40 + ROW_HEIGHT * max(1, len(rows)), tuple(shapes))


def to_svg(chart: Chart) -> str:
    """The chart as a standalone SVG document."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{chart.width}" '
        f'height="{chart.height}" font-family="sans-serif" font-size="12" role="img">',
        f"<title>{html.escape(chart.title)}</title>",
    ]
    for s in chart.shapes:
        if isinstance(s, Rect):
            role = f' class="{s.role}"' if s.role else ""
            parts.append(f'<rect{role} x="{s.x:.1f}" y="{s.y:g}" width="{s.width:.1f}" '
                         f'height="{s.height:g}" fill="{s.fill}"/>')  # fmt: skip
        elif isinstance(s, Line):
            parts.append(f'<line x1="{s.x1:.1f}" x2="{s.x2:.1f}" y1="{s.y1:g}" y2="{s.y2:g}" '
                         f'stroke="{s.stroke}"/>')  # fmt: skip
        elif isinstance(s, Dot):
            parts.append(f'<circle cx="{s.cx:.1f}" cy="{s.cy:g}" r="{s.r:g}" fill="{s.fill}"/>')
        else:
            weight = ' font-weight="bold"' if s.bold else ""
            parts.append(f'<text x="{s.x:.1f}" y="{s.y:g}"{weight}>{html.escape(s.text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
