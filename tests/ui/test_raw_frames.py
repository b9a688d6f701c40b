"""The raw-frame composer: a frame built by hand is sent exactly as built, recorded,
and marked as deliberately invalid; the server's answer shows it was judged so."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, records, wait_row

from inspector.core.records import Direction, Kind
from inspector.ui.main_window import MainWindow
from inspector.ui.rawframe_dialog import RawFrameDialog

UPGRADE = (
    "GET / HTTP/1.1\n"
    "Host: 127.0.0.1\n"
    "Upgrade: websocket\n"
    "Connection: Upgrade\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
    "Sec-WebSocket-Version: 13\n"
    "\n"
)


def test_dialog_shows_the_bytes_and_each_broken_rule(qtbot: QtBot) -> None:
    dialog = RawFrameDialog()
    qtbot.addWidget(dialog)
    dialog.mask_key.setText("00000000")
    dialog.payload.setPlainText("hi")
    assert dialog.preview.text().startswith("81 82 00 00 00 00 68 69")
    assert dialog.verdict.text() == "A valid frame."
    dialog.bits["MASK"].setChecked(False)
    dialog.bits["RSV2"].setChecked(True)
    dialog.lie.setChecked(True)
    dialog.declared.setValue(9)
    assert dialog.preview.text().startswith("a1 09 68 69")
    verdict = dialog.verdict.text()
    assert verdict.startswith("Deliberately invalid")
    for rule in ("must be masked", "RSV2 is set", "says 9 payload bytes but 2 follow"):
        assert rule in verdict
    dialog.opcode.setCurrentIndex(0x8)
    dialog.lie.setChecked(False)
    dialog.close_code.setValue(1005)
    dialog.payload.clear()
    assert dialog.preview.text().startswith("a8 02 03 ed")
    assert "close code 1005 must not be sent" in dialog.verdict.text()
    dialog.payload_mode.setCurrentIndex(1)
    dialog.payload.setPlainText("zz")
    assert "not a hex digit" in dialog.verdict.text() and not dialog.send_button.isEnabled()


def test_an_unmasked_frame_after_a_hand_made_upgrade_is_sent_as_built(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(f"tcp://127.0.0.1:{ws_server.port}")
    composer = tab.composer
    composer.set_line_ending("\\r\\n")
    composer.set_text(UPGRADE)
    composer.send_button.click()
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and b" 101 " in r.wire)

    qtbot.mouseClick(composer.raw_button, Qt.MouseButton.LeftButton)
    dialog = composer.raw_dialog
    assert isinstance(dialog, RawFrameDialog) and dialog.isVisible()
    dialog.bits["MASK"].setChecked(False)
    dialog.payload.setPlainText("hi")
    qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)

    wait_row(qtbot, tab, lambda r: r.direction is Direction.OUT and r.wire == b"\x81\x02hi")
    info = wait_row(qtbot, tab, lambda r: r.kind is Kind.INFO and r.fields.get("deliberate"))
    note = records(tab)[info]
    assert "deliberately invalid" in note.fields["message"]
    assert "must be masked" in note.fields["violations"]
    # The server judged it: a close frame with 1002 (protocol error) comes back.
    wait_row(
        qtbot,
        tab,
        lambda r: (
            r.direction is Direction.IN and r.wire.startswith(b"\x88") and b"\x03\xea" in r.wire
        ),
    )
    dialog.close()


def test_a_websocket_session_says_in_one_line_why_it_cannot_yet(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    composer = tab.composer
    composer.open_raw_frame()
    dialog = composer.raw_dialog
    assert isinstance(dialog, RawFrameDialog)
    dialog.payload.setPlainText("hi")
    dialog.send_button.click()
    qtbot.waitUntil(lambda: composer.error_text is not None, timeout=WAIT_MS)
    assert "\n" not in (composer.error_text or "") and "raw" in (composer.error_text or "")
    assert tab.state == "open"
    dialog.close()
