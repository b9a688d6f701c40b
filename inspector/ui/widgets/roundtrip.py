"""The round trips of a session's pings: their spread (min, median, p99) and a chart of
every one over the session, with the median and p99 as lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.core.records import Kind
from inspector.ui import theme
from inspector.ui.widgets.fieldtext import format_duration


@dataclass(frozen=True, slots=True)
class RoundTrips:
    """Ping round trips of a session (ns): how many, and their spread."""

    count: int
    last: int
    minimum: int
    median: int
    p99: int
    maximum: int

    def line(self) -> str:
        """One line for the Timing pane."""
        return (
            f"Ping round trip: last {format_duration(self.last)}, "
            f"min {format_duration(self.minimum)}, "
            f"median {format_duration(self.median)}, "
            f"p99 {format_duration(self.p99)}, "
            f"max {format_duration(self.maximum)} ({self.count} pings)"
        )


def round_trips(values: Sequence[int]) -> RoundTrips | None:
    """The spread of ``values`` (p99 by nearest rank); None without any."""
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    median = ordered[(n - 1) // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) // 2
    p99 = ordered[max(0, -(-99 * n // 100) - 1)]
    return RoundTrips(n, values[-1], ordered[0], median, p99, ordered[-1])


class RoundTripChart(QWidget):
    """Every ping round trip of the session as a dot on session time, with the median
    and p99 as lines: how the latency moved, not only its last 60 s."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("roundTripChart")
        self.setAccessibleName("Ping round trips over the session")
        self.points: list[tuple[int, int]] = []
        self.stats: RoundTrips | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(110)

    def set_points(self, points: Sequence[tuple[int, int]]) -> None:
        """Replace the (t_ns of the pong, round trip ns) points shown."""
        self.points = list(points)
        self.stats = round_trips([rtt for _, rtt in self.points])
        self.setAccessibleDescription(self.stats.line() if self.stats else "")
        self.update()

    def sizeHint(self) -> QSize:
        """Wide enough to read, as tall as fixed."""
        return QSize(320, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Axis, median and p99 lines, one dot per round trip."""
        if not self.points or self.stats is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dark = theme.is_dark(self)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        fm = self.fontMetrics()
        area = QRectF(
            8, fm.height() + 4, max(1, self.width() - 16), self.height() - fm.height() - 12
        )
        peak = max(1, self.stats.maximum)
        first = self.points[0][0]
        span = max(1, self.points[-1][0] - first)
        painter.setPen(QPen(text, 1))
        painter.drawText(8, fm.ascent() + 2, f"round trip (max {format_duration(peak)})")
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        for value, name in ((self.stats.median, "median"), (self.stats.p99, "p99")):
            y = area.bottom() - value / peak * area.height()
            pen = QPen(text, 1, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.drawText(QPointF(area.right() - fm.horizontalAdvance(name) - 2, y - 2), name)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.kind_colour(Kind.TLS, dark))
        for t, rtt in self.points:
            x = area.left() + (t - first) / span * area.width()
            y = area.bottom() - rtt / peak * area.height()
            painter.drawEllipse(QPointF(x, y), 2.5, 2.5)
        painter.end()
