"""The window as an application protocol's client: the Options dialog's protocol client,
the session's automatic opening and answers against a real python-socketio server, and
the Protocol… composer building, showing and sending a Socket.IO event."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from app_servers import start_socketio_server
from pytestqt.qtbot import QtBot
from servers import RunningServer, ServerLoop
from ui_helpers import WAIT_MS, find_row, records, wait_row

from inspector.core.records import Direction, Kind, Record
from inspector.ui.connect_bar import DEFAULT_OPTIONS, OptionsDialog, options_summary
from inspector.ui.main_window import MainWindow
from inspector.ui.protocol_dialog import ProtocolMessageDialog

pytest.importorskip("socketio")


@pytest.fixture
def socketio_server(server_loop: ServerLoop) -> Iterator[RunningServer]:
    server = start_socketio_server(server_loop, ping_interval=0.2)
    yield server
    server.stop()


def _frame(direction: Direction, text: bytes, automatic: bool | None = None):
    def match(record: Record) -> bool:
        return (record.kind is Kind.FRAME and record.direction is direction
                and record.payload is not None and record.payload.startswith(text)
                and (automatic is None or record.automatic is automatic))  # fmt: skip

    return match


def test_options_dialog_sets_the_protocol_client(qtbot: QtBot) -> None:
    dialog = OptionsDialog(DEFAULT_OPTIONS)
    qtbot.addWidget(dialog)
    speak = dialog.speak
    assert speak.protocol.currentData() is None
    speak.protocol.setCurrentIndex(3)  # MQTT
    speak.settings.setText("keepalive=30, client_id=me")
    options = dialog.options()
    assert options.speak == "mqtt"
    assert options.speak_options == (("keepalive", "30"), ("client_id", "me"))
    assert "speaks mqtt" in options_summary(options)
    speak.settings.setText("keepalive=soon")
    with pytest.raises(ValueError, match=r"^mqtt: keepalive='soon' is not a number$"):
        dialog.options()
    speak.settings.setText("colour")
    with pytest.raises(ValueError, match=r"^Client settings: 'colour' is not key=value$"):
        dialog.options()
    again = OptionsDialog(options)
    qtbot.addWidget(again)
    assert again.options() == options  # shown as set


def test_window_speaks_socketio_and_composes_an_event(
    socketio_server: RunningServer, qtbot: QtBot, window: MainWindow, connect
) -> None:
    window.connect_bar.options = dataclasses.replace(DEFAULT_OPTIONS, speak="auto")
    tab = connect(socketio_server.url_for("/socket.io/?EIO=4&transport=websocket"))
    # The namespace CONNECT went by itself after the open packet, marked automatic.
    wait_row(qtbot, tab, _frame(Direction.IN, b"40{"))
    assert find_row(tab, _frame(Direction.OUT, b"40", automatic=True)) is not None
    # The server pings every 0.2 s: each ping is answered with an automatic pong.
    wait_row(qtbot, tab, _frame(Direction.OUT, b"3", automatic=True))
    infos = [r.message for r in records(tab) if r.kind is Kind.INFO]
    assert "acting as a Socket.IO client" in infos

    composer = tab.composer
    composer.protocol_button.click()
    dialog = composer.protocol_dialog
    assert isinstance(dialog, ProtocolMessageDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.current().name == "socketio:event"  # the session's protocol
    dialog.set_field("name", "chat")
    dialog.set_field("args", '[{"text": "hi"}]')
    dialog.set_field("ack", "true")
    assert dialog.preview.toPlainText() == ('text message, 25 bytes\n420["chat",{"text":"hi"}]')
    dialog.send_button.click()
    ack = wait_row(qtbot, tab, _frame(Direction.IN, b"430["))
    assert records(tab)[ack].payload == b'430[{"ok":true,"echo":{"text":"hi"}}]'
    sent = find_row(tab, _frame(Direction.OUT, b"420[", automatic=False))
    assert sent is not None
    # The next event takes the next ack id; a bad field is one line, nothing sent.
    assert dialog.preview.toPlainText().endswith('421["chat",{"text":"hi"}]')
    dialog.set_field("args", "[1,")
    assert dialog.error.text().startswith("socketio:event: args is not JSON")
    assert not dialog.error.isHidden() and dialog.preview.toPlainText() == ""
    count = len(records(tab))
    dialog.send_button.click()
    assert len(records(tab)) == count
    dialog.set_template("mqtt:publish")
    role = dialog.form.ItemRole.LabelRole
    labels = [dialog.form.itemAt(i, role).widget().text() for i in range(dialog.form.rowCount())]
    assert labels == ["topic", "payload", "qos", "retain"]


def test_protocol_dialog_shows_binary_messages_as_hex(qtbot: QtBot) -> None:
    from inspector.core.endpoints import parse_endpoint
    from inspector.protocols.speakers.compose import ComposeContext

    dialog = ProtocolMessageDialog(parse_endpoint("tcp://127.0.0.1:1883"),
                                   lambda: ComposeContext(websocket=False), "mqtt")  # fmt: skip
    qtbot.addWidget(dialog)
    assert dialog.current().name == "mqtt:publish"
    dialog.set_field("topic", "a/b")
    dialog.set_field("payload", "x")
    dialog.set_field("qos", "1")
    assert dialog.preview.toPlainText() == (
        "binary message, 10 bytes\n0000  32 08 00 03 61 2f 62 00 01 78"
    )
    sent: list[object] = []
    dialog.sendRequested.connect(sent.append)
    dialog.send()
    (action,) = sent
    wire = bytes.fromhex("3208000361 2f62000178")
    assert (action.action, action.payload) == ("data", wire)  # type: ignore[attr-defined]
    assert dialog.preview.toPlainText().endswith("00 02 78")  # the next packet id


def test_mqtt_framing_chooses_the_mqtt_decoder() -> None:
    from inspector.ui.decode_menu import ViewDecoding

    decoding = ViewDecoding()
    decoding.set_session("tcp://127.0.0.1:9000", "tcp")
    assert decoding.chosen == "by content"
    decoding.set_framing("mqtt")
    assert decoding.chosen == "mqtt"
    decoding.set_framing("lines")
    assert decoding.chosen == "by content"
