"""CaptureStore: a session's records in an SQLite file, written live and read lazily.

Writing: the store is the Recorder's sink. ``write`` only appends to a buffer; the
buffer is committed in one transaction when ``commit_interval`` has passed or it is
large, and on ``flush``. WAL mode with synchronous=NORMAL makes each commit survive a
crash of the process, so a crash loses at most the last interval. If the file cannot
be written (disk full, I/O error), the store never raises into the session: it keeps
further records in memory, sets ``error``, and ``save_as`` writes everything elsewhere.

Reading pages straight from SQLite by (session_id, seq), plus the buffered records of
a live store, so a capture of a million records opens at once. Files opened with
``open`` are hostile input: every failure becomes a one-line CaptureError.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from inspector.capture.checkpoint import DEFERRED, EVERY_8_MIB, WalCheckpointer
from inspector.capture.files import (
    BUSY_TIMEOUT,
    STATE_RUNNING,
    connect_readonly,
    copy_capture,
    initialise,
    make_private_file,
    reason,
    sidecars,
    unlink_quietly,
    write_session_end,
)
from inspector.capture.payloads import Payload, payload_pages
from inspector.capture.schema import (
    FIELD_SET_REF,
    PAYLOAD_AT,
    PAYLOAD_IN_COLUMN,
    PAYLOAD_IS_WIRE,
    PAYLOAD_SQL,
    RECORD_COLUMNS,
    RUN_FRAMINGS,
    RUN_SQL,
    SESSION_COLUMNS,
    CaptureSession,
    FieldSetResolver,
    FieldSets,
    PayloadKind,
    Row,
    check_schema,
    decode_payload_kind,
    decode_rows,
    decode_run,
    decode_session,
    dump_json,
    encode_rows,
    insert_field_sets,
    load_json_object,
    row_end,
    row_payload_code,
    row_seq,
    run_framings,
)
from inspector.capture.search import make_predicate
from inspector.capture.totals import Totals, read_totals
from inspector.capture.writer import PENDING, Batch, CommitThread, insert_records
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.evenruns import Item, even_run
from inspector.core.options import stored_options
from inspector.core.recorder import RecordSink
from inspector.core.records import Direction, Kind, Record, make_record
from inspector.core.runs import MessageRun

#: What the store buffers: single records, and runs of framed messages (one row each).
Pending = Record | MessageRun

#: Seconds between commits while records arrive. A commit runs on the recording thread
#: unless the store has a commit thread: in a 400,000 frames/s flood 0.25 s made
#: commits of 6-11 ms of CPU, 0.1 s makes them 4-7 ms, for about a tenth more commit
#: time in all (BENCHMARKS.md).
COMMIT_INTERVAL = 0.1
#: Commit at once when this many records are buffered, whatever the interval.
BATCH_LIMIT = 4096
#: While the commit thread still writes the last batch, how many flushes in a row leave
#: the buffer growing instead of waiting for it (the Recorder flushes every 8 MiB: at
#: most about 40 MiB are buffered before the recording thread waits).
DEFER_FLUSHES = 4
#: Committed bytes (records' wire bytes) between two background WAL checkpoints of a
#: store that commits on its recording thread (one with a commit thread defers them:
#: ``capture.checkpoint.DEFERRED``).
CHECKPOINT_BYTES = EVERY_8_MIB.bound
#: More records than any viewer could list: a file claiming so many is damaged.
MAX_RECORDS = 2**31 - 1
#: Stored direction and kind texts and what they stand for (for :meth:`CaptureStore.pages`).
_DIRECTIONS: dict[str, Direction] = {member.value: member for member in Direction}
_KINDS: dict[str, Kind] = {member.value: member for member in Kind}


def _options_mapping(options: Any) -> Mapping[str, Any]:
    """Session options as a mapping (SessionOptions and other dataclasses accepted)."""
    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        return stored_options(dataclasses.asdict(options))
    return options if isinstance(options, Mapping) else {}


class CaptureStore(RecordSink):
    """One session of a capture file: a live sink while recording, a lazy reader after."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        session: CaptureSession,
        *,
        writable: bool,
        file_count: int,
        clock: SessionClock | None = None,
        commit_interval: float = COMMIT_INTERVAL,
    ) -> None:
        """Use :meth:`create` or :meth:`open`."""
        self._conn = conn
        self.path = path
        self._session = session
        self.writable = writable
        self._clock = clock
        self._file_count = file_count
        self._pending: list[Pending] = []
        self._pending_count = 0  # records in _pending (a run counts its messages)
        #: Run rows are valid in files of schema 3 on; an older file holding one is damaged.
        self._runs = True
        self._framings = RUN_FRAMINGS
        self._commit_interval = commit_interval
        self._batch_limit = BATCH_LIMIT if writable else 1 << 62
        self._commit_due = time.monotonic() + commit_interval if writable else float("inf")
        self._error: str | None = None
        self._closed = False
        #: Repeated fields written once per file (writing) and read back (reading).
        self._field_sets = FieldSets() if writable else None
        self._field_set_cache: dict[str, dict[str, Any]] = {}
        #: The records of the runs read last, by first seq: a viewer pages through a
        #: run (up to 64 Ki messages) a screenful at a time.
        self._run_cache: dict[int, list[Record]] = {}
        self._resolve: FieldSetResolver | None = self._field_set
        #: Stores of further sessions recorded into this file (see add_session), and,
        #: for such a store, the store that owns the file.
        self._children: list[CaptureStore] = []
        self._owner: CaptureStore | None = None
        #: Runs this file's WAL checkpoints off the committing thread (see checkpoint.py).
        self._checkpointer: WalCheckpointer | None = None
        #: The file's commit thread (see writer.py; the owner's, shared by every session
        #: of the file), the session store whose batch it is committing, and for this
        #: store what is in flight there: items at the head of _pending, their records,
        #: their wire bytes, and the shared field texts the batch inserts.
        self._writer: CommitThread | None = None
        self._committing: CaptureStore | None = None
        self._in_flight = (0, 0, 0)
        self._in_flight_sets: list[tuple[int, str]] = []
        self._deferred = 0  # flushes in a row left buffered while the thread was busy

    # -- creating and opening ---------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        endpoint: str,
        scheme: str,
        options: Mapping[str, Any] | Any,
        clock: SessionClock,
        commit_interval: float = COMMIT_INTERVAL,
        overwrite: bool = False,
        commit_thread: bool = False,
    ) -> CaptureStore:
        """Create a capture file (mode 0600) holding one new session, ready to record.

        ``commit_thread`` commits on a thread of its own (:mod:`capture.writer`), for
        every session of the file (:meth:`add_session`): for a recording thread with
        better things to do (the GUI's, a relay's or listener's loop). ``flush`` then
        hands the records over without waiting; ``finish``, ``close`` and ``save_as`` wait.
        """
        path = Path(path)
        make_private_file(path, overwrite=overwrite)
        conn: sqlite3.Connection | None = None
        started = clock.started_wall_ns
        options_json = dump_json(_options_mapping(options))
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
            session_id = initialise(conn, endpoint, scheme, started, options_json)
        except (sqlite3.Error, OSError, ValueError, OverflowError) as exc:
            if conn is not None:
                conn.close()
            for leftover in (path, *sidecars(path)):
                unlink_quietly(leftover)
            raise CaptureError(f"cannot create capture file {path}: {reason(exc)}") from None
        session = CaptureSession(
            session_id,
            endpoint,
            scheme,
            started,
            None,
            STATE_RUNNING,
            _as_stored(options_json),
            {},
        )
        store = cls(
            conn,
            path,
            session,
            writable=True,
            file_count=0,
            clock=clock,
            commit_interval=commit_interval,
        )
        store._start_checkpointer(deferred=commit_thread)
        if commit_thread:
            store._start_writer()
        return store

    def _start_checkpointer(self, *, deferred: bool) -> None:
        """Checkpoint the WAL on a thread of its own (SQLite's automatic checkpoint ran
        inside a commit, on the thread that records); without one, SQLite's stays on.
        ``deferred``: out of a stream's way, when the writer pauses (see checkpoint.py)."""
        try:
            checkpointer = WalCheckpointer(self.path, DEFERRED if deferred else EVERY_8_MIB)
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        except (RuntimeError, sqlite3.Error):
            return
        self._checkpointer = checkpointer

    def _start_writer(self) -> None:
        """Commit on a thread of its own; if its connection cannot be opened, here."""
        try:
            self._writer = CommitThread(self.path, autocheckpoint=self._checkpointer is None)
        except sqlite3.Error:
            self._writer = None

    def _stop_writer(self) -> None:
        """Commit what is buffered, then end the commit thread (closing the file)."""
        writer = self._writer
        if writer is not None:
            self._settle()
            self._writer = None
            writer.stop()

    @property
    def _file(self) -> CaptureStore:
        """The store that owns the file: this one, or the one this session was added to."""
        return self._owner or self

    def add_session(
        self,
        *,
        endpoint: str,
        scheme: str,
        options: Mapping[str, Any] | Any,
        clock: SessionClock,
        commit_interval: float | None = None,
    ) -> CaptureStore:
        """Add a new session to this file and return a store that records it (a
        listener's connections: one session each, in one file). The new store shares
        this store's file: closing it commits its records; closing this one closes all."""
        if not self.writable or self._closed or self._error is not None:
            raise CaptureError(f"capture file {self.path} cannot take another session")
        started = clock.started_wall_ns
        options_json = dump_json(_options_mapping(options))
        try:
            cursor = self._conn.execute(
                "INSERT INTO sessions (endpoint, scheme, started_wall_ns, state, options)"
                " VALUES (?, ?, ?, ?, ?)",
                (endpoint, scheme, started, STATE_RUNNING, options_json),
            )
        except (sqlite3.Error, ValueError, OverflowError) as exc:
            raise CaptureError(f"cannot add a session to {self.path}: {reason(exc)}") from None
        session = CaptureSession(
            int(cursor.lastrowid or 0), endpoint, scheme, started, None, STATE_RUNNING,
            _as_stored(options_json), {},
        )  # fmt: skip
        child = CaptureStore(
            self._conn,
            self.path,
            session,
            writable=True,
            file_count=0,
            clock=clock,
            commit_interval=self._commit_interval if commit_interval is None else commit_interval,
        )
        child._field_sets = self._field_sets  # one numbering of shared fields per file
        child._owner = self
        self._children = [c for c in self._children if not c._closed]
        self._children.append(child)
        return child

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, session_id: int | None = None) -> CaptureStore:
        """Open a capture read-only, checking it is one; the first session unless told."""
        path = Path(path)
        name = f"capture file {path}"
        conn: sqlite3.Connection | None = None
        try:
            conn = connect_readonly(path, name)
            version = check_schema(conn, name)
            sessions = _read_sessions(conn)
            if not sessions:
                raise CaptureError(f"{name} holds no session")
            if session_id is None:
                session = sessions[0]
            else:
                found = [s for s in sessions if s.id == session_id]
                if not found:
                    raise CaptureError(f"{name} has no session {session_id}")
                session = found[0]
            # Two queries of one B-tree descent each, where count(*) would read the
            # whole index. Holes are found as pages are read.
            (low,) = conn.execute(
                "SELECT min(seq) FROM records WHERE session_id = ?", (session.id,)
            ).fetchone()
            count = _checked_count(low, _last_seq(conn, session.id, version >= 3), name)
        except CaptureError:
            if conn is not None:
                conn.close()
            raise
        except (sqlite3.Error, OSError, ValueError, OverflowError, MemoryError) as exc:
            if conn is not None:
                conn.close()
            raise CaptureError(f"cannot read {name}: {reason(exc)}") from None
        store = cls(conn, path, session, writable=False, file_count=count)
        if version < 2:  # field sets came with schema 2: a reference is damage here
            store._resolve = None
        store._runs = version >= 3
        store._framings = run_framings(version)
        return store

    # -- state ------------------------------------------------------------------

    @property
    def session(self) -> CaptureSession:
        """The session this store reads or writes."""
        return self._session

    @property
    def error(self) -> str | None:
        """Why the file stopped being written (records are then kept in memory), or None."""
        self._collect()
        return self._error

    @property
    def committed(self) -> int:
        """How many records of the session are in the file (committed)."""
        return self._file_count

    @property
    def unsaved(self) -> int:
        """How many records exist only in memory (buffered, or kept after a write failure)."""
        return self._pending_count

    def sessions(self) -> list[CaptureSession]:
        """Every session held in the file, by id."""
        with self._reading():
            sessions = _read_sessions(self._conn)
        return [self._session if s.id == self._session.id else s for s in sessions]

    def refresh(self) -> int:
        """Re-read the session and its count from a file another program is writing.

        A read-only store shows the file as it was when opened; call this (on a timer,
        say) to follow a capture still being recorded. Returns the new count.
        """
        if self.writable:
            return self.count()
        with self._reading():
            high = _last_seq(self._conn, self._session.id, self._runs)
            found = [s for s in _read_sessions(self._conn) if s.id == self._session.id]
        if type(high) is int and self._file_count <= high < MAX_RECORDS:
            self._file_count = high + 1
        if found:
            self._session = found[0]
        return self._file_count

    # -- writing ----------------------------------------------------------------

    def write(self, record: Record) -> None:
        """Take one record (the Recorder's sink); commits when the interval or batch is due.

        Records must come numbered 0, 1, 2, ... in order, as the Recorder numbers them.
        """
        self._pending.append(record)
        self._pending_count += 1
        self._commit_if_due()

    def write_many(self, records: list[Record]) -> None:
        """Take several records in order at once (the Recorder's batch path)."""
        self._pending.extend(records)
        self._pending_count += len(records)
        self._commit_if_due()

    def write_run(self, run: MessageRun) -> None:
        """Take the framed messages of one read as one run (stored as one row; see core.runs)."""
        self._pending.append(run)
        self._pending_count += run.count
        self._commit_if_due()

    def _commit_if_due(self) -> None:
        """Commit when the batch is full or the interval has passed."""
        if len(self._pending) >= self._batch_limit or time.monotonic() >= self._commit_due:
            self._commit()

    def commit_if_due(self) -> None:
        """Commit if the interval has passed (and take in a finished threaded commit):
        an owner's timer calls this, so that records written just before a pause are
        committed within about an interval."""
        self._collect()
        if self._pending and not self._closed:
            self._commit_if_due()

    def flush(self) -> None:
        """Commit buffered records now (the Recorder asks every few MiB). With a commit
        thread: hand them to it without waiting, or leave them for the next commit while
        it is still busy with the last (``DEFER_FLUSHES`` times in a row, then wait)."""
        if not self._pending:
            return
        writer = self._file._writer
        if writer is not None and writer.busy:
            self._collect()
            if writer.busy:
                if self._deferred < DEFER_FLUSHES:
                    self._deferred += 1
                    return
                self._file._take_result(writer.result(wait=True))
        self._commit()

    def sync(self) -> None:
        """Commit everything buffered and wait until it is in the file, so that another
        connection (an export's reader on a worker thread) reads it all. ``flush`` does
        not wait for a commit thread."""
        if self.writable and not self._closed:
            self._settle()

    def _settle(self) -> None:
        """Commit everything buffered and wait until it is committed."""
        file = self._file
        writer = file._writer
        if writer is None:
            if self._pending:
                self._commit()
            return
        if writer.busy:
            file._take_result(writer.result(wait=True))
        self._hand_over()
        if writer.busy:
            file._take_result(writer.result(wait=True))

    def finish(self, state: str, summary: Mapping[str, Any]) -> None:
        """Record how the session ended: end time, final state, summary; then commit."""
        ended = self._clock.wall_ns(self._clock.now()) if self._clock else time.time_ns()
        self._session = dataclasses.replace(
            self._session,
            ended_wall_ns=ended,
            state=state,
            summary=_as_stored(dump_json(summary)),
        )
        if not self.writable or self._closed:
            return
        self._settle()
        if self._error is not None:
            return
        try:
            write_session_end(self._conn, self._session)
        except (sqlite3.Error, ValueError, OverflowError) as exc:
            self._fail(exc)

    def close(self) -> None:
        """Commit what is buffered and close the file (left as one self-contained file)."""
        if self._closed:
            return
        if self._owner is not None:  # a session added to another store's file
            self._settle()
            self._closed = True
            return
        for child in self._children:
            child.close()
        if self.writable:
            self._stop_writer()
            self.flush()
            if self._checkpointer is not None:
                self._checkpointer.stop()
            if self._error is None:
                try:
                    # Fold the WAL back into the file and leave rollback mode, so a
                    # finished capture is a single file readable from read-only media.
                    # Skipped (stays WAL) while another program has it open.
                    self._conn.execute("PRAGMA busy_timeout = 0")
                    self._conn.execute("PRAGMA journal_mode = DELETE")
                except sqlite3.Error:
                    pass
        self._closed = True
        self._conn.close()

    def __enter__(self) -> CaptureStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _commit(self) -> None:
        """Write the buffer in one transaction, or switch to memory if the file fails."""
        if self._file._writer is not None:
            self._hand_over()
            return
        batch = self._pending
        if self._error is not None or self._closed or not batch:
            return
        try:
            try:
                self._insert(encode_rows(self._session.id, batch, field_sets=self._field_sets))
            except (OverflowError, ValueError, TypeError):
                # A value SQLite cannot bind (an int beyond 64 bits, a lone surrogate):
                # bind the batch again with every value made storable.
                self._rollback()
                self._insert(encode_rows(self._session.id, batch, careful=True))
        except Exception as exc:  # never into the session: the file failed, keep records
            self._fail(exc)
            return
        self._file_count += self._pending_count
        self._pending = []
        self._pending_count = 0
        self._commit_due = time.monotonic() + self._commit_interval
        self._committed_bytes(sum([len(item.wire) for item in batch]))

    def _committed_bytes(self, size: int) -> None:
        """Tell the file's checkpointer of a commit of ``size`` wire bytes."""
        owner = self._owner or self  # a session of a listen or relay capture: the file's
        checkpointer = owner._checkpointer
        if checkpointer is None:
            return
        if checkpointer.failed:  # let SQLite checkpoint inside commits again
            owner._checkpointer = None
            writer = owner._writer
            with suppress(sqlite3.Error):
                owner._conn.execute("PRAGMA wal_autocheckpoint = 1000")
                if writer is not None:
                    writer.checkpoint_in_commits()
            return
        checkpointer.committed(size)

    def _hand_over(self) -> None:
        """Give the buffer to the file's commit thread, unless it is still busy with the
        last batch (this session's or another's: the buffer then waits for the next
        commit); the items stay in the buffer, where reads find them, until the commit
        is seen done."""
        file = self._file
        writer = file._writer
        assert writer is not None
        self._collect()
        if writer.busy or self._error is not None or self._closed or not self._pending:
            return
        items = list(self._pending)
        field_sets = self._field_sets
        try:
            rows = encode_rows(self._session.id, items, field_sets=field_sets)
        except Exception as exc:  # never into the session: keep the records
            self._fail(exc)
            return
        new: list[tuple[int, str]] = []
        if field_sets is not None:
            new, field_sets.new = field_sets.new, []
        writer.submit(Batch(self._session.id, rows, new, items))
        file._committing = self
        self._in_flight = (len(items), self._pending_count, sum([len(i.wire) for i in items]))
        self._in_flight_sets = new
        self._deferred = 0
        self._commit_due = time.monotonic() + self._commit_interval

    def _collect(self) -> None:
        """Take in the file's finished threaded commit, if there is one."""
        file = self._file
        writer = file._writer
        if writer is not None and writer.busy:
            result = writer.result()
            if result is not PENDING:
                file._take_result(result)
                file._hand_over_waiting()

    def _hand_over_waiting(self) -> None:
        """(On the file's store, its thread free.) Give the thread the first session's
        buffer that waited for it (a flush left buffered, or a commit due), so that a
        session with nothing more to write still reaches the file."""
        now = time.monotonic()
        for store in (self, *self._children):
            waited = store._deferred or now >= store._commit_due
            if waited and store._pending and not store._closed and store._error is None:
                store._hand_over()
                return

    def _take_result(self, result: object) -> None:
        """(On the file's store.) The batch in flight was committed (None), or failed
        (the exception): the session store it came from accounts for it."""
        store, self._committing = self._committing, None
        if store is not None:
            store._committed_batch(result)

    def _committed_batch(self, result: object) -> None:
        """This store's batch in flight was committed (None), or failed (the exception:
        its records stay in memory, its new shared field texts go with the next batch)."""
        items, count, size = self._in_flight
        self._in_flight = (0, 0, 0)
        sets, self._in_flight_sets = self._in_flight_sets, []
        if isinstance(result, BaseException):
            if sets and self._field_sets is not None:
                self._field_sets.new[:0] = sets
            if self._error is None:
                self._fail(result)
            return
        del self._pending[:items]
        self._pending_count -= count
        self._file_count += count
        self._committed_bytes(size)

    def _insert(self, rows: list[Row]) -> None:
        """Insert rows in one transaction."""
        conn = self._conn
        conn.execute("BEGIN")
        insert_field_sets(conn, self._field_sets)
        insert_records(conn, rows)
        conn.execute("COMMIT")
        if self._field_sets is not None:
            self._field_sets.new.clear()

    def _rollback(self) -> None:
        """End a failed transaction, if one is still open."""
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _fail(self, exc: BaseException) -> None:
        """Stop writing the file: records stay in memory from here on."""
        self._rollback()
        self._error = (
            f"capture file {self.path} could not be written: {reason(exc)}; "
            "records are kept in memory — use Save As"
        )
        self._batch_limit = 1 << 62
        self._commit_due = float("inf")

    # -- reading ----------------------------------------------------------------

    def _check_open(self) -> None:
        """Refuse to read a closed store with one clear line."""
        if self._closed:
            raise CaptureError(f"capture file {self.path} is closed")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn any failure to read the file into one CaptureError line."""
        self._check_open()
        try:
            yield
        except CaptureError:
            raise
        except (sqlite3.Error, OSError, ValueError, OverflowError, MemoryError) as exc:
            raise CaptureError(f"cannot read capture file {self.path}: {reason(exc)}") from None

    def count(self) -> int:
        """How many records the session has (committed and buffered)."""
        return self._file_count + self._pending_count

    def records(self, start: int, limit: int) -> list[Record]:
        """Up to ``limit`` records from seq ``start`` on, in order."""
        self._check_open()
        start = max(0, start)
        if limit <= 0:
            return []
        result: list[Record] = []
        if start < self._file_count:
            stop = min(self._file_count, start + limit)
            with self._reading():
                # From the row holding ``start`` (a run row may begin before it).
                rows = self._conn.execute(
                    f"SELECT {RECORD_COLUMNS} FROM records WHERE session_id = ? AND seq >="
                    " coalesce((SELECT max(seq) FROM records WHERE session_id = ? AND seq <= ?),"
                    " 0) AND seq < ? ORDER BY seq LIMIT ?",
                    (self._session.id, self._session.id, start, stop, stop - start),
                ).fetchall()
                expected = start
                for row in rows:
                    records = self._decoded(row)
                    first = records[0].seq
                    end = first + len(records)
                    # Only the first row may begin before ``start`` (a run holding it).
                    if first > expected or end <= expected or (result and first != expected):
                        raise self._missing(expected)
                    result.extend(records[expected - first : stop - first])
                    expected = end
                if expected < stop:
                    raise self._missing(expected)
        if len(result) < limit and self._pending:
            result.extend(self._pending_records(start + len(result), limit - len(result)))
        return result

    def pages(self, start: int = 0, page: int = BATCH_LIMIT) -> Iterator[list[Record]]:
        """Every record from seq ``start`` on, in lists of about ``page``: the bulk read
        of ``show`` and ``export``, the same records as :meth:`records` gives.

        Plain rows (one record, a known direction and kind, fields seen before in this
        read) are made here without the row checks :func:`decode_row` repeats per row;
        every other row goes through it, so damage reads as it does there."""
        return self._bulk(start, page, even=False)  # type: ignore[return-value]

    def items(self, start: int = 0, page: int = BATCH_LIMIT) -> Iterator[list[Item]]:
        """:meth:`pages`, but a run row whose messages all have one shape comes as one
        :class:`EvenRun` instead of its records (``show`` and ``export`` render such a
        run whole); its row is checked as :func:`decode_rows` checks it."""
        return self._bulk(start, page, even=True)

    def timeline(self, page: int = BATCH_LIMIT) -> Iterator[list[tuple[int, int, int]]]:
        """``(first seq, t_ns, records)`` of every stored row in order (a run row, whose
        records share one time, is one entry), in lists of about ``page``: what putting
        sessions side by side in time needs, read without any record's bytes. A gap in
        the numbering is a CaptureError, as :meth:`records` would say on reaching it."""
        self._check_open()
        expected = 0
        with self._reading():
            cursor = self._conn.execute(
                "SELECT seq, t_ns, payload_is_wire FROM records WHERE session_id = ? ORDER BY seq",
                (self._session.id,),
            )
            while expected < self._file_count:
                rows = cursor.fetchmany(page)
                if not rows:
                    break
                out: list[tuple[int, int, int]] = []
                for seq, t_ns, code in rows:
                    runs = self._runs and type(code) is int and code < PAYLOAD_IN_COLUMN
                    count = -code if runs else 1
                    if seq != expected or type(t_ns) is not int or count < 1:
                        raise self._missing(expected)
                    out.append((seq, t_ns, count))
                    expected += count
                yield out
        if expected < self._file_count:
            raise self._missing(expected)
        pending = [
            (item.seq, item.t_ns, item.count if type(item) is MessageRun else 1)
            for item in self._pending
        ]
        if pending:
            yield pending

    def _bulk(self, start: int, page: int, *, even: bool) -> Iterator[list[Item]]:
        """The pages of :meth:`pages` and :meth:`items`."""
        self._check_open()
        start = max(0, start)
        expected = start
        fields_of: dict[Any, Any] = {}  # stored fields text -> the shared fields mapping
        directions, kinds = _DIRECTIONS, _KINDS
        make = make_record
        while expected < self._file_count:
            stop = min(self._file_count, expected + page)
            with self._reading():
                rows = self._conn.execute(
                    f"SELECT {RECORD_COLUMNS} FROM records WHERE session_id = ? AND seq >="
                    " coalesce((SELECT max(seq) FROM records WHERE session_id = ? AND seq <= ?),"
                    " 0) AND seq < ? ORDER BY seq",
                    (self._session.id, self._session.id, expected, stop),
                ).fetchall()
                out: list[Item] = []
                append = out.append
                for row in rows:
                    seq, t_ns, dir_text, kind_text, wire, payload, same, fields_text = row
                    if even and type(same) is int and same < 0 and self._runs and seq == expected:
                        run = even_run(decode_run(row, self._resolve, self._framings))
                        if run is not None:
                            append(run)
                            expected = run.run.end
                            continue
                    fields = fields_of.get(fields_text)
                    if (
                        fields is not None
                        and seq == expected
                        and type(seq) is int
                        and type(t_ns) is int
                        and type(same) is int
                        and type(wire) is bytes
                        and 0 <= same <= len(wire) + PAYLOAD_AT
                        and (payload is None or type(payload) is bytes)
                        and dir_text in directions
                        and kind_text in kinds
                    ):
                        if same == PAYLOAD_IS_WIRE:
                            payload = wire
                        elif same:
                            payload = wire[same - PAYLOAD_AT :]
                        append(make(seq, t_ns, directions[dir_text], kinds[kind_text], wire,
                                    payload, fields))  # fmt: skip
                        expected += 1
                        continue
                    records = self._decoded(row)
                    first = records[0].seq
                    end = first + len(records)
                    if first > expected or end <= expected or (out and first != expected):
                        raise self._missing(expected)
                    out.extend(records[expected - first :])  # a run's whole tail
                    expected = end
                    if (
                        len(records) == 1
                        and type(fields_text) is str
                        and dir_text in directions
                        and kind_text in kinds
                        and len(fields_of) < BATCH_LIMIT
                    ):
                        fields_of[fields_text] = records[0].fields
                if expected < stop:
                    raise self._missing(expected)
            if out:
                yield out
        while expected < self.count():  # records still in memory (a live store)
            batch = self.records(expected, page)
            if not batch:
                return
            yield batch
            expected = batch[-1].seq + 1

    def payloads(self, start: int = 0, page: int = BATCH_LIMIT) -> Iterator[list[Payload | Record]]:
        """The application payloads from seq ``start`` on as (seq, t_ns, outbound,
        payload), handshake records whole, in pages: the narrow read of statistics
        (:mod:`inspector.capture.payloads`); records still in memory come whole."""
        self._check_open()
        start = max(0, start)
        if start < self._file_count:
            with self._reading():
                yield from payload_pages(self._conn, self._session.id, start, self._file_count,
                                         page, self._resolve, self._framings)  # fmt: skip
        expected = max(start, self._file_count)
        while expected < self.count():  # records still in memory (a live store)
            batch = self.records(expected, page)
            if not batch:
                return
            yield list(batch)
            expected = batch[-1].seq + 1

    def _pending_records(self, start: int, limit: int) -> list[Record]:
        """Up to ``limit`` buffered records from seq ``start`` on (runs made into records)."""
        pending = self._pending
        index = max(0, bisect.bisect_right(pending, start, key=_seq_of) - 1)
        out: list[Record] = []
        for item in pending[index:]:
            if type(item) is MessageRun:
                if item.end <= start:
                    continue
                out.extend(self._expanded(item.seq, item.records)[max(0, start - item.seq) :])
            elif item.seq >= start:
                out.append(item)
            if len(out) >= limit:
                break
        return out[:limit]

    def record(self, seq: int) -> Record:
        """The record numbered ``seq``; CaptureError if there is none."""
        self._check_open()
        pending = self._pending
        if pending and seq >= pending[0].seq:
            found = self._pending_records(seq, 1)
            if found and found[0].seq == seq:
                return found[0]
        else:
            with self._reading():
                row = self._conn.execute(
                    f"SELECT {RECORD_COLUMNS} FROM records WHERE session_id = ? AND seq <= ?"
                    " ORDER BY seq DESC LIMIT 1",
                    (self._session.id, seq),
                ).fetchone()
                first = None if row is None else row_seq(row)
                if type(first) is int and seq < row_end(row):
                    return self._decoded(row)[seq - first]
                if 0 <= seq < self._file_count:
                    raise self._missing(seq)
        raise CaptureError(f"capture file {self.path} has no record {seq}")

    def _decoded(self, row: tuple[Any, ...]) -> list[Record]:
        """The records of a row read from the file (a run's come from the cache)."""
        code = row_payload_code(row)
        if self._runs and type(code) is int and code < PAYLOAD_IN_COLUMN:  # PayloadKind.RUN
            return self._expanded(
                row_seq(row), lambda: decode_rows(row, self._resolve, True, self._framings)
            )
        return decode_rows(row, self._resolve, self._runs, self._framings)

    def _expanded(self, seq: int, make: Callable[[], list[Record]]) -> list[Record]:
        """The records of the run starting at ``seq``, made once while it stays cached."""
        cache = self._run_cache
        records = cache.get(seq)
        if records is None:
            records = make()
            if len(cache) >= 2:
                del cache[next(iter(cache))]
            cache[seq] = records
        return records

    def _field_set(self, ref: str) -> dict[str, Any]:
        """The fields a reference "=ID" stands for (read once per file and id)."""
        fields = self._field_set_cache.get(ref)
        if fields is not None:
            return fields
        number = ref[len(FIELD_SET_REF) :]
        if not (number.isascii() and number.isdigit()) or len(number) > 18:
            raise CaptureError(f"its field set reference {ref[:24]!r} is not a number")
        try:
            row = self._conn.execute(
                "SELECT fields FROM field_sets WHERE id = ?", (int(number),)
            ).fetchone()
        except sqlite3.Error as exc:
            raise CaptureError(f"its field set {number} cannot be read: {reason(exc)}") from None
        if row is None:
            raise CaptureError(f"its field set {number} is missing")
        (text,) = row
        fields = load_json_object(text, f"field set {number}")
        if len(self._field_set_cache) >= 4096:
            self._field_set_cache.clear()
        self._field_set_cache[ref] = fields
        return fields

    def _missing(self, seq: int) -> CaptureError:
        """The error for a hole in the numbering of a damaged file."""
        return CaptureError(f"capture file {self.path} is damaged: record {seq} is missing")

    def matching(
        self,
        directions: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        text: str | None = None,
        regex: str | None = None,
        case_sensitive: bool = False,
    ) -> list[int]:
        """Seqs of the records that pass every given filter, in order.

        ``directions`` and ``kinds`` take values or enum members (Direction.IN or "in");
        ``text`` and ``regex`` search the payload (the wire bytes when there is none)
        decoded as UTF-8 with errors replaced.
        """
        self._check_open()
        predicate = make_predicate(text, regex, case_sensitive)
        dir_values = {str(d) for d in directions} if directions is not None else None
        kind_values = {str(k) for k in kinds} if kinds is not None else None
        seqs: list[int] = []

        def take(records: Iterable[Record]) -> None:
            for record in records:
                data = record.payload if record.payload is not None else record.wire
                if predicate is None or predicate(bytes(data)):
                    seqs.append(record.seq)

        if self._file_count:
            where = "WHERE session_id = ? AND seq < ?"
            params: list[Any] = [self._session.id, self._file_count]
            for column, values in (("dir", dir_values), ("kind", kind_values)):
                if values is not None:
                    where += f" AND {column} IN ({', '.join('?' * len(values))})"
                    params.extend(sorted(values))
            single = "" if predicate is None else f" AND si_match({PAYLOAD_SQL})"
            if predicate is not None:
                self._conn.create_function("si_match", 1, predicate, deterministic=True)
            with self._reading():
                # Single records are matched in SQL; a run's messages in Python, run by run.
                run = RUN_SQL if self._runs else "0"
                cursor = self._conn.execute(
                    f"SELECT seq, 0 FROM records {where} AND NOT ({run}){single}"
                    f" UNION ALL SELECT seq, 1 FROM records {where} AND {run} ORDER BY seq",
                    params * 2,
                )
                for seq, is_run in cursor.fetchall():
                    if not is_run:
                        seqs.append(seq)
                        continue
                    row = self._conn.execute(
                        f"SELECT {RECORD_COLUMNS} FROM records WHERE session_id = ? AND seq = ?",
                        (self._session.id, seq),
                    ).fetchone()
                    take(decode_rows(row, self._resolve, True, self._framings))
        for item in self._pending:
            if dir_values is not None and item.direction.value not in dir_values:
                continue
            if kind_values is not None and item.kind.value not in kind_values:
                continue
            take(item.records() if type(item) is MessageRun else (item,))
        return seqs

    # -- saving elsewhere -------------------------------------------------------

    def totals_job(self) -> Callable[[], Totals]:
        """A call that sums this session's totals from the file on a connection of its
        own (:func:`capture.totals.read_totals`), for a worker thread."""
        return functools.partial(read_totals, self.path, self._session.id, runs=self._runs)

    def save_as(self, path: str | os.PathLike[str]) -> None:
        """Write the whole capture (file and memory) to a new file, replacing ``path``.

        Works while recording and after a write failure; the store keeps writing where
        it was. The new file appears complete or not at all (written aside, then renamed).
        """
        target = Path(path)
        try:
            if target.exists() and target.resolve() == self.path.resolve():
                raise CaptureError(f"cannot save capture over itself ({target})")
        except OSError as exc:
            raise CaptureError(f"cannot save capture to {target}: {reason(exc)}") from None
        self._check_open()
        self._settle()
        rows = encode_rows(self._session.id, self._pending, careful=True)
        copy_capture(self._conn, target, rows, self._session)


def _checked_count(low: Any, high: Any, name: str) -> int:
    """The record count implied by the lowest and highest seq, refusing absurd ones."""
    if low is None and high is None:
        return 0
    if type(low) is not int or type(high) is not int or low != 0:
        raise CaptureError(f"{name} is damaged: its records are not numbered from 0")
    if high >= MAX_RECORDS:
        raise CaptureError(f"{name} is damaged: it claims {high + 1} records")
    return high + 1


def _as_stored(text: str) -> dict[str, Any]:
    """A mapping as it reads back from the file (tuples as lists, enums as values)."""
    return load_json_object(text, "a value just written")


def _seq_of(item: Pending) -> int:
    """Sort key of the memory buffer (a run sorts by its first seq)."""
    return item.seq


def _last_seq(conn: sqlite3.Connection, session_id: int, runs: bool) -> Any:
    """The seq of the session's last record in the file (None when it has none); the
    last row is one B-tree descent, and a run row (schema 3) ends past its own seq."""
    row = conn.execute(
        "SELECT seq, payload_is_wire FROM records WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    seq, code = row
    if runs and type(seq) is int and type(code) is int:
        kind, count = decode_payload_kind(code)
        if kind is PayloadKind.RUN:
            return seq + count - 1
    return seq


def _read_sessions(conn: sqlite3.Connection) -> list[CaptureSession]:
    """Every session row, checked."""
    rows = conn.execute(f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY id").fetchall()
    return [decode_session(row) for row in rows]
