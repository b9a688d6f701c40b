"""The window's automatic reconnect: the banner counts down "reconnecting in … (attempt
N)", every attempt stays in the tab, and Disconnect stops it."""

from __future__ import annotations

import re

from pytestqt.qtbot import QtBot

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.ui.main_window import MainWindow
from inspector.ui.tabs.session import SessionTab

WAIT_MS = 10_000


def open_tab(window: MainWindow, url: str, options: SessionOptions) -> SessionTab:
    window.open_session(parse_endpoint(url), options)
    tab = window.current_tab()
    assert isinstance(tab, SessionTab)
    return tab


def test_reconnects_with_back_off_while_the_server_is_gone(
    qtbot: QtBot, window: MainWindow, unused_port: int
) -> None:
    options = SessionOptions(reconnect=True, reconnect_max=2, reconnect_delay=0.5)
    tab = open_tab(window, f"tcp://127.0.0.1:{unused_port}", options)
    qtbot.waitUntil(lambda: "(attempt 1)" in tab.banner.text(), timeout=WAIT_MS)
    assert re.search(r"reconnecting in 0\.[1-5] s \(attempt 1\)", tab.banner.text())
    assert tab.state == "failed"
    qtbot.waitUntil(lambda: "(attempt 2)" in tab.banner.text(), timeout=WAIT_MS)
    assert re.search(r"reconnecting in (1 s|0\.\d s) \(attempt 2\)", tab.banner.text())
    assert len(tab.attempts) == 1
    qtbot.waitUntil(
        lambda: len(tab.attempts) == 2 and tab.state == "failed" and not tab.auto_reconnect.waiting,
        timeout=WAIT_MS,
    )
    assert "reconnecting" not in tab.banner.text()  # reconnect_max reached
    assert "connection refused" in tab.banner.text()


def test_disconnect_stops_a_pending_reconnect(
    qtbot: QtBot, window: MainWindow, unused_port: int
) -> None:
    options = SessionOptions(reconnect=True, reconnect_delay=30.0)
    tab = open_tab(window, f"tcp://127.0.0.1:{unused_port}", options)
    qtbot.waitUntil(lambda: tab.auto_reconnect.waiting, timeout=WAIT_MS)
    assert "reconnecting in 30 s (attempt 1)" in tab.banner.text()
    tab.disconnect()
    assert not tab.auto_reconnect.waiting and "reconnecting" not in tab.banner.text()
    assert tab.attempts == []


def test_no_reconnect_without_the_option(
    qtbot: QtBot, window: MainWindow, unused_port: int
) -> None:
    tab = open_tab(window, f"tcp://127.0.0.1:{unused_port}", SessionOptions())
    qtbot.waitUntil(lambda: tab.state == "failed", timeout=WAIT_MS)
    assert not tab.auto_reconnect.waiting
