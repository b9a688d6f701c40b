"""The line a replay tab shows while it resends a recorded session: progress and Stop."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from inspector.ui.guard import guarded


class ReplayBar(QFrame):
    """ "Replay of <source>: 3 of 10 sent" with a Stop button; hidden until a replay."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayBar")
        self.source = ""
        self.total = 0
        self.sent = 0
        self.task: asyncio.Task[None] | None = None
        self.label = QLabel()
        self.label.setObjectName("replayText")
        self.label.setAccessibleName("Replay progress")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("replayStopButton")
        self.stop_button.setAccessibleName("Stop the replay")
        self.stop_button.setToolTip("Send no more of the recorded messages")
        self.stop_button.clicked.connect(self.stop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.stop_button)
        self.hide()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def begin(self, source: str, total: int) -> None:
        """A replay of ``source`` (``total`` messages) is about to start."""
        self.source, self.total, self.sent = source, total, 0
        self._say(f"waiting for the session to open to send {total} message(s)")
        self.stop_button.setEnabled(True)
        self.show()

    def progress(self, sent: int) -> None:
        """Called by the replay after each message."""
        self.sent = sent
        self._say(f"{sent} of {self.total} sent")

    def finish(self, outcome: str) -> None:
        """The replay ended: say how (the line stays, the button goes)."""
        self._say(outcome)
        self.stop_button.setEnabled(False)
        self.stop_button.hide()

    @guarded
    def stop(self, *_: object) -> None:
        """Stop sending (the session stays open)."""
        if self.running and self.task is not None:
            self.task.cancel()

    def _say(self, text: str) -> None:
        self.label.setText(f"Replay of {self.source}: {text}")
