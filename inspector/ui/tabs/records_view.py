"""The records of one session shown one way for every kind of tab.

A :class:`RecordsView` is the filter bar, the records table (a paged
:class:`RecordTableModel` over any :class:`RecordSource`), the session-wide panes
(headers, timing) and the selected record's decoded tree and bytes. It knows nothing
of connections: a live session tab feeds it through a bridge, a capture tab points it
at a file, and server or relay tabs can do either.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record
from inspector.ui.details import DetailPanes
from inspector.ui.filter_bar import FilterBar
from inspector.ui.guard import guarded
from inspector.ui.models.filter import RecordFilter
from inspector.ui.models.records import (
    COL_DIR,
    COL_KIND,
    COL_LENGTH,
    COL_PREVIEW,
    COL_SEQ,
    COL_TIME,
    COL_WIRE,
    TIME_FORMATS,
    RecordTableModel,
)
from inspector.ui.models.source import RecordSource
from inspector.ui.settings import Settings
from inspector.ui.widgets.context import RecordContext
from inspector.ui.widgets.timing import is_proxy_phase

_PHASE_KINDS = frozenset({Kind.RESOLVE, Kind.CONNECT, Kind.TLS, Kind.HANDSHAKE})
_SENT_KINDS = frozenset({Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM})
TIME_LABELS = {
    "relative": "Relative to session start",
    "absolute": "Time of day",
    "delta": "Since previous record",
}
_WIDTHS = {COL_SEQ: 56, COL_TIME: 110, COL_DIR: 28, COL_KIND: 110, COL_LENGTH: 70, COL_WIRE: 60}


class RecordsView(QWidget):
    """Filter, records table and detail panes over one record source."""

    #: One line for the status bar (a store that cannot be read while filtering).
    notice = Signal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordsView")
        self.settings = settings
        self.model: RecordTableModel | None = None
        self.scheme = ""
        #: The session's side is the server (a listener's connection): the inbound
        #: handshake is the request, the outbound one our response.
        self.server_side = False
        self._at_bottom = True
        self._request: Record | None = None
        self._response: Record | None = None
        self._phases: list[Record] = []
        self._first_in_seen = False
        self._first_out_seen = False
        self._build()

    def _build(self) -> None:
        self.filter_bar = FilterBar()
        self.filter_bar.filterChanged.connect(self.apply_filter)

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

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.splitter, 1)

    def showEvent(self, event: QShowEvent) -> None:
        """Split the space evenly the first time the view has a real size."""
        super().showEvent(event)
        if not self._sized and self.splitter.height() > 0:
            self._sized = True
            height = self.splitter.height()
            self.splitter.setSizes([height * 11 // 20, height * 9 // 20])
            width = self.top_splitter.width()
            self.top_splitter.setSizes([width * 5 // 8, width * 3 // 8])
            self.details.setSizes([width * 7 // 16, width * 9 // 16])

    # -- the source -----------------------------------------------------------------

    def show_source(
        self, source: RecordSource, started_wall_ns: int, scheme: str, *, follow: bool
    ) -> RecordTableModel:
        """Show ``source`` (replacing what was shown); ``follow`` keeps the newest row in
        view as a live session appends."""
        model = self.make_model(source, started_wall_ns)
        model.set_time_format(self.settings.time_format())
        old = self.model
        self.model = model
        self.scheme = scheme
        self.table.setModel(model)
        if old is not None:
            old.deleteLater()
        for column, width in _WIDTHS.items():
            self.table.setColumnWidth(column, width)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_PREVIEW, QHeaderView.ResizeMode.Stretch)
        # Wire beside Length, the preview last (the model keeps older columns' numbers).
        if header.visualIndex(COL_WIRE) != header.visualIndex(COL_LENGTH) + 1:
            header.moveSection(header.visualIndex(COL_WIRE), header.visualIndex(COL_LENGTH) + 1)
        if follow:
            model.rowsAboutToBeInserted.connect(self._before_insert)
            model.rowsInserted.connect(self._after_insert)
        model.modelReset.connect(self.update_counts)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        if not self.filter_bar.current.empty:
            model.set_filter(self.filter_bar.current)
        self._request = self._response = None
        self._phases = []
        self._first_in_seen = False
        self._first_out_seen = False
        self.details.clear()
        # A raw socket has no handshake to show: open on its timing instead.
        if scheme.startswith("ws"):
            self.details.show_headers_tab()
        else:
            self.details.show_timing_tab()
        self.update_counts()
        return model

    def make_model(self, source: RecordSource, started_wall_ns: int) -> RecordTableModel:
        """The table model over ``source`` (a server tab's view adds a connection column)."""
        return RecordTableModel(source, started_wall_ns, self)

    def load(self, source: RecordSource, head: int, tail: int) -> None:
        """Show every record ``source`` holds now (paged), reading ``head`` records from
        the start for the session panes and ``tail`` from the end for the traffic plot."""
        model = self.model
        assert model is not None
        total = source.count()
        model.extend_to(total)
        self.take_phases(source.records(0, min(head, total)))
        self.details.show_context(self.context)
        tail_start = max(0, total - tail)
        self.details.add_traffic(source.records(tail_start, total - tail_start) if total else [])
        self.update_counts()

    @property
    def context(self) -> RecordContext:
        """The session's handshake and timing phases, for the detail panes."""
        return RecordContext(self.scheme, self._request, self._response, tuple(self._phases))

    def take_phases(self, records: Sequence[Record]) -> bool:
        """Keep the timing phases, the handshake and the first inbound record for the
        detail panes; True when any of them was among ``records``."""
        changed = False
        for record in records:
            if record.kind in _PHASE_KINDS or is_proxy_phase(record):
                self._phases.append(record)
                changed = True
                if record.kind is Kind.HANDSHAKE:
                    if (record.direction is Direction.OUT) is not self.server_side:
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

    def add_batch(self, batch: Sequence[Record]) -> None:
        """Records a live source just appended: the session panes and traffic plot."""
        if self.take_phases(batch):
            self.details.show_context(self.context)
        if batch:
            self.details.add_traffic(batch)
        self.update_counts()

    def update_counts(self) -> None:
        model = self.model
        if model is not None:
            self.filter_bar.set_counts(model.rowCount(), model.total)

    # -- following and selecting ----------------------------------------------------

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

    # -- filter and columns ---------------------------------------------------------

    @guarded
    def apply_filter(self, record_filter: RecordFilter) -> None:
        if self.model is None:
            return
        selected = self.details.record
        try:
            self.model.set_filter(record_filter)
        except CaptureError as exc:
            self.notice.emit(str(exc))
            return
        self.update_counts()
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
