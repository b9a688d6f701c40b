"""The file side of a capture: creating, opening read-only and copying SQLite files.

Kept apart from the store's buffering and paging so each can be read on its own.
Every failure here is turned into a one-line CaptureError by the callers, using
:func:`reason` for the human part.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from inspector import __version__
from inspector.capture.schema import (
    APPLICATION,
    APPLICATION_ID,
    DDL,
    PAGE_SIZE,
    SCHEMA_VERSION,
    SQLITE_MAGIC,
    CaptureSession,
    Row,
    dump_json,
    insert_rows,
)
from inspector.core.errors import CaptureError

#: How long a connection waits for a lock held by another program (seconds).
BUSY_TIMEOUT = 2.0
#: State of a session whose writer has not finished it (or crashed before it could).
STATE_RUNNING = "running"

_REASONS = {
    "SQLITE_FULL": "disk full",
    "SQLITE_READONLY": "the file is read-only",
    "SQLITE_CANTOPEN": "the file cannot be opened",
    "SQLITE_NOTADB": "not an SQLite database",
    "SQLITE_CORRUPT": "the file is damaged",
    "SQLITE_BUSY": "the file is locked by another program",
}
_PRIVATE_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def reason(exc: BaseException) -> str:
    """A short human reason for an SQLite or OS error."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, text in _REASONS.items():
        if name.startswith(prefix):
            return text
    if name.startswith("SQLITE_IOERR"):
        return "I/O error"
    return str(exc) or type(exc).__name__


def unlink_quietly(path: Path) -> None:
    """Remove a file if it is there (cleanup: a failure here is not worth reporting)."""
    with suppress(OSError):
        path.unlink()


def sidecars(path: Path) -> list[Path]:
    """The WAL and shared-memory files SQLite keeps next to a database."""
    return [path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def make_private_file(path: Path, *, overwrite: bool) -> None:
    """Create an empty file readable by its owner only (captures hold secrets too).

    ``overwrite`` replaces a regular file only: a device, a pipe or a directory at
    ``path`` (``-o /dev/full``, run as root) is refused, never unlinked."""
    try:
        if overwrite:
            if path.exists() and not path.is_file():
                raise CaptureError(f"cannot create capture file {path}: not a regular file")
            unlink_quietly(path)
        if not path.exists():
            for sidecar in sidecars(path):  # a stale WAL must not be replayed into it
                unlink_quietly(sidecar)
        os.close(os.open(path, _PRIVATE_NEW_FILE, 0o600))
    except FileExistsError:
        raise CaptureError(f"capture file {path} already exists") from None
    except OSError as exc:
        raise CaptureError(f"cannot create capture file {path}: {reason(exc)}") from None


def initialise(
    conn: sqlite3.Connection, endpoint: str, scheme: str, started_wall_ns: int, options: str
) -> int:
    """Set up a new capture in an empty database with one session; return its id."""
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError("the file system does not support WAL mode")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("BEGIN")
    for statement in DDL:
        conn.execute(statement)
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [
            ("schema_version", str(SCHEMA_VERSION)),
            ("application", APPLICATION),
            ("app_version", __version__),
            ("created", created),
        ],
    )
    cursor = conn.execute(
        "INSERT INTO sessions (endpoint, scheme, started_wall_ns, state, options)"
        " VALUES (?, ?, ?, ?, ?)",
        (endpoint, scheme, started_wall_ns, STATE_RUNNING, options),
    )
    conn.execute("COMMIT")
    return int(cursor.lastrowid or 1)


def connect_readonly(path: Path, name: str) -> sqlite3.Connection:
    """A read-only connection to what claims to be an SQLite file, after cheap checks."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read below
            raise CaptureError(f"{name} is not a regular file")
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise CaptureError(f"cannot open {name}: {reason(exc)}") from None
    if not header:
        raise CaptureError(f"{name} is empty")
    if header != SQLITE_MAGIC:
        raise CaptureError(f"{name} is not a Socket Inspector capture")
    uri = path.absolute().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT)
    try:
        # Nothing in the file may run code: no views or triggers calling functions.
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA cell_size_check = ON")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def write_session_end(conn: sqlite3.Connection, session: CaptureSession) -> None:
    """Store a session's end time, state and summary."""
    conn.execute(
        "UPDATE sessions SET ended_wall_ns = ?, state = ?, summary = ? WHERE id = ?",
        (session.ended_wall_ns, session.state, dump_json(session.summary), session.id),
    )


def copy_capture(
    source: sqlite3.Connection, target: Path, rows: list[Row], session: CaptureSession
) -> None:
    """Write the database of ``source`` plus ``rows`` to ``target``, all or nothing.

    The copy is made beside the target with SQLite's backup API and renamed over it
    when complete, so a failure never leaves half a capture behind.
    """
    temp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    dest: sqlite3.Connection | None = None
    try:
        unlink_quietly(temp)
        for sidecar in sidecars(temp):
            unlink_quietly(sidecar)
        os.close(os.open(temp, _PRIVATE_NEW_FILE, 0o600))
        dest = sqlite3.connect(temp, isolation_level=None)
        source.backup(dest)
        dest.execute("BEGIN")
        insert_rows(dest, rows)
        write_session_end(dest, session)
        dest.execute("COMMIT")
        dest.execute("PRAGMA journal_mode = DELETE")
        dest.close()
        dest = None
        os.replace(temp, target)
    except (sqlite3.Error, OSError, MemoryError, ValueError, OverflowError) as exc:
        if dest is not None:
            dest.close()
        unlink_quietly(temp)
        raise CaptureError(f"cannot save capture to {target}: {reason(exc)}") from None
    finally:
        for sidecar in sidecars(temp):
            unlink_quietly(sidecar)
