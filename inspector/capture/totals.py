"""A session's traffic totals read straight from its capture file.

The status bar shows records and wire bytes each way. A finished session wrote them
into its summary; for one that did not (it was cut short, or the file came from an
older version) they are summed here by SQLite over the rows, without making a record:
a run row counts its messages, and its wire bytes are theirs back to back. The
function opens its own read-only connection, so it may run on a worker thread while
the window keeps the file open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from inspector.capture.files import connect_readonly, reason
from inspector.capture.schema import RUN_SQL
from inspector.core.errors import CaptureError


class Totals(NamedTuple):
    """Records and wire bytes in each direction (in the order of the window's Counters)."""

    records_in: int
    records_out: int
    bytes_in: int
    bytes_out: int


def read_totals(path: Path, session_id: int, *, runs: bool) -> Totals:
    """The totals of session ``session_id`` in the capture at ``path``; ``runs`` says
    whether its schema has run rows (3 and later). A CaptureError in one line when the
    file cannot be read."""
    name = f"capture file {path}"
    count = f"CASE WHEN {RUN_SQL} THEN -payload_is_wire ELSE 1 END" if runs else "1"
    query = (
        f"SELECT dir, sum({count}), sum(length(wire)) FROM records"
        " WHERE session_id = ? AND dir IN ('in', 'out') GROUP BY dir"
    )
    try:
        conn = connect_readonly(Path(path), name)
        try:
            rows = conn.execute(query, (session_id,)).fetchall()
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as exc:
        raise CaptureError(f"cannot read {name}: {reason(exc)}") from None
    by_dir = {direction: (records, wire) for direction, records, wire in rows}
    records_in, bytes_in = by_dir.get("in", (0, 0))
    records_out, bytes_out = by_dir.get("out", (0, 0))
    return Totals(records_in, records_out, bytes_in, bytes_out)
