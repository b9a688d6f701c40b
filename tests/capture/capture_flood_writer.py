"""Helper process for the crash test: floods a capture and reports each commit.

Usage: python capture_flood_writer.py PATH MAX_RECORDS [thread]. Records a bounded flood
through Recorder -> CaptureStore (commit_interval 0.1 s; with ``thread``, on a commit
thread, whose WAL checkpoints wait for the writer to pause) and prints "committed N"
after each commit, so the test knows what must survive a SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind


def body(seq: int) -> bytes:
    """The bytes record ``seq`` carries (the test checks them)."""
    return b"record %08d " % seq + bytes([seq % 256]) * (seq % 97)


def main() -> None:
    """Write until killed or MAX_RECORDS are written."""
    path, limit = Path(sys.argv[1]), int(sys.argv[2])
    threaded = sys.argv[3:] == ["thread"]
    clock = SessionClock()
    store = CaptureStore.create(
        path,
        endpoint="tcp://127.0.0.1:9",
        scheme="tcp",
        options={},
        clock=clock,
        commit_interval=0.1,
        commit_thread=threaded,
    )
    recorder = Recorder(sink=store, clock=clock, consumed=False)
    reported = 0
    for seq in range(limit):
        data = body(seq)
        recorder.record(
            Direction.IN if seq % 2 else Direction.OUT,
            Kind.DATA,
            wire=data,
            payload=data,
            fields={"n": seq} if seq % 5 == 0 else None,
        )
        if store.committed != reported:
            reported = store.committed
            print(f"committed {reported}", flush=True)
    store.finish("closed", {})
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
