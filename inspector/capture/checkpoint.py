"""WalCheckpointer: a live capture's WAL checkpoints, run on a thread of their own.

SQLite checkpoints a WAL file on the connection that commits, inside the commit that
crosses ``wal_autocheckpoint``: copying 16 MB into the database file and syncing it
took 80-400 ms on a loaded machine, and the committing connection runs on the GUI
thread (qasync), where it froze the window. A writing store turns automatic
checkpoints off and tells this thread of each commit instead; the thread runs PASSIVE
checkpoints through its own connection, which never block the writer (SQLite's WAL
allows one writer and any number of readers and checkpointers at once, across
connections), and the sqlite3 module releases the GIL while SQLite works.

When it checkpoints is a :class:`CheckpointPolicy`. A checkpoint reads every byte of
the WAL back and writes it into the file again: for a relay streaming 128 MiB into its
capture that was a fifth of its CPU, spent while the stream ran. So a capture committed
on a commit thread (:data:`DEFERRED`: the window's, a relay's) leaves the WAL growing
while records flow and checkpoints once the writer has been idle a moment, or the WAL
holds a bound's worth, or its oldest uncopied commit has waited a few seconds; the
copy then costs the same, after the burst instead of during it. Committed records
are in the WAL either way: a reader sees them and a crash keeps them.

The contract is small: :meth:`committed` after each commit (never blocks), :meth:`stop`
before the writer closes the file (interrupts a checkpoint under way, joins the thread
and closes its connection). If the thread cannot open the file or a checkpoint fails, it
says so in :attr:`failed` and ends; the store then lets SQLite checkpoint as before.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

#: Seconds :meth:`WalCheckpointer.stop` waits for the thread to end.
STOP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """When to checkpoint: after ``bound`` committed wire bytes, and (when set) once no
    commit came for ``idle`` seconds or the first uncopied commit is ``age`` seconds old."""

    bound: int
    idle: float | None = None
    age: float | None = None


#: A checkpoint after every 8 MiB committed: half of what SQLite's own
#: ``wal_autocheckpoint`` (1000 pages of 16 KiB) lets a WAL grow to.
EVERY_8_MIB = CheckpointPolicy(bound=8 << 20)
#: Out of a burst's way: once the writer has paused for a quarter of a second, else
#: after 256 MiB (the WAL cannot grow without limit) or 5 s (a steady trickle of
#: records still reaches the file, and closing has little left to fold back).
DEFERRED = CheckpointPolicy(bound=256 << 20, idle=0.25, age=5.0)


class WalCheckpointer:
    """Checkpoints one capture file's WAL in the background, as its policy says."""

    def __init__(self, path: Path, policy: CheckpointPolicy = EVERY_8_MIB) -> None:
        """Start the thread (it opens its own connection to ``path``)."""
        self.path = path
        self.policy = policy
        self._wake = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()  # guards _conn against interrupt() after close
        self._conn: sqlite3.Connection | None = None
        self._failed = False
        self.checkpoints = 0
        #: What is committed and not yet copied (guarded by _state): its wire bytes
        #: towards the bound, whether there is any, when its first and last commit came,
        #: and whether the bound asked for a checkpoint now.
        self._state = threading.Lock()
        self._bytes = 0
        self._dirty = False
        self._first = 0.0
        self._last = 0.0
        self._now = False
        self._thread = threading.Thread(
            target=self._run, name=f"checkpoint {path.name}", daemon=True
        )
        self._thread.start()

    @property
    def failed(self) -> bool:
        """True once the thread has given up (the writer should checkpoint itself)."""
        return self._failed

    def committed(self, size: int) -> None:
        """A commit of ``size`` wire bytes went into the WAL (returns at once)."""
        policy = self.policy
        with self._state:
            now = time.monotonic()
            first = not self._dirty
            if first:
                self._first = now
            self._dirty = True
            self._last = now
            self._bytes += size
            if self._bytes >= policy.bound:
                self._bytes = 0
                self._now = True
            elif not first or (policy.idle is None and policy.age is None):
                return
        self._wake.set()

    def _due(self) -> float | None:
        """Seconds until the next checkpoint is due (0: now), None while none is."""
        policy = self.policy
        with self._state:
            if self._now:
                return 0.0
            if not self._dirty:
                return None
            deadlines = []
            if policy.idle is not None:
                deadlines.append(self._last + policy.idle)
            if policy.age is not None:
                deadlines.append(self._first + policy.age)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _start(self) -> None:
        """A checkpoint starts: what is committed from here on waits for the next."""
        with self._state:
            self._now = False
            self._dirty = False
            if self.policy.idle is not None or self.policy.age is not None:
                self._bytes = 0

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
        """The thread: wait until a checkpoint is due, checkpoint what the WAL holds, repeat."""
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            self._failed = True
            return
        with self._lock:
            self._conn = conn
        try:
            while True:
                due = self._due()
                if due is None or due > 0:
                    self._wake.wait(due)
                    self._wake.clear()
                    if self._stopping:
                        break
                    continue
                if self._stopping:
                    break
                self._start()
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
