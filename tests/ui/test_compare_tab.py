"""The Compare tab: the dialog's choice, rows as transports finish, charts, cancel, close."""

from __future__ import annotations

import socket
from pathlib import Path

from pytestqt.qtbot import QtBot

from inspector.net.compare import Transport, Workload
from inspector.net.compare_run import CompareConfig
from inspector.ui.main_window import MainWindow
from inspector.ui.tabs.compare import CompareDialog, CompareTab, open_capture

WAIT_MS = 60_000


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_dialog_describes_the_comparison(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = CompareDialog()
    qtbot.addWidget(dialog)
    dialog.workload.setCurrentIndex(dialog.workload.findData("push"))
    dialog.count.setValue(7)
    dialog.delay.setValue(20)
    for transport, box in dialog.transports.items():
        box.setChecked(transport in (Transport.WS, Transport.UDP))
    config = dialog.choice(tmp_path)
    assert config.workload is Workload.PUSH and config.count == 7
    assert config.conditions.delay_ms == 20
    assert config.transports == (Transport.UDP, Transport.WS)
    assert config.open_capture is open_capture
    for box in dialog.transports.values():
        box.setChecked(False)
    assert not dialog.ok_button.isEnabled()


def test_a_comparison_fills_the_table_and_charts(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    config = CompareConfig(
        count=3,
        transports=(Transport.TCP_LEN32, Transport.WS, Transport.HTTP_KEEPALIVE),
        urls={Transport.TCP_LEN32: f"tcp://127.0.0.1:{_closed_port()}"},
        capture_dir=tmp_path / "runs",
        open_capture=open_capture,
    )
    assert window.compare_action.text() == "Compare &transports…"
    tab = window.open_compare(config)
    assert window.tabs.currentWidget() is tab
    with qtbot.waitSignal(tab.finished, timeout=WAIT_MS):
        pass
    table = tab.table
    assert table.rowCount() == 3
    names = [table.item(row, 0).text() for row in range(3)]
    assert names == ["tcp-len32", "ws", "http-keepalive"]
    assert table.item(0, 1).text().startswith("FAILED")  # refused, in its row
    ws_out = table.item(1, 3).text()
    assert ws_out == "64 (+6.0)"
    assert "capture:" in table.item(1, 0).toolTip()
    assert all(chart.renderer().isValid() for chart in tab.charts.values())
    assert tab.status.text() == "3 of 3 transports, 1 failed"
    window.close_tab(window.tabs.indexOf(tab))
    qtbot.waitUntil(lambda: window.tabs.indexOf(tab) == -1, timeout=WAIT_MS)


def test_cancel_keeps_the_rows_that_finished(qtbot: QtBot, window: MainWindow) -> None:
    config = CompareConfig(count=3000, transports=(Transport.TCP_LINES, Transport.HTTP_POLLING))
    tab = window.open_compare(config)
    assert isinstance(tab, CompareTab) and tab.running
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=WAIT_MS)
    with qtbot.waitSignal(tab.finished, timeout=WAIT_MS):
        tab.cancel_button.click()
    assert not tab.running and tab.report is not None and tab.report.cancelled
    assert tab.table.rowCount() == 1
    assert tab.status.text() == "1 of 2 transports (cancelled)"
    assert tab.again_button.isEnabled() and not tab.cancel_button.isEnabled()


def test_closing_the_window_cancels_a_running_comparison(qtbot: QtBot, window: MainWindow) -> None:
    config = CompareConfig(count=3000, transports=(Transport.UDP, Transport.HTTP_POLLING))
    tab = window.open_compare(config)
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=WAIT_MS)
    assert tab.running
    window.close()  # the window's shutdown cancels the run and stops its servers
    qtbot.waitUntil(lambda: window.closed, timeout=WAIT_MS)
    assert not tab.running and tab.report is not None and tab.report.cancelled


def test_a_capture_folder_that_cannot_be_made_ends_the_run_with_its_line(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = CompareConfig(
        count=3, transports=(Transport.UDP,), capture_dir=blocker, open_capture=open_capture
    )
    tab = window.open_compare(config)
    with qtbot.waitSignal(tab.finished, timeout=WAIT_MS):
        pass
    assert tab.status.text().startswith(f"cannot create the capture folder {blocker}/compare-")
    assert tab.again_button.isEnabled() and not tab.cancel_button.isEnabled()
