"""The bridge from a session's Recorder to the GUI: one flush per timer tick.

The engine never emits a Qt signal per record (qasync would turn each into an event on
the GUI thread). Instead records queue in the Recorder; every ~40 ms this bridge drains
the queue, appends the batch to the table model with one insert notification, and
emits one ``flushed`` signal carrying the batch (for the timing pane) and the counters
(for the status bar). Draining is also what releases the Recorder's backpressure:
when the GUI stops draining, the transport stops reading.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core.recorder import Recorder
from inspector.ui.guard import guarded
from inspector.ui.models.batch import RecordBatch
from inspector.ui.models.records import RecordTableModel

FLUSH_INTERVAL_MS = 40
_RATE_WINDOW_S = 1.0


@dataclass(frozen=True, slots=True)
class Counters:
    """Running totals of a session, as shown in the status bar."""

    records_in: int = 0
    records_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    rate: float = 0.0  # bytes per second, both directions, over the last second


class SessionBridge(QObject):
    """Drains one Recorder into one RecordTableModel on a timer."""

    #: (batch: RecordBatch, a sequence of records, counters: Counters), once per
    #: non-empty flush.
    flushed = Signal(object, object)
    #: Once per timer tick, after the flush (for displays polled at the flush rate).
    ticked = Signal()

    def __init__(
        self, recorder: Recorder, model: RecordTableModel, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.recorder = recorder
        self.model = model
        self._samples: deque[tuple[float, int]] = deque()
        self._counters = Counters()
        self._discarding = False
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer after a last flush."""
        self.flush()
        self._timer.stop()

    @property
    def counters(self) -> Counters:
        return self._counters

    def discard(self) -> None:
        """Show nothing more: each tick now drops the queued records (the capture has
        them) instead of handing them to the model, so a session closing behind a tab or
        window that is gone keeps reading (its close answer can still arrive) and costs
        the GUI thread nothing per record."""
        self._discarding = True

    @guarded
    def flush(self) -> RecordBatch:
        """Move every pending record into the model; return the batch (its runs kept
        whole: nothing here makes a record per message of a run)."""
        if self._discarding:
            self.recorder.drain_items()
            return RecordBatch([])
        batch = RecordBatch(self.recorder.drain_items())
        now = time.monotonic()
        total = self.recorder.bytes_in + self.recorder.bytes_out
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[1][0] >= _RATE_WINDOW_S:
            self._samples.popleft()
        first_time, first_total = self._samples[0]
        span = now - first_time
        rate = (total - first_total) / span if span > 0 else 0.0
        counters = Counters(
            self.recorder.count_in,
            self.recorder.count_out,
            self.recorder.bytes_in,
            self.recorder.bytes_out,
            rate,
        )
        changed = counters != self._counters
        self._counters = counters
        if batch:
            self.model.append(batch)
        if batch or changed:
            self.flushed.emit(batch, counters)
        self.ticked.emit()
        return batch
