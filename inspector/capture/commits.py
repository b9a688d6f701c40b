"""CommitThread: a live capture's commits, run behind the thread that records.

A commit writes every byte it holds into the WAL file: for a relay forwarding a TCP
stream that is as many bytes as it forwards, and the ``write`` calls inside SQLite's
COMMIT were half of the relay's CPU on the event loop, time in which it forwarded
nothing. A store given a CommitThread (``CaptureStore.create(..., background=True)``)
encodes each batch on the recording thread and hands the INSERTs and the COMMIT to this
thread; the sqlite3 module releases the GIL while SQLite works, so the loop goes on
reading and forwarding meanwhile.

One commit is under way at a time. The store waits for it (:meth:`wait`) before it
touches its connection again for anything (the next commit, a read, a new session,
closing), so the connection is never used from two threads at once; until then the
batch stays in the store's buffer, where readers find it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: Seconds :meth:`CommitThread.stop` waits for the thread to end.
STOP_TIMEOUT = 30.0


class CommitThread:
    """Runs one file's commits, one at a time, on a thread of its own."""

    def __init__(self, name: str) -> None:
        self._wake = threading.Condition()
        self._job: Callable[[], None] | None = None
        self._busy = False
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"commits {name}", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while a commit is under way or waiting to start."""
        return self._busy

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` (one commit) on the thread; the previous one must have been waited for."""
        with self._wake:
            assert not self._busy, "wait() for the last commit first"
            self._job = job
            self._busy = True
            self._error = None
            self._wake.notify_all()

    def wait(self) -> BaseException | None:
        """Block until the commit under way (if any) is done; what it raised, or None."""
        with self._wake:
            while self._busy:
                self._wake.wait()
            error, self._error = self._error, None
            return error

    def stop(self) -> None:
        """Finish the commit under way and end the thread; idempotent."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._job is None and not self._stopping:
                    self._wake.wait()
                job, self._job = self._job, None
                if job is None:
                    return
            error: BaseException | None = None
            try:
                job()
            except BaseException as exc:  # handed to the store, which decides
                error = exc
            with self._wake:
                self._error = error
                self._busy = False
                self._wake.notify_all()
