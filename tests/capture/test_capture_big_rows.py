"""Rows with long wire bytes are written into the row through SQLite's blob I/O (one
copy instead of three): the file holds exactly what binding the bytes stored, in the
same order, on the recording thread and on a commit thread."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from inspector.capture import CaptureStore, writer
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record

BIG = writer.BLOB_WRITE_BYTES


def _records() -> list[Record]:
    """Small and long records mixed, around the threshold, some with their own payload
    and fields (a TCP stream's reads, a decoded message, a handshake)."""
    recorder = Recorder(sink=None, clock=SessionClock(), consumed=False)
    made: list[Record] = []
    sizes = [10, BIG, BIG - 1, 300_000, 1, 5, BIG + 1, 2 * BIG, 0, 17]
    for i, size in enumerate(sizes):
        wire = os.urandom(size)
        payload = wire if i % 3 else (wire[: size // 2] if size else None)
        fields = {"n": i, "note": "é"} if i % 4 == 0 else None
        direction = Direction.IN if i % 2 else Direction.OUT
        made.append(recorder.record(direction, Kind.DATA, None, wire, payload, fields))
    return made


def _store(path: Path, records: list[Record], commit_thread: bool) -> None:
    """Write ``records`` into a new capture at ``path`` in two batches, then close it."""
    store = CaptureStore.create(
        path,
        endpoint="tcp://127.0.0.1:9",
        scheme="tcp",
        options={},
        clock=SessionClock(),
        commit_interval=3600,
        commit_thread=commit_thread,
    )
    try:
        store.write_many(records[:6])
        store.sync()
        store.write_many(records[6:])
        store.finish("closed", {})
    finally:
        store.close()


def _rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM records ORDER BY rowid").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("commit_thread", [False, True], ids=["recording-thread", "commit-thread"])
def test_long_rows_are_stored_as_binding_stores_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commit_thread: bool
) -> None:
    records = _records()
    written = tmp_path / "written.sockcap"
    _store(written, records, commit_thread)
    monkeypatch.setattr(writer, "BLOB_WRITE_BYTES", 1 << 62)  # every row bound
    bound = tmp_path / "bound.sockcap"
    _store(bound, records, commit_thread)
    rows = _rows(written)
    assert rows == _rows(bound)
    assert [row[1] for row in rows] == list(range(len(records)))  # rowids follow seqs
    with CaptureStore.open(written) as reader:
        back = reader.records(0, len(records) + 1)
    assert [(r.wire, r.payload, r.fields, r.direction) for r in back] == [
        (r.wire, r.payload, r.fields, r.direction) for r in records
    ]


def test_only_long_wire_bytes_take_the_blob_path() -> None:
    short = (1, 0, 0, "in", "data", b"x" * (BIG - 1), None, 1, None)
    long = (1, 1, 0, "in", "data", b"x" * BIG, None, 1, None)
    assert not writer.has_big_rows([short, short])
    assert writer.has_big_rows([short, long])
