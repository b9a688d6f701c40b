"""How a relay tab shows records and pairs: directions named by who sent what.

A relay session's ``out`` records are what the client sent towards the server and its
``in`` records what the server sent back (as in ``inspector relay``); the table's
direction column says so in words — "client → server", "server → client" — and the
relay's own records say which leg they are about ("relay · upstream": the upstream's
resolve, connect and TLS) or that the relay itself sent them ("relay → client": an
injected message, a rule's answer). The pairs list counts both directions per pair
and notes a side that has backed up.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from inspector.core.records import Direction, Kind, Record
from inspector.ui.models.records import COL_DIR, RecordTableModel
from inspector.ui.models.source import RecordSource
from inspector.ui.settings import Settings
from inspector.ui.tabs.connections import (
    AllRecordsView,
    ConnectionsModel,
    ConnEntry,
    ConnRecordTableModel,
)
from inspector.ui.tabs.records_view import RecordsView

_Index = QModelIndex | QPersistentModelIndex

#: Width of the direction column once it holds words.
DIRECTION_WIDTH = 118
#: The filter's direction choices, renamed for a relay (same order as the filter bar's).
FILTER_LABELS = ("All directions", "client → server", "server → client")


def relay_direction(record: Record) -> str:
    """Who sent a relay record, towards whom: "client → server", "relay → client", …"""
    fields = record.fields
    if record.direction is Direction.META:
        leg = "upstream" if record.kind is Kind.RESOLVE else fields.get("leg")
        return f"relay · {'server' if leg == 'upstream' else leg}" if leg else "relay"
    c2s = record.direction is Direction.OUT
    if fields.get("injected"):
        return "relay → server" if c2s else "relay → client"
    if fields.get("forwarded") is False:
        return "client → relay" if c2s else "server → relay"
    return "client → server" if c2s else "server → client"


_NOT_MINE = object()


def _direction_cell(model: RecordTableModel, index: _Index, role: int) -> Any:
    """The direction column's cell in words, or _NOT_MINE for the model's own answer."""
    if not index.isValid() or index.column() != COL_DIR:
        return _NOT_MINE
    if role == Qt.ItemDataRole.TextAlignmentRole:
        return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    shown = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)
    if role not in (*shown, Qt.ItemDataRole.ToolTipRole) or index.row() >= model.rowCount():
        return _NOT_MINE
    record = model.record_at(index.row())
    if record is None:
        return None
    if role in shown:
        return relay_direction(record)
    if record.direction is Direction.META:
        return "about the relay's own work (its legs, handshakes, faults, the end)"
    text = relay_direction(record)
    if record.fields.get("forwarded") is False:
        return f"{text}: kept by the relay, not forwarded"
    return text


def _direction_header(section: int, orientation: Qt.Orientation, role: int) -> Any:
    if section != COL_DIR or orientation != Qt.Orientation.Horizontal:
        return _NOT_MINE
    if role == Qt.ItemDataRole.DisplayRole:
        return "Direction"
    if role == Qt.ItemDataRole.ToolTipRole:
        return "Who sent it, towards whom; relay: the relay's own records"
    return _NOT_MINE


class _DirectionsInWords(RecordTableModel):
    """A records model whose direction column says who sent a record, towards whom."""

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        cell = _direction_cell(self, index, role)
        return super().data(index, role) if cell is _NOT_MINE else cell

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        cell = _direction_header(section, orientation, role)
        return super().headerData(section, orientation, role) if cell is _NOT_MINE else cell


class RelayRecordTableModel(_DirectionsInWords):
    """One pair's records, directions in words."""


class RelayConnRecordTableModel(_DirectionsInWords, ConnRecordTableModel):
    """Every pair's records with the connection column, directions in words."""


def _relabel(view: RecordsView) -> None:
    """The filter's directions in a relay's words."""
    box = view.filter_bar.direction
    for index, label in enumerate(FILTER_LABELS):
        if index < box.count():
            box.setItemText(index, label)


class RelayRecordsView(RecordsView):
    """One pair's records (the client's upgrade request is the request)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        _relabel(self)

    def make_model(self, source: RecordSource, started_wall_ns: int) -> RecordTableModel:
        return RelayRecordTableModel(source, started_wall_ns, self)

    def show_source(
        self, source: RecordSource, started_wall_ns: int, scheme: str, *, follow: bool
    ) -> RecordTableModel:
        model = super().show_source(source, started_wall_ns, scheme, follow=follow)
        self.table.setColumnWidth(COL_DIR, DIRECTION_WIDTH)
        return model


class RelayAllRecordsView(AllRecordsView):
    """ "All connections" of a relay."""

    model_class = RelayConnRecordTableModel

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        _relabel(self)

    def show_source(
        self, source: RecordSource, started_wall_ns: int, scheme: str, *, follow: bool
    ) -> RecordTableModel:
        model = super().show_source(source, started_wall_ns, scheme, follow=follow)
        self.table.setColumnWidth(COL_DIR, DIRECTION_WIDTH)
        return model


PAIR_COLUMNS = ("#", "Client", "State", "Opened", "C→S", "S→C", "C→S bytes",
                "S→C bytes", "Ended")  # fmt: skip
_PAIR_TIPS = {
    1: "The client's address (each client gets its own upstream connection)",
    2: "The pair's state, messages held for it and a side that backed up (reads slowly)",
    4: "Records the client sent towards the server (handshake, frames or reads)",
    5: "Records the server sent towards the client",
    6: "Bytes client → server, as on the wire",
    7: "Bytes server → client, as on the wire",
    8: "How the pair ended",
}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def pair_totals(entry: ConnEntry) -> tuple[int, int, int, int]:
    """Records client → server, server → client, then bytes the same ways (a live pair's
    recorder, or what a capture's summary says)."""
    if entry.recorder is not None:
        c_in, c_out, b_in, b_out = entry.totals()
        return c_out, c_in, b_out, b_in
    s = entry.summary
    counts = s.get("counts") if isinstance(s.get("counts"), dict) else {}
    c2s = _int(counts.get("out")) or _int(s.get("datagrams_c2s"))
    s2c = _int(counts.get("in")) or _int(s.get("datagrams_s2c"))
    return c2s, s2c, _int(s.get("bytes_c2s")), _int(s.get("bytes_s2c"))


class PairsModel(ConnectionsModel):
    """The relay's pairs: row 0 "All connections", then one row per client."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        #: A pair's note (held messages, a side backed up) by its number.
        self.notes: dict[int, str] = {}

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(PAIR_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(PAIR_COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return PAIR_COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return _PAIR_TIPS.get(section)
        return super().headerData(section, orientation, role)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid() and index.column() == 2:
            entry = self.entry_at(index.row())
            if entry is not None and entry.number in self.notes:
                return self.notes[entry.number]
        shown = role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)
        if index.isValid() and index.row() > 0 and shown:
            entry = self.entry_at(index.row())
            column = index.column()
            if entry is not None and 4 <= column <= 7:
                return str(pair_totals(entry)[column - 4])
            if entry is not None and column == 2 and entry.number in self.notes:
                return f"{entry.state_text()} · {self.notes[entry.number]}"
        if index.isValid() and index.row() == 0 and index.column() == 2 and shown:
            return f"{len(self.entries)} relayed"
        return super().data(index, role)
