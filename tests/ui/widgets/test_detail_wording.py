"""The detail panes say what their bytes are: rebuilt HAR bytes are marked, the hex view
switches between wire and payload, labels and byte spans read the same everywhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode

from inspector.capture.formats import import_har
from inspector.core.records import Direction, Kind, Record
from inspector.protocols.wireframes import WireFrameParser, range_lists
from inspector.ui.models.records import preview_text
from inspector.ui.widgets import DetailPane, RecordContext
from inspector.ui.widgets.bytepane import ByteSource

HAR = Path(__file__).parents[2] / "capture" / "formats" / "data" / "chrome_websocket.har"


def _pane(qtbot: QtBot) -> DetailPane:
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.resize(900, 600)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def _rows(pane: DetailPane) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    tree = pane.decoded
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop(0)
        out.setdefault(item.text(0), (item.text(1), item.text(2)))
        stack.extend(item.child(i) for i in range(item.childCount()))
    return out


def _compressed_frame() -> Record:
    text = b"compress me " * 20
    wire = Frame(Opcode.TEXT, text).serialize(
        mask=True, extensions=[PerMessageDeflate(False, False, 15, 15)]
    )
    wf = WireFrameParser().feed(wire)[0]
    fields = {
        "opcode": "text",
        "opcode_value": 1,
        "fin": True,
        "rsv1": True,
        "masked": True,
        "mask_key": wf.mask_key.hex(),
        "header_len": wf.header_len,
        "payload_len": wf.payload_len,
        "compressed": True,
        "ranges": range_lists(wf.header_len, True, wf.payload_len),
    }
    return Record(3, 1_000, Direction.OUT, Kind.FRAME, wire, text, fields)


def test_a_har_frame_says_it_was_rebuilt_in_the_tree_and_over_the_hex(qtbot) -> None:
    pane = _pane(qtbot)
    ((_, records),) = import_har(HAR)
    sent = next(r for r in records if r.kind is Kind.FRAME and r.direction is Direction.OUT)
    pane.show_record(sent, RecordContext("wss"))
    rows = _rows(pane)
    assert rows["Origin"][0] == "rebuilt from HAR, not captured"
    assert rows["Wire size"][0].endswith("(rebuilt)")
    assert rows["Masking key"][0] == "00000000 (not recorded)"
    caption = pane.bytes_pane.caption.text()
    assert "rebuilt from HAR, not captured" in caption
    # Read again, the same bytes: nothing is invented afresh on each read.
    ((_, again),) = import_har(HAR)
    pane.show_record(again[sent.seq], RecordContext("wss"))
    assert pane.bytes.data() == sent.wire


def test_hex_view_switches_between_wire_and_payload(qtbot) -> None:
    pane = _pane(qtbot)
    record = _compressed_frame()
    pane.show_record(record, RecordContext("ws"))
    panel = pane.bytes_pane
    assert panel.source is ByteSource.WIRE and pane.bytes.data() == record.wire
    assert panel.caption.text() == f"Wire: {len(record.wire)} bytes as sent"
    qtbot.mouseClick(panel.payload_button, Qt.MouseButton.LeftButton)
    assert panel.source is ByteSource.PAYLOAD
    assert pane.bytes.data() == record.payload
    assert panel.caption.text() == (f"Payload: {len(record.payload)} bytes, unmasked and inflated")
    # Selecting the payload in the tree highlights all of it in the payload view.
    pane.decoded.setCurrentItem(pane.decoded.find_label("Payload"))
    assert pane.bytes.highlighted() == (0, len(record.payload))
    # The choice holds for the next record; a record whose payload is its wire has no switch.
    pane.show_record(_compressed_frame(), RecordContext("ws"))
    assert panel.source is ByteSource.PAYLOAD
    data = Record(4, 2_000, Direction.IN, Kind.DATA, b"abc", b"abc")
    pane.show_record(data, RecordContext("tcp"))
    assert panel.source is ByteSource.WIRE and not panel.payload_button.isEnabled()
    assert panel.caption.text() == "Wire: 3 bytes as received"
    pane.show_record(record, RecordContext("ws"))
    assert panel.source is ByteSource.PAYLOAD
    qtbot.mouseClick(panel.wire_button, Qt.MouseButton.LeftButton)
    assert panel.source is ByteSource.WIRE and pane.bytes.data() == record.wire


def test_field_names_are_spelled_as_people_write_them(qtbot, make_phases) -> None:
    pane = _pane(qtbot)
    tls = next(r for r in make_phases() if r.kind is Kind.TLS)
    pane.show_record(tls, RecordContext("wss"))
    labels = set(_rows(pane))
    assert {"TLS", "ALPN", "SHA-256", "Server hostname", "Duration"} <= labels
    assert not labels & {"Tls", "Alpn", "Sha256", "Duration ns"}


def test_window_shows_no_command_line_flags_or_python_lists(qtbot) -> None:
    pane = _pane(qtbot)
    info = Record(
        4, 0, Direction.META, Kind.INFO, fields={"message": "certificate not verified (--insecure)"}
    )
    pane.show_record(info, RecordContext("wss"))
    assert "--insecure" not in " ".join(v for v, _ in _rows(pane).values())
    assert "--insecure" not in preview_text(info)
    response = Record(
        1,
        0,
        Direction.IN,
        Kind.HANDSHAKE,
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        None,
        {"status": 101, "reason": "Switching Protocols", "extensions": ["permessage-deflate"]},
    )
    assert preview_text(response) == "101 Switching Protocols extensions=permessage-deflate"
    pane.show_record(response, RecordContext("ws"))
    assert _rows(pane)["Extensions"][0] == "permessage-deflate"
