"""FitScrollArea: a scroll area as tall as its content when there is room, and
scrolling (never clipping) when the window is short.

A plain layout squeezes word-wrapped labels below their height in a small window and
cuts their text off at the bottom; inside this area the content keeps its height and
a vertical scroll bar appears instead. It never scrolls sideways: the content wraps.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget


class FitScrollArea(QScrollArea):
    """Holds ``content``; prefers its full height, shrinks to ``min_lines`` text lines."""

    def __init__(self, content: QWidget, min_lines: int = 3, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fitScroll")
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._min_lines = min_lines

    def _content_height(self) -> int:
        content = self.widget()
        if content is None:
            return 0
        width = max(1, self.viewport().width())
        if content.hasHeightForWidth():
            return content.heightForWidth(width)
        return content.sizeHint().height()

    def sizeHint(self) -> QSize:
        """The content's full height at the current width (no scroll bar needed)."""
        hint = super().sizeHint()
        return QSize(hint.width(), self._content_height() + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:
        """A few lines: below that the area scrolls rather than vanishing."""
        lines = self.fontMetrics().lineSpacing() * self._min_lines + 8
        return QSize(super().minimumSizeHint().width(), min(lines, self.sizeHint().height()))

    def resizeEvent(self, event: object) -> None:
        """A new width changes how the content wraps, so its height hint changes too."""
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.updateGeometry()
