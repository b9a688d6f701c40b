"""Per-second traffic counters and their plot: messages/s and bytes/s, in and out.

The counter keeps one small row per second of session time and forgets seconds older
than the plotted window, so memory and work stay bounded however long a session runs.
Pings are matched to pongs by payload (RFC 6455 §5.5.3: a pong echoes the ping's
application data) to give round-trip times.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.core.records import Direction, Kind, Record
from inspector.core.runs import MessageRun
from inspector.ui import theme

WINDOW_S = 60  # seconds plotted
_KEEP_S = 2 * WINDOW_S  # seconds kept before pruning
_PENDING_PINGS = 256  # unanswered pings remembered
_TRAFFIC_KINDS = frozenset({Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM})
_MSGS_IN, _MSGS_OUT, _BYTES_IN, _BYTES_OUT = range(4)
_DOTS_UP_TO = 10  # seconds plotted up to which each busy second also gets a dot


class TrafficCounter:
    """Counts of messages and bytes per second of session time, and ping round trips."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget everything."""
        self.buckets: dict[int, list[int]] = {}
        self.latest_s = 0
        self.rtts: deque[tuple[int, int]] = deque(maxlen=10_000)  # (t_ns of pong, rtt_ns)
        self._pings: OrderedDict[bytes, int] = OrderedDict()

    def add(self, records: Sequence[Record]) -> None:
        """Count a batch: O(len(records)); a flush's batch is counted by its ``items``,
        a run of messages (one read, no ping or pong in it) at once."""
        buckets = self.buckets
        inbound_dir, meta, frame, kinds = Direction.IN, Direction.META, Kind.FRAME, _TRAFFIC_KINDS
        second = -1
        row = [0, 0, 0, 0]
        for r in getattr(records, "items", records):
            kind = r.kind
            if kind not in kinds or r.direction is meta:
                continue
            if r.t_ns // 1_000_000_000 != second:  # records of one batch share a second
                second = r.t_ns // 1_000_000_000
                row = buckets.get(second) or buckets.setdefault(second, [0, 0, 0, 0])
                if second > self.latest_s:
                    self.latest_s = second
            wire = r.wire
            count = r.count if type(r) is MessageRun else 1
            inbound = r.direction is inbound_dir
            if inbound:
                row[_MSGS_IN] += count
                row[_BYTES_IN] += len(wire)
            else:
                row[_MSGS_OUT] += count
                row[_BYTES_OUT] += len(wire)
            # Only pings and pongs (opcodes 9 and 10, RFC 6455 §5.5) time round trips.
            if kind is frame and wire and (wire[0] & 0x0F) in (9, 10):
                self._match_ping(r, inbound)
        if len(self.buckets) > _KEEP_S + WINDOW_S:
            floor = self.latest_s - _KEEP_S
            self.buckets = {s: row for s, row in self.buckets.items() if s >= floor}

    def _match_ping(self, r: Record, inbound: bool) -> None:
        opcode = r.fields.get("opcode")
        payload = r.payload or b""
        if opcode == "ping" and not inbound:
            self._pings[payload] = r.t_ns
            self._pings.move_to_end(payload)
            while len(self._pings) > _PENDING_PINGS:
                self._pings.popitem(last=False)
        elif opcode == "pong" and inbound:
            sent = self._pings.pop(payload, None)
            measured = r.fields.get("rtt_ns")  # the engine's, when it sent the ping
            if isinstance(measured, int) and measured >= 0:
                self.rtts.append((r.t_ns, measured))
            elif sent is not None:
                self.rtts.append((r.t_ns, r.t_ns - sent))

    def series(self, column: int) -> list[int]:
        """One value per second from :meth:`window_start` to the latest second seen."""
        first = self.window_start()
        return [self.buckets.get(s, (0, 0, 0, 0))[column] for s in range(first, self.latest_s + 1)]

    def window_start(self) -> int:
        """The first second plotted: the session's start until a minute has passed."""
        return max(0, self.latest_s - WINDOW_S + 1)

    def totals(self) -> tuple[int, int, int, int]:
        """Messages in/out and bytes in/out over the kept seconds."""
        sums = [0, 0, 0, 0]
        for row in self.buckets.values():
            for i in range(4):
                sums[i] += row[i]
        return sums[0], sums[1], sums[2], sums[3]


def _rate(value: float, unit: str) -> str:
    """An axis label: ``12/s``, ``3.4 KiB/s``."""
    if unit == "B":
        for suffix, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
            if value >= scale:
                return f"{value / scale:.1f} {suffix}/s"
        return f"{value:.0f} B/s"
    return f"{value:.0f}/s"


