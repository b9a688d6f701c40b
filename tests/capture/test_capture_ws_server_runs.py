"""The server role's frame runs in the capture (schema 5): the masked frames a client
sent in one read, and the unmasked frames sent while answering it, are one row each,
and every way of reading the capture sees exactly the records a row per frame gives."""

from __future__ import annotations

import os
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
from inspector.protocols.wsrecords import WsRecords
from inspector.protocols.wsruns import WS_MASKED_FRAMES, WS_SENT_FRAMES

#: Messages: text or binary, with 7- and 16-bit lengths.
MESSAGES = st.lists(
    st.tuples(
        st.booleans(),
        st.one_of(st.text(max_size=40).map(str.encode), st.binary(max_size=300)),
    ),
    min_size=1,
    max_size=12,
)


def is_text(text: bool, data: bytes) -> bool:
    """Text only when the bytes are UTF-8 (a client never sends bad text on purpose here)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text


def masked_frames(messages: list[tuple[bool, bytes]]) -> bytes:
    """The messages as a client sends them: masked, each with its own random key."""
    return b"".join(
        Frame(Opcode.TEXT if is_text(t, d) else Opcode.BINARY, d).serialize(mask=True)
        for t, d in messages
    )


def new_store(path: Path) -> tuple[CaptureStore, Recorder]:
    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint="ws://127.0.0.1:1/", scheme="ws", options={}, clock=clock, overwrite=True
    )
    recorder = Recorder(sink=store, clock=clock, consumed=False)
    recorder.record(Direction.META, Kind.CONNECT, 1, fields={"peer": "127.0.0.1:1"})
    return store, recorder


def every_way(store: CaptureStore) -> tuple[list[Record], ...]:
    n = store.count()
    return (
        store.records(0, n),
        [record for page in store.pages(0, 3) for record in page],
        [store.record(seq) for seq in range(n)],
        store.records(n // 2, 5),
    )


def shown(records: list[Record], times: bool = True) -> list[tuple]:
    return [
        (r.seq, r.t_ns if times else 0, r.direction, r.kind, r.wire, r.payload, dict(r.fields))
        for r in records
    ]


def record_reads(tmp_path: Path, reads: list[bytes]) -> tuple[CaptureStore, CaptureStore]:
    """The same masked reads recorded a row per frame (items) and as runs."""
    stores = []
    for name, as_run in (("items.sockcap", False), ("runs.sockcap", True)):
        store, recorder = new_store(tmp_path / name)
        for t_ns, read in enumerate(reads, start=2):
            take = take_plain_frames(read, None, None, False, as_run, masked=True)
            assert take.consumed == len(read)
            if as_run:
                assert take.run == read and take.framing == WS_MASKED_FRAMES
                recorder.record_run(Direction.IN, Kind.FRAME, t_ns, read, take.count, take.framing)
            else:
                recorder.record_many(Direction.IN, Kind.FRAME, t_ns, take.items)
        recorder.record(Direction.META, Kind.CLOSED, 99, fields={"clean": True})
        stores.append(store)
    return stores[0], stores[1]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(MESSAGES, min_size=1, max_size=4))
def test_masked_runs_read_back_as_a_row_per_frame(tmp_path: Path, reads: list) -> None:
    data = [masked_frames(read) for read in reads]
    items, runs = record_reads(tmp_path, data)
    try:
        for stage in ("buffered", "committed"):
            want = every_way(items)
            assert [shown(r) for r in every_way(runs)] == [shown(r) for r in want], stage
            assert runs.matching(text="a") == items.matching(text="a")
            items.flush()
            runs.flush()
        first = runs.record(1)
        assert first.fields["masked"] is True and len(first.fields["mask_key"]) == 8
    finally:
        items.close()
        runs.close()
    with sqlite3.connect(runs.path) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM records WHERE payload_is_wire < 0").fetchone()
        # The mask keys live in the frames' bytes only: no stored field text holds one.
        (texts,) = conn.execute(
            "SELECT count(*) FROM records WHERE fields LIKE '%mask_key%'"
        ).fetchone()
    conn.close()
    assert rows == len(reads) and texts == 0


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(MESSAGES, MESSAGES)
def test_sends_gathered_while_answering_are_one_run_of_the_same_records(
    tmp_path: Path, answers: list, later: list
) -> None:
    stores = []
    for name, gather in (("items.sockcap", False), ("runs.sockcap", True)):
        store, recorder = new_store(tmp_path / name)
        frames = WsRecords(recorder)
        if gather:
            recorder.start_gathering(Direction.OUT, Kind.FRAME, WS_SENT_FRAMES)
        for text, data in answers:
            send_plain(frames, is_text(text, data), data)
        recorder.record(Direction.META, Kind.INFO, fields={"message": "between"})
        for text, data in later:  # after a record of another kind: a new run
            send_plain(frames, is_text(text, data), data)
        if gather:
            recorder.stop_gathering()
        recorder.record(Direction.META, Kind.CLOSED, fields={"clean": True})
        stores.append(store)
    items, runs = stores
    try:
        got, want = every_way(runs), every_way(items)
        assert [shown(r, times=False) for r in got] == [shown(r, times=False) for r in want]
        assert [r.kind for r in got[0]][len(answers) + 1] is Kind.INFO
        assert len({r.t_ns for r in got[0][1 : 1 + len(answers)]}) == 1
    finally:
        items.close()
        runs.close()
    with sqlite3.connect(runs.path) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM records WHERE payload_is_wire < 0").fetchone()
    conn.close()
    assert rows == 2


def send_plain(frames: WsRecords, text: bool, data: bytes) -> None:
    """What the engine's send_message records for one whole unmasked frame."""
    size = len(data)
    first = 0x81 if text else 0x82
    header = bytes((first, size)) if size < 126 else bytes((first, 126)) + size.to_bytes(2, "big")
    frames.sent_plain(header + data, len(header), data)


def test_a_run_of_the_wrong_masking_or_direction_is_damage(tmp_path: Path) -> None:
    read = masked_frames([(True, b"hello"), (False, os.urandom(200))])
    items, runs = record_reads(tmp_path, [read])
    items.close()
    runs.close()
    for sql in (
        "UPDATE records SET dir = 'out' WHERE seq = 1",
        "UPDATE records SET wire = CAST(x'810568656c6c6f' || wire AS BLOB) WHERE seq = 1",
        'UPDATE records SET fields = \'{"framing":"ws-sent-frames"}\' WHERE seq = 1',
    ):
        path = tmp_path / "damaged.sockcap"
        path.write_bytes(runs.path.read_bytes())
        with sqlite3.connect(path) as conn:
            conn.execute(sql)
        conn.close()
        with pytest.raises(CaptureError, match="damaged") as info, CaptureStore.open(path) as s:
            s.records(0, 10)
        assert "\n" not in str(info.value)
