"""Runs in the capture (schema 3): the lines of a read are one row, and every way of
reading the capture sees exactly the records one row per line would give."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from inspector.capture import CaptureStore
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record

READS = [b"alpha\nbeta\r\n", b"\ngamma\n", b"delta\n" * 5]


def record_session(recorder) -> list[Record]:
    """Runs between single records: what a line session records, in order."""
    record = recorder.record
    record(Direction.META, Kind.CONNECT, 1, fields={"peer": "127.0.0.1:1"})
    record(Direction.OUT, Kind.MESSAGE, 2, b"hi\n", b"hi", {"framing": "lines"})
    for t_ns, read in enumerate(READS, start=3):
        recorder.record_run(Direction.IN, Kind.MESSAGE, t_ns, read, read.count(b"\n"))
    record(Direction.IN, Kind.DATA, 9, b"tail", b"tail", {"incomplete": True})
    record(Direction.META, Kind.CLOSED, 10, fields={"clean": True})
    return every_record(recorder)


def every_record(recorder) -> list[Record]:
    """The records the recorder numbered, made from the runs the store was given."""
    store = recorder.sink
    return store.records(0, store.count())


def all_windows(store: CaptureStore, expected: list[Record]) -> None:
    """Every (start, limit) window and every single record read back as expected."""
    n = len(expected)
    assert store.count() == n
    for start in range(n + 1):
        for limit in (1, 2, 3, 7, n + 5):
            assert store.records(start, limit) == expected[start : start + limit]
    for seq in range(n):
        assert store.record(seq) == expected[seq]
    with pytest.raises(CaptureError, match=f"has no record {n}"):
        store.record(n)


def test_runs_read_back_the_same_buffered_committed_and_reopened(new_store) -> None:
    store, recorder = new_store(scheme="tcp", endpoint="tcp://127.0.0.1:1")
    expected = record_session(recorder)
    assert [r.payload for r in expected if r.kind is Kind.MESSAGE][1:] == [
        b"alpha", b"beta", b"", b"gamma", *[b"delta"] * 5,
    ]  # fmt: skip
    assert [r.seq for r in expected] == list(range(13))
    all_windows(store, expected)  # still buffered
    store.flush()
    all_windows(store, expected)  # in the file
    store.close()
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT seq, payload_is_wire FROM records ORDER BY seq").fetchall()
    conn.close()
    assert rows == [(0, 0), (1, 0), (2, -2), (4, -2), (6, -5), (11, 1), (12, 0)]
    with CaptureStore.open(store.path) as reopened:
        all_windows(reopened, expected)
        assert reopened.records(2, 2)[1].wire == b"beta\r\n"


def test_search_finds_lines_inside_runs(new_store) -> None:
    store, recorder = new_store(scheme="tcp", endpoint="tcp://127.0.0.1:1")
    record_session(recorder)
    checks = [
        ({"text": "a"}, [2, 3, 5, 6, 7, 8, 9, 10, 11]),  # "alpha" "beta" "gamma" "delta"…
        ({"text": "ALPHA"}, [2]),
        ({"regex": "^(beta|gamma)$"}, [3, 5]),  # anchored at each line, not at each read
        ({"regex": "^$", "kinds": ["message"]}, [4]),
        ({"directions": ["out"]}, [1]),
        ({"kinds": ["message"], "directions": ["in"]}, list(range(2, 11))),
        ({"text": "tail"}, [11]),
    ]
    for kwargs, seqs in checks:
        assert store.matching(**kwargs) == seqs, kwargs  # buffered
    store.close()
    with CaptureStore.open(store.path) as reopened:
        for kwargs, seqs in checks:
            assert reopened.matching(**kwargs) == seqs, kwargs


def test_save_as_and_a_second_reader_see_the_runs(new_store, tmp_path: Path) -> None:
    store, recorder = new_store(scheme="tcp", endpoint="tcp://127.0.0.1:1")
    recorder.record_run(Direction.IN, Kind.MESSAGE, 1, READS[0], READS[0].count(b"\n"))
    store.flush()
    with CaptureStore.open(store.path) as follower:
        assert follower.count() == 2
        recorder.record_run(Direction.IN, Kind.MESSAGE, 2, READS[2], READS[2].count(b"\n"))
        store.flush()
        assert follower.refresh() == 7
        assert follower.record(6).payload == b"delta"
    recorder.record_run(
        Direction.IN, Kind.MESSAGE, 3, READS[1], READS[1].count(b"\n")
    )  # buffered only
    copy = tmp_path / "copy.sockcap"
    store.save_as(copy)
    expected = store.records(0, 100)
    assert len(expected) == 9
    with CaptureStore.open(copy) as saved:
        assert saved.records(0, 100) == expected


def test_length_prefixed_runs_round_trip(new_store) -> None:
    store, recorder = new_store(scheme="tcp", endpoint="tcp://127.0.0.1:1")
    data16 = b"\x00\x02hi\x00\x00\x00\x03abc"
    data32 = b"\x00\x00\x00\x01z" * 3
    recorder.record_run(Direction.IN, Kind.MESSAGE, 1, data16, 3, "len16")
    recorder.record_run(Direction.IN, Kind.MESSAGE, 2, data32, 3, "len32")
    live = store.records(0, 10)
    assert [r.payload for r in live] == [b"hi", b"", b"abc", b"z", b"z", b"z"]
    assert live[2].fields == {"framing": "len16", "ranges": [["length", 0, 2], ["payload", 2, 5]]}
    assert store.matching(text="z") == [3, 4, 5]
    store.close()
    with CaptureStore.open(store.path) as reopened:
        assert reopened.records(0, 10) == live
        assert reopened.record(4) == live[4]
    damage(store.path, "UPDATE records SET wire = x'000000096162' WHERE seq = 3")
    damaged = "holds 0 whole messages of len32 framing in 6 bytes, not 3"
    with pytest.raises(CaptureError, match=damaged), CaptureStore.open(store.path) as reopened:
        reopened.records(0, 10)


def damage(path: Path, sql: str, version: int | None = None) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
        if version is not None:
            conn.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    conn.close()


@pytest.mark.parametrize(
    ("sql", "version", "match"),
    [
        (
            "UPDATE records SET payload_is_wire = -3 WHERE seq = 2",
            None,
            "holds 2 whole messages of lines framing in 12 bytes, not 3",
        ),
        (
            "UPDATE records SET payload_is_wire = -1 WHERE seq = 2",
            None,
            "holds 2 whole messages .* not 1",
        ),
        (
            "UPDATE records SET wire = x'6869' WHERE seq = 2",
            None,
            "holds 0 whole messages .* in 2 bytes, not 2",
        ),
        ("UPDATE records SET kind = 'frame' WHERE seq = 2", None, "marks a run of framed messages"),
        ("UPDATE records SET dir = 'meta' WHERE seq = 2", None, "marks a run of framed messages"),
        (
            "UPDATE records SET payload = x'00' WHERE seq = 2",
            None,
            "marks a run of framed messages",
        ),
        (
            "UPDATE records SET payload_is_wire = -3000000000 WHERE seq = 2",
            None,
            "in 12 bytes, not 3000000000",
        ),
        ("UPDATE records SET payload_is_wire = -3000000000 WHERE seq = 4", None, "claims"),
        ("SELECT 1", 2, "payload_is_wire is not 0, 1 or an offset"),  # no runs before 3
    ],
)
def test_damaged_runs_give_one_line(new_store, sql: str, version: int | None, match: str) -> None:
    store, recorder = new_store(scheme="tcp", endpoint="tcp://127.0.0.1:1")
    recorder.record(Direction.META, Kind.CONNECT, 1)
    recorder.record(Direction.OUT, Kind.DATA, 1, b"x", b"x")
    recorder.record_run(Direction.IN, Kind.MESSAGE, 2, READS[0], READS[0].count(b"\n"))
    recorder.record(Direction.META, Kind.CLOSED, 3)
    store.close()
    damage(store.path, sql, version)
    with (
        pytest.raises(CaptureError, match=match) as info,
        CaptureStore.open(store.path) as reopened,
    ):
        reopened.records(0, 10)
        reopened.record(3)
        reopened.matching(text="a")
    assert "\n" not in str(info.value)


def test_paging_through_a_big_run(new_store) -> None:
    """A read of 65,536 empty lines is one run; a viewer pages through it a screenful at
    a time, buffered and from the file, and sees every line in order."""
    store, recorder = new_store(scheme="tcp", endpoint="tcp://127.0.0.1:1")
    recorder.record_run(Direction.IN, Kind.MESSAGE, 1, b"\n" * 65536, 65536)
    recorder.record_run(Direction.IN, Kind.MESSAGE, 2, b"last\n", 1)
    for stage in ("buffered", "committed"):
        pages = [store.records(start, 100) for start in range(0, 65537, 100)]
        seen = [record for page in pages for record in page]
        assert [r.seq for r in seen] == list(range(65537)), stage
        assert {r.wire for r in seen[:-1]} == {b"\n"} and seen[-1].payload == b"last"
        assert store.record(40000).fields == {"framing": "lines", "ranges": [["terminator", 0, 1]]}
        store.flush()


def test_bulk_pages_read_what_records_reads(new_store, every_kind) -> None:
    store, recorder = new_store(scheme="tcp", endpoint="tcp://127.0.0.1:1")
    every_kind(recorder)
    expected_head = record_session(recorder)
    store.flush()
    recorder.record(Direction.IN, Kind.DATA, 11, b"buffered", b"buffered")  # still in memory
    expected = store.records(0, store.count())
    assert expected[: len(expected_head)] == expected_head
    for start in range(len(expected) + 1):
        for page in (1, 2, 5, 4096):
            pages = list(store.pages(start, page))
            assert [r for batch in pages for r in batch] == expected[start:]
            assert all(batch for batch in pages)
