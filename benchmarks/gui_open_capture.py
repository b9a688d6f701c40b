"""Opening a capture of 1,000,000 records in the desktop app.

Builds the capture directly with the engine's Recorder and CaptureStore (no network:
64-byte text frames), then opens it in the real MainWindow (offscreen) through the
same call as File ▸ Open, and times: first rows painted, scrollToBottom with the last
row's data shown, and how many records the table model holds in memory afterwards.
``--capture FILE`` opens that capture instead (its first session), e.g. one that
``show_stats.py --keep DIR`` recorded: a Socket.IO session, decoded as it is shown.
Run:

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_open_capture.py [count]
        [--capture FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.ui.main_window import MainWindow
from inspector.ui.models.records import COL_PREVIEW
from inspector.ui.settings import Settings

SIZE = 64


def build(path: Path, count: int) -> float:
    """Write ``count`` frames (alternating out/in) to a new capture; return seconds."""
    start = time.perf_counter()
    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint="ws://127.0.0.1:8765/", scheme="ws", options=SessionOptions(), clock=clock
    )
    recorder = Recorder(store, clock=clock)
    payload = b"x" * SIZE
    wire = b"\x81" + bytes([SIZE]) + payload
    fields = {"opcode": "text", "fin": True, "payload_len": SIZE}
    out, into = Direction.OUT, Direction.IN
    for n in range(count):
        recorder.record(out if n % 2 else into, Kind.FRAME, n * 1000, wire, payload, fields)
        if n % 8192 == 8191:
            recorder.drain()
    recorder.drain()
    store.finish("closed", {})
    store.close()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--capture", metavar="FILE", help="open this capture instead")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    directory = Path(tempfile.mkdtemp(prefix="gui-open-"))
    path = directory / "million.sockcap"
    if args.capture:
        path, built = Path(args.capture), 0.0
        with CaptureStore.open(path) as store:
            args.count = store.count()
    else:
        built = build(path, args.count)
    size_mib = path.stat().st_size / 2**20

    settings = Settings(QSettings(str(directory / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, directory / "captures")
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    (tab,) = window.captures.open_path(path)
    tab.table.viewport().repaint()  # paints the visible rows now
    app.processEvents()
    first_rows = time.perf_counter() - start
    model = tab.model
    assert model is not None and model.rowCount() == args.count
    assert tab.table.indexAt(tab.table.viewport().rect().topLeft()).row() == 0

    start = time.perf_counter()
    tab.table.scrollToBottom()
    tab.table.viewport().repaint()
    app.processEvents()
    last = model.data(model.index(args.count - 1, 0), Qt.ItemDataRole.DisplayRole)
    preview = model.data(model.index(args.count - 1, COL_PREVIEW))
    to_bottom = time.perf_counter() - start
    assert last == str(args.count - 1)
    cached = len(model._cache)  # records held by the model
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"| records | {args.count:,} |")
    print(f"| capture file | {size_mib:.0f} MiB (built in {built:.1f} s) |")
    print(f"| open → first rows painted | {first_rows * 1000:.0f} ms |")
    print(f"| scrollToBottom → last row shown | {to_bottom * 1000:.0f} ms |")
    print(f"| records held by the table model | {cached:,} |")
    print(f"| decoder | {tab.view.decoding.chosen} (last row: {str(preview)[:60]}) |")
    print(f"| peak RSS before / after opening | {rss_before:.0f} / {rss_after:.0f} MiB |")
    shutil.rmtree(directory, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # the window and its open capture go with the process


if __name__ == "__main__":
    raise SystemExit(main())
