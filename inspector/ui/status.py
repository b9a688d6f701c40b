"""Session state shown as colour and icon, and the status bar's counters.

The icons are painted dots (no image files needed), so they follow the palette and
ship with the code.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from inspector.ui.bridge import Counters

#: (light, dark) colour of each session state.
_STATE_COLOURS = {
    "connecting": ("#c77c00", "#ffbf4d"),
    "open": ("#2e7d32", "#7fd483"),
    "closing": ("#c77c00", "#ffbf4d"),
    "closed": ("#757575", "#a8a8a8"),
    "failed": ("#c62828", "#ff7b7b"),
}
_ICON_CACHE: dict[tuple[str, bool], QIcon] = {}


def state_colour(state: str, dark: bool = False) -> QColor:
    """The colour that stands for a session state."""
    pair = _STATE_COLOURS.get(state, _STATE_COLOURS["closed"])
    return QColor(pair[1] if dark else pair[0])


def state_icon(state: str, dark: bool = False) -> QIcon:
    """A dot in the state's colour: hollow while connecting/closing, a cross if failed."""
    key = (state, dark)
    if key in _ICON_CACHE:
        return _ICON_CACHE[key]
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = state_colour(state, dark)
    rect = QRectF(5, 5, 22, 22)
    pen = painter.pen()
    pen.setColor(colour)
    pen.setWidthF(4)
    painter.setPen(pen)
    if state in ("connecting", "closing"):
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(rect)
    else:
        painter.setBrush(colour)
        painter.drawEllipse(rect)
    if state == "failed":
        pen.setColor(QColor("white"))
        pen.setWidthF(3.5)
        painter.setPen(pen)
        painter.drawLine(11, 11, 21, 21)
        painter.drawLine(21, 11, 11, 21)
    painter.end()
    icon = QIcon(pixmap)
    _ICON_CACHE[key] = icon
    return icon


def human_bytes(count: float) -> str:
    """1536 -> "1.5 KiB"."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


class StatusPanel(QWidget):
    """State, records in/out, bytes in/out and the current rate of the current session."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPanel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        self.state = self._label("statusState", "Session state")
        self.records = self._label("statusRecords", "Records in and out")
        self.bytes = self._label("statusBytes", "Bytes in and out")
        self.rate = self._label("statusRate", "Current rate")
        for label in (self.state, self.records, self.bytes, self.rate):
            layout.addWidget(label)
        self.show_session(None, None)

    def _label(self, name: str, accessible: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        return label

    def show_session(self, state: str | None, counters: Counters | None) -> None:
        """Show one session's figures, or dashes when no session is selected."""
        if state is None:
            self.state.setText("no session")
            style = ""
        else:
            self.state.setText(f"● {state}")
            colour = state_colour(state, self.palette().window().color().lightness() < 128)
            style = f"color: {colour.name()}"
        if self.state.styleSheet() != style:  # a new style sheet re-polishes the label
            self.state.setStyleSheet(style)
        if counters is None:
            self.records.setText("records ↓ - ↑ -")
            self.bytes.setText("bytes ↓ - ↑ -")
            self.rate.setText("- /s")
            return
        self.records.setText(f"records ↓ {counters.records_in} ↑ {counters.records_out}")
        self.bytes.setText(
            f"bytes ↓ {human_bytes(counters.bytes_in)} ↑ {human_bytes(counters.bytes_out)}"
        )
        self.rate.setText(f"{human_bytes(counters.rate)}/s")
