"""A capture committed on a commit thread defers its WAL checkpoints while records flow:
every commit stays readable meanwhile, and the WAL is copied into the file once the
writer is idle, when it holds the bound's worth, when its oldest commit is old enough,
and at close."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from inspector.capture import CaptureStore
from inspector.capture import store as store_module
from inspector.capture.checkpoint import DEFERRED, EVERY_8_MIB, CheckpointPolicy
from inspector.core.records import Direction, Kind

WAIT_S = 30.0  # bound on any one wait for the checkpoint or commit thread
MIB = 1 << 20


def wait_for(done: Callable[[], bool], store: CaptureStore) -> None:
    """Let the store take in finished commits (as the window's timer does) until done."""
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, "the checkpoint did not come in time"
        store.commit_if_due()
        threading.Event().wait(0.002)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _policy(monkeypatch: pytest.MonkeyPatch, policy: CheckpointPolicy) -> None:
    """Stores with a commit thread made from here on use ``policy``."""
    monkeypatch.setattr(store_module, "DEFERRED", policy)


def _count(reader: sqlite3.Connection) -> int:
    (count,) = reader.execute("SELECT COUNT(*) FROM records").fetchone()
    return int(count)


def test_a_commit_thread_store_defers_and_a_plain_one_does_not(new_store) -> None:
    threaded, _ = new_store("threaded.sockcap", commit_thread=True)
    plain, _ = new_store("plain.sockcap")
    assert threaded._checkpointer is not None and threaded._checkpointer.policy == DEFERRED
    assert plain._checkpointer is not None and plain._checkpointer.policy == EVERY_8_MIB
    assert DEFERRED.bound > EVERY_8_MIB.bound and DEFERRED.idle is not None
    assert DEFERRED.age is not None
    for store in (threaded, plain):
        (autocheckpoint,) = store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert autocheckpoint == 0


def test_while_records_flow_the_wal_grows_and_every_commit_is_readable(
    new_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No idle moment, no bound reached: no checkpoint, and another connection reads
    every commit from the WAL; close folds it all into one file."""
    _policy(monkeypatch, CheckpointPolicy(bound=1 << 40, idle=3600.0))
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    chunks = [os.urandom(MIB) for _ in range(20)]  # past EVERY_8_MIB's bound twice
    reader = sqlite3.connect(store.path)
    try:
        for i, chunk in enumerate(chunks):
            recorder.record(Direction.IN, Kind.DATA, wire=chunk, payload=chunk)
            store.sync()
            assert _count(reader) == i + 1
            (wire,) = reader.execute("SELECT wire FROM records WHERE seq = ?", (i,)).fetchone()
            assert wire == chunk
        assert checkpointer.checkpoints == 0
        assert _wal(store.path).stat().st_size > len(chunks) * MIB
        assert store.path.stat().st_size < MIB  # nothing copied yet
    finally:
        reader.close()
    store.finish("closed", {})
    store.close()
    assert not _wal(store.path).exists()
    with CaptureStore.open(store.path) as on_disk:
        assert [r.wire for r in on_disk.records(0, 30)] == chunks


def test_an_idle_writer_has_its_wal_copied_into_the_file(
    new_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _policy(monkeypatch, CheckpointPolicy(bound=1 << 40, idle=0.05))
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    chunks = [os.urandom(MIB) for _ in range(4)]
    for chunk in chunks:
        recorder.record(Direction.OUT, Kind.DATA, wire=chunk, payload=chunk)
        store.flush()
    store.sync()
    wait_for(lambda: checkpointer.checkpoints >= 1, store)
    assert store.path.stat().st_size >= len(chunks) * MIB  # copied into the file
    with CaptureStore.open(store.path) as reader:  # another program, while recording
        assert [r.wire for r in reader.records(0, 10)] == chunks
    before = checkpointer.checkpoints
    more = os.urandom(MIB)
    recorder.record(Direction.IN, Kind.DATA, wire=more, payload=more)
    store.sync()
    wait_for(lambda: checkpointer.checkpoints > before, store)
    with CaptureStore.open(store.path) as reader:
        assert reader.count() == 5 and reader.record(4).wire == more


def test_the_wal_bound_is_honoured_while_records_flow(
    new_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never idle, but past the bound a checkpoint runs, and the WAL starts over."""
    bound = 4 * MIB
    _policy(monkeypatch, CheckpointPolicy(bound=bound, idle=3600.0))
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    chunk = os.urandom(MIB)
    for i in range(24):
        before = checkpointer.checkpoints
        recorder.record(Direction.IN, Kind.DATA, wire=chunk, payload=chunk)
        store.sync()
        if (i + 1) % 4 == 0:  # the commit that reached the bound
            wait_for(lambda before=before: checkpointer.checkpoints > before, store)
        assert _wal(store.path).stat().st_size <= bound + 2 * len(chunk)
    assert checkpointer.checkpoints >= 6
    store.close()
    with CaptureStore.open(store.path) as on_disk:
        assert on_disk.count() == 24 and on_disk.record(23).wire == chunk


def test_a_steady_trickle_is_checkpointed_by_age(
    new_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits that never leave the writer idle still reach the file within ``age``."""
    _policy(monkeypatch, CheckpointPolicy(bound=1 << 40, idle=3600.0, age=0.05))
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    deadline = time.monotonic() + WAIT_S
    sent = 0
    while checkpointer.checkpoints == 0 and sent < 100_000:  # bounded in count and time
        assert time.monotonic() < deadline, "no checkpoint by age"
        recorder.record(Direction.IN, Kind.DATA, wire=b"tick %d" % sent, payload=None)
        store.sync()
        sent += 1
    assert checkpointer.checkpoints >= 1
    store.close()
    with CaptureStore.open(store.path) as on_disk:
        assert on_disk.count() == sent