class TrafficPlot(QWidget):
    """Two panels (messages/s, bytes/s) with in and out lines, a legend and ping dots."""

    def __init__(self, counter: TrafficCounter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trafficPlot")
        self.setAccessibleName("Traffic per second")
        self.counter = counter
        self.setMinimumHeight(240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint both panels from the counter's last 60 seconds."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        dark = theme.is_dark(self)
        pal = self.palette()
        fm = self.fontMetrics()
        painter.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        legend_h = fm.height() + 6
        self._legend(painter, dark, legend_h)
        has_rtt = bool(self.counter.rtts)
        panels = [
            ("messages/s", _MSGS_IN, _MSGS_OUT, ""),
            ("bytes/s", _BYTES_IN, _BYTES_OUT, "B"),
        ]
        n = len(panels) + (1 if has_rtt else 0)
        top = legend_h
        axis_h = fm.height() + 2
        height = (self.height() - top - axis_h - 4) / n
        self._time_axis(painter, self.height() - axis_h)
        for i, (title, col_in, col_out, unit) in enumerate(panels):
            rect = QRectF(4, top + i * height, self.width() - 8, height - 4)
            self._panel(
                painter,
                rect,
                title,
                unit,
                dark,
                [
                    (self.counter.series(col_in), theme.direction_colour(Direction.IN, dark)),
                    (self.counter.series(col_out), theme.direction_colour(Direction.OUT, dark)),
                ],
            )
        if has_rtt:
            rect = QRectF(4, top + len(panels) * height, self.width() - 8, height - 4)
            self._rtt_panel(painter, rect, dark)
        painter.end()

    def _legend(self, painter: QPainter, dark: bool, legend_h: int) -> None:
        fm = self.fontMetrics()
        x = self.width() - 8
        text = self.palette().color(QPalette.ColorRole.Text)
        for label, direction in (("out", Direction.OUT), ("in", Direction.IN)):
            w = fm.horizontalAdvance(label)
            x -= w
            painter.setPen(text)
            painter.drawText(int(x), fm.ascent() + 3, label)
            x -= 16
            painter.fillRect(
                QRectF(x, 3 + fm.ascent() / 2 - 4, 12, 8), theme.direction_colour(direction, dark)
            )
            x -= 12
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(8, fm.ascent() + 3, "per second of session time")

    def _time_axis(self, painter: QPainter, y: float) -> None:
        """Session-time labels under the panels: oldest, middle and latest second."""
        fm = self.fontMetrics()
        first = self.counter.window_start()
        left, right = 8.0, self.width() - 8.0
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        for frac, second in ((0.0, first), (0.5, first + WINDOW_S // 2), (1.0, first + WINDOW_S)):
            label = f"{second} s"
            w = fm.horizontalAdvance(label)
            x = left + (right - left) * frac - w * frac
            painter.drawText(QPointF(x, y + fm.ascent() + 1), label)

    def _frame(self, painter: QPainter, rect: QRectF, title: str, peak: str, dark: bool) -> QRectF:
        """Draw a panel's box, title and peak label; return the plotting area."""
        fm = self.fontMetrics()
        painter.setPen(QPen(theme.grid(dark), 1))
        painter.drawRect(rect)
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            QRectF(rect.left() + 4, rect.top() + 2, rect.width() - 8, fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            title,
        )
        painter.drawText(
            QRectF(rect.left() + 4, rect.top() + 2, rect.width() - 8, fm.height()),
            Qt.AlignmentFlag.AlignRight,
            f"peak {peak}",
        )
        return rect.adjusted(4, fm.height() + 4, -4, -4)

    def _panel(
        self,
        painter: QPainter,
        rect: QRectF,
        title: str,
        unit: str,
        dark: bool,
        lines: list[tuple[list[int], object]],
    ) -> None:
        peak = max((max(s) for s, _ in lines), default=0)
        area = self._frame(painter, rect, title, _rate(peak, unit), dark)
        if area.height() <= 2 or peak <= 0:
            return
        step = area.width() / max(1, WINDOW_S - 1)
        for series, colour in lines:
            points = [
                QPointF(area.left() + i * step, area.bottom() - value / peak * area.height())
                for i, value in enumerate(series)
            ]
            path = QPainterPath()
            for i, point in enumerate(points):
                if i == 0:
                    path.moveTo(point)
                else:
                    path.lineTo(point)
            painter.setPen(QPen(colour, 1.6))
            painter.drawPath(path)
            # A line needs two seconds: mark each busy second of a short session, so
            # that a capture of a second or two does not show an empty plot.
            if len(points) <= _DOTS_UP_TO:
                painter.save()
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colour)
                for point, value in zip(points, series, strict=True):
                    if value > 0:
                        painter.drawEllipse(point, 3.0, 3.0)
                painter.restore()

    def _rtt_panel(self, painter: QPainter, rect: QRectF, dark: bool) -> None:
        first_ns = self.counter.window_start() * 1_000_000_000
        points = [(t, rtt) for t, rtt in self.counter.rtts if t >= first_ns]
        peak = max((rtt for _, rtt in points), default=0)
        area = self._frame(painter, rect, "ping round trip", f"{peak / 1e6:.3g} ms", dark)
        if not points or peak <= 0 or area.height() <= 2:
            return
        span = WINDOW_S * 1_000_000_000
        colour = theme.kind_colour(Kind.TLS, dark)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        for t, rtt in points:
            x = area.left() + (t - first_ns) / span * area.width()
            y = area.bottom() - rtt / peak * area.height()
            painter.drawEllipse(QPointF(x, y), 2.5, 2.5)
