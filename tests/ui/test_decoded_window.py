"""The window against a real python-socketio server: decoded application fields with
their bytes, Decode as…, the matched ack with its latency, filters on decoded fields and
the Latency pane."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_servers import start_socketio_server
from pytestqt.qtbot import QtBot
from servers import RunningServer, ServerLoop
from ui_helpers import WAIT_MS, compose, find_row, records, wait_row

from inspector.core.records import Direction, Kind, Record
from inspector.ui.main_window import MainWindow
from inspector.ui.models.records import COL_LATENCY, COL_PREVIEW
from inspector.ui.widgets.decoded import LINK_ROLE

pytest.importorskip("socketio")

CHAT = '421["chat",{"text":"hi"}]'


@pytest.fixture
def socketio_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    server = start_socketio_server(server_loop)
    yield server
    server.stop()


def _frame(direction: Direction, text: bytes):
    def match(record: Record) -> bool:
        return (record.kind is Kind.FRAME and record.direction is direction
                and record.payload is not None and record.payload.startswith(text))  # fmt: skip

    return match


def _children(item) -> dict[str, object]:
    return {item.child(i).text(0): item.child(i) for i in range(item.childCount())}


def _chat_session(qtbot: QtBot, connect, server: RunningServer):
    tab = connect(server.url_for("/socket.io/?EIO=4&transport=websocket"))
    wait_row(qtbot, tab, _frame(Direction.IN, b"0{"))  # Engine.IO open
    compose(tab, "40")
    wait_row(qtbot, tab, _frame(Direction.IN, b"40{"))  # namespace connected
    compose(tab, CHAT)
    ack = wait_row(qtbot, tab, _frame(Direction.IN, b"431["))
    chat = find_row(tab, _frame(Direction.OUT, b"421["))
    assert chat is not None
    return tab, chat, ack


def test_socketio_event_is_decoded_paired_and_measured(
    socketio_server: RunningServer, qtbot: QtBot, window: MainWindow, connect
) -> None:
    tab, chat, ack = _chat_session(qtbot, connect, socketio_server)
    view = tab.view
    assert view.decoding.chosen == "socketio"  # chosen by the URL, nothing asked
    # The preview column shows the decoder's summary.
    assert "chat" in tab.model.index(chat, COL_PREVIEW).data()
    assert "EVENT" in tab.model.index(chat, COL_PREVIEW).data()

    # The ack is paired with the event: the Latency column appears with a value.
    qtbot.waitUntil(lambda: records(tab)[chat].seq in view.pairing.partner, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not tab.table.isColumnHidden(COL_LATENCY), timeout=WAIT_MS)
    assert tab.model.index(ack, COL_LATENCY).data().endswith(" ms")
    assert view.pairing.partner[records(tab)[chat].seq] == records(tab)[ack].seq

    tab.select_row(chat)
    tree = tab.details.tree
    app = tree.application_item()
    assert app is not None and "chat" in app.text(1)
    fields = _children(app)
    assert fields["Decoder"].text(1) == "socketio"
    paired = fields["Paired"]
    assert paired.text(1).startswith(f"answered by #{records(tab)[ack].seq} after ")
    assert paired.text(1).endswith(" ms")
    # The partner row is tinted.
    assert tab.model.tinted == frozenset({records(tab)[ack].seq})

    # A decoded field with a payload range: the sent frame is masked, so its bytes are
    # highlighted in the Payload view.
    placed = [it for it in _walk(app) if it.data(0, 0x0100 + 3)]
    assert placed
    event = next(it for it in placed if it.text(1).strip('"') == "chat")
    start, end = event.data(0, 0x0100 + 3)
    tree.setCurrentItem(event)
    assert tab.details.bytes_pane.source.value == "payload"
    assert tab.details.hex.highlighted() == (start, end)
    assert tab.details.hex.data()[start:end] == b'"chat"'

    # The received ack: its application fields are there too.
    tab.select_row(ack)
    app = tab.details.tree.application_item()
    assert app is not None and "ACK" in app.text(1)
    # The link goes back to the request.
    link = next(it for it in _walk(app) if it.data(0, LINK_ROLE) is not None)
    assert link.text(1).startswith(f"answers #{records(tab)[chat].seq}")
    tab.details.tree.itemClicked.emit(link, 1)
    assert tab.details.record.seq == records(tab)[chat].seq

    # The Latency pane counts the pair.
    view.show_stats()
    qtbot.waitUntil(lambda: view.pairing.done, timeout=WAIT_MS)
    view.draw_stats()
    assert view.stats.count == 1
    assert view.stats.unanswered == 0
    assert "pairs 1" in view.stats.summary.text()
    assert "p50" in view.stats.summary.text()

    # The saved capture, reopened: the decoder is chosen again from the recorded
    # handshake, and the same pair is found in the background.
    path = tab.capture_path
    assert path is not None
    tab.disconnect()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    (capture,) = window.captures.open_path(path)
    again = capture.view
    assert again.decoding.chosen == "socketio"
    qtbot.waitUntil(lambda: again.pairing.done, timeout=WAIT_MS)
    assert len(again.pairing.matching) == 1
    qtbot.waitUntil(lambda: not capture.table.isColumnHidden(COL_LATENCY), timeout=WAIT_MS)
    again.show_stats()
    assert again.stats.count == 1 and again.stats.unanswered == 0


def test_decode_as_switches_and_filters_on_decoded_fields(
    socketio_server: RunningServer, qtbot: QtBot, window: MainWindow, connect
) -> None:
    tab, chat, _ack = _chat_session(qtbot, connect, socketio_server)
    view = tab.view
    total = tab.model.rowCount()

    # A filter on a decoded field keeps the one event.
    view.filter_bar.edit.setText('event == "chat"')
    view.filter_bar.apply()
    qtbot.waitUntil(lambda: not tab.model.scanning, timeout=WAIT_MS)
    assert tab.model.rowCount() == 1
    assert records(tab)[0].payload == CHAT.encode()
    assert view.filter_bar.count.text() == f"1 of {total}"
    view.filter_bar.edit.setText("type ~ ^ACK")
    view.filter_bar.apply()
    qtbot.waitUntil(lambda: not tab.model.scanning, timeout=WAIT_MS)
    assert [r.payload[:3] for r in records(tab)] == [b"431"]
    view.filter_bar.edit.setText("event == ")
    view.filter_bar.apply()  # an empty value is the text "": no event is empty
    qtbot.waitUntil(lambda: not tab.model.scanning, timeout=WAIT_MS)
    assert tab.model.rowCount() == 0
    assert view.filter_bar.count.text() == f"0 of {total}"
    # A new event while the filter is set is tested as it arrives.
    view.filter_bar.edit.setText('event == "chat" && ack_id == 2')
    view.filter_bar.apply()
    qtbot.waitUntil(lambda: not tab.model.scanning, timeout=WAIT_MS)
    assert tab.model.rowCount() == 0
    compose(tab, '422["chat","again"]')
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=WAIT_MS)
    assert records(tab)[0].payload == b'422["chat","again"]'
    # Its ack, hidden by the filter, is paired as it arrives.
    qtbot.waitUntil(lambda: len(view.pairing.matching) == 2, timeout=WAIT_MS)
    assert tab.model.rowCount() == 1
    view.filter_bar.edit.setText("")
    view.filter_bar.apply()
    assert tab.model.rowCount() == tab.model.total > total

    # Decode as None: no application layer, the raw preview, no pairs.
    view.set_decoder("none")
    tab.select_row(chat)
    assert tab.details.tree.application_item() is None
    assert tab.model.index(chat, COL_PREVIEW).data().startswith('"421[')
    assert tab.table.isColumnHidden(COL_LATENCY)

    # Decode as JSON: the Socket.IO text is not JSON, and says so in one line.
    view.set_decoder("json")
    app = tab.details.tree.application_item()
    assert app is not None
    error = _children(app)["Not decoded"]
    assert error.text(1).startswith("not valid JSON")

    # Back to Automatic: Socket.IO again, and the choice is the menu's checked one.
    window._fill_decoding_menu()
    decode_menu = window.decoding_menu.findChild(type(window.decoding_menu), "decodeAsMenu")
    assert decode_menu is not None
    checked = [a.data() for a in decode_menu.actions() if a.isChecked()]
    assert checked == ["json"]
    auto = next(a for a in decode_menu.actions() if a.data() == "auto")
    auto.trigger()
    assert view.decoding.choice == "auto"
    assert "EVENT" in tab.details.tree.application_item().text(1)


def test_decoded_fields_of_an_unmasked_frame_highlight_its_wire_bytes(
    qtbot: QtBot, window: MainWindow, connect, ws_server_nocompress
) -> None:
    tab = connect(ws_server_nocompress.url)
    view = tab.view
    assert view.decoding.chosen == "by content"
    compose(tab, '{"name": "inspector", "n": 7}', mode="json")
    row = wait_row(qtbot, tab, _frame(Direction.IN, b'{"name"'))
    echo = records(tab)[row]
    assert not echo.fields.get("masked") and not echo.fields.get("compressed")
    # By content, a JSON payload is decoded in the tree but keeps its raw preview.
    assert tab.model.index(row, COL_PREVIEW).data().startswith('"{"name')
    tab.select_row(row)
    app = tab.details.tree.application_item()
    assert app is not None and _children(app)["Decoder"].text(1) == "json"
    field = next(it for it in _walk(app) if it.text(0) == "n")
    start, end = field.data(0, 0x0100 + 3)
    tab.details.tree.setCurrentItem(field)
    offset = tab.details.payload_offset()
    assert offset == 2  # a short server frame: two header bytes
    assert tab.details.bytes_pane.source.value == "wire"
    assert tab.details.hex.highlighted() == (start + offset, end + offset)
    assert echo.wire[start + offset : end + offset] == b"7"

    # Decode as msgpack: JSON text is not one MessagePack value; one quiet line.
    view.set_decoder("msgpack")
    app = tab.details.tree.application_item()
    assert app is not None
    assert _children(app)["Decoder"].text(1) == "msgpack"
    assert tab.model.index(row, COL_PREVIEW).data() != echo.payload.decode()


def _walk(item) -> list:
    out = [item]
    for i in range(item.childCount()):
        out.extend(_walk(item.child(i)))
    return out
