"""A file whose write system calls run on a thread of their own.

An export renders its text on the main thread; copying hundreds of megabytes into the
kernel's page cache is about as much work again, done in ``write(2)``, which releases
the GIL. :class:`ThreadedFile` gathers small writes into chunks of a few MiB (a write
of half a chunk or more goes as it is; a chunk's pieces go out in one ``writev``, never
copied together) and hands them to a writer thread through a
short queue, so the two overlap on two cores and the renderer waits only when the disk
falls behind by the whole queue. The writer also starts the kernel's writeback of what
it has written (every :data:`WRITEBACK` bytes), so the final ``fsync`` finds little
left to do.

A write error (disk full, I/O error) is kept and raised, as the ``OSError`` it was, by
the caller's next ``write``, ``flush`` or ``close``; the chunks still queued are dropped.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from contextlib import suppress

#: Bytes gathered before a chunk goes to the writer thread.
CHUNK = 4 << 20
#: Chunks waiting for the writer at most (the renderer blocks beyond that).
DEPTH = 4
#: Bytes written between two requests to start writing back to the disk.
WRITEBACK = 32 << 20

_STOP = None  # the queue's end marker
_writev = getattr(os, "writev", None)  # not on Windows


def _iov_max() -> int:
    """Buffers one ``writev`` takes at most (POSIX guarantees 16; Linux takes 1,024)."""
    with suppress(AttributeError, ValueError, OSError):
        value = os.sysconf("SC_IOV_MAX")
        if value > 0:
            return min(value, 1024)
    return 16


_IOV_MAX = _iov_max()


class ThreadedFile:
    """A binary file open for writing whose writes are done by a thread; see the module."""

    def __init__(self, fd: int, *, chunk: int = CHUNK, depth: int = DEPTH) -> None:
        self._fd = fd
        self._chunk = chunk
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=depth)
        self._error: OSError | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="file-writer", daemon=True)
        self._thread.start()

    def fileno(self) -> int:
        """The file descriptor (written by the thread: :meth:`flush` before using it)."""
        return self._fd

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue ``data`` (copied when it is not ``bytes``); return its length."""
        self._raise_error()
        if self._closed:
            raise ValueError("write to a closed file")
        chunk = data if type(data) is bytes else bytes(data)
        size = len(chunk)
        if size >= self._chunk // 2:  # big enough on its own
            self._hand_over()
            self._queue.put([chunk])
        elif size:
            self._pending.append(chunk)
            self._pending_size += size
            if self._pending_size >= self._chunk:
                self._hand_over()
        return size

    def flush(self) -> None:
        """Wait until every byte written so far is in the kernel's hands."""
        self._raise_error()
        self._hand_over()
        self._queue.join()
        self._raise_error()

    def close(self) -> None:
        """Write what is left, stop the thread and close the descriptor; raise a write error.

        After an error the queued chunks are dropped, not written; the descriptor is
        closed either way.
        """
        if self._closed:
            return
        try:
            if self._error is None:
                self._hand_over()
        finally:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            os.close(self._fd)
        self._raise_error()

    def __enter__(self) -> ThreadedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None:
            self.close()
        else:
            with suppress(OSError):  # the error in flight is the one to report
                self.close()

    def _hand_over(self) -> None:
        """Queue the gathered writes as one chunk (written with one ``writev``, not
        copied into one buffer first)."""
        if not self._pending:
            return
        pending = self._pending
        self._pending = []
        self._pending_size = 0
        self._queue.put(pending)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        """The writer thread: write each chunk whole, until the end marker."""
        since_writeback = 0
        offset = 0
        while True:
            chunk = self._queue.get()
            try:
                if chunk is _STOP:
                    return
                if self._error is not None:
                    continue  # a failed file: drop what is left
                try:
                    self._write_all(chunk)
                except OSError as exc:
                    self._error = exc
                    continue
                since_writeback += sum([len(piece) for piece in chunk])
                if since_writeback >= WRITEBACK:
                    _start_writeback(self._fd, offset, since_writeback)
                    offset += since_writeback
                    since_writeback = 0
            finally:
                self._queue.task_done()

    def _write_all(self, pieces: list[bytes]) -> None:
        """Write every piece, in order, however the kernel splits the writes."""
        fd = self._fd
        if _writev is None:
            for piece in pieces:
                view = memoryview(piece)
                while view:
                    view = view[os.write(fd, view) :]
            return
        views = [memoryview(piece) for piece in pieces]
        first = 0
        while first < len(views):
            done = _writev(fd, views[first : first + _IOV_MAX])
            if done <= 0:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            while done:
                size = len(views[first])
                if done < size:
                    views[first] = views[first][done:]
                    break
                done -= size
                first += 1


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range to the disk now, without waiting for it.

    Linux starts the writeback of dirty pages for ``POSIX_FADV_DONTNEED`` (and drops
    the pages already clean); elsewhere, or when refused, this does nothing.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with suppress(OSError):
            advise(fd, offset, length, os.POSIX_FADV_DONTNEED)
