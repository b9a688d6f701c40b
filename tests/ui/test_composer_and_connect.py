"""Composer validation, history and saved messages; the connect bar; shortcuts; settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, compose, records, wait_row

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import Framing
from inspector.core.records import Direction, Kind
from inspector.ui.compose_input import ComposeError, check_json, parse_hex
from inspector.ui.composer import Composer
from inspector.ui.connect_bar import OptionsDialog, parse_headers
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings


def test_parse_hex_accepts_spaces_and_names_the_bad_digit() -> None:
    assert parse_hex("de ad\nBE:ef 0x01") == b"\xde\xad\xbe\xef\x01"
    with pytest.raises(ComposeError, match="not a hex digit 'g' at line 2, column 3"):
        parse_hex("00\n11g2")
    with pytest.raises(ComposeError, match="odd number"):
        parse_hex("abc")


def test_check_json_reports_line_and_column() -> None:
    assert check_json('{"a": 1}') == b'{"a": 1}'
    with pytest.raises(ComposeError, match="line 2, column 8"):
        check_json('{\n  "a": ,\n}')


def test_composer_shows_errors_inline_and_sends_nothing(qtbot: QtBot, settings: Settings) -> None:
    composer = Composer(parse_endpoint("ws://127.0.0.1:9/"), settings)
    qtbot.addWidget(composer)
    sent: list[object] = []
    composer.sendRequested.connect(sent.append)
    composer.set_mode("json")
    composer.set_text('{"broken": }')
    composer.send()
    assert sent == []
    assert "invalid JSON at line 1, column 12" in (composer.error_text or "")
    composer.set_text('{"fixed": true}')
    assert composer.error_text is None
    composer.set_mode("text")
    composer.set_action("ping")
    composer.set_text("x" * 126)
    composer.send()
    assert "125 bytes" in (composer.error_text or "")
    composer.set_mode("hex")
    composer.set_action("text")
    composer.set_text("ff fe")
    composer.send()
    assert "UTF-8" in (composer.error_text or "")
    composer.set_mode("file")
    composer.set_text("/nonexistent/file.bin")
    composer.send()
    assert "cannot read" in (composer.error_text or "")
    assert sent == []


def test_file_mode_sends_the_file(qtbot: QtBot, settings: Settings, tmp_path: Path) -> None:
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"\x00\x01binary")
    composer = Composer(parse_endpoint("ws://127.0.0.1:9/"), settings)
    qtbot.addWidget(composer)
    sent = []
    composer.sendRequested.connect(sent.append)
    composer.set_mode("file")
    assert composer.current_action() == "binary"
    assert composer.browse.isVisibleTo(composer)
    composer.set_text(str(payload))
    composer.send()
    assert sent[0].action == "binary" and sent[0].payload == b"\x00\x01binary"


def test_history_ctrl_enter_and_saved_messages(qtbot: QtBot, settings: Settings) -> None:
    endpoint = parse_endpoint("tcp://127.0.0.1:9")
    composer = Composer(endpoint, settings)
    qtbot.addWidget(composer)
    composer.show()
    sent = []
    composer.sendRequested.connect(sent.append)
    composer.set_line_ending("\\n")
    for text in ("first", "second"):
        composer.set_text(text)
        qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert [a.payload for a in sent] == [b"first\n", b"second\n"]
    composer.set_text("draft")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Up)
    assert composer.text() == "second"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Up)
    assert composer.text() == "first"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Down)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Down)
    assert composer.text() == "draft"
    assert settings.sent_history()[-2:] == ["first", "second"]

    composer.set_text("GET / HTTP/1.0")
    composer.save_current()
    composer.set_text("")
    composer._fill_saved_menu()
    actions = [a for a in composer.saved_menu.actions() if a.text().startswith("GET")]
    assert len(actions) == 1
    actions[0].trigger()
    assert composer.text() == "GET / HTTP/1.0"
    # Saved per endpoint and kept in settings for the next run.
    assert settings.saved_messages(endpoint.url) == ["GET / HTTP/1.0"]
    assert settings.saved_messages("tcp://127.0.0.1:10") == []


def test_wrong_url_is_marked_in_the_field(qtbot: QtBot, window: MainWindow) -> None:
    bar = window.connect_bar
    bar.set_text("http://example.com/")
    qtbot.keyClick(bar.endpoint_edit.lineEdit(), Qt.Key.Key_Return)
    assert window.tabs.count() == 0
    assert "unknown scheme" in (bar.error or "")
    assert "unknown scheme" in bar.endpoint_edit.toolTip()
    assert "border" in bar.endpoint_edit.styleSheet()
    qtbot.keyClicks(bar.endpoint_edit.lineEdit(), "x")
    assert bar.error is None and bar.endpoint_edit.styleSheet() == ""
    bar.set_text("tcp://127.0.0.1")
    bar.connect_button.click()
    assert "needs a port" in (bar.error or "")


def test_options_dialog_builds_session_options(qtbot: QtBot) -> None:
    from inspector.core.options import SessionOptions

    dialog = OptionsDialog(SessionOptions())
    qtbot.addWidget(dialog)
    dialog.headers.setPlainText("Authorization: Bearer abc\nX-Two: 2")
    dialog.subprotocols.setText("chat, v2.chat")
    dialog.compression.setChecked(False)
    dialog.auto_pong.setChecked(False)
    dialog.max_size.setValue(0)
    dialog.framing.setCurrentIndex(1)
    dialog.verify.setChecked(False)
    options = dialog.options()
    assert options.headers == (("Authorization", "Bearer abc"), ("X-Two", "2"))
    assert options.subprotocols == ("chat", "v2.chat")
    assert options.compression is False and options.auto_pong is False
    assert options.max_size is None and options.framing is Framing.LINES
    assert options.verify is False
    assert options.deflate_offer is None and options.compression_level is None
    dialog.compression_level.setValue(1)
    assert dialog.options().compression_level == 1
    dialog.deflate_offer.setText("server_no_context_takeover")
    assert dialog.options().deflate_offer == "server_no_context_takeover"
    dialog.deflate_offer.setText("server_max_window_bits=99")
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "Deflate offer: server_max_window_bits needs a number" in dialog.error.text()
    dialog.deflate_offer.clear()
    dialog.headers.setPlainText("no colon here")
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "line 1" in dialog.error.text()
    with pytest.raises(ValueError):
        parse_headers("bad name: x")


def test_shortcuts_and_remembered_endpoints(
    qtbot: QtBot, window: MainWindow, connect, ws_server, settings: Settings
) -> None:
    tab = connect(ws_server.url)
    assert settings.recent_endpoints()[0] == ws_server.url
    assert window.connect_bar.endpoint_edit.findText(ws_server.url) >= 0
    window.new_action.trigger()
    assert window.connect_bar.endpoint_edit.lineEdit().hasFocus()
    window.find_action.trigger()
    assert tab.filter_bar.edit.hasFocus()
    assert window.close_action.shortcut().toString() == "Ctrl+W"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"
    window.close_action.trigger()
    assert window.tabs.count() == 0
    qtbot.waitUntil(lambda: tab.session is not None and tab.session.ended, timeout=WAIT_MS)


def test_composer_sends_over_the_session_and_records_history(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    qtbot.keyClicks(tab.composer.edit, "typed by hand")
    qtbot.keyClick(tab.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"typed by hand")
    compose(tab, "more")
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"more")
    assert len([r for r in records(tab) if r.direction is Direction.OUT]) >= 3


@pytest.mark.parametrize("server", ["tcp_echo_server", "tls_echo_server"])
def test_an_empty_send_on_a_stream_sends_and_records_nothing(
    qtbot: QtBot, window: MainWindow, connect, server: str, request, tls_ca_file
) -> None:
    window.connect_bar.options = dataclasses.replace(window.connect_bar.options, cafile=tls_ca_file)
    tab = connect(request.getfixturevalue(server).url)
    tab.composer.set_line_ending("none")
    compose(tab, "")
    assert tab.composer.error.text() == "nothing to send"
    assert tab.composer.edit.styleSheet() == ""  # a hint, not an error: no red border
    compose(tab, "after")
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"after")
    sent = [r for r in records(tab) if r.direction is Direction.OUT]
    assert [r.wire for r in sent] == [b"after"]
    assert tab.composer.error_text is None  # typing cleared the hint
    assert tab.session is not None and tab.session.recorder.count_out == 1


def test_an_empty_datagram_is_still_sent_and_recorded(
    qtbot: QtBot, window: MainWindow, connect, udp_echo_server
) -> None:
    tab = connect(udp_echo_server.url)
    compose(tab, "")
    # UDP allows a datagram of size 0 (RFC 768) and it is a real one on the wire
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.kind is Kind.DATAGRAM)
    sent = [r for r in records(tab) if r.direction is Direction.OUT]
    assert [(r.kind, r.wire) for r in sent] == [(Kind.DATAGRAM, b"")]
    assert tab.composer.error_text is None


def test_window_remembers_geometry_and_time_format(
    qtbot: QtBot, window: MainWindow, connect, ws_server, settings: Settings, capture_dir: Path
) -> None:
    tab = connect(ws_server.url)
    tab.set_time_format("delta")
    window.resize(640, 480)
    window.close()
    qtbot.waitUntil(lambda: window.closed, timeout=WAIT_MS)
    assert settings.time_format() == "delta"
    again = MainWindow(settings, capture_dir)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (640, 480)
    assert settings.geometry() is not None
    assert again.time_actions["delta"].isChecked()


def test_view_menu_sets_the_time_column_of_the_current_tab(
    qtbot: QtBot, window: MainWindow, connect, ws_server, settings: Settings
) -> None:
    first = connect(ws_server.url)
    assert first.model is not None and first.model.time_format == "relative"
    assert window.time_actions["relative"].isChecked()
    window.time_actions["absolute"].trigger()
    assert first.model.time_format == "absolute" and settings.time_format() == "absolute"
    second = connect(ws_server.url)
    assert second.model is not None and second.model.time_format == "absolute"
    second.set_time_format("delta")  # from the table header's menu
    window.tabs.setCurrentWidget(first)
    assert window.time_actions["absolute"].isChecked()
    window.tabs.setCurrentWidget(second)
    assert window.time_actions["delta"].isChecked()
    assert window.time_actions["delta"].shortcut().toString() == "Ctrl+Shift+3"
