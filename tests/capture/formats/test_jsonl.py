"""JSON Lines export and import: the probe --json line plus wire_b64, round trips and
hostile files."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from format_samples import SessionInfo, standard_ws_records
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.capture.formats import ExportCancelled, export_jsonl, iter_jsonl, read_jsonl
from inspector.capture.formats.jsonl import jsonl_line, jsonl_lines
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record
from inspector.core.render import record_to_json

WS_URL = "ws://127.0.0.1:8765/chat?access_token=abc123&room=1"
SESSION = SessionInfo(WS_URL, "ws")


def write(tmp_path: Path, records: list[Record], **kwargs: Any) -> Path:
    path = tmp_path / "out.jsonl"
    with path.open("wb") as out:
        assert export_jsonl(out, SESSION, records, **kwargs) == len(records)
    return path


def mixed_records() -> list[Record]:
    """WebSocket records plus TCP, UDP and meta records with every payload shape."""
    extra = [
        Record(100, 1, Direction.OUT, Kind.DATA, b"\x00\xffbin", b"\x00\xffbin"),
        Record(101, 2, Direction.IN, Kind.MESSAGE, b"line\n", b"line", {"framing": "lines"}),
        Record(102, 3, Direction.IN, Kind.DATAGRAM, b"", b"", {"peer": "[::1]:9"}),
        Record(103, 4, Direction.META, Kind.ERROR, fields={"message": "boom", "phase": "tls"}),
        Record(104, 5, Direction.META, Kind.TLS, fields={"cert": {"san": ["a", "b"]}}),
        Record(105, 987_654_321_012_345, Direction.META, Kind.INFO, fields={"message": "late"}),
    ]
    return standard_ws_records() + extra


def test_each_line_is_the_probe_json_plus_wire_b64(tmp_path: Path) -> None:
    records = mixed_records()
    lines = write(tmp_path, records, include_secrets=True).read_text().splitlines()
    assert len(lines) == len(records)
    for line, record in zip(lines, records, strict=True):
        obj = json.loads(line)
        assert base64.b64decode(obj.pop("wire_b64")) == record.wire
        assert obj.pop("t_ns") == record.t_ns
        assert obj == json.loads(json.dumps(record_to_json(record)))
    frame = json.loads(lines[4])
    assert frame["opcode"] == "text" and frame["masked"] is True and frame["text"] == "hello ✓"


def test_round_trip_gives_the_same_records(tmp_path: Path) -> None:
    records = mixed_records()
    back = read_jsonl(write(tmp_path, records, include_secrets=True))
    assert back == records


def test_secrets_are_redacted_and_marked(tmp_path: Path) -> None:
    records = standard_ws_records(headers={"Authorization": "Bearer s3cret"})
    text = write(tmp_path, records).read_text()
    assert "s3cret" not in text and "abc123" not in text
    assert base64.b64encode(b"s3cret").decode() not in text
    lines = [json.loads(line) for line in text.splitlines()]
    marked = [line["seq"] for line in lines if line.get("_redacted")]
    assert marked == [2]
    request = lines[2]
    assert ["Authorization", "[redacted]"] in request["headers"]
    assert request["target"] == "/chat?access_token=[redacted]&room=1"
    assert b"Authorization: [redacted]\r\n" in base64.b64decode(request["wire_b64"])
    assert bytes.fromhex(request["wire"]) == base64.b64decode(request["wire_b64"])
    back = read_jsonl(tmp_path / "out.jsonl")
    assert "_redacted" not in back[2].fields
    assert back[4:] == records[4:]


def test_progress_cancels() -> None:
    with pytest.raises(ExportCancelled):
        export_jsonl(io.BytesIO(), SESSION, mixed_records() * 100, progress=lambda n: False)


def test_old_lines_without_wire_b64_or_t_ns_still_read() -> None:
    line = b'{"seq": 3, "t": 0.25, "dir": "in", "kind": "data", "wire": "6869", "text": "hi"}'
    (record,) = iter_jsonl(line + b"\n\n")
    assert record == Record(3, 250_000_000, Direction.IN, Kind.DATA, b"hi", b"hi")


HOSTILE = [
    (b"{", "line 1: not valid JSON"),
    (b"[1]", "not a JSON object"),
    (b'{"seq": -1}', "'seq'"),
    (b'{"seq": true}', "'seq'"),
    (b'{"seq": 1e400}', "'seq'"),
    (b'{"seq": 1, "t": "x"}', "'t'"),
    (b'{"seq": 1, "t_ns": ' + b"9" * 30 + b"}", "'t_ns'"),
    (b'{"seq": 1, "t": 0, "dir": "up", "kind": "data"}', "unknown 'dir'"),
    (b'{"seq": 1, "t": 0, "dir": "in", "kind": 5}', "unknown 'dir' or 'kind'"),
    (b'{"seq": 1, "t": 0, "dir": "in", "kind": "data", "wire_b64": "@@"}', "not base64"),
    (b'{"seq": 1, "t": 0, "dir": "in", "kind": "data", "wire": "zz"}', "not hex"),
    (b'{"seq": 1, "t": 0, "dir": "in", "kind": "data", "text": 5}', "'text'"),
    (b'{"seq": 1, "t": 0, "dir": "in", "kind": "data", "hex": []}', "'hex'"),
    (b'{"seq": 1, "t": NaN}', "not valid JSON"),
    (b"\n\n\xff\xfe", "line 3"),
    (b"[" * 50_000, "JSON"),
]


@pytest.mark.parametrize(("data", "message"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_lines_are_one_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data)
    with pytest.raises(CaptureError, match=message) as caught:
        read_jsonl(path)
    assert "\n" not in str(caught.value)


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert read_jsonl(path) == []


def test_missing_file_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read"):
        read_jsonl(tmp_path / "nope.jsonl")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
line_like = st.fixed_dictionaries(
    {},
    optional={
        "seq": st.integers(-5, 2**70) | json_values,
        "t": st.floats(allow_nan=False) | json_values,
        "t_ns": st.integers(-5, 2**70) | json_values,
        "dir": st.sampled_from(["in", "out", "meta", "x"]) | json_values,
        "kind": st.sampled_from(["data", "frame", "closed", "x"]) | json_values,
        "wire": st.binary(max_size=20).map(bytes.hex) | json_values,
        "wire_b64": st.binary(max_size=20).map(lambda b: base64.b64encode(b).decode())
        | json_values,
        "text": json_values,
        "hex": st.binary(max_size=8).map(bytes.hex) | json_values,
    },
)


def _read_or_capture_error(data: bytes) -> None:
    try:
        records = list(iter_jsonl(data))
    except CaptureError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert all(isinstance(r, Record) and r.seq >= 0 and r.t_ns >= 0 for r in records)


@settings(max_examples=300, deadline=None)
@given(st.lists(line_like | json_values, max_size=4))
def test_fuzz_jsonl_structures(lines: list[Any]) -> None:
    _read_or_capture_error("\n".join(json.dumps(line) for line in lines).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_jsonl_bytes(data: bytes) -> None:
    _read_or_capture_error(data)


def test_batched_lines_are_the_one_record_lines() -> None:
    shared = {"opcode": "text", "fin": True, "ranges": [["payload", 2, 4]]}
    records = [
        Record(0, 10, Direction.IN, Kind.FRAME, b"\x81\x02hi", b"hi", shared),
        Record(1, 10, Direction.IN, Kind.FRAME, b"\x82\x01\xff", b"\xff", shared),
        Record(2, 11, Direction.IN, Kind.MESSAGE, b"x\n", b"x", {"t_ns": "mine", "size": 3}),
        Record(3, 12, Direction.META, Kind.INFO, fields={"message": "odd", "blob": b"\x01"}),
        Record(4, 13, Direction.OUT, Kind.DATA, b"\x00"),
    ]
    for _ in range(2):  # the second pass reuses the encoded fields
        assert jsonl_lines(records) == [jsonl_line(r) for r in records]
