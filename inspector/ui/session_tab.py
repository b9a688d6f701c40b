"""One session in one tab: its records, detail panes, filter and composer.

The tab owns the session's engine objects (Recorder, capture store, net Session) and
their GUI counterparts (table model, bridge). Network work runs as asyncio tasks on
the qasync loop; every failure ends up in the tab's banner and the status bar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.net.session import Session, SessionState, create_session, send_message
from inspector.ui import theme
from inspector.ui.bridge import Counters, SessionBridge
from inspector.ui.capture_files import create_capture
from inspector.ui.composer import Composer, SendAction
from inspector.ui.details import DetailPanes
from inspector.ui.faults import UNVERIFIED_TEXT, FaultPanel, is_unverified
from inspector.ui.filter_bar import FilterBar
from inspector.ui.guard import guarded, report_failure, spawn
from inspector.ui.models.filter import RecordFilter
from inspector.ui.models.records import (
    COL_DIR,
    COL_KIND,
    COL_LENGTH,
    COL_PREVIEW,
    COL_SEQ,
    COL_TIME,
    TIME_FORMATS,
    RecordTableModel,
)
from inspector.ui.models.source import MemoryRecords
from inspector.ui.preferences import capture_limit
from inspector.ui.rawframe_dialog import RAW_ACTION, send_raw_frame
from inspector.ui.settings import Settings
from inspector.ui.status import state_colour
from inspector.ui.widgets.context import RecordContext

log = logging.getLogger(__name__)

#: Seconds a graceful close may take before the connection is dropped.
CLOSE_WAIT = 3.0
_PHASE_KINDS = frozenset({Kind.RESOLVE, Kind.CONNECT, Kind.TLS, Kind.HANDSHAKE})
_SENT_KINDS = frozenset({Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM})
TIME_LABELS = {
    "relative": "Relative to session start",
    "absolute": "Time of day",
    "delta": "Since previous record",
}


class SessionTab(QWidget):
    """A live session and everything shown about it."""

    stateChanged = Signal(str)
    countersChanged = Signal(object)  # Counters
    notice = Signal(str)  # one line for the status bar

    def __init__(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        settings: Settings,
        capture_dir: Path | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sessionTab")
        self.endpoint = endpoint
        self.options = options
        self.settings = settings
        self.capture_dir = capture_dir
        self.session: Session | None = None
        self.recorder: Recorder | None = None
        self.store: CaptureStore | MemoryRecords | None = None
        self.capture_path: Path | None = None
        self.capture_problem: str | None = None
        self.model: RecordTableModel | None = None
        self.bridge: SessionBridge | None = None
        self._open_task: asyncio.Task[bool] | None = None
        self.internal_error: str | None = None
        self._finished = False
        self._at_bottom = True
        self._request: Record | None = None
        self._response: Record | None = None
        self._phases: list[Record] = []
        self._first_in_seen = False
        self._first_out_seen = False
        self._send_failed = False  # the last send from the composer failed
        self._build()

    # -- layout ---------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = QLabel()
        self.banner.setObjectName("sessionBanner")
        self.banner.setAccessibleName("Session state")
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setWordWrap(True)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnectButton")
        self.disconnect_button.setAccessibleName("Disconnect")
        self.disconnect_button.clicked.connect(self.disconnect)
        self.reconnect_button = QPushButton("Reconnect")
        self.reconnect_button.setObjectName("reconnectButton")
        self.reconnect_button.setAccessibleName("Reconnect")
        self.reconnect_button.clicked.connect(self.reconnect)
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.addWidget(self.banner, 1)
        top.addWidget(self.disconnect_button)
        top.addWidget(self.reconnect_button)

        self.filter_bar = FilterBar()
        self.filter_bar.filterChanged.connect(self._apply_filter)

        self.table = QTableView()
        self.table.setObjectName("recordTable")
        self.table.setAccessibleName("Records")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        vertical = self.table.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)

        # Records beside the session-wide panes (headers, timing) on top; the selected
        # record's decoded tree beside its bytes below (Wireshark's list/details/bytes).
        self.details = DetailPanes()
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.setObjectName("topSplitter")
        self.top_splitter.setChildrenCollapsible(False)
        self.top_splitter.addWidget(self.table)
        self.top_splitter.addWidget(self.details.tabs)
        self.top_splitter.setStretchFactor(0, 3)
        self.top_splitter.setStretchFactor(1, 2)
        self.top_splitter.setSizes([800, 480])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("recordsSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.top_splitter)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([320, 290])
        splitters = (
            ("records", self.splitter),
            ("top", self.top_splitter),
            ("details", self.details),
        )
        self._sized = False
        for name, splitter in splitters:
            state = self.settings.splitter_state(name)
            if state is not None:
                splitter.restoreState(state)
                self._sized = True
            splitter.splitterMoved.connect(
                lambda *_, n=name, s=splitter: self.settings.set_splitter_state(n, s.saveState())
            )

        self.composer = Composer(self.endpoint, self.settings)
        self.composer.sendRequested.connect(self._send)
        self.composer.set_sendable(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        self.faults = FaultPanel(self)
        layout.addWidget(self.faults)
        layout.addWidget(self.filter_bar)
        filter_row = self.filter_bar.layout()
        assert filter_row is not None
        filter_row.addWidget(self.faults.partial_label)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.composer)

    def showEvent(self, event: QShowEvent) -> None:
        """Split the space evenly the first time the tab has a real size."""
        super().showEvent(event)
        if not self._sized and self.splitter.height() > 0:
            self._sized = True
            height = self.splitter.height()
            self.splitter.setSizes([height * 11 // 20, height * 9 // 20])
            width = self.top_splitter.width()
            self.top_splitter.setSizes([width * 5 // 8, width * 3 // 8])
            self.details.setSizes([width * 7 // 16, width * 9 // 16])

    def _set_column_widths(self) -> None:
        widths = {COL_SEQ: 56, COL_TIME: 110, COL_DIR: 28, COL_KIND: 110, COL_LENGTH: 70}
        for column, width in widths.items():
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setSectionResizeMode(
            COL_PREVIEW, QHeaderView.ResizeMode.Stretch
        )

    # -- state ----------------------------------------------------------------------

    @property
    def state(self) -> str:
        """connecting, open, closing, closed or failed."""
        if self.internal_error is not None:
            return "failed"
        return str(self.session.state) if self.session is not None else "closed"

    @property
    def title(self) -> str:
        return f"{self.endpoint.scheme.upper()} {self.endpoint.netloc}"

    @property
    def counters(self) -> Counters:
        return self.bridge.counters if self.bridge is not None else Counters()

    @property
    def context(self) -> RecordContext:
        """The session's handshake and timing phases, for the detail panes."""
        return RecordContext(
            str(self.endpoint.scheme), self._request, self._response, tuple(self._phases)
        )

    def _show_state(self) -> None:
        state = self.state
        session = self.session
        text = {
            "connecting": f"Connecting to {self.endpoint.url} …",
            "open": f"Open: {self.endpoint.url}",
            "closing": f"Closing {self.endpoint.url} …",
            "closed": f"Closed: {self.endpoint.url}",
            "failed": f"Failed: {self.endpoint.url}",
        }[state]
        if session is not None and session.failure:
            text += f" — {session.failure}"
        if self.internal_error is not None:
            text += f" — {self.internal_error}"
        if is_unverified(self.endpoint, self.options):
            text += f"  ·  ⚠ {UNVERIFIED_TEXT}"
        if self.capture_problem:
            text += f"\nNot recorded to a file: {self.capture_problem}"
        elif self.capture_path is not None:
            text += f"  ·  capture: {self.capture_path.name}"
        self.banner.setText(text)
        self.banner.setToolTip(str(self.capture_path) if self.capture_path else "")
        colour = state_colour(state, theme.is_dark(self))
        self.banner.setStyleSheet(f"QLabel#sessionBanner {{ color: {colour.name()}; }}")
        self.composer.set_sendable(state == "open")
        self.disconnect_button.setEnabled(state in ("connecting", "open"))
        self.reconnect_button.setEnabled(state in ("closed", "failed"))

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Create the capture and the session, and start opening it."""
        self._begin()
        self._open_task = spawn(self._open(), f"opening {self.endpoint.url}")

    def _begin(self) -> None:
        clock = SessionClock()
        self.capture_problem = None
        self.capture_path = None
        store: CaptureStore | MemoryRecords
        if self.capture_dir is None:
            store = MemoryRecords()
        else:
            try:
                store = create_capture(self.capture_dir, self.endpoint, self.options, clock)
                self.capture_path = Path(store.path)
            except CaptureError as exc:
                store = MemoryRecords()
                self._capture_failed(str(exc))
        self.store = store
        self._finished = False
        self._request = self._response = None
        self._phases = []
        self._first_in_seen = False
        self._first_out_seen = False
        self.recorder = Recorder(store, clock=clock, capture_limit=capture_limit(self.settings))
        model = RecordTableModel(store, clock.started_wall_ns, self)
        model.set_time_format(self.settings.time_format())
        old = self.model
        self.model = model
        self.table.setModel(model)
        if old is not None:
            old.deleteLater()
        self._set_column_widths()
        model.rowsAboutToBeInserted.connect(self._before_insert)
        model.rowsInserted.connect(self._after_insert)
        model.modelReset.connect(self._update_counts)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        if not self.filter_bar.current.empty:
            model.set_filter(self.filter_bar.current)
        self.details.clear()
        # A raw socket has no handshake to show: open on its timing instead.
        if self.endpoint.is_websocket:
            self.details.show_headers_tab()
        else:
            self.details.show_timing_tab()
        self.bridge = SessionBridge(self.recorder, model, self)
        self.bridge.flushed.connect(self._flushed)
        self.bridge.ticked.connect(self.faults.refresh)
        self.faults.reset()
        self.bridge.start()
        self.internal_error = None
        try:
            self.session = create_session(self.endpoint, self.options, self.recorder)
            self.session.keep_messages = False  # the window shows records, not messages
        except Exception as exc:  # a defect, not a network fault: show it, keep the tab
            self.session = None
            self.internal_error = f"cannot start the session: {exc}"
            report_failure(f"starting {self.endpoint.url}", exc)
        else:
            self.session.on_state_change = self._state_changed
        self._update_counts()
        self._show_state()
        self.stateChanged.emit(self.state)

    def _capture_failed(self, message: str) -> None:
        """Tell the user once that this session is kept in memory only."""
        if self.capture_problem is None:
            self.capture_problem = message
            self.notice.emit(f"{self.title}: {message}")

    async def _open(self) -> bool:
        session = self.session
        if session is None:
            return False
        try:
            opened = await session.open()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a defect in the engine: end the session, say why
            self.internal_error = f"the session failed unexpectedly: {exc}"
            report_failure(f"opening {self.endpoint.url}", exc)
            session.abort()
            self._show_state()
            self.stateChanged.emit(self.state)
            return False
        if opened and self.isVisible():
            self.composer.focus_editor()
        return opened

    def _state_changed(self, state: SessionState) -> None:
        """Called by the session (inside the engine): keep it short and never raise."""
        try:
            self._show_state()
            self.stateChanged.emit(str(state))
            if state in (SessionState.CLOSED, SessionState.FAILED):
                self._finish_capture()
        except Exception:
            log.exception("state change handling failed")

    def _finish_capture(self) -> None:
        """Write how the session ended into its capture (the file stays open for reading)."""
        if self._finished or self.session is None or self.store is None:
            return
        self._finished = True
        if isinstance(self.store, CaptureStore):
            self.store.finish(str(self.session.state), self.session.summary())
            if self.store.error:
                self._capture_failed(self.store.error)

    @guarded
    def disconnect(self) -> None:
        """Close the session gracefully (cancel it while still connecting)."""
        session = self.session
        if session is None:
            return
        if session.state is SessionState.CONNECTING and self._open_task is not None:
            self._open_task.cancel()
        elif session.state is SessionState.OPEN:
            spawn(self._close_gracefully(session), f"closing {self.endpoint.url}")

    @guarded
    def reconnect(self) -> None:
        """Start a new session to the same endpoint in this tab (and a new capture)."""
        spawn(self._reconnect(), f"reconnecting to {self.endpoint.url}")

    async def _reconnect(self) -> None:
        await self.shutdown()
        self.start()

    async def _close_gracefully(self, session: Session, timeout: float = CLOSE_WAIT) -> None:
        try:
            async with asyncio.timeout(timeout):
                await session.close()
        except TimeoutError:
            session.abort()

    async def shutdown(self, timeout: float = CLOSE_WAIT) -> None:
        """End the session (gracefully, within ``timeout``), flush and close the capture."""
        session = self.session
        if session is not None and not session.ended:
            if session.state is SessionState.CONNECTING and self._open_task is not None:
                self._open_task.cancel()
                await asyncio.gather(self._open_task, return_exceptions=True)
            if not session.ended:
                await self._close_gracefully(session, timeout)
        if self.bridge is not None:
            self.bridge.stop()
        self._finish_capture()
        if isinstance(self.store, CaptureStore):
            try:
                self.store.close()
            except CaptureError as exc:
                self._capture_failed(str(exc))

    # -- records --------------------------------------------------------------------

    def _take_phases(self, records: Sequence[Record]) -> bool:
        """Keep the timing phases, the handshake and the first inbound record for the
        detail panes; True when any of them was among ``records``."""
        changed = False
        for record in records:
            if record.kind in _PHASE_KINDS:
                self._phases.append(record)
                changed = True
                if record.kind is Kind.HANDSHAKE:
                    if record.direction is Direction.OUT:
                        self._request = record
                    else:
                        self._response = record
            elif record.direction is Direction.IN and not self._first_in_seen:
                self._first_in_seen = True
                self._phases.append(record)
                changed = True
            elif record.direction is Direction.OUT and not self._first_out_seen:
                # The first send tells Timing whether the peer's first byte was a reply.
                self._first_out_seen = record.kind in _SENT_KINDS and not record.automatic
                if self._first_out_seen:
                    self._phases.append(record)
                    changed = True
        return changed

    @guarded
    def _flushed(self, batch: Sequence[Record], counters: Counters) -> None:
        if self._take_phases(batch):
            self.details.show_context(self.context)
        if batch:
            self.details.add_traffic(batch)
            self.faults.add_records(batch)
        store = self.store
        if isinstance(store, CaptureStore) and store.error:
            self._capture_failed(store.error)
            self._show_state()
        self._update_counts()
        self.countersChanged.emit(counters)

    def _update_counts(self) -> None:
        model = self.model
        if model is not None:
            self.filter_bar.set_counts(model.rowCount(), model.total)

    @guarded
    def _before_insert(self, *_: object) -> None:
        bar = self.table.verticalScrollBar()
        self._at_bottom = bar.value() >= bar.maximum() - 1

    @guarded
    def _after_insert(self, *_: object) -> None:
        if self._at_bottom:
            self.table.scrollToBottom()

    @guarded
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        model = self.model
        record = model.record_at(current.row()) if model and current.isValid() else None
        self.details.show_record(record, self.context)

    def select_row(self, row: int) -> None:
        """Make ``row`` the current record (fills the detail panes)."""
        assert self.model is not None
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    @guarded
    def _apply_filter(self, record_filter: RecordFilter) -> None:
        if self.model is None:
            return
        selected = self.details.record
        try:
            self.model.set_filter(record_filter)
        except CaptureError as exc:
            self.notice.emit(str(exc))
            return
        self._update_counts()
        if selected is not None:
            row = self.model.row_of(selected.seq)
            if row is not None:
                self.select_row(row)

    def focus_filter(self) -> None:
        self.filter_bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_bar.edit.selectAll()

    @guarded
    def _header_menu(self, pos: QPoint) -> None:
        if self.model is None:
            return
        menu = QMenu(self)
        group = QActionGroup(menu)
        for value in TIME_FORMATS:
            action = QAction(TIME_LABELS[value], menu)
            action.setCheckable(True)
            action.setChecked(self.model.time_format == value)
            action.triggered.connect(lambda _=False, v=value: self.set_time_format(v))
            group.addAction(action)
            menu.addAction(action)
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))

    def set_time_format(self, value: str) -> None:
        """Show times relative, absolute or as deltas (remembered for new tabs)."""
        if self.model is not None:
            self.model.set_time_format(value)
            self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, COL_TIME, COL_TIME)
        self.settings.set_time_format(value)

    # -- sending --------------------------------------------------------------------

    @guarded
    def _send(self, action: SendAction) -> None:
        session = self.session
        if session is None:
            return
        try:
            if action.action == RAW_ACTION:
                send_raw_frame(session, self.recorder, action)
            else:
                send_message(session, action.action, action.payload, action.code, action.reason)
        except (InspectorError, OSError, ValueError) as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            self.composer.show_error(message)
            self.notice.emit(f"{self.title}: {message}")
            self._send_failed = True
            return
        if self._send_failed:  # the status bar still shows that error: replace it
            self._send_failed = False
            self.notice.emit(f"{self.title}: {action.action} sent")
