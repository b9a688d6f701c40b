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


def test_enter_on_a_corrected_endpoint_reuses_the_tab_that_never_connected(
    qtbot: QtBot, window: MainWindow, connect, ws_server, unused_port: int
) -> None:
    typo = connect(f"ws://127.0.0.1:{unused_port}/", state="failed")
    assert window.tabs.count() == 1
    bar = window.connect_bar
    bar.set_text(ws_server.url)
    bar.connect_button.click()
    qtbot.waitUntil(lambda: typo.state == "open", timeout=WAIT_MS)
    assert window.tabs.count() == 1 and window.current_tab() is typo
    assert typo.endpoint.url == ws_server.url.rstrip("/") + "/"
    assert str(typo.endpoint.port) in window.tabs.tabText(0)
    compose(typo, "now it works")
    wait_row(qtbot, typo, lambda r: r.direction is Direction.IN and r.payload == b"now it works")
    # A tab that did connect is left alone: Enter opens a new one.
    bar.set_text(f"ws://127.0.0.1:{unused_port}/")
    bar.connect_button.click()
    qtbot.waitUntil(lambda: window.tabs.count() == 2, timeout=WAIT_MS)


def test_a_wire_column_beside_length(qtbot: QtBot, window: MainWindow, connect, ws_server) -> None:
    from inspector.ui.models.records import COL_LENGTH, COL_WIRE

    tab = connect(ws_server.url)
    compose(tab, "hello")
    row = wait_row(qtbot, tab, lambda r: r.direction is Direction.OUT and r.payload == b"hello")
    header = tab.table.horizontalHeader()
    assert header.visualIndex(COL_WIRE) == header.visualIndex(COL_LENGTH) + 1
    assert tab.model is not None
    assert tab.model.headerData(COL_WIRE, Qt.Orientation.Horizontal) == "Wire"
    length = int(tab.model.index(row, COL_LENGTH).data())
    wire = int(tab.model.index(row, COL_WIRE).data())
    assert length == 5 and wire > length  # a client frame: header, mask key, payload
    assert wire == len(tab.model.record_at(row).wire)


def _paced_capture(path: Path, url: str, offsets_s: list[float]) -> None:
    """A recorded session whose sent texts are ``offsets_s`` seconds into it."""
    from inspector.capture.store import CaptureStore
    from inspector.core.clock import SessionClock
    from inspector.core.options import SessionOptions
    from inspector.core.recorder import Recorder
    from inspector.core.records import Kind

    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint=url, scheme="ws", options=SessionOptions(), clock=clock
    )
    recorder = Recorder(store, clock=clock)
    for n, offset in enumerate(offsets_s):
        payload = f"paced {n}".encode()
        recorder.record(
            Direction.OUT,
            Kind.FRAME,
            t_ns=int(offset * 1e9),
            wire=b"\x81" + bytes([len(payload)]) + payload,
            payload=payload,
            fields={"opcode": "text", "fin": True},
        )
    recorder.drain()
    store.finish("closed", {})
    store.close()


def test_a_replay_shows_progress_can_be_stopped_and_is_marked(
    qtbot: QtBot, window: MainWindow, ws_server, tmp_path: Path
) -> None:
    from inspector.net.replay import Timing
    from inspector.ui.replay import ReplayChoice

    path = tmp_path / "paced.sockcap"
    _paced_capture(path, ws_server.url, [0.0, 0.01, 50.0, 100.0, 150.0])
    (capture,) = window.captures.open_path(path)
    new = window.captures.replay(capture, ReplayChoice(capture.endpoint, Timing.ORIGINAL))
    assert new is not None and new is window.current_tab()
    index = window.tabs.indexOf(new)
    assert window.tabs.tabText(index).endswith("(replay)")
    assert f"replay of {capture.title}" in window.tabs.tabToolTip(index)
    bar = new.replay_bar
    assert bar.isVisible() and capture.title in bar.label.text()
    qtbot.waitUntil(lambda: bar.sent == 2, timeout=WAIT_MS)
    assert "2 of 5 sent" in bar.label.text() and bar.stop_button.isVisible()
    wait_row(qtbot, new, lambda r: r.direction is Direction.IN and r.payload == b"paced 1")
    bar.stop_button.click()
    qtbot.waitUntil(lambda: not bar.running, timeout=WAIT_MS)
    assert "stopped after 2 of 5" in bar.label.text()
    assert new.replayed == 2 and new.state == "open"  # Stop ends the replay, not the session
