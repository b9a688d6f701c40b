"""A saved session opened read-only: a records view fed from a file.

The tab shows every pane a live session shows (records table paged from the store,
filter, decoded panes, handshake and timing) and a banner that says what was captured
and when; it has no connection, and its composer is greyed out.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QStyle, QWidget

from inspector.capture.formats.common import session_endpoint, session_scheme, started_ns
from inspector.capture.store import CaptureStore
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import CaptureError
from inspector.core.options import SessionOptions
from inspector.core.records import Direction
from inspector.net.replay import options_from_mapping
from inspector.ui.bridge import Counters
from inspector.ui.composer import Composer
from inspector.ui.models.source import MemoryRecords, RecordSource
from inspector.ui.settings import Settings
from inspector.ui.tabs.base import RecordsTab

#: Records read from the start for the handshake and timing panes.
_HEAD = 256
#: Records from the end fed to the traffic plot.
_TAIL = 4096
#: Records read to count a file's traffic when it does not say (HAR, JSON Lines, a
#: capture whose session never finished). A larger capture is summed by SQLite on a
#: worker thread (the status bar shows dashes until then); a larger HAR or JSON Lines
#: file, held in memory, is not counted.
COUNT_LIMIT = 200_000
_PAGE = 4096


def stored_counters(summary: Any) -> Counters | None:
    """The totals a finished session wrote into its capture, if it did."""
    counts = summary.get("counts") if isinstance(summary, Mapping) else None
    if not isinstance(counts, Mapping):
        return None
    values = [counts.get(k) for k in ("records_in", "records_out", "bytes_in", "bytes_out")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        return None
    return Counters(*values)


def counted(source: RecordSource, total: int) -> Counters:
    """Records and wire bytes in each direction, read from ``source`` a page at a time."""
    records_in = records_out = bytes_in = bytes_out = 0
    for start in range(0, total, _PAGE):
        for record in source.records(start, _PAGE):
            if record.direction is Direction.IN:
                records_in += 1
                bytes_in += len(record.wire)
            elif record.direction is Direction.OUT:
                records_out += 1
                bytes_out += len(record.wire)
    return Counters(records_in, records_out, bytes_in, bytes_out)


def _endpoint_of(session: Any) -> Endpoint:
    """The captured endpoint, or a stand-in when the file does not name one (JSON Lines)."""
    endpoint = session_endpoint(session)
    if endpoint is not None:
        return endpoint
    scheme = session_scheme(session) or "tcp"
    if scheme not in ("ws", "wss", "tcp", "tls", "udp"):
        scheme = "tcp"
    return parse_endpoint(
        f"{scheme}://unknown:1/" if scheme.startswith("ws") else f"{scheme}://unknown:1"
    )


def recorded_text(started_wall_ns: int) -> str:
    """``2026-11-22 14:03`` (local time), or "at an unknown time"."""
    if started_wall_ns <= 0:
        return "at an unknown time"
    moment = datetime.datetime.fromtimestamp(started_wall_ns / 1e9)
    return moment.strftime("%Y-%m-%d %H:%M")


class CaptureTab(RecordsTab):
    """One session of a capture file, HAR or JSON Lines, shown read-only."""

    #: A worker thread's totals (capture.totals.Totals) or its one-line CaptureError.
    _totalsRead = Signal(object)

    def __init__(
        self,
        path: Path,
        source: CaptureStore | MemoryRecords,
        session: Any,
        settings: Settings,
        parent: QWidget | None = None,
    ) -> None:
        self.source_path = Path(path)
        self.captured = session
        self.started_wall_ns = started_ns(session)
        stored = getattr(session, "options", None)
        options: SessionOptions = options_from_mapping(stored)
        super().__init__(_endpoint_of(session), options, settings, parent)
        self.setObjectName("captureTab")
        self.has_endpoint = session_endpoint(session) is not None
        self.store = source
        self._counters: Counters | None = None
        if isinstance(source, CaptureStore):
            self.capture_path = self.source_path
        self.faults.reset(self.fault_state())
        # Shown greyed, as a pointer to Replay: the tab looks like the session it was.
        self.composer = Composer(self.endpoint, settings)
        self.composer.set_sendable(False)
        self.composer.setEnabled(False)
        self.composer.setToolTip("A capture is read-only: use Replay to… to send it again")
        self.main_layout.addWidget(self.composer)
        self._totalsRead.connect(self._totals_read)

    @property
    def title(self) -> str:
        return f"{super().title} (capture)"

    @property
    def icon(self) -> QIcon:
        return self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)

    @property
    def counters(self) -> Counters | None:
        """The file's totals (None while unknown: the status bar shows dashes)."""
        return self._counters

    def banner_text(self) -> str:
        where = self.endpoint.url if self.has_endpoint else "an unnamed endpoint"
        return (
            f"Capture of {where} recorded {recorded_text(self.started_wall_ns)} — read-only"
            f"  ·  {self.source_path.name}"
        )

    def start(self) -> None:
        """Show the file's records (paged from the store) and the session-wide panes."""
        store = self.store
        assert store is not None
        self.view.show_source(store, self.started_wall_ns, str(self.endpoint.scheme), follow=False)
        self.view.load(store, _HEAD, _TAIL)
        total = store.count()
        self._counters = stored_counters(getattr(self.captured, "summary", None))
        if self._counters is None and total <= COUNT_LIMIT:
            try:
                self._counters = counted(store, total)
            except CaptureError as exc:
                self.notice.emit(f"{self.title}: {exc}")
        elif self._counters is None and isinstance(store, CaptureStore):
            self._sum_on_a_thread(store)
        self.countersChanged.emit(self._counters)
        self.banner.setText(self.banner_text())
        self.banner.setToolTip(str(self.source_path))

    def _sum_on_a_thread(self, store: CaptureStore) -> None:
        """Sum a large capture's totals by SQLite on a worker thread (its own connection)."""
        job = store.totals_job()

        def work() -> None:
            try:
                result: object = job()
            except CaptureError as exc:
                result = exc
            with contextlib.suppress(RuntimeError):  # the tab was closed meanwhile
                self._totalsRead.emit(result)

        threading.Thread(target=work, name="capture-totals", daemon=True).start()

    def _totals_read(self, result: object) -> None:
        if isinstance(result, CaptureError):
            self.notice.emit(f"{self.title}: {result}")
            return
        self._counters = Counters(*result)  # type: ignore[misc]
        self.countersChanged.emit(self._counters)

    async def shutdown(self, timeout: float = 0.0) -> None:
        """Close the file."""
        if isinstance(self.store, CaptureStore):
            with contextlib.suppress(CaptureError):
                self.store.close()
