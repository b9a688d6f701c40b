"""Commits a capture's rows on a thread of its own, through a connection of its own.

In the window the session's records are taken on the GUI thread, and a commit there
(SQLite writing a few MB of WAL) held that thread for 3-6 ms of every 0.1 s during a
flood. The store still encodes its rows on the recording thread (cheap, and it keeps
the shared field numbering in one place), then hands them to a :class:`CommitThread`,
which inserts and commits them while the GIL is free (``sqlite3`` releases it inside
SQLite). One batch is in flight at a time: the store keeps the batch in memory, and
reads it from there, until it has seen the commit done (:meth:`CommitThread.result`).
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from inspector.capture.files import BUSY_TIMEOUT
from inspector.capture.schema import (
    INSERT_COLUMN_NAMES,
    ROWS_PER_INSERT,
    Row,
    encode_rows,
    insert_rows,
)
from inspector.core.records import Record
from inspector.core.runs import MessageRun

#: Wire bytes from which a row's blob is written into the row after its insert
#: (:func:`insert_records`) instead of being bound to the INSERT.
BLOB_WRITE_BYTES = 64 * 1024
#: Where the wire bytes are in a row, and the INSERT that stores zeros of their length.
_WIRE = INSERT_COLUMN_NAMES.index("wire")
_INSERT_ZEROS = (
    f"INSERT INTO records ({', '.join(INSERT_COLUMN_NAMES)}) VALUES ("
    + ", ".join("zeroblob(?)" if name == "wire" else "?" for name in INSERT_COLUMN_NAMES)
    + ")"
)


def has_big_rows(rows: list[Row]) -> bool:
    """True when a row's wire bytes are long enough to be written into the row."""
    wire = _WIRE
    return any([len(row[wire]) >= BLOB_WRITE_BYTES for row in rows])


def insert_records(conn: sqlite3.Connection, rows: list[Row]) -> None:
    """Insert rows in order (inside the caller's transaction): as ``insert_rows`` does,
    but each row with long wire bytes as zeros that its bytes then overwrite through
    SQLite's blob I/O (the rows of a batch keep their order, so rowids follow seqs).

    A bound blob is copied by SQLite (``sqlite3`` binds it as transient), then copied
    again into the row's record, then into the pages: a relayed TCP stream's 256 KiB
    reads cost the commit thread three copies and fresh memory for two of them. Written
    into the row, the bytes are copied once, into pages that are already there. The
    stored row is the same."""
    if has_big_rows(rows):
        _insert_writing_blobs(conn, rows)
    else:
        insert_rows(conn, rows)


def _insert_writing_blobs(conn: sqlite3.Connection, rows: list[Row]) -> None:
    """:func:`insert_records` for rows of which some have long wire bytes."""
    wire = _WIRE
    start = 0
    for i, row in enumerate(rows):
        data = row[wire]
        if len(data) < BLOB_WRITE_BYTES:
            continue
        if start < i:
            insert_rows(conn, rows[start:i])
        rowid = conn.execute(_INSERT_ZEROS, (*row[:wire], len(data), *row[wire + 1 :])).lastrowid
        with conn.blobopen("records", "wire", rowid) as blob:
            blob.write(data)
        start = i + 1
    if start < len(rows):
        insert_rows(conn, rows[start:])


@dataclass(frozen=True, slots=True)
class Batch:
    """One transaction's worth: rows, new shared field texts, and the items they encode
    (encoded again, carefully, when SQLite refuses a value of the rows)."""

    session_id: int
    rows: list[Row]
    field_sets: list[tuple[int, str]]
    items: list[Record | MessageRun]


#: What :meth:`CommitThread.result` says while the batch is still being committed.
PENDING = object()


class CommitThread:
    """A thread that commits one :class:`Batch` at a time into ``path``."""

    def __init__(self, path: Path, *, autocheckpoint: bool) -> None:
        """Open the writing connection (raises ``sqlite3.Error``) and start the thread.

        ``autocheckpoint`` False turns SQLite's automatic checkpoint off on this
        connection (a checkpointer thread does it instead).
        """
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA synchronous = NORMAL")
            if not autocheckpoint:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
        except sqlite3.Error:
            conn.close()
            raise
        self._conn = conn
        self._wake = threading.Event()
        self._done = threading.Event()
        self._batch: Batch | None = None
        self._result: BaseException | None = None
        self._stopping = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"commit {path.name}", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True from :meth:`submit` until :meth:`result` has reported the batch."""
        return self._busy

    def submit(self, batch: Batch) -> None:
        """Start committing ``batch`` (only when not :attr:`busy`)."""
        if self._busy or self._stopping:
            raise RuntimeError("a batch is already being committed")
        self._busy = True
        self._batch = batch
        self._done.clear()
        self._wake.set()

    def result(self, *, wait: bool = False) -> object:
        """:data:`PENDING` while the batch is being committed (unless ``wait``), then
        None when it was committed or the exception that stopped it; reported once."""
        if not self._busy:
            return None
        if wait:
            self._done.wait()
        elif not self._done.is_set():
            return PENDING
        self._busy = False
        result, self._result = self._result, None
        return result

    def checkpoint_in_commits(self) -> None:
        """Let SQLite checkpoint inside this connection's commits again (the background
        checkpointer gave up); call only while not :attr:`busy`."""
        self._conn.execute("PRAGMA wal_autocheckpoint = 1000")

    def stop(self) -> None:
        """Wait for the batch in flight, end the thread and close the connection."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        """The thread: commit each batch it is given, until stopped."""
        while True:
            self._wake.wait()
            self._wake.clear()
            batch, self._batch = self._batch, None
            if batch is not None:
                try:
                    self._commit(batch)
                except BaseException as exc:  # reported to the store, which keeps the batch
                    self._result = exc
                self._done.set()
            if self._stopping:
                return

    def _commit(self, batch: Batch) -> None:
        """Insert the batch in one transaction; a value SQLite cannot bind makes it bind
        the batch again with every value made storable, as the store's own commit does
        (the new shared texts go in either way: later batches refer to them)."""
        try:
            try:
                self._insert(batch.rows, batch.field_sets)
            except (OverflowError, ValueError, TypeError):
                self._rollback()
                rows = encode_rows(batch.session_id, batch.items, careful=True)
                self._insert(rows, batch.field_sets)
        except BaseException:
            self._rollback()
            raise

    def _insert(self, rows: list[Row], field_sets: list[tuple[int, str]]) -> None:
        """Insert in one transaction: a batch that is one INSERT statement is its own
        (each call into ``sqlite3`` is one more time this thread waits for the GIL)."""
        conn = self._conn
        big = has_big_rows(rows)
        if not field_sets and len(rows) <= ROWS_PER_INSERT and not big:
            insert_rows(conn, rows)
            return
        conn.execute("BEGIN")
        if field_sets:
            conn.executemany("INSERT OR REPLACE INTO field_sets VALUES (?, ?)", field_sets)
        if big:
            _insert_writing_blobs(conn, rows)
        else:
            insert_rows(conn, rows)
        conn.execute("COMMIT")

    def _rollback(self) -> None:
        """End a failed transaction, if one is still open."""
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
