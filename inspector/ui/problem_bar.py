"""A bar under the connect bar that keeps a failure readable until it is dismissed.

The status bar's notices fade after seconds; why a file could not be opened must
stay on screen until the user has read it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from inspector.ui import theme
from inspector.ui.guard import guarded


class ProblemBar(QFrame):
    """One failure line, selectable, with a Dismiss button; hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("problemBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setObjectName("problemText")
        self.label.setAccessibleName("Problem")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setObjectName("problemDismiss")
        self.dismiss_button.setAccessibleName("Dismiss the problem")
        self.dismiss_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 6, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_problem(self, message: str) -> None:
        """Show ``message`` (replacing an older one) until dismissed."""
        colour = theme.error_text(theme.is_dark(self)).name()
        self.label.setStyleSheet(f"QLabel#problemText {{ color: {colour}; }}")
        self.label.setText(f"⚠ {message}")
        self.show()

    @property
    def text(self) -> str:
        """The problem shown, or "" when the bar is hidden."""
        return self.label.text() if not self.isHidden() else ""

    @guarded
    def dismiss(self, *_: object) -> None:
        self.label.clear()
        self.hide()
