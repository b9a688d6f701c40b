"""Palette-aware colours shared by the whole UI, in a light and a dark variant.

Every function takes ``dark`` (from :func:`is_dark`) so a pane can follow the system
colour scheme at paint time. The colours are chosen to stay distinct from each other
and legible on the window background of both schemes: "in" is blue, "out" is orange
(the two never confused by the common red-green colour blindness), errors red.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget

from inspector.core.records import Direction, Kind

# (light, dark) pairs as hex strings; QColor objects are made per call (they are mutable).
_DIRECTION = {
    Direction.IN: ("#1f5fbf", "#6aa8ff"),
    Direction.OUT: ("#b35900", "#ffa552"),
    Direction.META: ("#6b6b6b", "#a8a8a8"),
}
_KIND = {
    Kind.RESOLVE: ("#6a4c9c", "#b69cf0"),
    Kind.CONNECT: ("#2e7d32", "#7fd483"),
    Kind.TLS: ("#00796b", "#5fd6c6"),
    Kind.HANDSHAKE: ("#8e24aa", "#e08af0"),
    Kind.FRAME: ("#37474f", "#cfd8dc"),
    Kind.DATA: ("#37474f", "#cfd8dc"),
    Kind.MESSAGE: ("#37474f", "#cfd8dc"),
    Kind.DATAGRAM: ("#37474f", "#cfd8dc"),
    Kind.ERROR: ("#c62828", "#ff7b7b"),
    Kind.CLOSED: ("#5d4037", "#d7b19d"),
    Kind.INFO: ("#546e7a", "#9fb8c4"),
    Kind.LISTENING: ("#2e7d32", "#7fd483"),
    Kind.ACCEPTED: ("#2e7d32", "#7fd483"),
    Kind.REFUSED: ("#c62828", "#ff7b7b"),
}
_PHASE = {
    "resolve": ("#8e6fc4", "#9d7fe0"),
    "connect": ("#43a047", "#4caf50"),
    "tls": ("#00897b", "#26a69a"),
    "upgrade": ("#ab47bc", "#ba68c8"),
    "first byte": ("#1e88e5", "#42a5f5"),
}
_ROLE = {
    "header_bytes": ("#cfe0fa", "#243a5c"),
    "payload_bytes": ("#f3f3f3", "#262626"),
    "highlight": ("#ffd54f", "#d9a520"),
    "highlight_text": ("#000000", "#000000"),
    "hover": ("#c8e6c9", "#2f5234"),
    "error_text": ("#c62828", "#ff7b7b"),
    "error_background": ("#fde7e7", "#4a1f1f"),
    "success_text": ("#2e7d32", "#7fd483"),
    "automatic_text": ("#7a7a7a", "#9a9a9a"),
    "grid": ("#d0d0d0", "#444444"),
    "offset_text": ("#8a8a8a", "#8f8f8f"),
}


def _pick(pair: tuple[str, str], dark: bool) -> QColor:
    """The dark or light member of a colour pair."""
    return QColor(pair[1] if dark else pair[0])


def is_dark(widget: QWidget | None = None) -> bool:
    """True when the widget (or the application) paints on a dark background."""
    if widget is not None:
        return widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        scheme = app.styleHints().colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return True
        if scheme == Qt.ColorScheme.Light:
            return False
        return app.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return False


def direction_colour(direction: Direction, dark: bool) -> QColor:
    """Text colour of a record by direction: in blue, out orange, meta grey."""
    return _pick(_DIRECTION[Direction(direction)], dark)


def kind_colour(kind: Kind, dark: bool) -> QColor:
    """Text colour of a record by kind (errors red, TLS teal, handshake purple...)."""
    return _pick(_KIND[Kind(kind)], dark)


def phase_colour(phase: str, dark: bool) -> QColor:
    """Bar colour of a timing phase (resolve, connect, tls, upgrade, first byte)."""
    base = phase.split(" (", 1)[0]  # "connect (server)": a relay leg's connect
    return _pick(_PHASE.get(base, ("#757575", "#9e9e9e")), dark)


def header_bytes(dark: bool) -> QColor:
    """Background of protocol header bytes in the hex view."""
    return _pick(_ROLE["header_bytes"], dark)


def payload_bytes(dark: bool) -> QColor:
    """Background of payload bytes in the hex view."""
    return _pick(_ROLE["payload_bytes"], dark)


def highlight(dark: bool) -> QColor:
    """Strong background of the bytes of the selected field."""
    return _pick(_ROLE["highlight"], dark)


def highlight_text(dark: bool) -> QColor:
    """Text drawn over :func:`highlight`."""
    return _pick(_ROLE["highlight_text"], dark)


def hover(dark: bool) -> QColor:
    """Soft background of the field under the mouse."""
    return _pick(_ROLE["hover"], dark)


def error_text(dark: bool) -> QColor:
    """Text of errors and failures."""
    return _pick(_ROLE["error_text"], dark)


def error_background(dark: bool) -> QColor:
    """Background that marks a failure (a refused upgrade)."""
    return _pick(_ROLE["error_background"], dark)


def success_text(dark: bool) -> QColor:
    """Text of a good outcome (101 Switching Protocols, certificate verified)."""
    return _pick(_ROLE["success_text"], dark)


def automatic_text(dark: bool) -> QColor:
    """Text of records the engine sent on its own (automatic pong, close echo)."""
    return _pick(_ROLE["automatic_text"], dark)


def grid(dark: bool) -> QColor:
    """Axis and grid lines of the plots."""
    return _pick(_ROLE["grid"], dark)


def offset_text(dark: bool) -> QColor:
    """Offsets column of the hex view."""
    return _pick(_ROLE["offset_text"], dark)
