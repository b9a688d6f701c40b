"""A store that commits on a thread of its own (the window's): every record is readable
at every moment, the file ends complete, and a failed commit keeps the records."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from inspector.capture import CaptureStore
from inspector.core.records import Direction, Kind, Record

WAIT_S = 30.0  # bound on waiting for the commit thread


def commit_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("commit ")]


def wait_until(done: Callable[[], bool], store: CaptureStore) -> None:
    """Let the store take in finished commits (as the window's timer does) until done."""
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, "the commit thread did not finish in time"
        store.commit_if_due()
        threading.Event().wait(0.001)


def test_every_record_readable_while_the_thread_commits(new_store, tmp_path: Path) -> None:
    store, recorder = new_store(commit_interval=0, commit_thread=True)
    assert len(commit_threads()) == 1
    wires: list[bytes] = []
    for block in range(40):
        for i in range(50):
            wire = b"single %d.%d" % (block, i)
            recorder.record(Direction.IN, Kind.DATA, wire=wire, payload=wire)
            wires.append(wire)
        lines = b"".join(b"line %06d\n" % (block * 10 + i) for i in range(10))
        recorder.record_run(Direction.IN, Kind.MESSAGE, 7, lines, 10)
        wires += [b"line %06d\n" % (block * 10 + i) for i in range(10)]
        assert store.count() == len(wires)
        assert store.committed + store.unsaved == len(wires)
        page = store.records(0, len(wires) + 5)
        assert [r.seq for r in page] == list(range(len(wires)))
        assert [r.wire for r in page] == wires
        assert store.record(len(wires) - 1).wire == wires[-1]
    wait_until(lambda: store.committed == len(wires), store)
    assert store.unsaved == 0 and store.error is None
    with CaptureStore.open(store.path) as reader:  # another program, while recording
        assert reader.count() == len(wires)
    store.finish("closed", {"counts": {"records": len(wires)}})
    store.close()
    assert commit_threads() == []
    with CaptureStore.open(store.path) as on_disk:
        assert on_disk.session.state == "closed"
        assert [r.wire for r in on_disk.records(0, len(wires) + 5)] == wires


def test_close_commits_what_is_buffered(new_store) -> None:
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    for i in range(300):
        recorder.record(Direction.OUT, Kind.DATA, wire=b"%d" % i, payload=b"%d" % i)
    store.flush()  # hands the batch over, waits for nothing
    recorder.record(Direction.OUT, Kind.DATA, wire=b"last", payload=b"last")
    store.close()
    with CaptureStore.open(store.path) as on_disk:
        assert on_disk.count() == 301
        assert on_disk.record(300).wire == b"last"


def test_a_value_sqlite_cannot_bind_is_stored_carefully(new_store) -> None:
    store, _ = new_store(commit_interval=0, commit_thread=True)
    store.write(Record(0, 5, Direction.IN, Kind.DATA, b"a", b"a", {"shared": "x" * 50}))
    store.write(Record(1, 2**70, Direction.IN, Kind.DATA, b"big", b"big", {"shared": "x" * 50}))
    wait_until(lambda: store.committed == 2, store)
    store.write(Record(2, 6, Direction.IN, Kind.DATA, b"c", b"c", {"shared": "x" * 50}))
    wait_until(lambda: store.committed == 3, store)
    assert store.error is None
    store.close()
    with CaptureStore.open(store.path) as on_disk:
        first, second, third = on_disk.records(0, 5)
    assert second.t_ns == 2**63 - 1  # clamped to what SQLite holds
    assert [r.wire for r in (first, second, third)] == [b"a", b"big", b"c"]
    assert first.fields == second.fields == third.fields == {"shared": "x" * 50}


def test_a_failed_commit_keeps_the_records_for_save_as(new_store, tmp_path: Path) -> None:
    store, recorder = new_store(commit_interval=0, commit_thread=True)
    for i in range(100):
        recorder.record(Direction.IN, Kind.DATA, wire=b"before %d" % i, payload=b"before %d" % i)
    wait_until(lambda: store.committed == 100, store)
    writer_conn = store._writer._conn  # the thread's connection: a test-only reach inside
    (pages,) = writer_conn.execute("PRAGMA page_count").fetchone()
    writer_conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    big = bytes(range(256)) * 200
    for i in range(10):
        recorder.record(Direction.OUT, Kind.DATA, wire=big + b"%d" % i, payload=big + b"%d" % i)
    wait_until(lambda: store.error is not None, store)
    assert store.error is not None and "disk full" in store.error
    assert "kept in memory" in store.error and "\n" not in store.error
    recorder.record(Direction.OUT, Kind.DATA, wire=b"after", payload=b"after")
    assert store.committed == 100 and store.unsaved == 11 and store.count() == 111
    assert store.record(105).wire == big + b"5" and store.record(110).wire == b"after"
    store.finish("closed", {})
    saved = tmp_path / "rescued.sockcap"
    store.save_as(saved)
    expected = store.records(0, 200)
    store.close()
    assert commit_threads() == []
    with CaptureStore.open(saved) as rescued:
        assert rescued.records(0, 200) == expected and len(expected) == 111


def test_a_file_of_several_sessions_commits_them_all_on_its_one_thread(new_store) -> None:
    store, recorder = new_store(commit_interval=0, commit_thread=True)
    for i in range(20):
        recorder.record(Direction.IN, Kind.DATA, wire=b"first %d" % i, payload=b"first %d" % i)
    child = store.add_session(
        endpoint="ws://127.0.0.1:9000/second", scheme="ws", options={}, clock=recorder.clock
    )
    assert len(commit_threads()) == 1 and child._writer is None  # the file's thread, shared
    child.write(Record(0, 5, Direction.OUT, Kind.DATA, b"second", b"second"))
    recorder.record(Direction.IN, Kind.DATA, wire=b"more", payload=b"more")
    store.flush()
    child.flush()
    wait_until(lambda: store.committed == 21 and child.committed == 1, store)
    child.close()
    store.close()
    assert commit_threads() == []
    with CaptureStore.open(store.path) as on_disk:
        assert on_disk.count() == 21 and len(on_disk.sessions()) == 2
        second = on_disk.sessions()[1].id
    with CaptureStore.open(store.path, session_id=second) as on_disk:
        assert [r.wire for r in on_disk.records(0, 5)] == [b"second"]


def test_sync_leaves_every_record_readable_by_another_connection(new_store) -> None:
    store, recorder = new_store(commit_interval=3600, commit_thread=True)
    for i in range(300):
        recorder.record(Direction.IN, Kind.DATA, wire=b"n %d" % i, payload=b"n %d" % i)
        if i % 50 == 0:
            store.flush()  # hands over without waiting: the thread may still be writing
    store.sync()
    assert store.committed == 300 and store.unsaved == 0
    with CaptureStore.open(store.path) as reader:  # an export's reader, say
        assert reader.count() == 300
        assert reader.records(299, 1)[0].wire == b"n 299"
    store.close()
