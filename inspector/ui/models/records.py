"""The records table: one row per record, paged from the session's capture store.

Modelled on Wireshark's packet list: rows are appended in batches by the bridge (one
beginInsertRows/endInsertRows per flush), column text is built at display time, and
only a small LRU cache of records is kept, so a session of a million records costs
no more memory than one of a hundred. With a filter set, the model maps rows to the
sequence numbers the store reported as matching, and tests each new batch itself; a
filter on decoded fields tests the store's matches in the background, rows appearing
as they are found.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QGuiApplication

from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record
from inspector.core.render import ARROWS, escape_text, kind_label, payload_preview, summary_text
from inspector.protocols.decoders.tree import Decoded
from inspector.protocols.decoders.where import passes
from inspector.ui import theme
from inspector.ui.models.batch import RecordBatch
from inspector.ui.models.filter import RecordFilter
from inspector.ui.models.source import RecordSource
from inspector.ui.widgets.fieldtext import window_text

log = logging.getLogger(__name__)

#: Model order; the records view shows Wire beside Length (a moved header section), so
#: the older columns keep their numbers.
COLUMNS = ("No.", "Time", "", "Kind", "Length", "Preview", "Wire", "Latency")
COL_SEQ, COL_TIME, COL_DIR, COL_KIND, COL_LENGTH, COL_PREVIEW, COL_WIRE, COL_LATENCY = range(
    len(COLUMNS)
)

#: Returns the record's sequence number (int) for any cell.
SEQ_ROLE = Qt.ItemDataRole.UserRole + 1

TIME_FORMATS = ("relative", "absolute", "delta")

_CONTROL_OPCODES = frozenset({"ping", "pong", "close"})
_PAGE = 256
_CACHE_SIZE = 4096
_PREVIEW_CHARS = 160
#: A filter on decoded fields tests records this many ms per tick, then pauses.
_SCAN_TICK_MS = 15
_SCAN_PAUSE_MS = 5

_Index = QModelIndex | QPersistentModelIndex

#: The roles data() answers, as ints (compared once per call of a paint).
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ROLES = frozenset(
    {_DISPLAY, _FOREGROUND, _BACKGROUND, _FONT, _ALIGNMENT, _TOOLTIP, int(SEQ_ROLE),
     int(Qt.ItemDataRole.AccessibleTextRole)}
)  # fmt: skip
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
#: The alignment of each column that is not left-aligned.
_ALIGNED = {
    **dict.fromkeys((COL_SEQ, COL_TIME, COL_LENGTH, COL_WIRE, COL_LATENCY), _RIGHT),
    COL_DIR: int(Qt.AlignmentFlag.AlignCenter),
}


def preview_text(record: Record) -> str:
    """The preview column: the payload for data records, a summary for the others."""
    if record.kind is Kind.FRAME and record.fields.get("opcode") == "close":
        text = summary_text(record)
    elif record.payload is not None and record.kind is not Kind.HANDSHAKE:
        text = payload_preview(record.payload, _PREVIEW_CHARS)
    elif record.kind in (Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM) and record.wire:
        text = payload_preview(record.wire, _PREVIEW_CHARS)
    else:
        text = window_text(summary_text(record))
    error = record.fields.get("error")
    if error:
        text = f"{text}  [{escape_text(str(error))}]".lstrip()
    return text


def _partner_tint(dark: bool) -> QColor:
    """The background of the selected record's request or response."""
    return QColor("#3d3a1e") if dark else QColor("#fff3b0")


def record_category(record: Record) -> str:
    """How a row is drawn: error, automatic, control, meta, in or out."""
    if record.kind is Kind.ERROR or record.fields.get("error"):
        return "error"
    if record.automatic:
        return "automatic"
    if record.kind is Kind.FRAME and record.fields.get("opcode") in _CONTROL_OPCODES:
        return "control"
    if record.direction is Direction.META:
        return "meta"
    return str(record.direction)


