""" "All connections" reads its records from each session's store: the index keeps only
runs of places, and reading, filtering and numbering give what a list of every record
renumbered would give."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record, make_record
from inspector.ui.models.merged import MergedRecords
from inspector.ui.models.source import MemoryRecords, RecordSource


def records(texts: list[bytes], direction: Direction = Direction.IN) -> list[Record]:
    return [
        make_record(seq, 10 * seq, direction, Kind.MESSAGE, text, text, {})
        for seq, text in enumerate(texts)
    ]


def test_interleaved_sessions_read_back_renumbered_on_the_listener_clock() -> None:
    listener = MemoryRecords(records([b"listening", b"accepted 1", b"accepted 2"]))
    one = MemoryRecords(records([b"a0", b"a1", b"a2", b"a3"]))
    two = MemoryRecords(records([b"b0", b"b1"], Direction.OUT))
    sources: dict[int | None, RecordSource] = {None: listener, 1: one, 2: two}
    merged = MergedRecords(sources.get)
    shown: list[Record] = []
    # The ticks' arrivals, in time order: (session, its records, its clock offset).
    for conn, source, first, count, offset in (
        (None, listener, 0, 2, 0),
        (1, one, 0, 2, 1000),
        (None, listener, 2, 1, 0),
        (2, two, 0, 1, 5000),
        (1, one, 2, 2, 1000),
        (2, two, 1, 1, 5000),
    ):
        shown += merged.take(source.records(first, count), conn, offset)
    assert merged.count() == len(shown) == 9
    assert merged.records(0, 100) == shown  # what the live view got is what is read back
    assert [r.seq for r in shown] == list(range(9))
    assert [r.payload for r in shown] == [
        b"listening", b"accepted 1", b"a0", b"a1", b"accepted 2", b"b0", b"a2", b"a3", b"b1",
    ]  # fmt: skip
    assert shown[2].t_ns == 1000 and shown[8].t_ns == 5010
    assert [merged.conn_of(place) for place in range(9)] == [None, None, 1, 1, None, 2, 1, 1, 2]
    assert merged.records(3, 4) == shown[3:7] and merged.record(6) == shown[6]
    assert len(merged._starts) == 6  # a run per arrival, not a place per record
    assert list(merged.matching(text="a")) == [1, 2, 3, 4, 6, 7]  # "accepted …", "a0" …
    assert list(merged.matching(directions=[Direction.OUT])) == [5, 8]
    with pytest.raises(CaptureError, match="no record 9"):
        merged.record(9)


def test_a_flood_is_one_run_and_reads_from_the_capture(tmp_path: Path) -> None:
    clock = SessionClock()
    store = CaptureStore.create(
        tmp_path / "c.sockcap", endpoint="tcp://127.0.0.1:1", scheme="tcp", options={},
        clock=clock,
    )  # fmt: skip
    recorder = Recorder(store, clock=clock)
    merged = MergedRecords(lambda conn: store if conn == 1 else None)
    for tick in range(50):
        for n in range(200):
            recorder.record(Direction.IN, Kind.DATA, tick, b"x%d" % n, None, {"n": n})
        merged.take(recorder.drain(), 1, 7)
    assert merged.count() == 10_000 and len(merged._starts) == 1
    page = merged.records(9_990, 100)
    assert [r.seq for r in page] == list(range(9_990, 10_000))
    assert page[-1].wire == b"x199" and page[-1].t_ns == 49 + 7
    assert len(merged.matching(text="x199")) == 50
    store.close()
    lost = MergedRecords(lambda conn: None)
    lost.take(records([b"gone"]), 3, 0)
    with pytest.raises(CaptureError, match="connection 3"):
        lost.records(0, 1)
