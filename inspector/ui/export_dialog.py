"""Export… and Save As…: the format dialog, and writing files off the GUI thread.

Exports run in a worker thread with its own read-only connection to the capture file
(SQLite connections belong to one thread); the GUI polls the worker's progress and
shows a cancellable QProgressDialog when the work takes over a second. Output is
written to a temporary file beside the target and renamed at the end, so a cancelled
or failed export leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressDialog,
    QVBoxLayout,
    QWidget,
)

from inspector.capture.formats import (
    ExportCancelled,
    export_har,
    export_jsonl,
    export_pcapng,
    records_of,
)
from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.records import Record

#: Format name → (exporter, file suffix, file dialog filter).
FORMATS: dict[str, tuple[Callable[..., int], str, str]] = {
    "pcapng": (export_pcapng, ".pcapng", "pcapng (Wireshark) (*.pcapng)"),
    "har": (export_har, ".har", "HAR 1.2 (*.har)"),
    "jsonl": (export_jsonl, ".jsonl", "JSON Lines (*.jsonl)"),
}
FORMAT_LABELS = {
    "pcapng": "pcapng (Wireshark)",
    "har": "HAR 1.2 (WebSocket)",
    "jsonl": "JSON Lines",
}
SECRETS_LABEL = "Include secrets (Authorization, cookies, tokens)"
SECRETS_NOTE = (
    "Unless included, secrets in headers, cookies and URLs are redacted in the exported file."
)
#: The progress dialog appears only for work that takes longer than this (ms).
PROGRESS_AFTER_MS = 1000
_POLL_MS = 50


@dataclass(frozen=True, slots=True)
class ExportChoice:
    """What the export dialog asked for."""

    fmt: str
    include_secrets: bool
    #: Only the records the filter shows (Wireshark's "displayed" packets).
    only_shown: bool = False


class ExportDialog(QDialog):
    """Format and secrets choice for Export…; secrets are left out unless ticked."""

    def __init__(
        self, scheme: str, parent: QWidget | None = None, shown: tuple[int, int] | None = None
    ) -> None:
        """``shown`` is (records shown, records in all) while the tab's filter is set."""
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setObjectName("exportDialog")
        self.format_box = QComboBox()
        self.format_box.setObjectName("exportFormat")
        for key, label in FORMAT_LABELS.items():
            if key == "har" and not scheme.startswith("ws"):
                continue
            self.format_box.addItem(label, key)
        self.secrets_box = QCheckBox(SECRETS_LABEL)
        self.secrets_box.setObjectName("includeSecrets")
        self.secrets_box.setChecked(False)
        self.shown_box = QCheckBox(
            f"Only the records shown by the filter ({shown[0]} of {shown[1]})"
            if shown is not None
            else "Only the records shown by the filter (no filter is set)"
        )
        self.shown_box.setObjectName("exportShownOnly")
        self.shown_box.setEnabled(shown is not None)
        note = QLabel(SECRETS_NOTE)
        note.setObjectName("secretsNote")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Format:", self.format_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.shown_box)
        layout.addWidget(self.secrets_box)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def choice(self) -> ExportChoice:
        return ExportChoice(
            str(self.format_box.currentData()),
            self.secrets_box.isChecked(),
            self.shown_box.isEnabled() and self.shown_box.isChecked(),
        )


class _Job:
    """Progress and cancellation shared between the GUI and a worker thread."""

    def __init__(self) -> None:
        self.done = 0
        self.cancelled = threading.Event()

    def progress(self, done: int) -> bool:
        self.done = done
        return not self.cancelled.is_set()


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")