class RecordTableModel(QAbstractTableModel):
    """Rows of one session's records; the bridge calls :meth:`append` per flush."""

    #: A filter on decoded fields has tested every record.
    scanFinished = Signal()

    def __init__(self, source: RecordSource, started_wall_ns: int = 0, parent: Any = None) -> None:
        super().__init__(parent)
        self._source = source
        self._started_wall_ns = started_wall_ns
        self._total = 0
        self._rows: list[int] | None = None
        self._filter = RecordFilter()
        self._cache: OrderedDict[int, Record] = OrderedDict()
        self._time_format = "relative"
        #: Decoding hooks a records view sets: the decoder's one-line summary for the
        #: preview column, the decoded record for filters on decoded fields, and a
        #: request's or response's latency (ns) once paired.
        self.summary_of: Callable[[Record], str | None] | None = None
        self.decoded_of: Callable[[Record], Decoded | None] | None = None
        self.latency_of: Callable[[int], int | None] | None = None
        #: Rows tinted as the selected record's partner (its request or response).
        self.tinted: frozenset[int] = frozenset()
        self._scan: tuple[set[int], int, int] | None = None  # wanted, next seq, end
        self._held: list[int] = []  # live records that passed while the scan runs
        self._scan_timer: QTimer | None = None
        #: The row the view asked about last (see _row), and text colours by kind of cell.
        self._memo: tuple[int, int, Record, str, bool] | None = None
        self._colours: dict[tuple[Any, ...], QColor] = {}

    # -- feeding --------------------------------------------------------------------

    @property
    def source(self) -> RecordSource:
        return self._source

    def set_source(self, source: RecordSource) -> None:
        """Read from another source holding the same records (the in-memory fallback)."""
        self._source = source

    @property
    def total(self) -> int:
        """Records in the session, whatever the filter."""
        return self._total

    def append(self, records: Sequence[Record]) -> None:
        """Add a batch of new records (in sequence order) with one insert notification."""
        if not records:
            return
        # Only the newest page is likely on screen (the view follows the bottom); older
        # rows of a big batch are read back a page at a time if someone scrolls there.
        batch = records if isinstance(records, RecordBatch) else None
        for record in batch.newest(_PAGE) if batch is not None else records[-_PAGE:]:
            self._remember(record)
        total = max(self._total, batch.end if batch is not None else records[-1].seq + 1)
        if self._rows is None:
            first = self._total
            if total > first:
                self.beginInsertRows(QModelIndex(), first, total - 1)
                self._total = total
                self.endInsertRows()
            return
        self._total = total
        shown = [r.seq for r in records if self._filter.matches(r) and self._decoded_pass(r)]
        if shown and self._scan is not None:  # after the older records being tested
            self._held.extend(shown)
            return
        if shown:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(shown) - 1)
            self._rows.extend(shown)
            self.endInsertRows()

    def extend_to(self, total: int) -> None:
        """Show ``total`` records of a source already holding them (an opened capture).

        Nothing is read: rows are fetched a page at a time when they are painted.
        """
        if total <= self._total:
            return
        first = self._total
        if self._rows is None:
            self.beginInsertRows(QModelIndex(), first, total - 1)
            self._total = total
            self.endInsertRows()
        else:
            self._total = total

    def set_filter(self, record_filter: RecordFilter) -> None:
        """Show only the records passing ``record_filter`` (asks the store for old ones)."""
        self.beginResetModel()
        self._stop_scan()
        self._filter = record_filter
        if record_filter.empty:
            self._rows = None
        else:
            text = record_filter.text or None
            seqs = self._source.matching(
                record_filter.directions,
                record_filter.kinds,
                None if record_filter.regex else text,
                text if record_filter.regex else None,
            )
            self._rows = [seq for seq in seqs if seq < self._total]
            if record_filter.conditions:
                self._start_scan(self._rows)
                self._rows = []
        self.endResetModel()

    def _decoded_pass(self, record: Record) -> bool:
        """True when the record's decoded facts pass the filter's conditions."""
        conditions = self._filter.conditions
        if not conditions:
            return True
        decoded = self.decoded_of(record) if self.decoded_of is not None else None
        return passes(list(conditions), decoded)

    @property
    def scanning(self) -> bool:
        """True while a filter on decoded fields is still testing older records."""
        return self._scan is not None

    def _start_scan(self, seqs: list[int]) -> None:
        """Test the store's matches against the decoded conditions in the background:
        rows appear as they are found, so a big capture never freezes the window."""
        self._scan = (set(seqs), 0, max(seqs) + 1 if seqs else 0)
        self._held = []
        if self._scan_timer is None:
            self._scan_timer = QTimer(self)
            self._scan_timer.setInterval(_SCAN_PAUSE_MS)
            self._scan_timer.timeout.connect(self._scan_tick)
        self._scan_timer.start()

    def _stop_scan(self) -> None:
        self._scan = None
        self._held = []
        if self._scan_timer is not None:
            self._scan_timer.stop()

    def _scan_tick(self) -> None:
        """Test records for a few milliseconds; show those that pass."""
        scan = self._scan
        if scan is None or self._rows is None:
            self._stop_scan()
            return
        wanted, position, end = scan
        found: list[int] = []
        deadline = time.perf_counter() + _SCAN_TICK_MS / 1000
        try:
            while position < end and time.perf_counter() < deadline:
                page = self._source.records(position, min(_PAGE, end - position))
                if not page:
                    position = end
                    break
                found.extend(r.seq for r in page if r.seq in wanted and self._decoded_pass(r))
                position = page[-1].seq + 1
        except CaptureError as exc:
            log.warning("filter stopped at record %d: %s", position, exc)
            position = end
        if position >= end:
            found.extend(self._held)
            self._stop_scan()
        else:
            self._scan = (wanted, position, end)
        if found:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(found) - 1)
            self._rows.extend(found)
            self.endInsertRows()
        if self._scan is None:
            self.scanFinished.emit()

    @property
    def record_filter(self) -> RecordFilter:
        return self._filter

    def shown_seqs(self) -> list[int] | None:
        """The sequence numbers of the rows shown while a filter is set, else None."""
        return list(self._rows) if self._rows is not None else None

    def set_time_format(self, value: str) -> None:
        """Show time relative to the session start, as wall-clock time, or as a delta."""
        if value not in TIME_FORMATS or value == self._time_format:
            return
        self._time_format = value
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, COL_TIME),
                self.index(self.rowCount() - 1, COL_TIME),
                [Qt.ItemDataRole.DisplayRole],
            )

    @property
    def time_format(self) -> str:
        return self._time_format

    # -- reading --------------------------------------------------------------------

    def _remember(self, record: Record) -> None:
        self._cache[record.seq] = record
        self._cache.move_to_end(record.seq)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    def seq_at(self, row: int) -> int | None:
        """The sequence number shown in ``row``."""
        if row < 0 or row >= self.rowCount():
            return None
        return self._rows[row] if self._rows is not None else row

    def row_of(self, seq: int) -> int | None:
        """The row showing record ``seq``, if it is shown."""
        if self._rows is None:
            return seq if 0 <= seq < self._total else None
        try:
            return self._rows.index(seq)
        except ValueError:
            return None

    def record_by_seq(self, seq: int) -> Record | None:
        """The record ``seq``, from the cache or (a page at a time) from the store."""
        cached = self._cache.get(seq)
        if cached is not None:
            self._cache.move_to_end(seq)
            return cached
        try:
            if self._rows is None:
                start = max(0, seq - _PAGE // 4)
                for record in self._source.records(start, _PAGE):
                    self._remember(record)
                found = self._cache.get(seq)
                if found is not None:
                    return found
            record = self._source.record(seq)
        except CaptureError as exc:
            log.warning("record %d unavailable: %s", seq, exc)
            return None
        self._remember(record)
        return record

    def record_at(self, row: int) -> Record | None:
        """The record shown in ``row``."""
        seq = self.seq_at(row)
        return None if seq is None else self.record_by_seq(seq)

    # -- QAbstractTableModel ----------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(self._rows) if self._rows is not None else self._total

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == COL_TIME:
                return {"relative": "Time", "absolute": "Time of day", "delta": "Δ Time"}[
                    self._time_format
                ]
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == COL_TIME:
                return "Right-click to show relative, absolute or delta time"
            if section == COL_DIR:
                return "Direction: → sent, ← received, · about the session"
            if section == COL_LENGTH:
                return "Payload bytes (unmasked, decompressed)"
            if section == COL_WIRE:
                return "Bytes on the wire (frame header, mask, compressed payload)"
            if section == COL_LATENCY:
                return "Time between a request and its response (on both rows of a pair)"
        return None

    def _row(self, row: int) -> tuple[int, int, Record, str, bool] | None:
        """(row, seq, record, category, dark) of ``row``: the view asks for every role of
        every cell of a row in turn, so the last row's are kept for the next calls (a
        row's record and category never change; the theme is read once per row)."""
        memo = self._memo
        rows = self._rows
        if rows is None:
            seq = row if 0 <= row < self._total else None
        else:
            seq = rows[row] if 0 <= row < len(rows) else None
        if memo is not None and memo[0] == row and memo[1] == seq:
            return memo
        record = None if seq is None else self.record_by_seq(seq)
        if record is None:
            return None
        memo = self._memo = (row, record.seq, record, record_category(record), theme.is_dark())
        return memo

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ROLES or not index.isValid():
            return None
        found = self._row(index.row())
        if found is None:
            return None
        _row, _seq, record, category, dark = found
        column = index.column()
        if role == _DISPLAY:
            return self._display(record, column)
        if role == SEQ_ROLE:
            return record.seq
        if role == _FOREGROUND:
            return self._foreground(record, column, category, dark)
        if role == _BACKGROUND:
            return _partner_tint(dark) if record.seq in self.tinted else None
        if role == _FONT:
            if category in ("automatic", "meta", "control", "error"):
                font = QFont(QGuiApplication.font())
                font.setItalic(category in ("automatic", "meta"))
                font.setBold(category == "error")
                return font
            return None
        if role == _ALIGNMENT:
            return _ALIGNED.get(column)
        if role == _TOOLTIP:
            if column == COL_PREVIEW:
                summary = self.summary_of(record) if self.summary_of is not None else None
                return f"{summary}\n{preview_text(record)}" if summary else preview_text(record)
            if column == COL_DIR:
                return {"out": "sent", "in": "received", "meta": "session event"}[record.direction]
            if column == COL_KIND and record.automatic:
                return "sent automatically by the engine"
            return None
        return self._display(record, column)  # AccessibleTextRole

    def _display(self, record: Record, column: int) -> str:
        if column == COL_SEQ:
            return str(record.seq)
        if column == COL_TIME:
            return self._time_text(record)
        if column == COL_DIR:
            return ARROWS[record.direction]
        if column == COL_KIND:
            return kind_label(record)
        if column == COL_LENGTH:
            return str(record.size)
        if column == COL_WIRE:
            return str(len(record.wire)) if record.wire else ""
        if column == COL_LATENCY:
            latency = self.latency_of(record.seq) if self.latency_of is not None else None
            return "" if latency is None else f"{latency / 1e6:.3f} ms"
        if self.summary_of is not None:
            summary = self.summary_of(record)
            if summary:
                return window_text(summary)
        return preview_text(record)

    def _time_text(self, record: Record) -> str:
        if self._time_format == "absolute":
            wall = (self._started_wall_ns + record.t_ns) / 1e9
            moment = datetime.datetime.fromtimestamp(wall)
            return moment.strftime("%H:%M:%S.") + f"{moment.microsecond:06d}"
        if self._time_format == "delta":
            row = self.row_of(record.seq)
            previous = self.record_at(row - 1) if row else None
            delta = record.t_ns - previous.t_ns if previous is not None else 0
            return f"+{delta / 1e9:.6f}"
        return f"{record.t_ns / 1e9:.6f}"

    def _foreground(self, record: Record, column: int, category: str, dark: bool) -> Any:
        key = (category, record.kind, record.direction, column == COL_DIR, column == COL_KIND,
               dark)  # fmt: skip
        colour = self._colours.get(key)
        if colour is None:
            colour = self._colours[key] = self._colour(record, column, category, dark)
        return colour

    def _colour(self, record: Record, column: int, category: str, dark: bool) -> Any:
        """The text colour of a cell (what :meth:`_foreground` keeps per kind of cell)."""
        if category == "error":
            return theme.error_text(dark)
        if category == "automatic":
            return theme.automatic_text(dark)
        if column == COL_DIR or category in ("in", "out", "control"):
            if column == COL_KIND and category == "control":
                return theme.kind_colour(Kind.HANDSHAKE, dark)
            return theme.direction_colour(record.direction, dark)
        return theme.kind_colour(record.kind, dark)
