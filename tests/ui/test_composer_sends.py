"""The composer against real servers: a refused close code's error goes once a valid
close is sent, line endings end every line, repeated sends are counted and stoppable,
and File mode does not send the old message as a path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, records, wait_row

from inspector.core.endpoints import parse_endpoint
from inspector.core.records import Direction, Kind
from inspector.ui.composer import MAX_REPEAT, Composer, end_lines
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings


def test_a_refused_close_code_error_goes_when_a_valid_close_is_sent(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    composer = tab.composer
    composer.set_action("close")
    for refused in (1005, 1015):
        composer.close_code.setValue(refused)
        composer.send_button.click()
        assert str(refused) in (composer.error_text or "")
        assert str(refused) in window.statusBar().currentMessage()
        assert "border" in composer.edit.styleSheet()
    # Choosing another code is a new attempt: the old verdict goes with it.
    composer.close_code.setValue(4000)
    assert composer.error_text is None and composer.edit.styleSheet() == ""
    composer.close_code.setValue(1015)
    composer.send_button.click()
    assert composer.error_text is not None
    # Sent without touching anything else (Ctrl+Enter after changing the code by keyboard).
    composer.close_code.blockSignals(True)
    composer.close_code.setValue(4000)
    composer.close_code.blockSignals(False)
    composer.send_button.click()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    assert composer.error_text is None and composer.edit.styleSheet() == ""
    assert "1015" not in window.statusBar().currentMessage()
    closes = [r for r in records(tab) if r.kind is Kind.FRAME and r.fields.get("opcode") == "close"]
    assert closes[0].direction is Direction.OUT and closes[0].fields["close_code"] == 4000
    assert tab.session is not None and tab.session.ok


def test_end_lines_puts_the_ending_after_every_line() -> None:
    assert end_lines("a\nb", b"\r\n") == b"a\r\nb\r\n"
    assert end_lines("a\nb\n", b"\n") == b"a\nb\n"
    assert end_lines("one line", b"") == b"one line"
    assert end_lines("", b"\r\n") == b"\r\n"


def test_line_ending_applies_to_every_line_on_the_wire(
    qtbot: QtBot, window: MainWindow, connect, tcp_echo_server
) -> None:
    tab = connect(tcp_echo_server.url)
    tab.composer.set_line_ending("\\r\\n")
    tab.composer.set_text("HELO a\nMAIL b\nQUIT")
    tab.composer.send_button.click()
    sent = b"HELO a\r\nMAIL b\r\nQUIT\r\n"
    wait_row(qtbot, tab, lambda r: r.direction is Direction.OUT and r.wire == sent)


def test_repeated_sends_are_counted_and_stop_on_request(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    composer = tab.composer
    assert not composer.interval.isVisibleTo(composer)
    composer.repeat.setValue(5)
    assert composer.interval.isVisibleTo(composer)
    composer.interval.setValue(0)
    composer.set_text("tick")
    composer.send_button.click()

    def echoed() -> int:
        return len(
            [r for r in records(tab) if r.direction is Direction.IN and r.payload == b"tick"]
        )

    qtbot.waitUntil(lambda: echoed() == 5, timeout=WAIT_MS)
    assert not composer.repeating and composer.send_button.text() == "Send"

    # A long run stops when asked: Send reads Stop while it lasts.
    composer.repeat.setValue(MAX_REPEAT)
    composer.interval.setValue(50)
    composer.set_text("slow")
    composer.send_button.click()
    assert composer.repeating and composer.send_button.text() == "Stop"
    qtbot.waitUntil(lambda: composer.repeat_sent >= 2, timeout=WAIT_MS)
    composer.send_button.click()
    assert not composer.repeating
    stopped_at = composer.repeat_sent
    assert stopped_at < MAX_REPEAT

    def sent_slow() -> int:
        return len(
            [r for r in records(tab) if r.direction is Direction.OUT and r.payload == b"slow"]
        )

    qtbot.waitUntil(lambda: sent_slow() == stopped_at, timeout=WAIT_MS)
    assert composer.repeat_sent == stopped_at  # nothing more after Stop


def test_a_repeated_run_stops_when_the_session_ends(qtbot: QtBot, settings: Settings) -> None:
    composer = Composer(parse_endpoint("ws://127.0.0.1:9/"), settings)
    qtbot.addWidget(composer)
    composer.set_sendable(True)
    sent: list[object] = []
    composer.sendRequested.connect(sent.append)
    composer.repeat.setValue(100)
    composer.interval.setValue(10_000)
    composer.set_text("x")
    composer.send()
    assert len(sent) == 1 and composer.repeating
    composer.set_sendable(False)
    assert not composer.repeating
    composer.set_sendable(True)
    composer.send()
    assert composer.repeating and len(sent) == 2
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not composer.repeating and len(sent) == 2  # Ctrl+Enter stops, as Stop does


def test_file_mode_starts_empty_and_gives_the_message_back(
    qtbot: QtBot, settings: Settings, tmp_path: Path
) -> None:
    composer = Composer(parse_endpoint("ws://127.0.0.1:9/"), settings)
    qtbot.addWidget(composer)
    composer.set_text('{"typed": "before"}')
    composer.set_mode("file")
    assert composer.text() == ""
    composer.set_mode("text")
    assert composer.text() == '{"typed": "before"}'
    composer.set_mode("file")
    composer.edit.setFocus(Qt.FocusReason.OtherFocusReason)
    assert composer.text() == ""
