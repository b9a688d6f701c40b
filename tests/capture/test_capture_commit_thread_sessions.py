"""Commits on the file's commit thread for a file of several sessions
(``commit_thread=True``, the relay's capture): every record written reaches the file,
reads meanwhile see every record, a file that fails keeps the records in memory as a
store committing on its own thread does, and flushes while the thread is busy wait
only after ``DEFER_FLUSHES`` in a row."""

from __future__ import annotations

import threading
from pathlib import Path

from test_capture_commit_thread import wait_until
from test_capture_disk_failure import fill_disk

from inspector.capture import CaptureStore
from inspector.capture.store import DEFER_FLUSHES
from inspector.capture.writer import Batch
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind


def test_records_reach_the_file_and_reads_meanwhile_see_them_all(new_store) -> None:
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    assert store._writer is not None
    clock = SessionClock()
    child = store.add_session(endpoint="tcp://x:1", scheme="tcp", options={}, clock=clock)
    other = Recorder(sink=child, clock=clock, consumed=False)
    expected: list[bytes] = []
    for i in range(300):
        data = b"%d " % i * (i % 50 + 1)
        recorder.record(Direction.IN, Kind.DATA, wire=data, payload=data, fields={"n": i})
        other.record(Direction.OUT, Kind.DATA, wire=data[::-1], payload=data[::-1])
        expected.append(data)
        if i % 7 == 0:
            store.flush()  # a commit goes to the thread; the next write does not wait
            child.flush()
        if i % 40 == 0:  # a read while a commit may be under way sees every record
            assert store.count() == i + 1
            assert [r.wire for r in store.records(0, 1000)] == expected
            assert child.record(i).wire == data[::-1]
    recorder.record(Direction.META, Kind.INFO, fields={"message": "end"})
    store.finish("closed", {})
    child.finish("closed", {})
    store.close()
    with CaptureStore.open(store.path) as reopened:
        records = reopened.records(0, 1000)
        assert [r.wire for r in records[:300]] == expected
        assert [r.fields["n"] for r in records[:300]] == list(range(300))
        assert records[300].fields["message"] == "end"
    with CaptureStore.open(store.path, session_id=child.session.id) as second:
        assert [r.wire for r in second.records(0, 1000)] == [d[::-1] for d in expected]


def test_commits_run_on_the_commit_thread(new_store) -> None:
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    threads: list[str] = []
    writer = store._writer
    assert writer is not None

    def traced(sql: str) -> None:  # a small batch is one INSERT, committed by itself
        if sql == "COMMIT" or sql.startswith("INSERT INTO records"):
            threads.append(threading.current_thread().name)

    store._conn.set_trace_callback(traced)
    writer._conn.set_trace_callback(traced)
    for i in range(5):
        recorder.record(Direction.IN, Kind.DATA, wire=b"%d" % i, payload=b"%d" % i)
        store.flush()
    store._settle()
    assert store.records(0, 10)[-1].wire == b"4"
    store._conn.set_trace_callback(None)
    writer._conn.set_trace_callback(None)
    assert threads and all(name.startswith("commit ") for name in threads)


def test_a_value_sqlite_cannot_bind_is_stored_carefully(new_store) -> None:
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    recorder.record(Direction.IN, Kind.DATA, wire=b"a", payload=b"a", fields={"big": 2**70})
    recorder.record(Direction.IN, Kind.DATA, wire=b"b", payload=b"b")
    store.flush()
    wait_until(lambda: store.committed == 2, store)
    assert store.count() == 2 and store.error is None
    assert [r.wire for r in store.records(0, 5)] == [b"a", b"b"]


def test_a_file_that_fails_keeps_the_records_in_memory(new_store, tmp_path: Path) -> None:
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    for i in range(100):
        recorder.record(Direction.IN, Kind.DATA, wire=b"before %d" % i, payload=b"before %d" % i)
    store.flush()
    assert store.records(99, 1)[0].wire == b"before 99"  # buffered or committed alike
    wait_until(lambda: store.committed == 100, store)
    assert store.error is None
    fill_disk(store)
    big = bytes(range(256)) * 200
    for i in range(10):
        recorder.record(Direction.OUT, Kind.DATA, wire=big + b"%d" % i, payload=big + b"%d" % i)
    store.flush()  # fails on the thread: must not raise, here or later
    for i in range(10, 20):
        recorder.record(Direction.OUT, Kind.DATA, wire=b"after %d" % i, payload=b"after %d" % i)
    assert store.count() == 120
    page = store.records(95, 10)
    wait_until(lambda: store.error is not None, store)
    assert store.error is not None and "kept in memory" in store.error
    assert store.committed == 100 and store.unsaved == 20
    assert [r.seq for r in page] == list(range(95, 105))
    assert page[5].wire == big + b"0"
    assert store.record(119).wire == b"after 19"
    store.finish("closed", {})
    saved = tmp_path / "rescued.sockcap"
    store.save_as(saved)
    expected = store.records(0, 200)
    store.close()
    with CaptureStore.open(saved) as rescued:
        assert rescued.records(0, 200) == expected


def test_flushes_while_the_thread_is_busy_leave_the_buffer_growing(new_store) -> None:
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    committer = store._writer
    assert committer is not None
    gate = threading.Event()
    commit = committer._commit

    def held(batch: Batch) -> None:  # the first commit waits on the thread for the gate
        gate.wait()
        committer._commit = commit  # type: ignore[method-assign]
        commit(batch)

    committer._commit = held  # type: ignore[method-assign]
    store._committing = store  # a commit of nothing, held on the thread until the gate opens
    committer.submit(Batch(store.session.id, [], [], []))
    for i in range(DEFER_FLUSHES):
        recorder.record(Direction.IN, Kind.DATA, wire=b"%d" % i, payload=b"%d" % i)
        store.flush()  # left buffered: the recording thread does not wait
        assert store._pending and committer.busy
    assert store.count() == DEFER_FLUSHES
    gate.set()
    recorder.record(Direction.IN, Kind.DATA, wire=b"last", payload=b"last")
    store.flush()  # one flush too many: waits for the thread, then commits all
    store._settle()
    assert store.committed == DEFER_FLUSHES + 1 and store.unsaved == 0
    store.close()
    with CaptureStore.open(store.path) as reopened:
        assert reopened.records(0, 10)[-1].wire == b"last"
