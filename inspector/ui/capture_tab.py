"""A saved session opened read-only: the live session's tab, fed from a file.

The tab reuses every pane of :class:`SessionTab` (records table paged from the store,
filter, decoded panes, handshake and timing); the composer and the connection
buttons are disabled, and a banner says what was captured and when.
"""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QStyle, QWidget

from inspector.capture.formats.common import session_endpoint, session_scheme, started_ns
from inspector.capture.store import CaptureStore
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import CaptureError
from inspector.core.options import SessionOptions
from inspector.net.replay import options_from_mapping
from inspector.ui.models.records import RecordTableModel
from inspector.ui.models.source import MemoryRecords
from inspector.ui.session_tab import SessionTab
from inspector.ui.settings import Settings

#: Records read from the start for the handshake and timing panes.
_HEAD = 256
#: Records from the end fed to the traffic plot.
_TAIL = 4096


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


class CaptureTab(SessionTab):
    """One session of a capture file, HAR or JSON Lines, shown read-only."""

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
        super().__init__(_endpoint_of(session), options, settings, None, parent)
        self.setObjectName("captureTab")
        self.has_endpoint = session_endpoint(session) is not None
        self.store = source
        if isinstance(source, CaptureStore):
            self.capture_path = self.source_path
        self.disconnect_button.hide()
        self.reconnect_button.hide()
        self.composer.setEnabled(False)
        self.composer.setToolTip("A capture is read-only: use Replay to… to send it again")

    @property
    def state(self) -> str:
        return "closed"

    @property
    def title(self) -> str:
        return f"{self.endpoint.scheme.upper()} {self.endpoint.netloc} (capture)"

    @property
    def icon(self) -> Any:
        return self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)

    def banner_text(self) -> str:
        where = self.endpoint.url if self.has_endpoint else "an unnamed endpoint"
        return (
            f"Capture of {where} recorded {recorded_text(self.started_wall_ns)} — read-only"
            f"  ·  {self.source_path.name}"
        )

    def _show_state(self) -> None:
        self.banner.setText(self.banner_text())
        self.banner.setToolTip(str(self.source_path))
        self.composer.set_sendable(False)

    def start(self) -> None:
        """Show the file's records (paged from the store) and the session-wide panes."""
        store = self.store
        assert store is not None
        model = RecordTableModel(store, self.started_wall_ns, self)
        model.set_time_format(self.settings.time_format())
        self.model = model
        self.table.setModel(model)
        self._set_column_widths()
        model.modelReset.connect(self._update_counts)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        total = store.count()
        model.extend_to(total)
        head = store.records(0, min(_HEAD, total))
        self._take_phases(head)
        self.details.show_context(self.context)
        tail_start = max(0, total - _TAIL)
        self.details.add_traffic(store.records(tail_start, total - tail_start) if total else [])
        self._update_counts()
        self._show_state()

    def disconnect(self) -> None:
        """A capture has no connection."""

    def reconnect(self) -> None:
        """A capture has no connection."""

    async def shutdown(self, timeout: float = 0.0) -> None:
        """Close the file."""
        if isinstance(self.store, CaptureStore):
            with contextlib.suppress(CaptureError):
                self.store.close()
