"""DetailPane: the decoded tree and the byte view follow each other."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from websockets.frames import Opcode

from inspector.core.records import Direction, Kind, Record
from inspector.ui.widgets import DetailPane, RecordContext


def _pane(qtbot: QtBot) -> DetailPane:
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.resize(800, 700)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def test_tree_selection_highlights_bytes_and_clicks_select_fields(qtbot, make_frame) -> None:
    pane = _pane(qtbot)
    pane.show_record(make_frame(Opcode.TEXT, b"Hello"), RecordContext(scheme="ws"))
    assert pane.bytes.data()[:1] == b"\x81"
    pane.decoded.setCurrentItem(pane.decoded.find_label("Masking key"))
    assert pane.bytes.highlighted() == (2, 6)
    view = pane.bytes
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.byte_rect(8).center())
    assert pane.decoded.currentItem().text(0) == "Payload"
    assert view.highlighted() == (6, 11)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.byte_rect(0).center())
    assert pane.decoded.currentItem().text(0) == "FIN"


def test_session_context_fills_headers_and_timing(qtbot, make_frame, make_phases) -> None:
    pane = _pane(qtbot)
    phases = make_phases()
    request, response = phases[-2], phases[-1]
    context = RecordContext("wss", request, response, tuple(phases))
    pane.show_record(make_frame(), context)
    assert pane.headers.status_line.text() == "HTTP/1.1 101 Switching Protocols"
    assert pane.timing.phase_labels()[0] == "resolve: 1.20 ms"
    error = Record(7, 9, Direction.META, Kind.ERROR, fields={"message": "connection reset"})
    pane.show_record(error, RecordContext("tcp"))
    assert pane.bytes.data() == b""
    assert pane.headers.placeholder.text() == "TCP session: no handshake"
    pane.show_record(None)
    assert pane.decoded.topLevelItemCount() == 0
    pane.clear()
    assert pane.timing.phase_labels() == []
