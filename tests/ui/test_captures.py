"""Captures in the app: Save As, open (menu, drop, argv), read-only tabs, filter, HAR."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, compose, records, wait_row

from inspector.capture.formats import read_jsonl
from inspector.capture.store import CaptureStore
from inspector.core.records import Direction, Kind
from inspector.ui.capture_actions import MAX_RECENT_CAPTURES
from inspector.ui.guard import running_tasks
from inspector.ui.main_window import MainWindow
from inspector.ui.replay import ReplayDialog
from inspector.ui.tabs.capture import CaptureTab


def _chat(qtbot: QtBot, tab, texts: list[str]) -> None:
    for text in texts:
        compose(tab, text)
        wait_row(
            qtbot, tab, lambda r, t=text: r.direction is Direction.IN and r.payload == t.encode()
        )


def _key(record) -> tuple:
    return (record.seq, record.direction, record.kind, record.wire, record.payload)


def _recorded(qtbot: QtBot, window: MainWindow, connect, url: str, texts: list[str]):
    tab = connect(url)
    _chat(qtbot, tab, texts)
    return tab


def _open_via_menu(qtbot: QtBot, monkeypatch, window: MainWindow, path: Path) -> list[CaptureTab]:
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), ""))
    )
    before = window.tabs.count()
    window.captures.open_action.trigger()
    qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)
    tabs = [window.tabs.widget(i) for i in range(before, window.tabs.count())]
    assert all(isinstance(t, CaptureTab) for t in tabs)
    return tabs


def test_save_as_while_running_and_after_then_open_the_capture(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path, monkeypatch
) -> None:
    tab = _recorded(qtbot, window, connect, ws_server.url, ["apple pie", "banana split"])
    running = tmp_path / "running.sockcap"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(running), ""))
    )
    window.captures.save_action.trigger()
    assert running.is_file()
    with CaptureStore.open(running) as saved:
        assert saved.count() >= 4
    assert tab.state == "open"

    window.disconnect_action.trigger()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    wait_row(qtbot, tab, lambda r: r.kind is Kind.CLOSED)
    after = tmp_path / "after.sockcap"
    assert window.captures.save_as(tab, after) == after
    live = records(tab)

    (opened,) = _open_via_menu(qtbot, monkeypatch, window, after)
    assert window.current_tab() is opened
    assert "Capture of ws://" in opened.banner.text()
    assert "read-only" in opened.banner.text()
    assert "(capture)" in window.tabs.tabText(window.tabs.indexOf(opened))
    assert not opened.composer.isEnabled()
    assert [_key(r) for r in records(opened)] == [_key(r) for r in live]
    assert str(after.resolve()) in window.captures.recent()

    # the decoded panes work on the capture: the handshake and a frame
    assert opened.context.request is not None and opened.context.response is not None
    row = next(
        i
        for i, r in enumerate(records(opened))
        if r.kind is Kind.FRAME and r.payload == b"apple pie"
    )
    opened.select_row(row)
    assert opened.details.record is not None and opened.details.record.payload == b"apple pie"

    # the filter works on it
    opened.filter_bar.edit.setText("banana")
    qtbot.waitUntil(lambda: opened.model.rowCount() == 2, timeout=WAIT_MS)
    assert all(b"banana" in (r.payload or b"") for r in records(opened))


def test_drop_a_file_opens_it(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path
) -> None:
    tab = _recorded(qtbot, window, connect, ws_server.url, ["dropped"])
    target = tmp_path / "drop.sockcap"
    assert window.captures.save_as(tab, target) == target
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(target))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    before = window.tabs.count()
    assert window.acceptDrops()
    window.dropEvent(event)  # what Qt calls when files are dropped on the window
    assert event.isAccepted()
    qtbot.waitUntil(lambda: window.tabs.count() == before + 1, timeout=WAIT_MS)
    opened = window.current_tab()
    assert isinstance(opened, CaptureTab)
    assert any(r.payload == b"dropped" for r in records(opened))


@pytest.mark.parametrize(
    "content",
    [b"", b"SQLite format 3\x00" + b"\x00" * 200, b"\x00\xffrandom", b'{"log": 1'],
    ids=["empty", "truncated-sqlite", "random", "bad-har"],
)
def test_a_bad_file_is_one_line_and_the_window_keeps_working(
    qtbot: QtBot,
    window: MainWindow,
    tmp_path: Path,
    monkeypatch,
    content: bytes,
    ws_server,
    connect,
) -> None:
    bad = tmp_path / "bad.sockcap"
    bad.write_bytes(content)
    assert _open_via_menu(qtbot, monkeypatch, window, bad) == []
    message = window.statusBar().currentMessage()
    assert message and "\n" not in message and "Traceback" not in message
    assert str(bad) in message
    tab = connect(ws_server.url)
    _chat(qtbot, tab, ["still alive"])


def test_recent_captures_lists_ten_and_drops_missing_files(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path
) -> None:
    tab = _recorded(qtbot, window, connect, ws_server.url, ["r"])
    kept = tmp_path / "kept.sockcap"
    window.captures.save_as(tab, kept)
    gone = tmp_path / "gone.sockcap"
    window.captures.save_as(tab, gone)
    gone.unlink()
    for n in range(MAX_RECENT_CAPTURES + 3):
        window.captures.add_recent(tmp_path / f"old{n}.sockcap")
    window.captures.add_recent(gone)
    window.captures.add_recent(kept)
    assert len(window.captures.recent()) == MAX_RECENT_CAPTURES
    window.captures.fill_recent_menu()
    actions = window.captures.recent_menu.actions()
    assert actions[0].text() == "kept.sockcap" and actions[0].isEnabled()
    assert actions[1].text() == "gone.sockcap (missing)" and not actions[1].isEnabled()
    assert "removed from the list" in window.statusBar().currentMessage()
    assert window.captures.recent() == [str(kept.resolve())]
    before = window.tabs.count()
    actions[0].trigger()
    qtbot.waitUntil(lambda: window.tabs.count() == before + 1, timeout=WAIT_MS)


def test_a_har_file_opens_each_websocket_entry(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    entry = {
        "startedDateTime": "2026-11-22T14:03:00.000Z",
        "time": 5,
        "request": {
            "method": "GET",
            "url": "ws://127.0.0.1:9/chat",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Upgrade", "value": "websocket"}],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 101,
            "statusText": "Switching Protocols",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Upgrade", "value": "websocket"}],
            "cookies": [],
            "content": {"size": 0, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 0,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
        "_resourceType": "websocket",
        "_webSocketMessages": [
            {"type": "send", "time": 1795356180.1, "opcode": 1, "data": "hello har"},
            {"type": "receive", "time": 1795356180.2, "opcode": 1, "data": "hello back"},
        ],
    }
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "t", "version": "1"},
            "entries": [entry, entry],
        }
    }
    path = tmp_path / "browser.har"
    path.write_text(json.dumps(har))
    tabs = _open_via_menu(qtbot, monkeypatch, window, path)
    assert len(tabs) == 2
    shown = records(tabs[0])
    assert any(r.payload == b"hello har" and r.direction is Direction.OUT for r in shown)
    assert any(r.payload == b"hello back" and r.direction is Direction.IN for r in shown)
    assert "Capture of ws://127.0.0.1:9/chat recorded" in tabs[0].banner.text()


def test_json_lines_open_and_save_as_a_native_capture(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path, monkeypatch
) -> None:
    tab = _recorded(qtbot, window, connect, ws_server.url, ["jsonl me"])
    exported = tmp_path / "s.jsonl"
    task = asyncio.ensure_future(window.captures.export(tab, "jsonl", exported))
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.result()
    (opened,) = _open_via_menu(qtbot, monkeypatch, window, exported)
    assert "unnamed endpoint" in opened.banner.text()
    assert [_key(r) for r in records(opened)] == [_key(r) for r in read_jsonl(exported)]
    # records held in memory (an import) are saved as a native capture
    native = tmp_path / "from-jsonl.sockcap"
    assert window.captures.save_as(opened, native) == native
    with CaptureStore.open(native) as store:
        assert store.count() == len(records(opened))
        assert any(r.payload == b"jsonl me" for r in store.records(0, store.count()))


def test_replay_action_and_tab_menu(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path, monkeypatch
) -> None:
    tab = _recorded(qtbot, window, connect, ws_server.url, ["again"])
    menu_texts = [a.text() for a in window.menuBar().actions()]
    assert menu_texts[0] == "&File"
    session_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Session")
    assert window.captures.replay_action in session_menu.actions()
    window.disconnect_action.trigger()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    wait_row(qtbot, tab, lambda r: r.kind is Kind.CLOSED)
    monkeypatch.setattr(ReplayDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    window.captures.replay_action.trigger()
    qtbot.waitUntil(lambda: window.tabs.count() == 2, timeout=WAIT_MS)
    new = window.current_tab()
    assert new is not tab and new.endpoint == tab.endpoint
    wait_row(qtbot, new, lambda r: r.direction is Direction.IN and r.payload == b"again")

    shown: list[QMenu] = []
    monkeypatch.setattr(QMenu, "popup", lambda self, *a: shown.append(self))
    bar = window.tabs.tabBar()
    window.captures._tab_menu(bar.tabRect(0).center())
    assert [a.text() for a in shown[0].actions()] == ["Replay to…", "Save As…", "Export…"]
    assert shown[0].actions()[0].isEnabled()  # the first tab's session has ended


def test_a_line_stream_shows_every_line_live_and_from_its_capture(
    qtbot: QtBot,
    window: MainWindow,
    connect,
    hostile_server_factory,
    tmp_path: Path,
    monkeypatch,
) -> None:
    """Lines arrive as runs (one capture row per read); the live table, the filter and
    the reopened capture all show one row per line."""
    from servers import Close, HostileScript, Write

    from inspector.core.options import Framing, SessionOptions

    lines = [b"reading %d\r\n" % i for i in range(3000)]
    pieces = [b"".join(lines[:1000]) + b"partial ", b"line\n" + b"".join(lines[1000:])]
    server = hostile_server_factory(HostileScript((*map(Write, pieces), Close())))
    window.connect_bar.set_options(SessionOptions(framing=Framing.LINES))
    tab = connect(f"tcp://127.0.0.1:{server.port}", state="closed")
    wait_row(qtbot, tab, lambda r: r.kind is Kind.CLOSED)
    live = records(tab)
    shown = [r.wire for r in live if r.kind is Kind.MESSAGE]
    assert shown == [*lines[:1000], b"partial line\n", *lines[1000:]]
    tab.filter_bar.edit.setText("reading 299")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 11, timeout=WAIT_MS)  # 299, 2990-2999
    tab.filter_bar.edit.setText("")

    saved = tmp_path / "lines.sockcap"
    assert window.captures.save_as(tab, saved) == saved
    (opened,) = _open_via_menu(qtbot, monkeypatch, window, saved)
    qtbot.waitUntil(lambda: opened.model.rowCount() == len(live), timeout=WAIT_MS)
    assert [_key(r) for r in records(opened)] == [_key(r) for r in live]
    row = next(i for i, r in enumerate(records(opened)) if r.payload == b"partial line")
    opened.select_row(row)
    assert opened.details.record is not None
    assert opened.details.record.fields["ranges"] == [["payload", 0, 12], ["terminator", 12, 13]]