def _write_atomically(target: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write to a temporary file beside ``target``, then rename; remove it on any failure."""
    temp = _temp_beside(target)
    try:
        with temp.open("wb") as handle:
            write(handle)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def export_source(
    store: Any, session: Any, only: frozenset[int] | None = None
) -> Callable[[], tuple[Any, Iterable[Record], Callable[[], None]]]:
    """How a worker thread gets (session, records, close) for a tab's store.

    A capture file is opened again, read-only, inside the thread; records kept in
    memory are copied now, on the GUI thread. ``only``: the sequence numbers to keep.
    """
    if isinstance(store, CaptureStore):
        if store.writable:
            store.sync()  # the reader below is another connection: everything committed
        path, session_id = store.path, store.session.id

        def opened() -> tuple[Any, Iterable[Record], Callable[[], None]]:
            reader = CaptureStore.open(path, session_id=session_id)
            return reader.session, _kept(records_of(reader), only), reader.close

        return opened
    records = list(_kept(store.records(0, store.count()), only))
    return lambda: (session, records, lambda: None)


def _kept(records: Iterable[Record], only: frozenset[int] | None) -> Iterable[Record]:
    return records if only is None else (r for r in records if r.seq in only)


def _export_in_thread(
    fmt: str,
    target: Path,
    source: Callable[[], tuple[Any, Iterable[Record], Callable[[], None]]],
    include_secrets: bool,
    job: _Job,
) -> int:
    exporter = FORMATS[fmt][0]
    session, records, close = source()
    result = 0
    try:

        def write(handle: BinaryIO) -> None:
            nonlocal result
            result = exporter(
                handle, session, records, include_secrets=include_secrets, progress=job.progress
            )

        _write_atomically(target, write)
    finally:
        close()
    return result


_gc_holds = 0


@contextlib.contextmanager
def _collector_on_gui_thread() -> Iterator[None]:
    """Keep the cycle collector off while a worker thread runs, then collect here.

    A collection triggered by the worker's allocations could reclaim Qt objects caught
    in reference cycles on that thread, and a QObject deleted off the GUI thread can
    crash the app; with the collector paused, only the GUI thread collects.
    """
    global _gc_holds
    held = _gc_holds > 0 or gc.isenabled()
    if held:
        _gc_holds += 1
        gc.disable()
    try:
        yield
    finally:
        if held:
            _gc_holds -= 1
            if _gc_holds == 0:
                gc.enable()
                gc.collect()


async def run_with_progress(
    label: str,
    total: int,
    work: Callable[[_Job], Any],
    parent: QWidget | None,
    on_dialog: Callable[[QProgressDialog], None] | None = None,
) -> Any:
    """Run ``work(job)`` in a thread; show a cancellable progress dialog after a second."""
    job = _Job()
    dialog = QProgressDialog(label, "Cancel", 0, max(total, 0), parent)  # 0, 0: busy
    dialog.setObjectName("exportProgress")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(PROGRESS_AFTER_MS)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(job.cancelled.set)
    timer = QTimer(dialog)
    timer.setInterval(_POLL_MS)

    def poll() -> None:
        if dialog.wasCanceled():
            job.cancelled.set()
        elif total > 0:
            dialog.setValue(min(job.done, total - 1))

    timer.timeout.connect(poll)
    timer.start()
    dialog.setValue(0)
    if on_dialog is not None:
        on_dialog(dialog)
    if dialog.wasCanceled():
        job.cancelled.set()
    try:
        with _collector_on_gui_thread():
            return await asyncio.get_running_loop().run_in_executor(None, work, job)
    finally:
        timer.stop()
        dialog.close()
        dialog.deleteLater()


async def export_file(
    fmt: str,
    target: Path,
    store: Any,
    session: Any,
    include_secrets: bool,
    parent: QWidget | None = None,
    on_dialog: Callable[[QProgressDialog], None] | None = None,
    only: frozenset[int] | None = None,
) -> int:
    """Export a tab's records (those in ``only``, when given) to ``target``;
    CaptureError (ExportCancelled) on failure."""
    source = export_source(store, session, only)
    total = store.count() if only is None else len(only)
    try:
        return int(
            await run_with_progress(
                f"Exporting {total} records to {target.name}…",
                total,
                lambda job: _export_in_thread(fmt, target, source, include_secrets, job),
                parent,
                on_dialog,
            )
        )
    except CaptureError:
        raise
    except OSError as exc:
        raise CaptureError(f"cannot write {target}: {exc.strerror or exc}") from None


def save_records(target: Path, session: Any, options: Any, records: Iterable[Record]) -> None:
    """Write records held in memory (an imported file) as a native capture at ``target``."""
    temp = _temp_beside(target)
    clock = SessionClock(started_wall_ns=int(getattr(session, "started_wall_ns", 0) or 0))
    store = CaptureStore.create(
        temp,
        endpoint=str(getattr(session, "endpoint", "") or ""),
        scheme=str(getattr(session, "scheme", "") or ""),
        options=options,
        clock=clock,
        overwrite=True,
    )
    try:
        for record in records:
            store.write(record)
        store.finish(
            str(getattr(session, "state", "closed")), dict(getattr(session, "summary", {}) or {})
        )
        store.close()
        if store.error:
            raise CaptureError(store.error)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


__all__ = [
    "FORMATS",
    "ExportCancelled",
    "ExportChoice",
    "ExportDialog",
    "export_file",
    "run_with_progress",
    "save_records",
]
