"""What users of Wireshark, Postman and Packet Sender look for first: tab keys, the
empty screen's examples, Quit under File, file dialogs in the last folder, exporting
only the filtered records."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, compose, wait_row

from inspector.capture.formats import read_jsonl
from inspector.core.records import Direction
from inspector.ui.export_dialog import ExportDialog
from inspector.ui.guard import running_tasks
from inspector.ui.help_menu import window_shortcuts
from inspector.ui.main_window import MainWindow


def _har(path: Path, entries: int) -> Path:
    def entry(n: int) -> dict:
        return {
            "startedDateTime": "2026-11-22T14:03:00.000Z",
            "time": 5,
            "request": {"method": "GET", "url": f"ws://127.0.0.1:9/tab{n}", "headers": []},
            "response": {"status": 101, "headers": []},
            "_resourceType": "websocket",
            "_webSocketMessages": [
                {"type": "send", "time": 1795356180.1, "opcode": 1, "data": f"m{n}"}
            ],
        }

    log = {"log": {"version": "1.2", "entries": [entry(n) for n in range(entries)]}}
    path.write_text(json.dumps(log))
    return path


def test_tab_keys_switch_tabs_and_are_listed(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    tabs = window.captures.open_path(_har(tmp_path / "four.har", 4))
    assert len(tabs) == 4 and window.tabs.currentIndex() == 3
    ctrl, alt = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier
    qtbot.keyClick(window, Qt.Key.Key_PageDown, ctrl)
    assert window.tabs.currentIndex() == 0  # after the last comes the first
    qtbot.keyClick(window, Qt.Key.Key_Tab, ctrl)
    assert window.tabs.currentIndex() == 1
    qtbot.keyClick(window, Qt.Key.Key_PageUp, ctrl)
    assert window.tabs.currentIndex() == 0
    qtbot.keyClick(window, Qt.Key.Key_Backtab, ctrl | Qt.KeyboardModifier.ShiftModifier)
    assert window.tabs.currentIndex() == 3
    qtbot.keyClick(window, Qt.Key.Key_2, alt)
    assert window.tabs.currentIndex() == 1
    qtbot.keyClick(window, Qt.Key.Key_9, alt)
    assert window.tabs.currentIndex() == 3  # Alt+9: the last tab, as in browsers
    listed = {(s.keys, s.action) for s in window_shortcuts(window)}
    for keys, what in (
        ("Ctrl+PgDown", "Next tab"),
        ("Ctrl+Tab", "Next tab"),
        ("Ctrl+PgUp", "Previous tab"),
        ("Alt+1", "Tab 1"),
        ("Alt+9", "Last tab"),
    ):
        assert (keys, what) in listed, (keys, what)


def test_the_empty_screens_examples_fill_the_connect_bar(qtbot: QtBot, window: MainWindow) -> None:
    assert window.stack.currentWidget() is window.welcome
    assert 'href="tcp://host:7"' in window.welcome.text()
    window.welcome.linkActivated.emit("tcp://host:7")
    assert window.connect_bar.text() == "tcp://host:7"
    assert window.tabs.count() == 0  # filled in, not connected


def test_quit_is_under_file(window: MainWindow) -> None:
    file_menu = window.menuBar().actions()[0].menu()
    assert file_menu is not None and file_menu.title() == "&File"
    assert window.quit_action in file_menu.actions()
    assert file_menu.actions()[-1] is window.quit_action


def test_export_only_the_filtered_records_in_the_folder_used_last(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path, monkeypatch
) -> None:
    tab = connect(ws_server.url)
    for text in ("keep one", "drop this", "keep two"):
        compose(tab, text)
        wait_row(
            qtbot, tab, lambda r, t=text: r.direction is Direction.IN and r.payload == t.encode()
        )
    tab.filter_bar.edit.setText("keep")
    tab.filter_bar.apply()
    assert tab.model is not None
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=WAIT_MS)  # 2 out, 2 echoes

    def accept(dialog: ExportDialog) -> QDialog.DialogCode:
        assert dialog.shown_box.isEnabled() and "4 of" in dialog.shown_box.text()
        dialog.shown_box.setChecked(True)
        dialog.format_box.setCurrentIndex(dialog.format_box.findData("jsonl"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(ExportDialog, "exec", accept)
    folder = tmp_path / "exports"
    folder.mkdir()
    suggested: list[str] = []

    def ask_save(name: str, _filters: str) -> str:
        suggested.append(name)
        return str(folder / "filtered.jsonl")

    window.captures.ask_save = ask_save
    window.captures.export_action.trigger()
    target = folder / "filtered.jsonl"
    qtbot.waitUntil(lambda: target.exists() and not running_tasks(), timeout=WAIT_MS)
    payloads = [r.payload for r in read_jsonl(target)]
    assert sorted(payloads) == sorted([b"keep one", b"keep one", b"keep two", b"keep two"])

    # The next dialogs open in that folder: Save As suggests it, Open starts there.
    window.captures.ask_save = lambda name, _f: suggested.append(name) or ""
    window.captures.save_action.trigger()
    assert Path(suggested[-1]).parent == folder
    seen: list[str] = []

    def get_open(_parent: object, _caption: str, where: str, _filters: str) -> tuple[str, str]:
        seen.append(where)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(get_open))
    window.captures.open_action.trigger()
    assert seen == [str(folder)]
