"""The tab's automatic reconnect: after a session ends abnormally, wait (exponential
back-off, ``net.reconnect``) while the banner counts down "reconnecting in 4 s
(attempt 3)", then ask the tab to reconnect. Disconnect stops it."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core.options import SessionOptions
from inspector.net.reconnect import backoff_delay, reconnect_line, should_reconnect
from inspector.ui.guard import guarded


class AutoReconnect(QObject):
    """Counts the attempts of one tab and the seconds to the next one."""

    #: The wait is over: reconnect now.
    due = Signal()
    #: The line to show changed (a new wait, a second less, or none).
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.attempts = 0
        self._deadline: float | None = None
        self._held = False
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._tick)

    @property
    def waiting(self) -> bool:
        """True while a reconnect is pending."""
        return self._deadline is not None

    def note(self) -> str:
        """ "reconnecting in 4 s (attempt 3)" while waiting, else ""."""
        if self._deadline is None:
            return ""
        left = max(0.0, self._deadline - time.monotonic())
        shown = math.ceil(left) if left >= 1 else round(left, 1)
        return reconnect_line(self.attempts, shown)

    def opened(self) -> None:
        """A session reached OPEN: the next outage starts counting from 1 again."""
        self.attempts = 0

    def ended(self, options: SessionOptions, ok: bool) -> None:
        """A session ended: start waiting when its options ask for a reconnect."""
        if self._held or self.waiting or not should_reconnect(options, ok, self.attempts):
            return
        self.attempts += 1
        delay = backoff_delay(self.attempts, options.reconnect_delay)
        self._deadline = time.monotonic() + delay
        self._timer.start()
        self.changed.emit()

    def hold(self) -> None:
        """The person disconnected: stop waiting and do not start again on this end."""
        self._held = True
        self.cancel()

    def release(self) -> None:
        """A session the person started: automatic reconnects may follow its end."""
        self._held = False

    def cancel(self) -> None:
        """Stop waiting."""
        self._timer.stop()
        if self._deadline is not None:
            self._deadline = None
            self.changed.emit()

    @guarded
    def _tick(self) -> None:
        if self._deadline is None:
            self._timer.stop()
            return
        if time.monotonic() >= self._deadline:
            self._deadline = None
            self._timer.stop()
            self.changed.emit()
            self.due.emit()
            return
        self.changed.emit()
