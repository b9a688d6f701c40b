"""A live capture's WAL is checkpointed by a thread of its own, not inside commits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from inspector.capture import CaptureStore
from inspector.capture.store import CHECKPOINT_BYTES
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind

#: How long the test waits for the checkpoint thread (a bound, not a measurement).
WAIT_S = 60.0


def _record_bytes(path: Path, total: int) -> tuple[CaptureStore, int]:
    """A store at ``path`` that has committed ``total`` bytes of 64 KiB records."""
    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint="tcp://127.0.0.1:9", scheme="tcp", options={}, clock=clock
    )
    recorder = Recorder(sink=store, clock=clock, consumed=False)
    count = total // 65536 + 1
    for seq in range(count):
        body = bytes([seq % 256]) * 65536
        recorder.record(Direction.IN, Kind.DATA, wire=body, payload=body)
        store.flush()
    return store, count


def _checkpoint_threads(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"checkpoint {path.name}"]


def test_wal_is_copied_into_the_file_while_recording(tmp_path: Path) -> None:
    """Past CHECKPOINT_BYTES the database file fills while the writer goes on (SQLite's
    own automatic checkpoint, which ran inside a commit, would wait for twice that)."""
    path = tmp_path / "big.sockcap"
    store, count = _record_bytes(path, CHECKPOINT_BYTES)
    deadline = time.monotonic() + WAIT_S
    while path.stat().st_size < CHECKPOINT_BYTES and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size >= CHECKPOINT_BYTES
    assert _checkpoint_threads(path)
    store.finish("closed", {})
    store.close()
    assert not _checkpoint_threads(path)
    assert not Path(f"{path}-wal").exists()  # folded back: one self-contained file
    with CaptureStore.open(path) as reader:
        assert reader.count() == count
        assert reader.record(count - 1).wire == bytes([(count - 1) % 256]) * 65536


def test_small_captures_are_not_checkpointed_before_close(tmp_path: Path) -> None:
    """Below CHECKPOINT_BYTES the commits stay in the WAL (a crash keeps whole commits)."""
    path = tmp_path / "small.sockcap"
    store, count = _record_bytes(path, CHECKPOINT_BYTES // 4)
    assert Path(f"{path}-wal").stat().st_size > CHECKPOINT_BYTES // 4
    assert path.stat().st_size < CHECKPOINT_BYTES // 4
    store.close()
    assert not _checkpoint_threads(path)
    with CaptureStore.open(path) as reader:
        assert reader.count() == count
