"""Replay to…: the small dialog choosing the endpoint and the timing of a replay.

The scheduling itself is :mod:`inspector.net.replay` (Qt-free, shared with the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import EndpointError
from inspector.net.replay import Timing


@dataclass(frozen=True, slots=True)
class ReplayChoice:
    """Where to replay and how fast."""

    endpoint: Endpoint
    timing: Timing


class ReplayDialog(QDialog):
    """Endpoint (editable, the recorded one by default) and timing of a replay."""

    def __init__(self, url: str, messages: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Replay to…")
        self.setObjectName("replayDialog")
        self.endpoint_edit = QLineEdit(url)
        self.endpoint_edit.setObjectName("replayEndpoint")
        self.original = QRadioButton("With the original spacing")
        self.original.setObjectName("replayOriginal")
        self.original.setChecked(True)
        self.fast = QRadioButton("As fast as possible")
        self.fast.setObjectName("replayFast")
        self.error = QLabel()
        self.error.setObjectName("replayError")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Endpoint:", self.endpoint_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Send the {messages} recorded outgoing message(s) again."))
        layout.addLayout(form)
        layout.addWidget(self.original)
        layout.addWidget(self.fast)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def choice(self) -> ReplayChoice | None:
        """The endpoint and timing, or None (with the reason shown) if the URL is wrong."""
        try:
            endpoint = parse_endpoint(self.endpoint_edit.text())
        except EndpointError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return None
        return ReplayChoice(endpoint, Timing.FAST if self.fast.isChecked() else Timing.ORIGINAL)

    def _accept(self) -> None:
        if self.choice() is not None:
            self.accept()
