"""The workspace side panel: the tree of a workspace folder's endpoints, saved messages,
environments and scripts, an environment selector, and one problem line.

The folder is watched (QFileSystemWatcher): a change made in any editor is read again
after a short quiet time (an editor's save is often several writes and a rename), so
the tree follows at once. Each file is read on its own (core.workspace_state): a broken
file is one line naming it and its line, and what was read before from it stays usable.
Saved messages are reordered by dragging them (messages.toml is rewritten in that
order, each table moved whole with its comments).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.variables import Scope
from inspector.core.workspace import MessageFormat, SavedEndpoint, SavedMessage
from inspector.core.workspace_state import ScriptEntry, WorkspaceState, read_state, watched_paths
from inspector.ui import theme
from inspector.ui.guard import guarded

#: Milliseconds of quiet after a change on disk before the workspace is read again.
RELOAD_DELAY_MS = 120
_KIND = Qt.ItemDataRole.UserRole
_VALUE = Qt.ItemDataRole.UserRole + 1
_NO_ENVIRONMENT = "(no environment)"


class ItemKind(StrEnum):
    """What a row of the tree stands for."""

    GROUP = "group"
    ENDPOINT = "endpoint"
    MESSAGE = "message"
    ENVIRONMENT = "environment"
    VARIABLE = "variable"
    SCRIPT = "script"


def _preview(message: SavedMessage) -> str:
    if message.format is MessageFormat.SOCKETIO:
        return f"socket.io event {message.event!r}"
    body = " ".join(message.body.split())
    return f"{message.format}: " + (body if len(body) <= 48 else body[:47] + "…")


class WorkspaceTree(QTreeWidget):
    """The panel's tree; saved messages can be dragged to a new place among them (the
    file is rewritten in that order and the tree follows the file, so the drop itself
    moves nothing here)."""

    #: (dragged message's name, target message's name, after the target)
    messageDropped = Signal(str, str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)

    def dropEvent(self, event: QDropEvent) -> None:
        """A message dropped above or below another message: say so, move nothing."""
        source = self.currentItem()
        pos = event.position().toPoint()
        target = self.itemAt(pos)
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        if (
            source is None
            or target is None
            or source is target
            or source.data(0, _KIND) != ItemKind.MESSAGE
            or target.data(0, _KIND) != ItemKind.MESSAGE
        ):
            return
        after = pos.y() > self.visualItemRect(target).center().y()
        self.messageDropped.emit(source.text(0), target.text(0), after)


class WorkspacePanel(QDockWidget):
    """The dock that shows one workspace and tells the window what the person picked."""

    #: (SavedEndpoint): open a session to it.
    endpointActivated = Signal(object)
    #: (SavedMessage, send: bool): into the current composer; ``send`` sends it too.
    messageChosen = Signal(object, bool)
    #: (ScriptEntry): run it.
    scriptRunRequested = Signal(object)
    #: (WorkspaceState): the workspace was read (again).
    reloaded = Signal(object)
    #: (list of names): the saved messages in the order the person dragged them to.
    messagesReordered = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Workspace", parent)
        self.setObjectName("workspaceDock")
        self.state: WorkspaceState | None = None
        self.reloads = 0

        self.title = QLabel("No workspace open — File ▸ Open Workspace…")
        self.title.setObjectName("workspaceTitle")
        self.title.setWordWrap(True)
        self.environment_box = QComboBox()
        self.environment_box.setObjectName("workspaceEnvironment")
        self.environment_box.setAccessibleName("Environment")
        self.environment_box.setToolTip("The environment whose variables fill {{name}}")
        self.problem = QLabel()
        self.problem.setObjectName("workspaceProblem")
        self.problem.setAccessibleName("Workspace problem")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        self.tree = WorkspaceTree()
        self.tree.messageDropped.connect(self._message_dropped)
        self.tree.setObjectName("workspaceTree")
        self.tree.setAccessibleName("Workspace")
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemActivated.connect(self._activated)

        env_row = QHBoxLayout()
        env_row.setContentsMargins(0, 0, 0, 0)
        env_row.addWidget(QLabel("Environment:"))
        env_row.addWidget(self.environment_box, 1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addLayout(env_row)
        layout.addWidget(self.problem)
        layout.addWidget(self.tree, 1)
        self.setWidget(body)

        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._changed)
        self.watcher.directoryChanged.connect(self._changed)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self._reload_now)

    # -- the workspace ----------------------------------------------------------------

    @property
    def root(self) -> Path | None:
        return self.state.workspace.root if self.state is not None else None

    def open_folder(self, root: Path, environment: str | None = None) -> WorkspaceState:
        """Show the workspace at ``root`` (problems are shown, never raised)."""
        self.state = None
        state = self.reload(root)
        self.set_environment(environment)
        return state

    def close_workspace(self) -> None:
        """Show no workspace."""
        self._unwatch()
        self.state = None
        self.tree.clear()
        self.environment_box.clear()
        self.title.setText("No workspace open — File ▸ Open Workspace…")
        self._show_problems(())

    @guarded
    def _reload_now(self) -> None:
        if self.state is not None:
            self.reload()

    def reload(self, root: Path | None = None) -> WorkspaceState:
        """Read the workspace again (after a change on disk) and show it."""
        folder = root if root is not None else self.root
        assert folder is not None
        state = read_state(folder, self.state)
        self.state = state
        self.reloads += 1
        self._watch(folder, state.missing)
        chosen = self.environment()
        self._fill_tree(state)
        self._fill_environments(state, chosen)
        self._show_problems(state.problems)
        self.title.setText(f"<b>{state.workspace.name}</b> — {folder}")
        self.title.setToolTip(str(folder))
        self.reloaded.emit(state)
        return state

    def environment(self) -> str | None:
        """The chosen environment's name (None: no environment)."""
        name = self.environment_box.currentData()
        return name if isinstance(name, str) and name else None

    def set_environment(self, name: str | None) -> None:
        index = self.environment_box.findData(name or "")
        self.environment_box.setCurrentIndex(max(index, 0))

    def scope(self) -> Scope:
        """The variables of the chosen environment."""
        if self.state is None:
            return Scope()
        env = self.environment()
        values = self.state.workspace.environments.get(env, {}) if env else {}
        return Scope(environment=dict(values))

    @property
    def problem_text(self) -> str | None:
        return self.problem.text() if not self.problem.isHidden() else None

    # -- watching -----------------------------------------------------------------------

    def _unwatch(self) -> None:
        watched = self.watcher.files() + self.watcher.directories()
        if watched:
            self.watcher.removePaths(watched)

    def _watch(self, root: Path, missing: bool) -> None:
        """Watch the folder and its files again: an editor that saves by renaming a new
        file over the old one ends the watch on the old file."""
        self._unwatch()
        paths = [root.parent] if missing and root.parent.is_dir() else []
        if not missing:
            paths = watched_paths(root)
        if paths:
            self.watcher.addPaths([str(p) for p in paths])

    @guarded
    def _changed(self, _path: str) -> None:
        if self.state is not None:
            self._reload_timer.start()

    # -- showing ------------------------------------------------------------------------

    def _show_problems(self, problems: tuple[str, ...]) -> None:
        if not problems:
            self.problem.hide()
            self.problem.clear()
            return
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        colour = theme.error_text(theme.is_dark(self)).name()
        self.problem.setStyleSheet(f"color: {colour}")
        self.problem.setText(problems[0] + more)
        self.problem.setToolTip("\n".join(problems))
        self.problem.show()

    def _group(self, title: str, count: int) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [title, str(count)])
        item.setData(0, _KIND, ItemKind.GROUP)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setExpanded(True)
        return item

    @staticmethod
    def _leaf(
        parent: QTreeWidgetItem, kind: ItemKind, label: str, detail: str, value: object
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [label, detail])
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if kind is ItemKind.MESSAGE:
            flags |= Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        item.setFlags(flags)
        item.setData(0, _KIND, kind)
        item.setData(0, _VALUE, value)
        item.setToolTip(0, detail)
        item.setToolTip(1, detail)
        return item

    def _fill_tree(self, state: WorkspaceState) -> None:
        self.tree.clear()
        if state.missing:
            return
        ws = state.workspace
        group = self._group("Endpoints", len(ws.endpoints))
        for endpoint in ws.endpoints:
            self._leaf(group, ItemKind.ENDPOINT, endpoint.name, endpoint.url, endpoint)
        group = self._group("Messages", len(ws.messages))
        group.setFlags(group.flags() | Qt.ItemFlag.ItemIsDropEnabled)
        for message in ws.messages:
            self._leaf(group, ItemKind.MESSAGE, message.name, _preview(message), message)
        group = self._group("Environments", len(ws.environments))
        for name, values in ws.environments.items():
            env = self._leaf(group, ItemKind.ENVIRONMENT, name, f"{len(values)} variables", name)
            for key, value in values.items():
                self._leaf(env, ItemKind.VARIABLE, key, value, key)
        group = self._group("Scripts", len(state.scripts))
        for entry in state.scripts:
            steps = f"{entry.steps} step{'s' if entry.steps != 1 else ''}"
            detail = entry.problem or f"{steps} · {entry.path.name}"
            item = self._leaf(group, ItemKind.SCRIPT, entry.name, detail, entry)
            if entry.problem:
                item.setForeground(0, theme.error_text(theme.is_dark(self)))
        self.tree.resizeColumnToContents(0)

    def _fill_environments(self, state: WorkspaceState, chosen: str | None) -> None:
        box = self.environment_box
        box.blockSignals(True)
        try:
            box.clear()
            box.addItem(_NO_ENVIRONMENT, "")
            for name in state.workspace.environments:
                box.addItem(name, name)
            self.set_environment(chosen)
        finally:
            box.blockSignals(False)

    # -- finding and picking ------------------------------------------------------------

    def item_for(self, kind: ItemKind, name: str) -> QTreeWidgetItem | None:
        """The tree row of the endpoint, message or script called ``name``."""
        for group in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(group)
            for row in range(top.childCount()):
                item = top.child(row)
                if item.data(0, _KIND) == kind and item.text(0) == name:
                    return item
        return None

    def names(self, kind: ItemKind) -> list[str]:
        """The names shown for ``kind``, in tree order."""
        found = []
        for group in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(group)
            found += [
                top.child(r).text(0)
                for r in range(top.childCount())
                if top.child(r).data(0, _KIND) == kind
            ]
        return found

    @guarded
    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        """Double-click or Enter: connect to an endpoint, put a message in the composer,
        run a script."""
        kind, value = item.data(0, _KIND), item.data(0, _VALUE)
        if kind == ItemKind.ENDPOINT and isinstance(value, SavedEndpoint):
            self.endpointActivated.emit(value)
        elif kind == ItemKind.MESSAGE and isinstance(value, SavedMessage):
            self.messageChosen.emit(value, False)
        elif kind == ItemKind.SCRIPT and isinstance(value, ScriptEntry):
            self.scriptRunRequested.emit(value)
        elif kind == ItemKind.ENVIRONMENT and isinstance(value, str):
            self.set_environment(value)

    @guarded
    def _message_dropped(self, name: str, target: str, after: bool) -> None:
        order = [n for n in self.names(ItemKind.MESSAGE) if n != name]
        if target not in order:
            return
        order.insert(order.index(target) + (1 if after else 0), name)
        if order != self.names(ItemKind.MESSAGE):
            self.messagesReordered.emit(order)

    def activate(self, kind: ItemKind, name: str) -> None:
        """What a double-click on the row called ``name`` does."""
        item = self.item_for(kind, name)
        if item is None:
            raise LookupError(f"no {kind} {name!r} in the panel")
        self._activated(item)

    @guarded
    def _menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        menu = self.context_menu(item)
        if menu is not None:
            menu.popup(self.tree.viewport().mapToGlobal(pos))

    def context_menu(self, item: QTreeWidgetItem | None) -> QMenu | None:
        """The context menu of a row (None: the row has none)."""
        if item is None:
            return None
        kind, value = item.data(0, _KIND), item.data(0, _VALUE)
        menu = QMenu(self.tree)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if kind == ItemKind.ENDPOINT:
            menu.addAction("Open session").triggered.connect(
                lambda: self.endpointActivated.emit(value)
            )
        elif kind == ItemKind.MESSAGE:
            menu.addAction("Put in composer").triggered.connect(
                lambda: self.messageChosen.emit(value, False)
            )
            send = menu.addAction("Send now")
            send.setObjectName("sendSavedAction")
            send.triggered.connect(lambda: self.messageChosen.emit(value, True))
        elif kind == ItemKind.SCRIPT:
            run = menu.addAction("Run script")
            run.setObjectName("runScriptAction")
            run.triggered.connect(lambda: self.scriptRunRequested.emit(value))
        elif kind == ItemKind.ENVIRONMENT:
            menu.addAction("Use this environment").triggered.connect(
                lambda: self.set_environment(value)
            )
        else:
            menu.deleteLater()
            return None
        return menu
