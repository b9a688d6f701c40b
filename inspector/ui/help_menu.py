"""The window's Options and Help menus: Capture Limit, Keyboard Shortcuts, About.

The shortcuts dialog lists what the window's QActions actually bind (read when the
dialog opens), so it cannot drift from the menus.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QMainWindow, QMenu, QWidget

from inspector.core.logs import log_file
from inspector.ui.about import AboutDialog, Shortcut, ShortcutsDialog, shortcuts_from_actions
from inspector.ui.guard import guarded
from inspector.ui.preferences import CaptureLimitDialog
from inspector.ui.settings import Settings


def _plain_title(menu: QMenu) -> str:
    return menu.title().replace("&", "")


#: Keys a widget handles in keyPressEvent, which no QAction or QShortcut carries.
KEY_PRESS_SHORTCUTS = (
    Shortcut("Ctrl+Return", "Send the message", "Composer"),
    Shortcut("Up", "Previous sent message (on the first line)", "Composer"),
    Shortcut("Down", "Next sent message (on the last line)", "Composer"),
)


def _context(obj: QObject) -> str:
    """Where a pane's binding applies: the nearest accessible name above it, else "Panes"."""
    parent = obj.parent()
    while isinstance(parent, QWidget) and not isinstance(parent, QMainWindow):
        if parent.accessibleName():
            return parent.accessibleName()
        parent = parent.parent()
    return "Panes"


def _menu_actions(menu: QMenu) -> list[QAction]:
    """A menu's actions, those of its submenus in place of the submenu."""
    found: list[QAction] = []
    for action in menu.actions():
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            found.extend(_menu_actions(submenu))
        elif not action.isSeparator():
            found.append(action)
    return found


def window_shortcuts(window: QMainWindow) -> list[Shortcut]:
    """Every key binding of the window: its menus' actions (grouped by menu, in menu
    order), then the actions and QShortcuts of its panes (each listed once, however many
    tabs carry it), then the keys handled by hand."""
    found: list[Shortcut] = []
    seen: set[int] = set()
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if not isinstance(menu, QMenu):
            continue
        actions = _menu_actions(menu)
        seen.update(id(a) for a in actions)
        found.extend(shortcuts_from_actions(actions, _plain_title(menu)))
    for action in window.findChildren(QAction):
        if id(action) not in seen:
            found.extend(shortcuts_from_actions([action], _context(action)))
    for shortcut in window.findChildren(QShortcut):
        for sequence in shortcut.keys():  # noqa: SIM118 (QShortcut.keys(), not a dict)
            if not sequence.isEmpty():
                keys = sequence.toString(QKeySequence.SequenceFormat.PortableText)
                what = shortcut.whatsThis() or shortcut.objectName() or "Activate"
                found.append(Shortcut(keys, what, _context(shortcut)))
    found.extend(KEY_PRESS_SHORTCUTS)
    unique: dict[Shortcut, None] = dict.fromkeys(found)
    return list(unique)


class HelpMenus:
    """Adds Options and Help to a window's menu bar and opens their dialogs."""

    def __init__(self, window: QMainWindow, settings: Settings) -> None:
        self.window = window
        self.settings = settings
        self.dialog: QDialog | None = None

        options = window.menuBar().addMenu("&Options")
        self.limit_action = QAction("Capture &Limit…", window)
        self.limit_action.setObjectName("captureLimitAction")
        self.limit_action.triggered.connect(self.show_capture_limit)
        options.addAction(self.limit_action)

        help_menu = window.menuBar().addMenu("&Help")
        self.shortcuts_action = QAction("&Keyboard Shortcuts", window)
        self.shortcuts_action.setObjectName("shortcutsAction")
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)
        self.about_action = QAction("&About Socket Inspector", window)
        self.about_action.setObjectName("aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def _show(self, dialog: QDialog) -> QDialog:
        """Open ``dialog`` window-modal (not blocking the event loop) and keep it."""
        if self.dialog is not None:
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda *_: self._forget(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    @guarded
    def show_about(self, *_: object) -> QDialog:
        return self._show(AboutDialog(self.window, log_file=log_file()))

    @guarded
    def show_shortcuts(self, *_: object) -> QDialog:
        return self._show(ShortcutsDialog(window_shortcuts(self.window), self.window))

    @guarded
    def show_capture_limit(self, *_: object) -> QDialog:
        return self._show(CaptureLimitDialog(self.settings, self.window))
