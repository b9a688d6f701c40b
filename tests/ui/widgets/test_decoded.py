"""DecodedTree: every frame field with its bytes, the payload as text and JSON."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from websockets.frames import Close, Opcode

from inspector.core.records import Direction, Kind, Record
from inspector.ui.widgets.decoded import NODE_CAP, DecodedTree


def _tree(qtbot: QtBot, record: Record | None) -> DecodedTree:
    tree = DecodedTree()
    qtbot.addWidget(tree)
    tree.resize(700, 500)
    tree.show_record(record)
    return tree


def _rows(tree: DecodedTree) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop(0)
        out.setdefault(item.text(0), (item.text(1), item.text(2)))
        stack.extend(item.child(i) for i in range(item.childCount()))
    return out


def test_masked_text_frame_lists_every_field_with_its_bytes(qtbot, make_frame) -> None:
    record = make_frame(Opcode.TEXT, b"Hello")
    tree = _tree(qtbot, record)
    rows = _rows(tree)
    assert rows["FIN"] == ("1 (final fragment)", "byte 0")
    for rsv in ("RSV1", "RSV2", "RSV3"):
        assert rows[rsv] == ("0", "byte 0")
    assert rows["Opcode"] == ("text (0x1)", "byte 0")
    assert rows["MASK"] == ("1 (masked)", "byte 1")
    assert rows["Payload length"] == ("5 bytes on the wire", "byte 1")
    assert rows["Masking key"] == (record.fields["mask_key"], "bytes 2\u20135")
    assert rows["Payload"] == ("5 bytes", "bytes 6\u201310")
    assert rows["Text"][0] == "Hello"
    assert rows["WebSocket frame"][1] == "bytes 0\u20135"


def test_selecting_a_field_emits_its_range_and_back(qtbot, make_frame) -> None:
    tree = _tree(qtbot, make_frame(Opcode.TEXT, b"Hello"))
    with qtbot.waitSignal(tree.rangeSelected) as sig:
        tree.setCurrentItem(tree.find_label("Masking key"))
    assert sig.args == [2, 6]
    with qtbot.waitSignal(tree.rangeSelected) as sig:
        assert tree.select_field("payload")
    assert sig.args == [6, 11]
    assert tree.currentItem().text(0) == "Payload"
    assert not tree.select_field("no_such_field")
    assert not tree.select_field("")


def test_extended_length_and_binary_payload(qtbot, make_frame) -> None:
    payload = bytes(range(256)) * 2
    tree = _tree(qtbot, make_frame(Opcode.BINARY, payload, direction=Direction.IN))
    rows = _rows(tree)
    assert rows["Payload length"] == ("512 bytes on the wire", "bytes 1\u20133")
    assert rows["MASK"][0] == "0 (not masked)"
    assert "Masking key" not in rows
    assert rows["Hex"][0].startswith("00 01 02 03")
    assert "Invalid UTF-8" not in rows  # binary frames are not text


def test_close_frame_shows_code_meaning_and_reason(qtbot, make_frame) -> None:
    payload = Close(1001, "server restart").serialize()
    tree = _tree(qtbot, make_frame(Opcode.CLOSE, payload))
    rows = _rows(tree)
    assert rows["Opcode"][0] == "close (0x8)"
    assert rows["Close code"] == ("1001 (Going Away)", "bytes 6\u20137")
    assert rows["Close reason"][0] == "'server restart'"


def test_json_payload_becomes_a_lazy_tree(qtbot, make_frame) -> None:
    doc = {"type": "hello", "n": 3, "ok": True, "none": None, "items": [1, {"deep": "x"}]}
    tree = _tree(qtbot, make_frame(Opcode.TEXT, json.dumps(doc).encode()))
    node = tree.find_label("JSON")
    assert node.text(1) == "{5 keys}"
    children = {node.child(i).text(0): node.child(i).text(1) for i in range(node.childCount())}
    assert children == {
        "type": '"hello"',
        "n": "3",
        "ok": "true",
        "none": "null",
        "items": "[2 items]",
    }
    items = next(
        node.child(i) for i in range(node.childCount()) if node.child(i).text(0) == "items"
    )
    assert items.childCount() == 0  # built on expansion only
    items.setExpanded(True)
    assert [items.child(i).text(1) for i in range(items.childCount())] == ["1", "{1 key}"]


def test_huge_json_array_is_capped(qtbot, make_frame) -> None:
    payload = json.dumps(list(range(NODE_CAP + 1234))).encode()
    tree = _tree(qtbot, make_frame(Opcode.TEXT, payload))
    node = tree.find_label("JSON")
    assert node.childCount() == NODE_CAP + 1
    more = node.child(NODE_CAP)
    assert more.text(1) == "1,234 more"
    tree.setCurrentItem(more)  # choosing "… more" loads the next batch
    assert node.childCount() == NODE_CAP + 1234
    assert node.child(node.childCount() - 1).text(1) == str(NODE_CAP + 1233)


def test_invalid_utf8_and_json_are_items_not_exceptions(qtbot, make_frame) -> None:
    tree = _tree(qtbot, make_frame(Opcode.TEXT, b"ab\xff\xfecd"))
    rows = _rows(tree)
    assert rows["Invalid UTF-8"][0].startswith("at byte 2")
    tree.show_record(make_frame(Opcode.TEXT, b'{"a": 1,'))
    assert _rows(tree)["Invalid JSON"][0]
    tree.show_record(None)
    assert tree.topLevelItemCount() == 0


def test_handshake_response_lists_status_and_headers_with_ranges(qtbot, make_handshake) -> None:
    request, response = make_handshake()
    tree = _tree(qtbot, response)
    rows = _rows(tree)
    assert rows["Status line"] == ("HTTP/1.1 101 Switching Protocols", "bytes 0\u201331")
    assert rows["Accepted"][0] == "yes"
    assert rows["Upgrade"][0] == "websocket"
    assert rows["Sec-WebSocket-Accept"][0] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    tree.show_record(request)
    flags = Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive
    traces = tree.findItems("X-Trace", flags, 0)
    assert [t.text(1) for t in traces] == ["one", "two"]


def test_meta_and_stream_records_show_every_field(qtbot) -> None:
    error = Record(
        9,
        7_000_000,
        Direction.META,
        Kind.ERROR,
        fields={"message": "connection refused", "phase": "connect", "close_code": 1006},
    )
    tree = _tree(qtbot, error)
    rows = _rows(tree)
    assert rows["Message"][0] == "connection refused"
    assert rows["Phase"][0] == "connect"
    assert rows["Close code meaning"][0] == "1006 (Abnormal Closure)"
    tls = Record(
        3,
        9_000_000,
        Direction.META,
        Kind.TLS,
        fields={"version": "TLSv1.3", "duration_ns": 1_234_567, "cert": {"subject": "CN=x"}},
    )
    tree.show_record(tls)
    rows = _rows(tree)
    assert rows["Duration"][0] == "1.23 ms"
    assert rows["Subject"][0] == "CN=x"
    message = Record(
        4,
        1,
        Direction.IN,
        Kind.MESSAGE,
        b"hi\n",
        b"hi",
        {"framing": "lines", "ranges": [["payload", 0, 2], ["terminator", 2, 3]]},
    )
    tree.show_record(message)
    rows = _rows(tree)
    assert rows["Framing"][0] == "lines"
    assert rows["Terminator"] == ("1 byte", "byte 2")
    assert rows["Payload"] == ("2 bytes", "bytes 0\u20131")


def test_compressed_frame_shows_both_sizes(qtbot) -> None:
    from websockets.extensions.permessage_deflate import PerMessageDeflate
    from websockets.frames import Frame

    from inspector.protocols.wireframes import WireFrameParser

    text = b"compress me " * 50
    ext = PerMessageDeflate(False, False, 15, 15)
    wire = Frame(Opcode.TEXT, text).serialize(mask=True, extensions=[ext])
    wf = WireFrameParser().feed(wire)[0]
    fields = {
        "opcode": "text",
        "opcode_value": 1,
        "fin": True,
        "rsv1": True,
        "rsv2": False,
        "rsv3": False,
        "masked": True,
        "mask_key": wf.mask_key.hex(),
        "header_len": wf.header_len,
        "payload_len": wf.payload_len,
        "compressed": True,
        "ranges": [list(r) for r in wf.ranges()],
    }
    tree = _tree(qtbot, Record(1, 1, Direction.OUT, Kind.FRAME, wire, text, fields))
    rows = _rows(tree)
    assert rows["RSV1"][0] == "1 (compressed: permessage-deflate)"
    assert rows["Compressed size"][0] == f"{wf.payload_len} bytes"
    assert rows["Decompressed size"][0] == "600 bytes"
    assert wf.payload_len < 600
    assert rows["Text"][0].startswith("compress me compress me")


def test_huge_payload_is_previewed_not_decoded_whole(qtbot, make_frame) -> None:
    payload = b"[" + b"1," * (8 * 1024 * 1024) + b"1]"
    record = make_frame(Opcode.TEXT, b"[]")
    record = Record(
        record.seq, record.t_ns, record.direction, record.kind, record.wire, payload, record.fields
    )
    rows = _rows(_tree(qtbot, record))
    assert rows["Payload"][0] == f"{len(payload):,} bytes (16.00 MiB)"
    assert rows["Truncated"][0].startswith("first 16,384 characters")
    assert rows["JSON"][0] == "not parsed: over 8,388,608 bytes (8.00 MiB)"
    assert len(rows["Text"][0]) <= 400
