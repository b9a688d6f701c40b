"""``inspector export FILE -o OUT``: one session as pcapng, HAR or JSON Lines.

The output is written beside OUT under a temporary name and renamed over it only when
complete, so an export that fails (disk full, no permission, bad input part way)
leaves no partial file. Records stream from the input a page at a time.
"""

from __future__ import annotations

import argparse
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import chain
from pathlib import Path
from typing import BinaryIO, TextIO, cast

from inspector.capture.formats import export_har, export_jsonl, export_pcapng
from inspector.capture.formats.common import session_scheme
from inspector.cli.args import format_for
from inspector.cli.filewriter import ThreadedFile
from inspector.cli.heap import keep_freed_memory
from inspector.cli.sources import StoreRecords, open_input
from inspector.core.errors import CaptureError, UsageError
from inspector.core.evenruns import Item

EXPORTERS = {"pcapng": export_pcapng, "har": export_har, "jsonl": export_jsonl}

REDACTED_NOTE = (
    "inspector export: secrets redacted (Authorization, Cookie, …); --include-secrets keeps them"
)

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


class ProgressLine:
    """A progress line on a terminal's stderr, shown only once an export passes a second.

    Redrawn in place at most ten times a second; nothing at all when the stream is not
    a terminal (a log file or a pipe gets no carriage-return noise).
    """

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        delay: float = 1.0,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last = float("-inf")
        self.shown = False
        self.enabled = _is_tty(stream)

    def __call__(self, done: int) -> bool:
        """Report ``done`` records; always go on (the exporters' progress contract)."""
        if not self.enabled:
            return True
        now = self.clock()
        if now - self.started < self.delay or now - self.last < self.interval:
            return True
        self.last = now
        percent = f" ({100 * done // self.total}%)" if self.total else ""
        with suppress(OSError, ValueError):
            self.stream.write(f"\rinspector export: {done:,} of {self.total:,} records{percent}")
            self.stream.flush()
            self.shown = True
        return True

    def finish(self) -> None:
        """Erase the line, so what follows starts on a clean line."""
        if self.shown:
            with suppress(OSError, ValueError):
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            self.shown = False


def _is_tty(stream: TextIO) -> bool:
    """True when ``stream`` is a terminal (progress is shown only there)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _cannot_write(target: Path, exc: OSError) -> CaptureError:
    return CaptureError(f"cannot write {target}: {exc.strerror or exc}")


@contextmanager
def atomic_output(target: Path, *, private: bool) -> Iterator[BinaryIO]:
    """A binary file that becomes ``target`` when the block ends without error.

    Written as a hidden temporary file in the same directory (so the rename is atomic)
    by a writer thread while the caller renders (:class:`ThreadedFile`), synced, then
    renamed; removed on any failure. ``private`` makes it mode 0600 (an
    export with secrets in it). A target that exists and is not a regular file (a
    terminal, a pipe, /dev/null) is written in place: renaming over it would replace
    the device or pipe with a file.
    """
    if _is_special(target):
        with _special_output(target) as out:
            yield out
        return
    temp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with suppress(OSError):
        temp.unlink()
    try:
        fd = os.open(temp, _NEW_FILE, 0o600 if private else 0o666)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    done = False
    try:
        with ThreadedFile(fd) as out:
            yield cast(BinaryIO, out)
            out.flush()
            os.fsync(fd)
        os.replace(temp, target)
        done = True
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    finally:
        if not done:
            with suppress(OSError):
                temp.unlink()


def _is_special(target: Path) -> bool:
    """True when ``target`` exists and is not a regular file (nor a directory)."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextmanager
def _special_output(target: Path) -> Iterator[BinaryIO]:
    """``target`` (a device or a pipe) opened for writing, written by a thread."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    try:
        with ThreadedFile(fd) as out:
            yield cast(BinaryIO, out)
            out.flush()
    except OSError as exc:
        raise _cannot_write(target, exc) from None


def _check_target(target: Path, source: Path) -> None:
    """Refuse an output that is a directory or the input itself, before any work."""
    try:
        if target.is_dir():
            raise CaptureError(f"cannot write {target}: it is a directory")
        if target.exists() and target.samefile(source):
            raise CaptureError(f"cannot write {target}: it is the input file")
    except OSError as exc:
        raise _cannot_write(target, exc) from None


def run_export(args: argparse.Namespace, stdout: TextIO | None, stderr: TextIO) -> int:
    """Run ``inspector export`` for parsed arguments; return the exit status."""
    del stdout  # nothing is printed but errors and the redaction note
    fmt = args.format or format_for(args.output)
    if fmt is None:
        raise UsageError(
            f"--format is needed: the name {args.output!r} does not end in .pcapng, .har or .jsonl"
        )
    target, source_path = Path(args.output), Path(args.file)
    source = open_input(source_path)
    try:
        entries = source.select(args.session)
    except CaptureError as exc:
        raise UsageError(str(exc)) from None
    if len(entries) > 1:
        numbers = ", ".join(str(entry.number) for entry in entries[:20])
        raise UsageError(
            f"{source_path} holds {len(entries)} sessions: choose one with --session N "
            f"({numbers}{', …' if len(entries) > 20 else ''})"
        )
    entry = entries[0]
    if fmt == "har" and session_scheme(entry.session) not in ("ws", "wss"):
        raise CaptureError(
            f"HAR holds only WebSocket sessions, not {session_scheme(entry.session)}://: "
            "export it as pcapng or JSON Lines"
        )
    _check_target(target, source_path)
    exporter = EXPORTERS[fmt]
    keep_freed_memory()
    with entry.open() as records:
        # Runs of equal messages go to the exporters that write them whole.
        items: Iterator[Item] = (
            chain.from_iterable(records.items())
            if isinstance(records, StoreRecords) and fmt in ("jsonl", "pcapng")
            else iter(records)
        )
        progress = ProgressLine(stderr, records.count() if _is_tty(stderr) else 0)
        try:
            with atomic_output(target, private=args.include_secrets) as out:
                exporter(
                    out,
                    entry.session,
                    items,
                    include_secrets=args.include_secrets,
                    progress=progress,
                )
        finally:
            progress.finish()
    if not args.include_secrets:
        stderr.write(REDACTED_NOTE + "\n")
    return 0
