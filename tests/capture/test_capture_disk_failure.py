"""A capture file that cannot be written: the session goes on, records stay in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.capture import CaptureStore
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind


def fill_disk(store: CaptureStore) -> None:
    """Simulate a full disk: the file may not grow by a single page (works as root too)."""
    conn = store._conn  # the store's own connection: a test-only reach inside
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    if store._writer is not None:  # and its commit thread's, when it has one
        store._settle()
        store._writer._conn.execute(f"PRAGMA max_page_count = {pages}")


def test_full_disk_keeps_records_in_memory_and_save_as_writes_all(
    new_store, tmp_path: Path
) -> None:
    store, recorder = new_store(commit_interval=3600)
    for i in range(100):
        recorder.record(Direction.IN, Kind.DATA, wire=b"before %d" % i, payload=b"before %d" % i)
    store.flush()
    assert store.committed == 100 and store.error is None
    fill_disk(store)
    big = bytes(range(256)) * 200  # 51 KB: needs new pages
    for i in range(10):
        recorder.record(Direction.OUT, Kind.DATA, wire=big + b"%d" % i, payload=big + b"%d" % i)
    store.flush()  # fails: must not raise
    assert store.error is not None
    assert "disk full" in store.error and "kept in memory" in store.error
    assert str(store.path) in store.error and "\n" not in store.error
    for i in range(10, 20):  # later writes go straight to memory, no raise
        recorder.record(Direction.OUT, Kind.DATA, wire=b"after %d" % i, payload=b"after %d" % i)
    assert store.committed == 100 and store.unsaved == 20 and store.count() == 120

    page = store.records(95, 10)
    assert [r.seq for r in page] == list(range(95, 105))
    assert page[0].wire == b"before 95" and page[5].wire == big + b"0"
    assert store.record(119).wire == b"after 19"
    assert store.matching(text="after 1") == [110, 111, 112, 113, 114, 115, 116, 117, 118, 119]
    store.finish("closed", {"counts": {"records": 120}})
    assert store.session.state == "closed"

    saved = tmp_path / "rescued.sockcap"
    store.save_as(saved)
    assert store.unsaved == 20  # the store itself still cannot write
    expected = store.records(0, 200)
    store.close()
    with CaptureStore.open(saved) as rescued:
        assert rescued.count() == 120
        assert rescued.records(0, 200) == expected
        assert rescued.session.state == "closed"
        assert rescued.session.summary == {"counts": {"records": 120}}
    assert (saved.stat().st_mode & 0o777) == 0o600
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_save_as_while_recording(new_store, tmp_path: Path) -> None:
    store, recorder = new_store(commit_interval=3600)
    for i in range(50):
        recorder.record(Direction.IN, Kind.DATA, wire=b"%d" % i, payload=b"%d" % i)
    copy = tmp_path / "copy.sockcap"
    store.save_as(copy)
    recorder.record(Direction.IN, Kind.DATA, wire=b"50", payload=b"50")  # recording goes on
    store.flush()
    assert store.count() == 51 and store.error is None
    with CaptureStore.open(copy) as snapshot:
        assert snapshot.count() == 50
        assert snapshot.session.state == "running"
        assert [r.wire for r in snapshot.records(0, 100)] == [b"%d" % i for i in range(50)]
        snapshot.save_as(tmp_path / "copy-of-copy.sockcap")  # read-only stores save too
    with CaptureStore.open(tmp_path / "copy-of-copy.sockcap") as again:
        assert again.count() == 50


def test_save_as_refuses_itself_and_bad_targets(new_store, tmp_path: Path) -> None:
    store, _ = new_store()
    with pytest.raises(CaptureError, match="over itself"):
        store.save_as(store.path)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(CaptureError, match="cannot save capture") as info:
        store.save_as(blocker / "x.sockcap")
    assert "\n" not in str(info.value)


def test_finish_after_failure_is_kept_for_save_as(new_store, tmp_path: Path) -> None:
    store, recorder = new_store(commit_interval=0)
    recorder.record(Direction.IN, Kind.DATA, wire=b"a", payload=b"a")
    fill_disk(store)
    recorder.record(Direction.IN, Kind.DATA, wire=b"x" * 100_000, payload=b"x" * 100_000)
    assert store.error is not None
    store.finish("failed", {"failure": "peer reset"})
    store.close()  # does not raise; unsaved records are the owner's to rescue before this
    with CaptureStore.open(store.path) as on_disk:
        assert on_disk.count() == 1 and on_disk.session.state == "running"


def test_the_os_refusing_to_grow_the_file_is_survived_and_rescued(tmp_path: Path) -> None:
    """A real write failure from the OS (RLIMIT_FSIZE: EFBIG, as ENOSPC on a full disk)
    in a process of its own: told once, nothing lost, Save As writes everything."""
    capture, rescue = tmp_path / "full.sockcap", tmp_path / "rescued.sockcap"
    child = Path(__file__).with_name("file_size_limit_child.py")
    result = subprocess.run(
        [sys.executable, str(child), str(capture), str(rescue)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["committed_before"] == 100
    assert report["count"] == 2100 and report["last"] is True
    assert report["committed"] + report["unsaved"] == 2100 and report["unsaved"] > 0
    error = report["error"]
    assert error is not None and "\n" not in error
    assert "could not be written" in error and "kept in memory" in error
    with CaptureStore.open(rescue) as rescued:
        assert rescued.count() == 2100
        wires = [r.wire for start in range(0, 2100, 500) for r in rescued.records(start, 500)]
    assert wires == [b"record %06d " % seq + bytes([seq % 256]) * 1000 for seq in range(2100)]
