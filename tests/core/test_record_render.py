"""render: the JSON dict, the one-line view and the payload preview of records."""

from __future__ import annotations

import json

from inspector.core.records import Direction, Kind, Record
from inspector.core.render import (
    escape_text,
    hex_preview,
    json_lines,
    kind_label,
    payload_preview,
    record_line,
    record_lines,
    record_to_json,
)


def _frame(**fields: object) -> Record:
    base: dict[str, object] = {
        "opcode": "text",
        "opcode_value": 1,
        "fin": True,
        "rsv1": False,
        "masked": True,
        "mask_key": "01020304",
    }
    base.update(fields)
    return Record(7, 12_345_000, Direction.OUT, Kind.FRAME, b"\x81\x85abcd", b"hello", base)


def test_escape_text_shows_control_characters() -> None:
    assert escape_text("plain text") == "plain text"
    assert escape_text("a\r\n\tb\\") == "a\\r\\n\\tb\\\\"
    assert escape_text("\x00\x7f") == "\\x00\\x7f"
    assert escape_text("\u2028") == "\\u2028"
    assert escape_text("héllo ✓") == "héllo ✓"


def test_payload_preview_text_hex_and_truncation() -> None:
    assert payload_preview(b"") == '""'
    assert payload_preview(b"hi\n") == '"hi\\n"'
    assert payload_preview(b"\xff\x00\x01") == "ff 00 01"
    long = payload_preview(b"x" * 1000, limit=10)
    assert long == '"' + "x" * 10 + '"…'
    assert hex_preview(bytes(range(100)), limit=12).endswith(" …")


def test_payload_preview_cut_inside_a_character_is_still_text() -> None:
    data = "é".encode() * 200  # two bytes each; the head cut may split one
    preview = payload_preview(data, limit=5)
    assert preview.startswith('"ééééé')


def test_record_to_json_has_base_keys_and_fields() -> None:
    out = record_to_json(_frame())
    assert out["seq"] == 7
    assert out["t"] == 0.012345
    assert out["dir"] == "out"
    assert out["kind"] == "frame"
    assert out["size"] == 5
    assert out["wire"] == b"\x81\x85abcd".hex()
    assert out["text"] == "hello"
    assert "hex" not in out
    assert out["opcode"] == "text" and out["masked"] is True and out["mask_key"] == "01020304"
    json.dumps(out)  # JSON-ready


def test_record_to_json_binary_payload_and_no_payload() -> None:
    binary = Record(1, 0, Direction.IN, Kind.DATA, b"\xff\xfe", b"\xff\xfe")
    out = record_to_json(binary)
    assert out["hex"] == "fffe" and "text" not in out
    meta = Record(2, 5, Direction.META, Kind.ERROR, fields={"message": "boom", "seq": 99})
    out = record_to_json(meta)
    assert "text" not in out and "hex" not in out
    assert out["message"] == "boom"
    assert out["seq"] == 2  # a field never hides a base key


def test_record_line_frame_and_auto_marker() -> None:
    line = record_line(_frame())
    assert line.startswith("  0.012345 → text")
    assert '"hello"' in line
    assert " 5 " in line
    auto = _frame(opcode="pong", automatic=True)
    assert kind_label(auto) == "pong auto"


def test_record_line_close_frame_shows_code_and_reason() -> None:
    payload = (1000).to_bytes(2, "big") + b"bye"
    record = Record(
        3, 0, Direction.IN, Kind.FRAME, b"\x88\x05" + payload, payload,
        {"opcode": "close", "close_code": 1000, "close_reason": "bye"},
    )  # fmt: skip
    line = record_line(record)
    assert "← close" in line and "1000 bye" in line


def test_record_line_meta_records() -> None:
    connect = Record(
        0, 1000, Direction.META, Kind.CONNECT,
        fields={"local": "127.0.0.1:5000", "peer": "127.0.0.1:80"},
    )  # fmt: skip
    assert "· connect" in record_line(connect)
    assert "127.0.0.1:5000 → 127.0.0.1:80" in record_line(connect)
    error = Record(1, 2000, Direction.META, Kind.ERROR, fields={"message": "refused\nnow"})
    assert record_line(error).endswith("refused\\nnow")
    request = Record(
        2, 0, Direction.OUT, Kind.HANDSHAKE, b"GET / HTTP/1.1\r\n\r\n",
        fields={"method": "GET", "target": "/chat"},
    )  # fmt: skip
    assert record_line(request).endswith("GET /chat")
    response = Record(
        3, 0, Direction.IN, Kind.HANDSHAKE, b"HTTP/1.1 101 ...", None,
        {"status": 101, "reason": "Switching Protocols", "subprotocol": "chat"},
    )  # fmt: skip
    assert record_line(response).endswith("101 Switching Protocols subprotocol=chat")


def test_record_line_rejected_frame_shows_error_and_hex() -> None:
    record = Record(
        4, 0, Direction.IN, Kind.FRAME, b"\x83\x00", None,
        {"opcode": "reserved-0x3", "error": "invalid opcode: 3"},
    )  # fmt: skip
    line = record_line(record)
    assert "reserved-0x3" in line and "[invalid opcode: 3]" in line


def test_record_line_data_without_payload_uses_wire() -> None:
    record = Record(5, 0, Direction.IN, Kind.DATA, b"abc\x00")
    assert record_line(record).endswith('"abc\\x00"')


def _varied_records() -> list[Record]:
    shared = {"opcode": "text", "fin": True, "ranges": [["payload", 2, 7]]}
    error = {"message": 'bad "peer"\u2028', "error": "x"}
    get = b"GET / HTTP/1.1\r\n\r\n"
    return [
        Record(0, 1_500_000, Direction.IN, Kind.FRAME, b"\x81\x05hello", b"hello", shared),
        Record(1, 1_500_000, Direction.IN, Kind.FRAME, b"\x81\x03\xc3\xa9\n", b"\xc3\xa9\n", {}),
        Record(2, 2_000_001, Direction.IN, Kind.FRAME, b"\x82\x02\xff\x00", b"\xff\x00", shared),
        Record(3, 3, Direction.META, Kind.ERROR, fields=error),
        Record(4, 4, Direction.IN, Kind.MESSAGE, b"line\n", b"line", {"size": 99, "text": "no"}),
        Record(5, 5, Direction.OUT, Kind.HANDSHAKE, get, None, {"method": "GET"}),
        Record(6, 6, Direction.IN, Kind.FRAME, b"\x88\x02\x03\xe8", b"\x03\xe8",
               {"opcode": "close", "close_code": 1000, "automatic": True}),
        Record(7, 7, Direction.IN, Kind.DATA, b"\x00\x01"),
        Record(8, 8, Direction.IN, Kind.FRAME, b"\x81\x01x", b"x", shared),
    ]  # fmt: skip


def test_batch_renderers_match_the_single_record_ones() -> None:
    records = _varied_records()
    for _ in range(2):  # the second pass reuses every remembered shape
        assert json_lines(records) == [
            json.dumps(record_to_json(r), ensure_ascii=False) for r in records
        ]
        assert record_lines(records) == [record_line(r) for r in records]
