"""Help ▸ About, Help ▸ Keyboard Shortcuts, Options ▸ Capture Limit, and unexpected
errors shown as one line that names the log file."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import PySide6
import pytest
import websockets
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from pytestqt.qtbot import QtBot
from servers import RunningServer

from inspector import __version__
from inspector.cli.args import UsageExit
from inspector.cli.logsetup import pop_log_level
from inspector.core import logs
from inspector.ui.about import AboutDialog, ShortcutsDialog
from inspector.ui.guard import guarded
from inspector.ui.help_menu import window_shortcuts
from inspector.ui.main_window import MainWindow
from inspector.ui.preferences import CaptureLimitDialog, capture_limit
from inspector.ui.settings import Settings
from inspector.ui.tabs.session import SessionTab


def test_about_from_the_help_menu(qtbot: QtBot, window: MainWindow) -> None:
    window.help_menus.about_action.trigger()
    dialog = window.help_menus.dialog
    assert isinstance(dialog, AboutDialog) and dialog.isVisible()
    labels = dialog.version_labels
    assert labels["Socket Inspector"].text() == __version__
    assert labels["Qt"].text() == qVersion()
    assert labels["PySide6"].text() == PySide6.__version__
    assert labels["websockets"].text() == websockets.__version__
    assert labels["Python"].text().split()[0] in __import__("sys").version
    dialog.reject()
    qtbot.waitUntil(lambda: window.help_menus.dialog is None, timeout=5000)


def test_shortcuts_list_every_bound_action(
    qtbot: QtBot, window: MainWindow, connect: Callable[..., SessionTab], ws_server: RunningServer
) -> None:
    for _ in range(2):  # two tabs carry the same pane actions: each is listed once
        connect(ws_server.url)
    native = QKeySequence.SequenceFormat.NativeText
    bound = {
        seq.toString(native)
        for action in window.findChildren(QAction)
        for seq in action.shortcuts()
        if not seq.isEmpty()
    } | {
        seq.toString(native)
        for shortcut in window.findChildren(QShortcut)
        for seq in shortcut.keys()  # noqa: SIM118 (QShortcut.keys(), not a dict)
        if not seq.isEmpty()
    }
    assert len(bound) >= 8
    listed = window_shortcuts(window)
    assert len(listed) == len(set(listed))
    qtbot.keyClick(window, "/", Qt.KeyboardModifier.ControlModifier)
    dialog = window.help_menus.dialog
    assert isinstance(dialog, ShortcutsDialog)
    rows = dialog.visible_rows()
    assert bound <= {key for _, key in rows}
    assert ("Keyboard Shortcuts", QKeySequence("Ctrl+/").toString(native)) in rows
    assert ("Quit", QKeySequence("Ctrl+Q").toString(native)) in rows
    assert ("Send the message", QKeySequence("Ctrl+Return").toString(native)) in rows
    assert len(rows) == len(listed)
    dialog.reject()


def test_capture_limit_dialog_stores_the_limit(
    qtbot: QtBot, window: MainWindow, settings: Settings
) -> None:
    assert capture_limit(settings) is None
    window.help_menus.limit_action.trigger()
    dialog = window.help_menus.dialog
    assert isinstance(dialog, CaptureLimitDialog)
    dialog.records.setValue(500)
    dialog.mib.setValue(2)
    dialog.accept()
    limit = capture_limit(settings)
    assert limit is not None and limit.records == 500 and limit.bytes == 2 * 1024 * 1024


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Logging set up as the app does it, into tmp_path; the handlers go afterwards."""
    monkeypatch.setattr(logs, "_file_handler", None)
    root = logging.getLogger()
    level = root.level
    path = logs.setup_logging("warning", tmp_path / "logs")
    yield path
    for handler in [h for h in root.handlers if getattr(h, "_inspector_handler", False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def test_an_unexpected_error_in_a_slot_is_one_line_naming_the_log(
    qtbot: QtBot, window: MainWindow, log_file: Path
) -> None:
    @guarded
    def broken_slot() -> None:
        raise RuntimeError("the slot broke\non two lines")

    assert broken_slot() is None
    message = window.statusBar().currentMessage()
    assert "\n" not in message
    assert "RuntimeError: the slot broke on two lines" in message
    assert f"(details in {log_file})" in message
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert 'raise RuntimeError("the slot broke' in text


def test_log_level_option_is_taken_from_any_place() -> None:
    assert pop_log_level(["probe", "ws://h/", "--log-level", "DEBUG"]) == (
        "debug",
        ["probe", "ws://h/"],
    )
    assert pop_log_level(["--log-level=info", "show", "f"]) == ("info", ["show", "f"])
    assert pop_log_level(["show", "f"]) == ("warning", ["show", "f"])
    with pytest.raises(UsageExit, match="unknown level 'loud'"):
        pop_log_level(["--log-level", "loud", "show", "f"])


def test_the_excepthook_shows_one_line_and_logs_the_traceback(
    window: MainWindow, log_file: Path
) -> None:
    from inspector.app import _excepthook

    try:
        raise KeyError("escaped into Qt")
    except KeyError as exc:
        _excepthook(KeyError, exc, exc.__traceback__)
    message = window.statusBar().currentMessage()
    assert message.startswith("the app: unexpected error: KeyError")
    assert f"(details in {log_file})" in message
    text = log_file.read_text(encoding="utf-8")
    assert "unexpected error in the app" in text and "escaped into Qt" in text
    assert "Traceback (most recent call last)" in text


def test_a_failed_loop_callback_is_one_line_naming_the_log(
    window: MainWindow, log_file: Path
) -> None:
    from inspector.app import _loop_exception

    _loop_exception(None, {"message": "callback failed", "exception": OSError("gone")})  # type: ignore[arg-type]
    message = window.statusBar().currentMessage()
    assert message.startswith("a background step: unexpected error: OSError: gone")
    assert f"(details in {log_file})" in message
