"""WebSocket frame runs in the capture (schema 4): the plain frames of a read are one
row, and every way of reading the capture sees exactly the records the receive fast path
makes, as a row per frame would give them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.protocols.wsfast import take_plain_frames
from inspector.protocols.wsruns import WS_FRAMES

#: Plain frames: text or binary, with 7- and 16-bit lengths.
FRAMES = st.lists(
    st.tuples(
        st.booleans(),
        st.one_of(st.text(max_size=40).map(str.encode), st.binary(max_size=300)),
    ),
    min_size=1,
    max_size=12,
)


def plain_frames(frames: list[tuple[bool, bytes]]) -> bytes:
    """The frames as a server sends them (unmasked, FIN); binary for non-UTF-8 text."""
    out = []
    for text, data in frames:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            text = False
        out.append(Frame(Opcode.TEXT if text else Opcode.BINARY, data).serialize(mask=False))
    return b"".join(out)


def record_both(path: Path, reads: list[bytes]) -> tuple[CaptureStore, CaptureStore]:
    """The same reads recorded a row per frame (items) and as runs, in two captures."""
    stores = []
    for name, as_run in (("items.sockcap", False), ("runs.sockcap", True)):
        clock = SessionClock()
        store = CaptureStore.create(
            path / name, endpoint="ws://127.0.0.1:1/", scheme="ws", options={}, clock=clock,
            overwrite=True,
        )  # fmt: skip
        recorder = Recorder(sink=store, clock=clock, consumed=False)
        recorder.record(Direction.META, Kind.CONNECT, 1, fields={"peer": "127.0.0.1:1"})
        for t_ns, read in enumerate(reads, start=2):
            take = take_plain_frames(read, None, None, False, as_run)
            assert take.consumed == len(read)
            if as_run:
                assert take.run == read and not take.items
                recorder.record_run(Direction.IN, Kind.FRAME, t_ns, read, take.count, WS_FRAMES)
            else:
                recorder.record_many(Direction.IN, Kind.FRAME, t_ns, take.items)
        recorder.record(Direction.META, Kind.CLOSED, 99, fields={"clean": True})
        stores.append(store)
    return stores[0], stores[1]


def every_way(store: CaptureStore) -> tuple[list[Record], ...]:
    n = store.count()
    return (
        store.records(0, n),
        [record for page in store.pages(0, 3) for record in page],
        [store.record(seq) for seq in range(n)],
        store.records(n // 2, 5),
    )


def fields_as_json(records: list[Record]) -> list[tuple]:
    return [
        (r.seq, r.t_ns, r.direction, r.kind, r.wire, r.payload, dict(r.fields)) for r in records
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(FRAMES, min_size=1, max_size=4))
def test_runs_read_back_as_the_fast_path_records(tmp_path: Path, reads: list) -> None:
    data = [plain_frames(read) for read in reads]
    items, runs = record_both(tmp_path, data)
    try:
        for stage in ("buffered", "committed"):
            got = every_way(runs)
            want = every_way(items)
            assert [fields_as_json(r) for r in got] == [fields_as_json(r) for r in want], stage
            assert runs.matching(text="a") == items.matching(text="a")
            assert runs.matching(kinds={"frame"}) == items.matching(kinds={"frame"})
            items.flush()
            runs.flush()
        runs.save_as(tmp_path / "copy.sockcap")
    finally:
        items.close()
        runs.close()
    with sqlite3.connect(tmp_path / "runs.sockcap") as conn:
        rows = conn.execute("SELECT count(*) FROM records WHERE payload_is_wire < 0").fetchone()
    conn.close()
    assert rows == (len(reads),)
    with (
        CaptureStore.open(tmp_path / "items.sockcap") as a,
        CaptureStore.open(tmp_path / "runs.sockcap") as b,
        CaptureStore.open(tmp_path / "copy.sockcap") as c,
    ):
        want = [fields_as_json(r) for r in every_way(a)]
        assert [fields_as_json(r) for r in every_way(b)] == want
        assert [fields_as_json(r) for r in every_way(c)] == want


def damage(path: Path, sql: str, version: int | None = None) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
        if version is not None:
            conn.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    conn.close()


READ = plain_frames([(True, b"hello"), (False, b"\x00" * 200), (True, b"")])


@pytest.mark.parametrize(
    ("sql", "version", "match"),
    [
        ("UPDATE records SET payload_is_wire = -4 WHERE seq = 1", None, "not 4"),
        ("UPDATE records SET wire = substr(wire, 1, 10) WHERE seq = 1", None, "not 3"),
        ("UPDATE records SET wire = CAST(x'8180' || wire AS BLOB) WHERE seq = 1", None, "not 3"),
        ("UPDATE records SET kind = 'message' WHERE seq = 1", None, "marks a run"),
        ("UPDATE records SET dir = 'out' WHERE seq = 1", None, "not 3"),
        ("SELECT 1", 3, "marks a run"),  # ws-frames runs came with schema 4
        ("SELECT 1", 6, "newer Socket Inspector \\(schema 6\\); this version reads up to 5"),
    ],
)
def test_damaged_frame_runs_give_one_line(
    tmp_path: Path, sql: str, version: int | None, match: str
) -> None:
    _items, runs = record_both(tmp_path, [READ])
    _items.close()
    runs.close()
    damage(runs.path, sql, version)
    with pytest.raises(CaptureError, match=match) as info, CaptureStore.open(runs.path) as store:
        store.records(0, 10)
        store.record(2)
        store.matching(text="a")
    assert "\n" not in str(info.value)
