"""The records of one session shown one way for every kind of tab.

A :class:`RecordsView` is the filter bar, the records table (a paged
:class:`RecordTableModel` over any :class:`RecordSource`), the session-wide panes
(headers, timing) and the selected record's decoded tree and bytes. It knows nothing
of connections: a live session tab feeds it through a bridge, a capture tab points it
at a file, and server or relay tabs can do either.

It also decodes what the application says: ``decoding`` (Decode as…, chosen from the
table's context menu or the Session menu) decodes the selected record's payload into
the tree and, once the session has one decoder, the preview column's summaries;
``pairing`` pairs requests with responses in the background (started when the session's
decoder is known, the selected record carries a pairing id, or the Latency tab is
opened). The Latency column is hidden until the first pair is found.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QMenu,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record
from inspector.ui.decode_menu import ViewDecoding, fill_decode_menu
from inspector.ui.details import DetailPanes
from inspector.ui.filter_bar import FilterBar
from inspector.ui.guard import guarded
from inspector.ui.models.filter import RecordFilter
from inspector.ui.models.records import (
    COL_DIR,
    COL_KIND,
    COL_LATENCY,
    COL_LENGTH,
    COL_PREVIEW,
    COL_SEQ,
    COL_TIME,
    COL_WIRE,
    TIME_FORMATS,
    RecordTableModel,
)
from inspector.ui.models.source import RecordSource
from inspector.ui.pair_dialog import PairByDialog
from inspector.ui.settings import Settings
from inspector.ui.widgets.context import RecordContext
from inspector.ui.widgets.stats import PairBy, Pairing, StatsPane, format_ms
from inspector.ui.widgets.timing import is_proxy_phase

_PHASE_KINDS = frozenset({Kind.RESOLVE, Kind.CONNECT, Kind.TLS, Kind.HANDSHAKE})
_SENT_KINDS = frozenset({Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM})
TIME_LABELS = {
    "relative": "Relative to session start",
    "absolute": "Time of day",
    "delta": "Since previous record",
}
_WIDTHS = {
    COL_SEQ: 56, COL_TIME: 110, COL_DIR: 28, COL_KIND: 110, COL_LENGTH: 70, COL_WIRE: 60,
    COL_LATENCY: 84,
}  # fmt: skip
#: How often the Latency pane is redrawn while pairing runs.
_STATS_REFRESH_MS = 300


class RecordsView(QWidget):
    """Filter, records table and detail panes over one record source."""

    #: One line for the status bar (a store that cannot be read while filtering).
    notice = Signal(str)
    #: (QMenu, Record | None): the table's context menu is being built for the record
    #: under the pointer; others may add their entries (Save to workspace…).
    recordMenu = Signal(object, object)

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
        self._endpoint = ""
        self.decoding = ViewDecoding()
        self.show_summaries = True
        self.pairing = Pairing(self)
        self.pair_dialog: PairByDialog | None = None
        self.pairing.changed.connect(self._pairing_changed)
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(_STATS_REFRESH_MS)
        self._stats_timer.timeout.connect(self._refresh_stats)
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
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)

        # Records beside the session-wide panes (headers, timing) on top; the selected
        # record's decoded tree beside its bytes below (Wireshark's list/details/bytes).
        self.details = DetailPanes()
        self.stats = StatsPane()
        # In a scroll area, as the headers pane is: it must not set the window's minimum.
        self.stats_scroll = QScrollArea()
        self.stats_scroll.setObjectName("statsScroll")
        self.stats_scroll.setWidget(self.stats)
        self.stats_scroll.setWidgetResizable(True)
        self.stats_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details.tabs.addTab(self.stats_scroll, "Latency")
        self.details.tabs.currentChanged.connect(self._tab_changed)
        self.details.tree.recordLinked.connect(self.select_seq)
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
        # Latency beside Wire, so the preview stays the last (stretched) column.
        if header.visualIndex(COL_LATENCY) != header.visualIndex(COL_WIRE) + 1:
            header.moveSection(header.visualIndex(COL_LATENCY), header.visualIndex(COL_WIRE) + 1)
        if follow:
            model.rowsAboutToBeInserted.connect(self._before_insert)
            model.rowsInserted.connect(self._after_insert)
        model.modelReset.connect(self.update_counts)
        model.rowsInserted.connect(self.update_counts)
        model.scanFinished.connect(self.update_counts)
        self.decoding.set_session(self._endpoint, scheme)
        model.decoded_of = self.decoding.decode
        model.latency_of = self.pairing.latency.get
        self._set_summaries(model)
        self.pairing.attach(
            lambda: model.source, lambda: model.total, self.decoding.session_decoder
        )
        model.latency_of = self.pairing.latency.get
        self.table.setColumnHidden(COL_LATENCY, True)
        self.pairing.set_live(follow)
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
        self._maybe_pair()

    @property
    def context(self) -> RecordContext:
        """The session's handshake and timing phases, for the detail panes."""
        return RecordContext(self.scheme, self._request, self._response, tuple(self._phases))

    def take_phases(self, records: Sequence[Record]) -> bool:
        """Keep the timing phases, the handshake and the first inbound record for the
        detail panes; True when any of them was among ``records``."""
        changed = False
        for record in records:
            if record.kind is Kind.HANDSHAKE:
                self.decoding.observe(record)
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
        """Records a live source just appended: the session panes and traffic plot (a
        flush's batch offers ``heads``: a run's later messages change no phase)."""
        if self.take_phases(getattr(batch, "heads", batch)):
            self.details.show_context(self.context)
        if batch:
            self.details.add_traffic(batch)
        self.update_counts()
        self._maybe_pair()

    def update_counts(self) -> None:
        model = self.model
        if model is not None:
            self.filter_bar.set_counts(model.rowCount(), model.total, busy=model.scanning)

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
        self._show_application(record)

    def _show_application(self, record: Record | None) -> None:
        """The selected record's decoded application layer, its pair, and the pair's tint."""
        model = self.model
        partner = None
        if record is not None:
            decoded = self.decoding.decode(record)
            partner = self.pairing.partner.get(record.seq)
            link = None
            if partner is not None:
                latency = format_ms(self.pairing.latency.get(record.seq))
                verb = "answered by" if partner > record.seq else "answers"
                link = (f"{verb} #{partner} after {latency}", partner)
            self.details.show_decoded(decoded, link)
            if decoded is not None and decoded.exchanges and not self.pairing.started:
                self.pairing.start()
        if model is not None:
            tinted = frozenset() if partner is None else frozenset({partner})
            if tinted != model.tinted:
                model.tinted = tinted
                self.table.viewport().update()

    def select_seq(self, seq: int) -> None:
        """Make record ``seq`` current, if the filter shows it."""
        row = self.model.row_of(seq) if self.model is not None else None
        if row is not None:
            self.select_row(row)
        else:
            self.notice.emit(f"record #{seq} is hidden by the filter")

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

    # -- decoding and pairing ---------------------------------------------------------

    def set_endpoint(self, endpoint: str) -> None:
        """The session's endpoint (its host, port and URL help choose a decoder)."""
        self._endpoint = endpoint
        self.decoding.set_session(endpoint, self.scheme)

    def set_decoder(self, choice: str) -> None:
        """Decode as ``choice`` (``auto``, a decoder's name or ``none``): tree, preview,
        decoded-field filter and pairing follow."""
        self.decoding.set_choice(choice)
        model = self.model
        if model is None:
            return
        self._set_summaries(model)
        self.pairing.attach(
            lambda: model.source, lambda: model.total, self.decoding.session_decoder
        )
        model.latency_of = self.pairing.latency.get
        model.tinted = frozenset()
        self.table.setColumnHidden(COL_LATENCY, True)
        if model.record_filter.conditions:
            self.apply_filter(model.record_filter)
        self._maybe_pair()
        if self.details.tabs.currentWidget() is self.stats_scroll:
            self.pairing.start()
        self.draw_stats()
        self.table.viewport().update()
        index = self.table.currentIndex()
        if index.isValid():
            self._current_changed(index, index)

    def set_show_summaries(self, on: bool) -> None:
        """Show the decoder's one-line summary in the preview column (or the raw payload)."""
        self.show_summaries = on
        if self.model is not None:
            self._set_summaries(self.model)
            self.table.viewport().update()

    def _set_summaries(self, model: RecordTableModel) -> None:
        model.summary_of = self.decoding.summary if self.show_summaries else None

    def ask_pair_by(self) -> None:
        """Ask how to pair ("Pair by…"), then pair that way."""
        dialog = PairByDialog(self.pairing.by, self)
        self.pair_dialog = dialog
        dialog.accepted.connect(lambda: self.set_pair_by(dialog.chosen()))
        dialog.open()

    def set_pair_by(self, by: PairBy) -> None:
        """Pair by the decoder's ids, a user's id rule or the next inbound message (as
        ``show --stats``, ``--match-id`` and ``--match-next``): pairs found again."""
        self.pairing.set_by(by)
        model = self.model
        if model is None:
            return
        model.latency_of = self.pairing.latency.get
        model.tinted = frozenset()
        self.table.setColumnHidden(COL_LATENCY, True)
        self.pairing.start()
        self.draw_stats()
        self.table.viewport().update()

    def show_stats(self) -> None:
        """Show the Latency tab (pairing the session if it was not yet)."""
        self.details.tabs.setCurrentWidget(self.stats_scroll)

    def _maybe_pair(self) -> None:
        """Pair in the background once the session has one decoder, or keep pairing."""
        if self.pairing.started or self.decoding.settled:
            self.pairing.start()

    @guarded
    def _tab_changed(self, index: int) -> None:
        if self.details.tabs.widget(index) is self.stats_scroll:
            self.pairing.start()
            self.draw_stats()

    @guarded
    def _pairing_changed(self) -> None:
        """New pairs: show them at most every few hundred ms (a repaint per tick would
        cost more than the pairing)."""
        if not self._stats_timer.isActive():
            self._stats_timer.start()

    @guarded
    def _refresh_stats(self) -> None:
        """Show what pairing found: the Latency column, the selected record's pair, and
        the Latency pane if it is shown."""
        if self.pairing.latency and self.table.isColumnHidden(COL_LATENCY):
            self.table.setColumnHidden(COL_LATENCY, False)
        self.table.viewport().update()
        index = self.table.currentIndex()
        record = self.details.record
        partner = self.pairing.partner.get(record.seq) if record is not None else None
        model = self.model
        if partner is not None and index.isValid() and model and partner not in model.tinted:
            self._current_changed(index, index)
        if self.stats.isVisible():
            self.draw_stats()

    def draw_stats(self) -> None:
        """Redraw the Latency pane now; the next timed redraw waits twenty times as long
        as this one took (sorting a million latencies is not free)."""
        began = time.perf_counter()
        self.stats.show_pairing(self.pairing, self.pairing.by.label or self.decoding.chosen)
        spent_ms = (time.perf_counter() - began) * 1000
        self._stats_timer.setInterval(max(_STATS_REFRESH_MS, int(spent_ms * 20)))

    @guarded
    def _table_menu(self, pos: QPoint) -> None:
        menu = self.record_menu(self.table.indexAt(pos).row())
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def record_menu(self, row: int) -> QMenu:
        """The table's context menu for ``row`` (-1: no row under the pointer)."""
        menu = QMenu(self)
        self.fill_session_menu(menu)
        model = self.model
        record = model.record_at(row) if model is not None and row >= 0 else None
        self.recordMenu.emit(menu, record)
        return menu

    def fill_session_menu(self, menu: QMenu) -> None:
        """The decoding entries shared by the table's context menu and the Session menu."""
        decode = menu.addMenu("Decode &as…")
        decode.setObjectName("decodeAsMenu")
        fill_decode_menu(decode, self.decoding, self.set_decoder)
        summaries = QAction("Decoded summaries in Preview", menu)
        summaries.setCheckable(True)
        summaries.setChecked(self.show_summaries)
        summaries.toggled.connect(self.set_show_summaries)
        menu.addAction(summaries)
        pair = QAction("&Pair by…", menu)
        pair.setObjectName("pairBy")
        pair.triggered.connect(lambda _=False: self.ask_pair_by())
        menu.addAction(pair)
        stats = QAction("&Latency statistics", menu)
        stats.triggered.connect(lambda _=False: self.show_stats())
        menu.addAction(stats)
        record = self.details.record
        partner = self.pairing.partner.get(record.seq) if record is not None else None
        if partner is not None:
            go = QAction(f"Go to paired record #{partner}", menu)
            go.triggered.connect(lambda _=False, seq=partner: self.select_seq(seq))
            menu.addAction(go)
