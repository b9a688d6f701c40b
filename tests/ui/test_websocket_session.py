"""The real window against real WebSocket servers: connect, send, echo, inspect, fail."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, compose, find_row, records, wait_row

from inspector.core.records import Direction, Kind, Record
from inspector.ui.main_window import MainWindow


def _echo_of(text: bytes):
    def match(record: Record) -> bool:
        return (
            record.kind is Kind.FRAME
            and record.direction is Direction.IN
            and record.payload == text
        )

    return match


@pytest.mark.parametrize("compressed", [True, False], ids=["deflate", "plain"])
def test_echo_is_decoded_in_every_pane(
    qtbot: QtBot, window: MainWindow, connect, ws_server, ws_server_nocompress, compressed: bool
) -> None:
    server = ws_server if compressed else ws_server_nocompress
    tab = connect(server.url)
    assert tab.composer.send_button.isEnabled()

    compose(tab, '{"hello": "inspector", "n": 1}', mode="json")
    row = wait_row(qtbot, tab, _echo_of(b'{"hello": "inspector", "n": 1}'))
    out_row = find_row(tab, lambda r: r.kind is Kind.FRAME and r.direction is Direction.OUT)
    assert out_row is not None and out_row < row
    sent = records(tab)[out_row]
    assert sent.fields["masked"] is True

    tab.select_row(row)
    echo = records(tab)[row]
    assert echo.fields["compressed"] is compressed
    assert tab.details.record == echo

    # Decoded tree: the frame's fields are there.
    tree = tab.details.tree
    assert tree.item_for("opcode") is not None
    payload_len = tree.item_for("payload_len")
    assert payload_len is not None
    # Hex view: the wire bytes; selecting a field highlights exactly its bytes.
    assert tab.details.hex.data() == echo.wire
    tree.setCurrentItem(payload_len)
    start, end = tab.details.hex.range_of("payload_len")
    assert tab.details.hex.highlighted() == (start, end)

    # Headers: the session's upgrade request and 101 answer.
    headers = tab.details.headers
    request_names = [name.lower() for name, _ in headers.header_rows("request")]
    response_names = [name.lower() for name, _ in headers.header_rows("response")]
    assert "sec-websocket-key" in request_names
    assert "sec-websocket-accept" in response_names
    assert ("sec-websocket-extensions" in response_names) is compressed

    # Timing: resolve, connect, upgrade and first byte phases.
    labels = " ".join(tab.details.timing.phase_labels())
    for phase in ("resolve", "connect", "upgrade", "first byte"):
        assert phase in labels

    # Table text: direction arrow and opcode shown.
    model = tab.model
    assert model.index(row, 2).data() == "←"
    assert model.index(row, 3).data() == "text"
    assert "hello" in model.index(row, 5).data()


def test_ping_from_server_is_answered_automatically_and_shown_apart(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    compose(tab, "ping-me")
    pong = wait_row(qtbot, tab, lambda r: r.kind is Kind.FRAME and r.fields.get("opcode") == "pong")
    record = records(tab)[pong]
    assert record.automatic
    model = tab.model
    assert "auto" in model.index(pong, 3).data()
    assert model.index(pong, 0).data(Qt.ItemDataRole.FontRole).italic()


def test_binary_ping_and_close_from_the_composer(
    qtbot: QtBot, window: MainWindow, connect, ws_server_nocompress
) -> None:
    tab = connect(ws_server_nocompress.url)
    compose(tab, "de ad be ef", mode="hex")
    wait_row(qtbot, tab, _echo_of(b"\xde\xad\xbe\xef"))
    sent = records(tab)[
        find_row(tab, lambda r: r.direction is Direction.OUT and r.kind is Kind.FRAME)
    ]
    assert sent.fields["opcode"] == "binary"

    compose(tab, "7061796c6f6164", mode="hex", action="ping")
    wait_row(
        qtbot,
        tab,
        lambda r: (
            r.direction is Direction.IN
            and r.fields.get("opcode") == "pong"
            and r.payload == b"payload"
        ),
    )

    tab.composer.close_code.setValue(4001)
    compose(tab, "done here", action="close")
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    row = wait_row(qtbot, tab, lambda r: r.kind is Kind.CLOSED)
    closed = records(tab)[row]
    assert closed.fields["clean"] is True, closed.fields
    assert not tab.composer.send_button.isEnabled()
    assert tab.reconnect_button.isEnabled()


def test_non_101_answer_fails_clearly(qtbot: QtBot, window: MainWindow, connect, ws_server) -> None:
    tab = connect(ws_server.url_for("/forbidden"), state="failed")
    assert "403" in tab.banner.text()
    assert tab.session is not None and tab.session.failure
    response = wait_row(
        qtbot, tab, lambda r: r.kind is Kind.HANDSHAKE and r.direction is Direction.IN
    )
    tab.select_row(response)
    assert "403" in tab.details.headers.status_line.text()
    assert find_row(tab, lambda r: r.kind is Kind.ERROR) is not None
    index = window.tabs.indexOf(tab)
    assert "failed" in window.tabs.tabToolTip(index)
    assert "failed" in window.status_panel.state.text()


def test_refused_connection_fails_clearly(
    qtbot: QtBot, window: MainWindow, connect, unused_port: int
) -> None:
    tab = connect(f"ws://127.0.0.1:{unused_port}/", state="failed")
    assert "refused" in tab.banner.text()
    error = wait_row(qtbot, tab, lambda r: r.kind is Kind.ERROR)
    model = tab.model
    assert model.index(error, 0).data(Qt.ItemDataRole.FontRole).bold()
    assert "refused" in model.index(error, 5).data()
    assert not tab.composer.send_button.isEnabled()


def test_reconnect_opens_a_new_session_in_the_same_tab(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    first_capture = tab.capture_path
    tab.disconnect_button.click()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    tab.reconnect_button.click()
    qtbot.waitUntil(
        lambda: tab.state == "open" and tab.capture_path != first_capture, timeout=WAIT_MS
    )
    compose(tab, "again")
    wait_row(qtbot, tab, _echo_of(b"again"))
    assert window.tabs.count() == 1
