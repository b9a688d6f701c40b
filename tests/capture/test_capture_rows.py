"""Record rows by name: the columns a row is read with, what its payload_is_wire holds,
and the read-only field mappings that many records share."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from inspector.capture import CaptureStore
from inspector.capture.schema import (
    PAYLOAD_AT,
    RECORD_COLUMN_NAMES,
    RECORD_COLUMNS,
    REQUIRED_COLUMNS,
    RUN_FIELDS,
    SESSION_COLUMN_NAMES,
    SESSION_COLUMNS,
    PayloadKind,
    decode_payload_kind,
    decode_row,
    decode_rows,
    encode_payload_kind,
    encode_rows,
    row_end,
    row_payload_code,
    row_seq,
)
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.recorder import RecordSink
from inspector.core.records import Direction, Kind, Record
from inspector.core.runs import PREFIX_WIDTH, MessageRun, message_fields


@pytest.mark.parametrize(
    ("kind", "number", "stored"),
    [
        (PayloadKind.COLUMN, 0, 0),
        (PayloadKind.WIRE, 0, 1),
        (PayloadKind.WIRE_FROM, 0, 2),
        (PayloadKind.WIRE_FROM, 6, 8),
        (PayloadKind.RUN, 1, -1),
        (PayloadKind.RUN, 65_536, -65_536),
    ],
)
def test_payload_kinds_are_stored_as_the_format_says(
    kind: PayloadKind, number: int, stored: int
) -> None:
    assert encode_payload_kind(kind, number) == stored
    assert decode_payload_kind(stored) == (kind, number)


def test_each_payload_kind_is_what_the_writer_stores(new_store) -> None:
    store, recorder = new_store(commit_interval=3600)
    assert isinstance(store, RecordSink)
    frame = b"\x81\x05hello"
    recorder.record(Direction.META, Kind.INFO, 0, fields={"message": "no payload"})
    recorder.record(Direction.OUT, Kind.DATA, 1, b"abc", b"abc")
    recorder.record(Direction.IN, Kind.FRAME, 2, frame, frame[2:])
    recorder.record(Direction.IN, Kind.FRAME, 3, frame, b"other")
    recorder.record_run(Direction.IN, Kind.MESSAGE, 4, b"a\nb\nc\n", 3)
    store.flush()
    stored = store._conn.execute("SELECT seq, payload_is_wire FROM records ORDER BY seq").fetchall()
    assert [(seq, decode_payload_kind(code)) for seq, code in stored] == [
        (0, (PayloadKind.COLUMN, 0)),
        (1, (PayloadKind.WIRE, 0)),
        (2, (PayloadKind.WIRE_FROM, 2)),
        (3, (PayloadKind.COLUMN, 0)),  # a payload of its own, in the payload column
        (4, (PayloadKind.RUN, 3)),
    ]
    assert [r.payload for r in store.records(0, 10)] == [
        None, b"abc", b"hello", b"other", b"a", b"b", b"c",
    ]  # fmt: skip


def test_rows_are_read_by_the_declared_column_names(tmp_path) -> None:
    values = {
        "seq": 7,
        "t_ns": 42,
        "dir": "in",
        "kind": "frame",
        "wire": b"\x81\x02hi",
        "payload": None,
        "payload_is_wire": PAYLOAD_AT + 2,
        "fields": '{"opcode":"text"}',
    }
    row = tuple(values[name] for name in RECORD_COLUMN_NAMES)
    assert ", ".join(RECORD_COLUMN_NAMES) == RECORD_COLUMNS
    assert (row_seq(row), row_payload_code(row), row_end(row)) == (7, 4, 8)
    assert decode_row(row) == Record(
        7, 42, Direction.IN, Kind.FRAME, b"\x81\x02hi", b"hi", {"opcode": "text"}
    )
    run = MessageRun(3, 9, Direction.IN, Kind.MESSAGE, b"x\ny\n", 2)
    (session_id, *run_row) = encode_rows(1, [run])[0]
    assert session_id == 1 and row_end(run_row) == 5
    assert decode_rows(tuple(run_row)) == run.records()

    # The names are the table's columns, in the order they are declared and inserted.
    store = CaptureStore.create(
        tmp_path / "c.sockcap", endpoint="tcp://h:1", scheme="tcp", options={}, clock=SessionClock()
    )
    try:
        for table in ("records", "sessions"):
            columns = tuple(
                name for _cid, name, *_rest in store._conn.execute(f"PRAGMA table_info({table})")
            )
            assert columns == REQUIRED_COLUMNS[table]
        assert REQUIRED_COLUMNS["records"] == ("session_id", *RECORD_COLUMN_NAMES)
        assert ", ".join(SESSION_COLUMN_NAMES) == SESSION_COLUMNS
    finally:
        store.close()


def test_shared_field_mappings_cannot_be_changed() -> None:
    shared = message_fields("lines", 3, 4)
    assert shared is message_fields("lines", 3, 4)
    assert shared == {"framing": "lines", "ranges": [["payload", 0, 3], ["terminator", 3, 4]]}
    for mapping in (shared, RUN_FIELDS, RUN_FIELDS["len16"], PREFIX_WIDTH, REQUIRED_COLUMNS):
        assert type(mapping) is MappingProxyType
        with pytest.raises(TypeError):
            mapping["framing"] = "raw"  # type: ignore[index]
    (record,) = MessageRun(0, 0, Direction.IN, Kind.MESSAGE, b"abc\n", 1).records()
    assert record.fields is shared


def test_a_damaged_run_row_is_one_line_of_damage() -> None:
    row = (5, 0, "in", "message", b"a\nb\n", None, -3, '{"framing":"lines"}')
    with pytest.raises(CaptureError, match=r"^record 5 .* holds 2 whole messages of lines"):
        decode_rows(row)
    with pytest.raises(CaptureError, match=r"^record 5 .* payload_is_wire is not 0, 1 or an"):
        decode_rows(row, runs=False)  # a file before schema 3 has no runs
    not_a_run = (6, 0, "out", "data", b"a\n", None, -1, None)
    with pytest.raises(CaptureError, match=r"^record 6 .* payload_is_wire -1 marks a run"):
        decode_rows(not_a_run)
