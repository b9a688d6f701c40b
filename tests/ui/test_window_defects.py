"""Defects found by trying the window as a new user would: each test failed before
its fix (status bar totals of a file, a file that is not a capture, titles, filter)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, compose, wait_row

from inspector.core.records import Direction, Kind
from inspector.ui.main_window import MainWindow


def _har(path: Path) -> Path:
    entry = {
        "startedDateTime": "2026-11-22T14:03:00.000Z",
        "time": 5,
        "request": {"method": "GET", "url": "ws://127.0.0.1:9/chat", "headers": []},
        "response": {"status": 101, "headers": []},
        "_resourceType": "websocket",
        "_webSocketMessages": [
            {"type": "send", "time": 1795356180.1, "opcode": 1, "data": "hello har"},
            {"type": "receive", "time": 1795356180.2, "opcode": 1, "data": "hello back"},
            {"type": "receive", "time": 1795356180.3, "opcode": 1, "data": "and again"},
        ],
    }
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    return path


def test_the_status_bar_counts_an_opened_har(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    tabs = window.captures.open_path(_har(tmp_path / "browser.har"))
    assert len(tabs) == 1 and window.current_tab() is tabs[0]
    shown = window.status_panel.records.text()
    assert shown not in ("records ↓ 0 ↑ 0", "records ↓ - ↑ -"), shown
    assert "↑ 0 B" not in window.status_panel.bytes.text()


def test_the_status_bar_counts_an_opened_capture(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path
) -> None:
    tab = connect(ws_server.url)
    compose(tab, "counted")
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"counted")
    saved = tmp_path / "counted.sockcap"
    assert window.captures.save_as(tab, saved) == saved
    live = window.status_panel.records.text()
    window.captures.open_path(saved)
    opened = window.current_tab()
    assert opened is not tab
    shown = window.status_panel.records.text()
    assert shown != "records ↓ 0 ↑ 0" and "records ↓ -" not in shown
    assert shown == live  # the same records, counted from the file


def test_a_file_that_is_not_a_capture_stays_explained_until_dismissed(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    bad = tmp_path / "notes.sockcap"
    bad.write_bytes(b"\x00\xffthis is not a capture")
    assert window.captures.open_path(bad) == []
    window.statusBar().clearMessage()  # what the status bar does a few seconds later
    QCoreApplication.processEvents()
    bar = window.findChild(type(window.centralWidget()), "problemBar")
    assert bar is not None and bar.isVisible()
    assert str(bad) in bar.text and "\n" not in bar.text
    bar.dismiss_button.click()
    assert not bar.isVisible()


def test_tabs_to_one_server_with_different_paths_have_different_titles(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    base = ws_server.url.rstrip("/")
    first = connect(f"{base}/first")
    second = connect(f"{base}/second")
    titles = [window.tabs.tabText(window.tabs.indexOf(t)) for t in (first, second)]
    assert titles[0] != titles[1], titles
    assert titles[0].endswith("/first") and titles[1].endswith("/second")


def test_a_regex_error_does_not_squeeze_the_filter_field(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    bar = tab.filter_bar
    QCoreApplication.processEvents()
    before = bar.edit.width()
    bar.regex.setChecked(True)
    bar.edit.setText("(unclosed group [and a class")
    bar.apply()
    qtbot.waitUntil(lambda: bar.error.isVisible(), timeout=WAIT_MS)
    QCoreApplication.processEvents()
    assert bar.edit.width() >= before * 0.7, (before, bar.edit.width())
    assert "regular expression" in bar.error.toolTip()


def _request_text(qtbot: QtBot, tab) -> str:
    """The upgrade request the tab sent, as text."""
    row = wait_row(qtbot, tab, lambda r: r.kind is Kind.HANDSHAKE and r.direction is Direction.OUT)
    request = tab.model.record_at(row)
    return request.wire.decode("latin-1")


def test_options_belong_to_the_tab_they_were_set_for(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    import dataclasses

    bar = window.connect_bar
    bar.set_options(dataclasses.replace(bar.options, headers=(("Authorization", "Bearer s3cret"),)))
    first = connect(ws_server.url)
    assert "Authorization: Bearer s3cret" in _request_text(qtbot, first)

    other = ws_server.url.rstrip("/") + "/elsewhere"
    second = connect(other)
    assert second.options.headers == ()
    assert "s3cret" not in _request_text(qtbot, second)
    assert not bar.options_summary.isVisible()  # the bar follows the active tab
    assert first.options.headers and not second.options.headers

    window.tabs.setCurrentWidget(first)
    assert bar.options_summary.text() == "1 header" and bar.reset_button.isVisible()
    copy = connect(ws_server.url)  # the same endpoint from its tab: a copy keeps them
    assert copy.options.headers == first.options.headers
    bar.reset_button.click()
    assert not bar.options_summary.isVisible()
    fresh = connect(ws_server.url)
    assert fresh.options.headers == ()


def test_the_options_summary_names_what_differs() -> None:
    import dataclasses

    from inspector.ui.connect_bar import DEFAULT_OPTIONS, options_summary

    options = dataclasses.replace(
        DEFAULT_OPTIONS,
        headers=(("Authorization", "x"), ("X-Trace", "1")),
        subprotocols=("chat",),
        verify=False,
    )
    assert options_summary(options) == "2 headers · subprotocol chat · verify off"
    assert options_summary(DEFAULT_OPTIONS) == ""


def test_reconnect_keeps_the_earlier_attempt_and_its_capture(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    from ui_helpers import records

    tab = connect(ws_server.url)
    compose(tab, "before")
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"before")
    first_capture = tab.capture_path
    assert first_capture is not None
    window.disconnect_action.trigger()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    wait_row(qtbot, tab, lambda r: r.kind is Kind.CLOSED)
    earlier = records(tab)
    window.reconnect_action.trigger()
    qtbot.waitUntil(lambda: tab.capture_path != first_capture, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.state == "open", timeout=WAIT_MS)
    compose(tab, "after")
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"after")

    # The old capture is in Recent captures, and the earlier attempt is still shown.
    assert str(first_capture.resolve()) in window.captures.recent()
    assert not any(r.payload == b"before" for r in records(tab))
    box = tab.attempt_box
    assert box.isVisible() and box.count() == 2
    assert first_capture.name in box.itemText(0) and "now" in box.itemText(1)
    box.setCurrentIndex(0)
    shown = tab.views.currentWidget()
    assert shown is not tab.view and shown.model is not None
    kept = [shown.model.record_at(row) for row in range(shown.model.rowCount())]
    assert [r.payload for r in kept] == [r.payload for r in earlier]
    box.setCurrentIndex(1)
    assert tab.views.currentWidget() is tab.view


def test_a_capture_too_large_to_count_in_the_window_is_summed_on_a_thread(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path, monkeypatch
) -> None:
    from inspector.ui.tabs import capture as capture_tab

    tab = connect(ws_server.url)
    for text in ("one", "two", "three"):
        compose(tab, text)
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"three")
    saved = tmp_path / "large.sockcap"
    assert window.captures.save_as(tab, saved) == saved
    live = window.status_panel.records.text(), window.status_panel.bytes.text()
    monkeypatch.setattr(capture_tab, "COUNT_LIMIT", 0)  # every capture is "too large"
    window.captures.open_path(saved)
    opened = window.current_tab()
    assert opened is not tab
    assert capture_tab.stored_counters(getattr(opened.captured, "summary", None)) is None
    assert opened.counters is None  # dashes until the thread's sum arrives
    qtbot.waitUntil(lambda: opened.counters is not None, timeout=WAIT_MS)
    shown = window.status_panel.records.text(), window.status_panel.bytes.text()
    assert shown == live
