"""Helper process for the real full-disk test: the OS refuses to let files grow.

Usage: python file_size_limit_child.py CAPTURE RESCUE. Records 100 records, then lowers
RLIMIT_FSIZE so no file of this process may grow by more than a few KiB (a write past
it fails with EFBIG, as a full disk fails with ENOSPC), records 2,000 more, raises the
limit again (the person freed space or picked another disk), saves the capture to
RESCUE with Save As, and prints one JSON line describing what happened.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from pathlib import Path

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind


def body(seq: int) -> bytes:
    """The bytes of record ``seq`` (the test checks them)."""
    return b"record %06d " % seq + bytes([seq % 256]) * 1000


def main() -> None:
    path, rescue = Path(sys.argv[1]), Path(sys.argv[2])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint="tcp://127.0.0.1:9", scheme="tcp", options={}, clock=clock
    )
    recorder = Recorder(sink=store, clock=clock, consumed=False)
    for seq in range(100):
        recorder.record(Direction.IN, Kind.DATA, wire=body(seq), payload=body(seq))
    store.flush()
    before = store.committed
    wal = path.with_name(path.name + "-wal")
    largest = max(path.stat().st_size, wal.stat().st_size if wal.exists() else 0)
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 8192, hard))
    for seq in range(100, 2100):
        recorder.record(Direction.IN, Kind.DATA, wire=body(seq), payload=body(seq))
    store.flush()
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    report = {
        "committed_before": before,
        "committed": store.committed,
        "unsaved": store.unsaved,
        "count": store.count(),
        "error": store.error,
        "last": store.record(2099).wire == body(2099),
    }
    store.finish("closed", {})
    store.save_as(rescue)
    store.close()
    report["rescue_size"] = os.path.getsize(rescue)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
