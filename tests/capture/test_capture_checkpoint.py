"""WAL checkpoints run on the checkpointer's thread: commits never copy the WAL themselves,
and a reader sees every commit meanwhile."""

from __future__ import annotations

import os
import sqlite3
import time

from inspector.capture import CaptureStore
from inspector.capture.store import CHECKPOINT_BYTES
from inspector.core.records import Direction, Kind

WAIT = 10.0  # seconds any single wait may take before the test fails


def _wait_for(condition: object) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the checkpointer did not run"
        time.sleep(0.005)


def test_commits_leave_checkpoints_to_the_thread_and_the_wal_stays_short(new_store) -> None:
    store, recorder = new_store(commit_interval=3600)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    (autocheckpoint,) = store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()
    assert autocheckpoint == 0
    chunk = os.urandom(1 << 20)
    wal = store.path.with_name(store.path.name + "-wal")
    per_checkpoint = CHECKPOINT_BYTES // len(chunk)
    for i in range(24):  # 24 MiB: SQLite's own threshold (1000 pages) would pass
        recorder.record(Direction.IN, Kind.DATA, wire=chunk, payload=chunk)
        before = checkpointer.checkpoints
        store.flush()
        if (i + 1) % per_checkpoint == 0:  # the commit that crossed CHECKPOINT_BYTES
            _wait_for(lambda before=before: checkpointer.checkpoints > before)
        # The WAL starts over once copied: never much more than one checkpoint's worth.
        assert wal.stat().st_size <= CHECKPOINT_BYTES + 2 * len(chunk)
    assert checkpointer.checkpoints >= 24 // per_checkpoint
    store.finish("closed", {})
    store.close()
    assert not wal.exists()  # folded back into one file
    reopened = CaptureStore.open(store.path)
    try:
        assert reopened.count() == 24
        assert reopened.record(23).wire == chunk
    finally:
        reopened.close()


def test_a_reader_sees_every_commit_while_the_thread_checkpoints(new_store) -> None:
    store, recorder = new_store(commit_interval=3600)
    reader = sqlite3.connect(store.path)
    try:
        for i in range(50):
            recorder.record(Direction.OUT, Kind.DATA, wire=b"%d" % i, payload=b"%d" % i)
            store.flush()
            (count,) = reader.execute("SELECT COUNT(*) FROM records").fetchone()
            assert count == i + 1
    finally:
        reader.close()
