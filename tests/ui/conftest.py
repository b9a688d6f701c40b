"""Fixtures for the GUI tests: offscreen Qt, a qasync loop, private settings, the window.

Qt is told to run offscreen and pytest-qt to use PySide6 before anything imports Qt.
The qasync loop is made the current asyncio loop while pytest-qt spins Qt's own loop
(``qtbot.waitUntil``), so the sessions' asyncio tasks run during the waits.

During a GUI test the automatic garbage collector is off, and after it a collection
runs here, on the GUI thread: Qt objects caught in reference cycles (a window, a closed
loop, a failed test's traceback) are otherwise reclaimed by whichever thread next
triggers a collection, such as the test servers' thread, and a QObject deleted off its
own thread can crash the process. The same fixture checks that the test left no
window, session task or I/O thread behind.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import asyncio
import contextlib
import gc
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import qasync
from hosting_helpers import WsClient, run_coro
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from inspector.ui.event_loop import new_event_loop
from inspector.ui.guard import running_tasks
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings
from inspector.ui.tabs.session import SessionTab

WAIT_MS = 10_000

#: The offscreen platform says this whenever a window is shown; it is not a fault of ours.
_OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the offscreen platform's own warning in the GUI tests (and only there)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.qt_log_ignore(_OFFSCREEN_NOISE))


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop over the running test QApplication, current for asyncio."""
    loop = new_event_loop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    for task in running_tasks():
        task.cancel()
    deadline = loop.time() + 5
    while running_tasks() and loop.time() < deadline:
        qapp.processEvents()
    # loop.stop() would call QApplication.exit(), which ends the next test's waits too:
    # mark the loop stopped directly (qasync offers no other way for already_running).
    loop._QEventLoop__is_running = False
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


def _io_threads() -> list[threading.Thread]:
    """Python threads other than this one and the test servers' (none should remain)."""
    return [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread()
        and not t.name.startswith("test-server")
        and not isinstance(t, threading._DummyThread)  # Qt's own threads, seen from Python
    ]


@pytest.fixture(autouse=True)
def _nothing_left_behind(qapp: QApplication) -> Iterator[None]:
    """Collect garbage on the GUI thread only; fail if windows, tasks or threads remain."""
    gc.collect()
    gc.disable()
    try:
        yield
        QCoreApplication.processEvents()
    finally:
        gc.unfreeze()  # app.run freezes what exists once its window is shown
        gc.collect()
        gc.enable()
    deadline = time.monotonic() + 5
    while _io_threads() and time.monotonic() < deadline:
        _io_threads()[0].join(timeout=0.1)
    windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    assert not windows, "a main window was left open"
    assert not running_tasks(), "session tasks were left running"
    assert not _io_threads(), "threads outlived the test"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings in a file under tmp_path; QSettings() defaults point there too."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings")
    )
    QCoreApplication.setOrganizationName("socket-inspector-tests")
    qsettings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    yield Settings(qsettings)
    qsettings.sync()


@pytest.fixture
def capture_dir(tmp_path: Path) -> Path:
    return tmp_path / "captures"


@pytest.fixture
def window(
    qtbot: QtBot, qloop: qasync.QEventLoop, settings: Settings, capture_dir: Path
) -> Iterator[MainWindow]:
    """The real main window, shown offscreen; closed (sessions and all) after the test."""
    win = MainWindow(settings, capture_dir)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    qtbot.waitUntil(lambda: win.closed, timeout=WAIT_MS)
    win.deleteLater()
    QCoreApplication.processEvents()


@pytest.fixture
def connect(qtbot: QtBot, window: MainWindow) -> Callable[[str], SessionTab]:
    """Type a URL in the connect bar, press Enter, wait for the session to settle."""

    def open_session(url: str, state: str = "open") -> SessionTab:
        before = window.tabs.count()
        window.connect_bar.set_text(url)
        window.connect_bar.connect_button.click()
        qtbot.waitUntil(lambda: window.tabs.count() == before + 1, timeout=WAIT_MS)
        tab = window.current_tab()
        assert tab is not None
        qtbot.waitUntil(lambda: tab.state == state, timeout=WAIT_MS)
        return tab

    return open_session


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_cert_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The made localhost certificate goes under tmp_path, never the user's folder."""
    monkeypatch.setenv("INSPECTOR_CERT_DIR", str(tmp_path / "certs"))


@pytest.fixture
def clients(qtbot: QtBot) -> Iterator[Callable[..., WsClient]]:
    """Make open clients (``clients(url, compression=None)``); any still reading when the
    test ends is closed, or stopped if closing does not finish."""
    made: list[WsClient] = []

    def make(url: str, compression: str | None = "deflate") -> WsClient:
        client = WsClient(url, compression)
        run_coro(qtbot, client.open())
        made.append(client)
        return client

    yield make
    for client in made:
        if client.reader is not None and not client.reader.done():
            with contextlib.suppress(Exception):
                run_coro(qtbot, asyncio.wait_for(client.ws.close(), 5))
            client.reader.cancel()
            qtbot.waitUntil(client.reader.done, timeout=WAIT_MS)
