"""What every tab of the window has: a banner, a fault panel and one records view.

:class:`RecordsTab` holds no connection. A live session tab adds the engine and the
composer; a capture tab points its view at a file. The window talks to every tab
through this class (title, state, counters, shutdown) and its three signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inspector.capture.store import CaptureStore
from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.ui.bridge import Counters
from inspector.ui.details import DetailPanes
from inspector.ui.faults import FaultPanel, FaultState, is_unverified
from inspector.ui.filter_bar import FilterBar
from inspector.ui.models.records import RecordTableModel
from inspector.ui.models.source import MemoryRecords
from inspector.ui.settings import Settings
from inspector.ui.tabs.records_view import RecordsView
from inspector.ui.widgets.context import RecordContext

#: Characters of a WebSocket path (and query) shown in a tab's title before it is cut.
_TARGET_CHARS = 32


def endpoint_title(endpoint: Endpoint) -> str:
    """``WS 127.0.0.1:8765/chat``: scheme, host, port and any path, so that two tabs to
    one server with different paths can be told apart."""
    target = endpoint.target if endpoint.is_websocket and endpoint.target != "/" else ""
    if len(target) > _TARGET_CHARS:
        target = target[: _TARGET_CHARS - 1] + "…"
    return f"{endpoint.scheme.upper()} {endpoint.netloc}{target}"


class RecordsTab(QWidget):
    """A banner row, a fault panel and a records view, stacked."""

    stateChanged = Signal(str)
    countersChanged = Signal(object)  # Counters
    notice = Signal(str)  # one line for the status bar

    def __init__(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        settings: Settings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.endpoint = endpoint
        self.options = options
        self.settings = settings
        self.store: CaptureStore | MemoryRecords | None = None
        self.capture_path: Path | None = None
        self.capture_problem: str | None = None

        self.banner = QLabel()
        self.banner.setObjectName("sessionBanner")
        self.banner.setAccessibleName("Session state")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setWordWrap(True)
        self.top_row = QHBoxLayout()
        self.top_row.setContentsMargins(4, 4, 4, 0)
        self.top_row.addWidget(self.banner, 1)

        self.faults = FaultPanel(self)
        # One records view per attempt (a live tab keeps earlier ones when it reconnects);
        # ``view`` is the current one.
        self.views = QStackedWidget()
        self.views.setObjectName("recordsViews")
        self.view = self.install_view(RecordsView(settings))

        self.main_layout = QVBoxLayout(self)
        self.main_layout.setContentsMargins(0, 0, 0, 0)
        self.main_layout.setSpacing(2)
        self.main_layout.addLayout(self.top_row)
        self.main_layout.addWidget(self.faults)
        self.main_layout.addWidget(self.views, 1)

    def install_view(self, view: RecordsView) -> RecordsView:
        """Make ``view`` the tab's current records view (shown, wired)."""
        view.notice.connect(self.notice)
        previous = self.__dict__.get("view")
        if isinstance(previous, RecordsView):  # a reconnect keeps the tab's Decode as choice
            view.set_decoder(previous.decoding.choice)
        view.set_endpoint(self.endpoint.url)
        view.decoding.set_framing(str(self.options.framing))
        view.decoding.set_speak(str(self.options.speak or ""))
        filter_row = view.filter_bar.layout()
        assert filter_row is not None
        # The growing-frame line sits beside the record count, where it moves nothing.
        filter_row.addWidget(self.faults.partial_label)
        self.views.addWidget(view)
        self.views.setCurrentWidget(view)
        self.view = view
        return view

    # -- what the window asks of every tab ---------------------------------------------

    @property
    def title(self) -> str:
        return endpoint_title(self.endpoint)

    @property
    def state(self) -> str:
        """connecting, open, closing, closed or failed."""
        return "closed"

    @property
    def counters(self) -> Counters | None:
        """Totals for the status bar (None while unknown)."""
        return None

    @property
    def icon(self) -> QIcon | None:
        """The tab's own icon, or None for the state dot the window paints."""
        return None

    @property
    def unverified(self) -> bool:
        """True when the session does not check the server's certificate."""
        return is_unverified(self.endpoint, self.options)

    def fault_state(self) -> FaultState:
        """What the fault panel shows for this tab now."""
        return FaultState(
            self.endpoint,
            self.options,
            capture_problem=self.capture_problem,
            capture_name=self.capture_path.name if self.capture_path else None,
        )

    def start(self) -> None:
        """Begin showing records."""

    async def shutdown(self, timeout: float = 0.0) -> None:
        """Release what the tab holds (connections, files)."""

    # -- the records view ---------------------------------------------------------------

    @property
    def model(self) -> RecordTableModel | None:
        return self.view.model

    @property
    def table(self) -> QTableView:
        return self.view.table

    @property
    def details(self) -> DetailPanes:
        return self.view.details

    @property
    def filter_bar(self) -> FilterBar:
        return self.view.filter_bar

    @property
    def context(self) -> RecordContext:
        """The session's handshake and timing phases, for the detail panes."""
        return self.view.context

    def select_row(self, row: int) -> None:
        """Make ``row`` the current record (fills the detail panes)."""
        self.view.select_row(row)

    def focus_filter(self) -> None:
        self.view.focus_filter()

    def set_time_format(self, value: str) -> None:
        """Show times relative, absolute or as deltas (remembered for new tabs)."""
        self.view.set_time_format(value)
