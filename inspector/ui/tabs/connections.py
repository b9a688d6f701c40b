"""A server tab's connections: one entry per accepted client, the list shown beside the
records, and the "All connections" records interleaved with a connection column.

An entry is either live (a listener's connection: its Recorder, its capture session,
the net Connection) or read from a listen capture (a session of the file). The list
model reads the entries when it paints, so a tick only says "rows changed".
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from inspector.capture.store import CaptureStore
from inspector.core.recorder import Recorder
from inspector.ui.models.merged import MergedRecords
from inspector.ui.models.records import COLUMNS, RecordTableModel
from inspector.ui.models.source import MemoryRecords, RecordSource
from inspector.ui.tabs.records_view import RecordsView

_Index = QModelIndex | QPersistentModelIndex

CONN_COLUMNS = ("#", "Peer", "State", "Opened", "In", "Out", "Bytes in",
                "Bytes out", "Ended", "Close code")  # fmt: skip
_COLUMN_TIPS = {
    4: "Records received from the client (handshake, frames or messages)",
    5: "Records sent to the client",
    6: "Bytes received, as on the wire",
    7: "Bytes sent, as on the wire",
    8: "How the connection ended",
    9: "WebSocket close code",
}
#: The connection column of the interleaved view (after the model's own columns).
COL_CONN = len(COLUMNS)


class ConnEntry:
    """One connection of a server tab (live or read from a capture)."""

    __slots__ = (
        "conn",
        "finished",
        "number",
        "peer",
        "recorder",
        "start_offset_ns",
        "started_wall_ns",
        "state",
        "store",
        "summary",
        "view",
    )  # fmt: skip

    def __init__(
        self,
        number: int,
        peer: str,
        store: CaptureStore | MemoryRecords | None,
        started_wall_ns: int,
        start_offset_ns: int,
        recorder: Recorder | None = None,
    ) -> None:
        self.number = number
        self.peer = peer
        self.store = store
        self.recorder = recorder
        self.conn: Any = None  # net.accepted.Connection once the listener made it
        self.view: RecordsView | None = None
        self.started_wall_ns = started_wall_ns
        #: Where this connection's clock starts on the listener's clock.
        self.start_offset_ns = start_offset_ns
        self.finished = recorder is None
        #: What a capture says of the connection (read-only tabs), else {}.
        self.summary: dict[str, Any] = {}
        self.state = "open"

    # -- what the list shows ----------------------------------------------------------

    def state_text(self) -> str:
        conn = self.conn
        return str(conn.state) if conn is not None else self.state

    def totals(self) -> tuple[int, int, int, int]:
        """Messages in, out, bytes in, out."""
        rec = self.recorder
        if rec is not None:
            return rec.count_in, rec.count_out, rec.bytes_in, rec.bytes_out
        s = self.summary
        return tuple(  # type: ignore[return-value]
            _int(s.get(k)) for k in ("messages_in", "messages_out", "bytes_in", "bytes_out")
        )

    def ended_text(self) -> str:
        conn = self.conn
        if conn is not None:
            return str(conn.end_message or "") if conn.ended else ""
        return str(self.summary.get("message") or "")

    def close_code(self) -> int | None:
        conn = self.conn
        ws = getattr(conn, "ws", None) if conn is not None else None
        if ws is not None:
            return ws.close_code  # type: ignore[no-any-return]
        websocket = self.summary.get("websocket")
        code = websocket.get("close_code") if isinstance(websocket, dict) else None
        return code if isinstance(code, int) and not isinstance(code, bool) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def clock_text(wall_ns: int) -> str:
    """``14:03:12.345`` (local time)."""
    moment = datetime.datetime.fromtimestamp(wall_ns / 1e9)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class ConnectionsModel(QAbstractTableModel):
    """Row 0 is "All connections", then one row per connection, oldest first."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[ConnEntry] = []

    def add(self, entries: Sequence[ConnEntry]) -> None:
        if not entries:
            return
        first = len(self.entries) + 1
        self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
        self.entries.extend(entries)
        self.endInsertRows()

    def refresh(self) -> None:
        """Every cell may have changed (counts, states): repaint them."""
        if self.entries:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.entries), self.columnCount() - 1)
            )

    def entry_at(self, row: int) -> ConnEntry | None:
        """The connection of ``row``; None for "All connections"."""
        return self.entries[row - 1] if 1 <= row <= len(self.entries) else None

    def row_of(self, number: int) -> int | None:
        for row, entry in enumerate(self.entries, start=1):
            if entry.number == number:
                return row
        return None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries) + 1

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(CONN_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(CONN_COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return CONN_COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _COLUMN_TIPS.get(section)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.ToolTipRole and row == 0:
            return "Every connection's records, interleaved in time"
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 4, 5, 6, 7, 9):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if role == Qt.ItemDataRole.ToolTipRole and column == 8:
                entry = self.entry_at(row)
                return entry.ended_text() if entry is not None else None
            return None
        if row == 0:
            if column == 1:
                return "All connections"
            if column == 0:
                return "*"
            if column == 2:
                return f"{len(self.entries)} accepted"
            return ""
        entry = self.entry_at(row)
        if entry is None:
            return None
        if column == 0:
            return str(entry.number)
        if column == 1:
            return entry.peer
        if column == 2:
            return entry.state_text()
        if column == 3:
            return clock_text(entry.started_wall_ns)
        if 4 <= column <= 7:
            return str(entry.totals()[column - 4])
        if column == 8:
            return entry.ended_text()
        code = entry.close_code()
        return "" if code is None else str(code)


class AllRecords(MergedRecords):
    """Every connection's records (and the listener's), renumbered in arrival order on
    the listener's clock, each remembering its connection number (None: the listener).

    Only the order is kept here; the records are read back from each connection's
    capture session (or memory, without a capture) when shown or filtered."""


class ConnRecordTableModel(RecordTableModel):
    """The records table plus a connection column (the "All connections" view)."""

    def __init__(self, source: AllRecords, started_wall_ns: int, parent: Any = None) -> None:
        super().__init__(source, started_wall_ns, parent)
        self._all = source

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COL_CONN + 1

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if section == COL_CONN and orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return "Conn"
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Connection number (- the listener's own records)"
            return None
        return super().headerData(section, orientation, role)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == COL_CONN:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                seq = self.seq_at(index.row())
                conn = self._all.conn_of(seq) if seq is not None else None
                return "-" if conn is None else f"#{conn}"
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
            return None
        return super().data(index, role)


class AllRecordsView(RecordsView):
    """A records view whose table has the connection column beside No."""

    #: The table model it makes (the relay tab's labels directions its own way).
    model_class: type[ConnRecordTableModel] = ConnRecordTableModel

    def make_model(self, source: RecordSource, started_wall_ns: int) -> RecordTableModel:
        assert isinstance(source, AllRecords)
        model = self.model_class(source, started_wall_ns, self)
        header = self.table.horizontalHeader()

        def place() -> None:
            if header.count() > COL_CONN and header.visualIndex(COL_CONN) != 1:
                header.moveSection(header.visualIndex(COL_CONN), 1)
                self.table.setColumnWidth(COL_CONN, 48)

        model.modelReset.connect(place)
        self._place_conn = place
        return model

    def show_source(
        self, source: RecordSource, started_wall_ns: int, scheme: str, *, follow: bool
    ) -> RecordTableModel:
        model = super().show_source(source, started_wall_ns, scheme, follow=follow)
        self._place_conn()
        return model


def connections_table(model: ConnectionsModel, widths: Sequence[int]) -> QTableView:
    """The list of connections over ``model``: one row selected at a time, compact rows,
    the last column stretched."""
    table = QTableView()
    table.setObjectName("connectionsTable")
    table.setAccessibleName("Connections")
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    vertical = table.verticalHeader()
    vertical.hide()
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.setWordWrap(False)
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
    return table


def send_to(conn: Any, action: Any, close: Any) -> None:
    """Perform one composed message on an accepted connection (SessionError and
    ValueError carry one line)."""
    kind = action.action
    if kind == "close":
        if not hasattr(conn, "ws"):
            raise ValueError("close frames are for WebSocket connections")
        close(conn, action.code, action.reason)
    elif kind == "text":
        sender = getattr(conn, "send_text", None)
        if sender is not None:
            sender(action.payload.decode("utf-8"))
        else:
            conn.send(action.payload)
    elif kind == "binary":
        sender = getattr(conn, "send_binary", None)
        (sender or conn.send)(action.payload)
    elif kind == "ping":
        if not hasattr(conn, "send_ping"):
            raise ValueError("pings are for WebSocket connections")
        conn.send_ping(action.payload)
    elif kind == "pong":
        if not hasattr(conn, "send_pong"):
            raise ValueError("pongs are for WebSocket connections")
        conn.send_pong(action.payload)
    elif kind == "raw":
        conn.send_raw(action.payload)
    else:
        conn.send(action.payload)
