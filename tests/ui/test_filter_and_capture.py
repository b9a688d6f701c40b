"""The records filter over a live session, and the capture file behind every session."""

from __future__ import annotations

import stat
from pathlib import Path

from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS, compose, records, wait_row

from inspector.capture.store import CaptureStore
from inspector.core.records import Direction, Kind
from inspector.ui.main_window import MainWindow


def _chat(qtbot: QtBot, tab, texts: list[str]) -> None:
    for text in texts:
        compose(tab, text)
        wait_row(
            qtbot, tab, lambda r, t=text: r.direction is Direction.IN and r.payload == t.encode()
        )


def test_filter_narrows_the_table_and_stays_live(
    qtbot: QtBot, window: MainWindow, connect, ws_server
) -> None:
    tab = connect(ws_server.url)
    _chat(qtbot, tab, ["apple pie", "banana split", "Apple juice"])
    total = tab.model.total
    bar = tab.filter_bar

    window.find_action.trigger()
    assert bar.edit.hasFocus()
    bar.edit.setText("apple")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=WAIT_MS)  # 2 out + 2 echoes
    assert bar.count.text() == f"4 of {total}"
    assert all(b"apple" in (r.payload or b"").lower() for r in records(tab))

    bar.direction.setCurrentIndex(2)  # received only
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=WAIT_MS)
    compose(tab, "apple tart")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 3, timeout=WAIT_MS)
    assert [r.payload for r in records(tab)][-1] == b"apple tart"

    bar.direction.setCurrentIndex(0)
    bar.regex.setChecked(True)
    bar.edit.setText(r"^(banana|apple t)")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 4, timeout=WAIT_MS)

    bar.edit.setText("(unclosed")
    qtbot.waitUntil(lambda: not bar.error.isHidden(), timeout=WAIT_MS)
    assert "regular expression" in bar.error.text()
    assert tab.model.rowCount() == 4  # the last good filter stays

    bar.regex.setChecked(False)
    bar.edit.clear()
    bar.kind.setCurrentIndex(1)  # data kinds
    qtbot.waitUntil(
        lambda: tab.model.rowCount() > 0 and all(r.kind is Kind.FRAME for r in records(tab)),
        timeout=WAIT_MS,
    )
    bar.kind.setCurrentIndex(0)
    qtbot.waitUntil(lambda: tab.model.rowCount() == tab.model.total, timeout=WAIT_MS)
    assert bar.count.text() == f"{tab.model.total} records"


def test_each_session_is_recorded_to_a_private_capture_file(
    qtbot: QtBot, window: MainWindow, connect, ws_server, capture_dir: Path
) -> None:
    tab = connect(ws_server.url)
    _chat(qtbot, tab, ["kept on disk"])
    path = tab.capture_path
    assert path is not None and path.parent == capture_dir
    assert stat.S_IMODE(capture_dir.stat().st_mode) == 0o700
    assert path.name.endswith(f"-ws-127.0.0.1-{ws_server.port}.sockcap")
    assert path.name in tab.banner.text()

    window.close()
    qtbot.waitUntil(lambda: window.closed, timeout=WAIT_MS)
    with CaptureStore.open(path) as store:
        assert store.session.state == "closed"
        kinds = [r.kind for r in store.records(0, 1000)]
        assert Kind.CLOSED in kinds
        assert any(r.payload == b"kept on disk" for r in store.records(0, 1000))


def test_unwritable_capture_dir_keeps_the_session_in_memory(
    qtbot: QtBot, window: MainWindow, connect, ws_server, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the capture directory should be")
    window.capture_dir = blocker
    tab = connect(ws_server.url)
    assert tab.capture_path is None
    assert "Not recorded to a file" in tab.banner.text()
    assert "capture" in window.statusBar().currentMessage()
    _chat(qtbot, tab, ["still works"])
    assert tab.model.total >= 6
