"""WalCheckpointer: a live capture's WAL checkpoints, run on a thread of their own.

SQLite checkpoints a WAL file on the connection that commits, inside the commit that
crosses ``wal_autocheckpoint``: copying 16 MB into the database file and syncing it
took 80-400 ms on a loaded machine, and the committing connection runs on the GUI
thread (qasync), where it froze the window. A writing store turns automatic
checkpoints off and nudges this thread instead; the thread runs PASSIVE checkpoints
through its own connection, which never block the writer (SQLite's WAL allows one
writer and any number of readers and checkpointers at once, across connections), and
the sqlite3 module releases the GIL while SQLite works.

The contract is small: :meth:`nudge` after a commit (never blocks), :meth:`stop` before
the writer closes the file (interrupts a checkpoint under way, joins the thread and
closes its connection). If the thread cannot open the file or a checkpoint fails, it
says so in :attr:`failed` and ends; the store then lets SQLite checkpoint as before.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import suppress
from pathlib import Path

#: Seconds :meth:`WalCheckpointer.stop` waits for the thread to end.
STOP_TIMEOUT = 5.0


class WalCheckpointer:
    """Checkpoints one capture file's WAL in the background when nudged."""

    def __init__(self, path: Path) -> None:
        """Start the thread (it opens its own connection to ``path``)."""
        self.path = path
        self._wake = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()  # guards _conn against interrupt() after close
        self._conn: sqlite3.Connection | None = None
        self._failed = False
        self.checkpoints = 0
        self._thread = threading.Thread(
            target=self._run, name=f"checkpoint {path.name}", daemon=True
        )
        self._thread.start()

    @property
    def failed(self) -> bool:
        """True once the thread has given up (the writer should checkpoint itself)."""
        return self._failed

    def nudge(self) -> None:
        """Ask for a checkpoint soon (returns at once; nudges while one runs coalesce)."""
        self._wake.set()

    def stop(self) -> None:
        """Interrupt any checkpoint under way and end the thread; idempotent."""
        self._stopping = True
        with self._lock:
            if self._conn is not None:
                with suppress(sqlite3.Error):
                    self._conn.interrupt()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        """The thread: wait for a nudge, checkpoint what the WAL holds, repeat."""
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            self._failed = True
            return
        with self._lock:
            self._conn = conn
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    break
                # PASSIVE: copy what no reader still needs, never wait for a lock.
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.checkpoints += 1
        except sqlite3.Error:
            if not self._stopping:
                self._failed = True
        finally:
            with self._lock:
                self._conn = None
                conn.close()
