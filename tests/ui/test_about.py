"""Help ▸ About shows the versions; Help ▸ Keyboard Shortcuts lists the bindings it is given."""

from __future__ import annotations

import platform
from pathlib import Path

import PySide6
import websockets
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

import inspector
from inspector import resources
from inspector.ui.about import (
    AboutDialog,
    Shortcut,
    ShortcutsDialog,
    app_icon,
    shortcuts_from_actions,
    version_report,
)


def _all_text(dialog: AboutDialog) -> str:
    return "\n".join(label.text() for label in dialog.findChildren(QLabel))


def test_about_shows_every_version(qtbot: QtBot) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    text = _all_text(dialog)
    assert f"Socket Inspector {inspector.__version__}" in text
    for expected in (qVersion(), PySide6.__version__, websockets.__version__):
        assert expected in text
    assert platform.python_version() in text
    assert dialog.version_labels["Qt"].text() == qVersion()
    assert dialog.version_labels["websockets"].text() == websockets.__version__


def test_about_shows_the_log_file_and_copies_a_report(qtbot: QtBot, tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "inspector.log"
    dialog = AboutDialog(log_file=log_file)
    qtbot.addWidget(dialog)
    assert str(log_file) in _all_text(dialog)
    QGuiApplication.clipboard().clear()
    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied == version_report(log_file)
    assert f"Socket Inspector: {inspector.__version__}" in copied.splitlines()
    assert f"PySide6: {PySide6.__version__}" in copied.splitlines()
    assert copied.splitlines()[-1] == f"Log file: {log_file}"


def test_about_icon_is_the_shipped_icon(qtbot: QtBot) -> None:
    icon = app_icon()
    assert not icon.isNull()
    sizes = {(size.width(), size.height()) for size in icon.availableSizes()}
    assert sizes == {(n, n) for n in resources.ICON_SIZES}


def test_shortcuts_dialog_lists_what_it_is_given_grouped(qtbot: QtBot) -> None:
    shortcuts = [
        Shortcut("Ctrl+L", "Focus address bar"),
        Shortcut("Ctrl+Return", "Send message", "Composer"),
        Shortcut("Ctrl+F", "Find in records"),
    ]
    dialog = ShortcutsDialog(shortcuts)
    qtbot.addWidget(dialog)
    native = {s.keys: QKeySequence(s.keys).toString(QKeySequence.SequenceFormat.NativeText)
              for s in shortcuts}  # fmt: skip
    assert dialog.visible_rows() == [
        ("Focus address bar", native["Ctrl+L"]),
        ("Find in records", native["Ctrl+F"]),
        ("Send message", native["Ctrl+Return"]),
    ]
    groups = [dialog.tree.topLevelItem(i).text(0) for i in range(dialog.tree.topLevelItemCount())]
    assert groups == ["Window", "Composer"]


def test_shortcuts_filter_narrows_and_clears(qtbot: QtBot) -> None:
    dialog = ShortcutsDialog([Shortcut("Ctrl+L", "Focus address bar"), Shortcut("F1", "Help")])
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.filter_edit, "address")
    assert [action for action, _ in dialog.visible_rows()] == ["Focus address bar"]
    dialog.filter_edit.setText("nothing matches this")
    assert dialog.visible_rows() == []
    assert dialog.tree.topLevelItem(0).isHidden()
    dialog.filter_edit.clear()
    assert len(dialog.visible_rows()) == 2


def test_shortcuts_come_from_the_actions_that_have_keys(qtbot: QtBot) -> None:
    dialog = ShortcutsDialog([])
    qtbot.addWidget(dialog)
    save = QAction("&Save Capture As…", dialog)
    save.setShortcuts([QKeySequence("Ctrl+Shift+S"), QKeySequence("F12")])
    quiet = QAction("No &Keys", dialog)
    found = shortcuts_from_actions([save, quiet], context="File")
    assert found == [
        Shortcut("Ctrl+Shift+S", "Save Capture As", "File"),
        Shortcut("F12", "Save Capture As", "File"),
    ]
