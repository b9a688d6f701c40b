"""WAL checkpoints off the writer's thread, so a live capture's commits never wait for fsync.

SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past its
threshold: it copies the WAL's pages into the database and syncs both files, on the
thread that committed — for a live capture the event loop, which meanwhile neither
reads nor forwards (a relay streaming 128 MiB spent about half its time there). A
:class:`Checkpointer` turns the automatic checkpoint off on the writer's connection and
runs a PASSIVE checkpoint from its own connection on a daemon thread after each commit
(``sqlite3`` lets other Python threads run while SQLite works). A passive checkpoint
never blocks the writer or a reader; once everything is copied the writer starts the
WAL over, so it stays about a commit or two long. Durability is as before: a commit
is in the WAL (synchronous=NORMAL) whether or not it has been copied yet.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from inspector.capture.files import BUSY_TIMEOUT


class Checkpointer:
    """Checkpoints one capture file's WAL on a thread of its own, when poked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.checkpoints = 0  # how many ran (the tests look)
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"checkpoint {path.name}", daemon=True
        )

    def start(self, writer: sqlite3.Connection) -> None:
        """Take the checkpoints over from ``writer``'s connection."""
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        self._thread.start()

    def poke(self) -> None:
        """A commit went in: copy it over soon."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the checkpoint under way and close the thread's connection."""
        if not self._thread.is_alive():
            return
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT)
        except sqlite3.Error:
            return  # the writer's own close still folds the WAL in
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    continue  # busy or failing: the next commit tries again
                self.checkpoints += 1
        finally:
            conn.close()
