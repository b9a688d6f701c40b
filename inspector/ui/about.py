"""Help ▸ About and Help ▸ Keyboard Shortcuts dialogs, and the application icon.

The About dialog lists the versions a bug report needs (the app, Qt, PySide6,
websockets, Python, the platform) and copies them as plain text. The shortcuts dialog
takes the shortcuts as data, so the window passes what it actually binds (see
:func:`shortcuts_from_actions`) and the list cannot drift from the menus.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector import __version__, resources

APP_NAME = "Socket Inspector"
SUMMARY = "Open TCP, TLS, UDP and WebSocket sessions by hand and see every byte."
HOMEPAGE = "https://github.com/socketinspector/socket-inspector"
ABOUT_ICON_SIZE = 64
#: Pixels of air between the action names and their keys.
COLUMN_PADDING = 24


@dataclass(frozen=True, slots=True)
class Shortcut:
    """One key binding as shown to the user: keys in portable form, e.g. ``Ctrl+Return``."""

    keys: str
    action: str
    context: str = "Window"


def app_icon() -> QIcon:
    """The application icon with every shipped size (PNG data, so it works from any install)."""
    icon = QIcon()
    for size in resources.ICON_SIZES:
        pixmap = QPixmap()
        if pixmap.loadFromData(resources.read_bytes(resources.icon_png(size)), "PNG"):
            icon.addPixmap(pixmap)
    return icon


def _distribution_version(name: str, fallback: str = "unknown") -> str:
    """The installed version of distribution ``name`` (or ``fallback`` when not found)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return fallback


def versions() -> list[tuple[str, str]]:
    """(component, version) pairs for the About dialog and for bug reports."""
    import websockets

    return [
        (APP_NAME, __version__),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("websockets", getattr(websockets, "__version__", _distribution_version("websockets"))),
        ("qasync", _distribution_version("qasync")),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Platform", f"{platform.system()} {platform.release()} {platform.machine()}".strip()),
    ]


def version_report(log_file: Path | None = None) -> str:
    """The versions as plain text lines, ready to paste into a bug report."""
    lines = [f"{name}: {version}" for name, version in versions()]
    if log_file is not None:
        lines.append(f"Log file: {log_file}")
    return "\n".join(lines)


class AboutDialog(QDialog):
    """Help ▸ About: icon, name, version, summary and the versions of everything underneath."""

    def __init__(self, parent: QWidget | None = None, *, log_file: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self._log_file = log_file

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(ABOUT_ICON_SIZE, ABOUT_ICON_SIZE))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<h2>{APP_NAME} {__version__}</h2><p>{SUMMARY}</p>")
        title.setWordWrap(True)
        link = QLabel(f'<a href="{HOMEPAGE}">{HOMEPAGE}</a>')
        link.setOpenExternalLinks(True)
        link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        heading = QVBoxLayout()
        heading.addWidget(title)
        heading.addWidget(link)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(heading, 1)

        form = QFormLayout()
        self.version_labels: dict[str, QLabel] = {}
        for name, version in versions():
            value = QLabel(version)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.version_labels[name] = value
            form.addRow(f"{name}:", value)
        if log_file is not None:
            log_label = QLabel(str(log_file))
            log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            log_label.setWordWrap(True)
            form.addRow("Log file:", log_label)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy Version Info")
        self.copy_button.setToolTip("Copy these versions to the clipboard for a bug report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_versions)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def copy_versions(self) -> None:
        """Put the version report on the clipboard."""
        QGuiApplication.clipboard().setText(version_report(self._log_file))


def _plain(text: str) -> str:
    """A menu text without its mnemonic ampersands and trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").removesuffix("…").strip()


def shortcuts_from_actions(actions: Iterable[QAction], context: str = "Window") -> list[Shortcut]:
    """One Shortcut per key sequence bound to ``actions`` (those without keys are left out)."""
    found: list[Shortcut] = []
    for action in actions:
        for sequence in action.shortcuts():
            if not sequence.isEmpty():
                keys = sequence.toString(QKeySequence.SequenceFormat.PortableText)
                found.append(Shortcut(keys, _plain(action.text()), context))
    return found


class ShortcutsDialog(QDialog):
    """Help ▸ Keyboard Shortcuts: the bindings grouped by where they apply, with a filter."""

    def __init__(self, shortcuts: Sequence[Shortcut], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(460, 420)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by action or key")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        groups: dict[str, QTreeWidgetItem] = {}
        for shortcut in shortcuts:
            group = groups.get(shortcut.context)
            if group is None:
                group = QTreeWidgetItem(self.tree, [shortcut.context])
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                group.setFirstColumnSpanned(True)
                groups[shortcut.context] = group
            native = QKeySequence(shortcut.keys).toString(QKeySequence.SequenceFormat.NativeText)
            QTreeWidgetItem(group, [shortcut.action, native or shortcut.keys])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, self.tree.columnWidth(0) + COLUMN_PADDING)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)

    def visible_rows(self) -> list[tuple[str, str]]:
        """(action, keys) of the rows the filter leaves visible, top to bottom."""
        rows: list[tuple[str, str]] = []
        for index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(index)
            if group is None or group.isHidden():
                continue
            for child_index in range(group.childCount()):
                child = group.child(child_index)
                if child is not None and not child.isHidden():
                    rows.append((child.text(0), child.text(1)))
        return rows

    def _apply_filter(self, text: str) -> None:
        """Hide rows whose action and keys both lack ``text``, and groups left empty."""
        needle = text.strip().casefold()
        for index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(index)
            if group is None:
                continue
            shown = 0
            for child_index in range(group.childCount()):
                child = group.child(child_index)
                if child is None:
                    continue
                haystack = f"{child.text(0)} {child.text(1)}".casefold()
                hide = bool(needle) and needle not in haystack
                child.setHidden(hide)
                shown += not hide
            group.setHidden(shown == 0)
