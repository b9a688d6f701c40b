"""The window's workspace side: File ▸ Open Workspace… and recent workspaces, the side
panel, saved endpoints and messages into sessions and composers, "Save to workspace…",
and script runs.

Variables are filled with the chosen environment (one choice, shown both in the panel
and in the connect bar, where it fills the typed URL) (and ``{{env.NAME}}`` from the
process environment). A saved message whose variables are not all known still goes
into the composer, its unknown ``{{names}}`` left as written and named in one line
under the editor; it is never sent that way.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMenu, QTabWidget

from inspector.capture.store import CaptureStore
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.core.options import SessionOptions
from inspector.core.records import Kind, Record
from inspector.core.variables import PLACEHOLDER, Scope
from inspector.core.workspace import MessageFormat, SavedEndpoint, SavedMessage, socketio_event
from inspector.core.workspace_state import (
    Filled,
    ScriptEntry,
    append_message,
    fill_known,
    reorder_messages,
    unresolved_line,
)
from inspector.ui.capture_actions import CaptureActions
from inspector.ui.connect_bar import ConnectBar
from inspector.ui.guard import guarded
from inspector.ui.script_results import ScriptResultsPane
from inspector.ui.settings import Settings
from inspector.ui.tabs.base import RecordsTab
from inspector.ui.tabs.capture import CaptureTab
from inspector.ui.tabs.hosting import HostingTab
from inspector.ui.tabs.server_capture import session_conn
from inspector.ui.tabs.session import SessionTab
from inspector.ui.workspace_panel import WorkspacePanel

OPEN_SHORTCUT = "Ctrl+Shift+O"
PANEL_SHORTCUT = "Ctrl+Shift+E"
RESULTS_SHORTCUT = "Ctrl+Shift+J"
_PAYLOAD_KINDS = (Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM)


class WindowSide(Protocol):
    """What the workspace side needs of the main window."""

    tabs: QTabWidget
    captures: CaptureActions

    def session_tabs(self) -> list[RecordsTab]: ...
    def current_tab(self) -> RecordsTab | None: ...
    def open_session(self, endpoint: Endpoint, options: SessionOptions) -> SessionTab | None: ...
    def notify(self, message: str) -> None: ...


def composer_content(message: SavedMessage, scope: Scope, root: Path) -> tuple[str, Filled]:
    """The composer mode and text of a saved message, variables filled as far as known."""
    where = f"message {message.name!r}"
    fmt = message.format
    if fmt is MessageFormat.SOCKETIO:
        missing: list[str] = []

        def fill(value: object) -> object:
            if isinstance(value, str):
                done = fill_known(value, scope, where)
                missing.extend(n for n in done.unresolved if n not in missing)
                return done.text
            if isinstance(value, list | tuple):
                return [fill(v) for v in value]
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value

        event = fill(message.event)
        args = tuple(fill(a) for a in message.args)
        text = socketio_event(str(event), args, message.namespace)
        return "text", Filled(text, tuple(missing))
    if message.verbatim:
        return str(fmt), Filled(message.body, ())
    filled = fill_known(message.body, scope, where)
    if fmt is MessageFormat.FILE:
        return "file", Filled(str(root / filled.text), filled.unresolved)
    return str(fmt), filled


def message_from_composer(name: str, mode: str, text: str, root: Path) -> SavedMessage:
    """A saved message of the composer's content (a file inside the workspace is kept
    relative to it, so the workspace can move)."""
    if mode == "file":
        path = Path(text)
        try:
            text = str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            text = str(path)
    return SavedMessage(name, MessageFormat(mode), text)


def message_from_record(name: str, record: Record) -> SavedMessage:
    """A saved message of a record's payload: JSON or text when it is UTF-8, else hex;
    verbatim when it holds ``{{…}}`` (a peer's text, not the person's variables)."""
    payload = record.payload or b""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return SavedMessage(name, MessageFormat.HEX, payload.hex(" "))
    verbatim = PLACEHOLDER.search(text) is not None
    if text.lstrip()[:1] in ("{", "["):
        try:
            json.loads(text)
            return SavedMessage(name, MessageFormat.JSON, text, verbatim=verbatim)
        except ValueError:
            pass
    return SavedMessage(name, MessageFormat.TEXT, text, verbatim=verbatim)


class WorkspaceActions(QObject):
    """Menus, panel and script pane of the workspace side of one window."""

    def __init__(
        self,
        window: QMainWindow,
        side: WindowSide,
        settings: Settings,
        capture_dir: Path | None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.side = side
        self.settings = settings
        self.panel = WorkspacePanel(window)
        self.panel.hide()
        self.results = ScriptResultsPane(capture_dir, settings, window)
        self.results.hide()
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.results)
        self.panel.endpointActivated.connect(self.open_endpoint)
        self.panel.messageChosen.connect(self.use_message)
        self.panel.scriptRunRequested.connect(self.run_script)
        self.panel.messagesReordered.connect(self.reorder_messages)
        self.results.stepRecordsRequested.connect(self.show_step)
        self.panel.environment_box.currentIndexChanged.connect(self._environment_changed)
        self.save_dialog: QInputDialog | None = None
        self.bar: ConnectBar | None = None

        self.panel_action = self.panel.toggleViewAction()
        self.panel_action.setText("&Workspace panel")
        self.panel_action.setObjectName("workspacePanelAction")
        self.panel_action.setShortcut(QKeySequence(PANEL_SHORTCUT))
        self.results_action = self.results.toggleViewAction()
        self.results_action.setText("Script &results")
        self.results_action.setObjectName("scriptResultsAction")
        self.results_action.setShortcut(QKeySequence(RESULTS_SHORTCUT))
        for action in (self.panel_action, self.results_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(action)
        self.open_action = QAction("Open &Workspace…", window)
        self.open_action.setObjectName("openWorkspaceAction")
        self.open_action.setShortcut(QKeySequence(OPEN_SHORTCUT))
        self.open_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.open_action.triggered.connect(self.open_dialog)
        self.close_action = QAction("Close Wor&kspace", window)
        self.close_action.setObjectName("closeWorkspaceAction")
        self.close_action.triggered.connect(self.close_workspace)
        self.recent_menu = QMenu("Recent wor&kspaces", window)
        self.recent_menu.setObjectName("recentWorkspacesMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent)

    def attach_connect_bar(self, bar: ConnectBar) -> None:
        """Show the panel's environment choice in the connect bar too: one list (a
        shared model), one choice (either box sets the other), and the bar fills the
        typed URL's variables with it."""
        self.bar = bar
        bar.environment_box.setModel(self.panel.environment_box.model())
        bar.scope_of = self.panel.scope
        bar.environment_box.currentIndexChanged.connect(self._bar_environment_chosen)
        self.panel.environment_box.currentIndexChanged.connect(self._sync_bar)
        self.panel.reloaded.connect(self._sync_bar)
        self._sync_bar()

    @guarded
    def _bar_environment_chosen(self, index: int) -> None:
        if index >= 0 and index != self.panel.environment_box.currentIndex():
            self.panel.environment_box.setCurrentIndex(index)

    @guarded
    def _sync_bar(self, *_: object) -> None:
        """The bar shows the panel's choice, while a workspace is open."""
        bar = self.bar
        if bar is None:
            return
        box = bar.environment_box
        index = self.panel.environment_box.currentIndex()
        if box.currentIndex() != index:
            box.blockSignals(True)
            box.setCurrentIndex(index)
            box.blockSignals(False)
        bar.environment_row.setVisible(self.panel.state is not None)

    # -- menus ------------------------------------------------------------------------

    def fill_file_menu(self, menu: QMenu) -> None:
        """Open Workspace…, Recent workspaces, Close Workspace."""
        menu.addSeparator()
        menu.addAction(self.open_action)
        menu.addMenu(self.recent_menu)
        menu.addAction(self.close_action)

    def fill_view_menu(self, menu: QMenu) -> None:
        """The panel's and the script results' toggles."""
        menu.addSeparator()
        menu.addAction(self.panel_action)
        menu.addAction(self.results_action)

    @guarded
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        folders = self.settings.recent_workspaces()
        for folder in folders:
            action = self.recent_menu.addAction(folder)
            if not Path(folder).is_dir():
                action.setText(f"{folder} (missing)")
                action.setEnabled(False)
            action.triggered.connect(lambda _=False, f=folder: self.open_workspace(Path(f)))
        if not folders:
            self.recent_menu.addAction("No recent workspaces").setEnabled(False)

    # -- opening ----------------------------------------------------------------------

    @guarded
    def open_dialog(self, *_: object) -> None:
        """File ▸ Open Workspace…: choose a folder."""
        start = self.panel.root or Path.home()
        folder = QFileDialog.getExistingDirectory(self.window, "Open workspace", str(start))
        if folder:
            self.open_workspace(Path(folder))

    def open_workspace(self, folder: Path) -> bool:
        """Show the workspace at ``folder`` in the panel (and remember it)."""
        folder = folder.resolve()
        if not folder.is_dir():
            self.side.notify(f"{folder}: no such workspace folder")
            return False
        env = self.settings.workspace_environment(str(folder))
        state = self.panel.open_folder(folder, env)
        self.settings.add_recent_workspace(str(folder))
        self.settings.set_last_workspace(str(folder))
        self.panel.show()
        note = f" — {state.problems[0]}" if state.problems else ""
        self.side.notify(f"workspace {state.workspace.name} opened{note}")
        return True

    def reopen_last(self) -> None:
        """At start: the workspace that was open when the window last closed."""
        last = self.settings.last_workspace()
        if last and Path(last).is_dir():
            self.open_workspace(Path(last))

    @guarded
    def close_workspace(self, *_: object) -> None:
        self.panel.close_workspace()
        self.settings.set_last_workspace(None)
        self._sync_bar()

    @guarded
    def _environment_changed(self, *_: object) -> None:
        root = self.panel.root
        if root is not None:
            self.settings.set_workspace_environment(str(root), self.panel.environment())

    # -- endpoints and messages -------------------------------------------------------

    @guarded
    def open_endpoint(self, saved: SavedEndpoint) -> SessionTab | None:
        """A saved endpoint in a new session tab, its variables filled."""
        scope = self.panel.scope()
        where = f"endpoint {saved.name!r}"
        url = fill_known(saved.url, scope, where)
        headers = [
            (h, fill_known(v, scope, f"{where} header {h}")) for h, v in saved.options.headers
        ]
        missing = list(url.unresolved)
        for _, value in headers:
            missing += [n for n in value.unresolved if n not in missing]
        if missing:
            self.side.notify(unresolved_line(where, missing, self.panel.environment()))
            return None
        try:
            endpoint = parse_endpoint(url.text)
        except InspectorError as exc:
            self.side.notify(f"{where}: {exc}")
            return None
        options = dataclasses.replace(saved.options, headers=tuple((h, v.text) for h, v in headers))
        return self.side.open_session(endpoint, options)

    @guarded
    def use_message(self, message: SavedMessage, send: bool = False) -> bool:
        """Put a saved message in the current session's composer (and send it when
        ``send`` and every variable is known). True when it was put there."""
        tab = self.side.current_tab()
        if not isinstance(tab, SessionTab):
            self.side.notify(
                f"message {message.name!r}: open a session first (double-click an endpoint)"
            )
            return False
        root = self.panel.root or Path.cwd()
        mode, filled = composer_content(message, self.panel.scope(), root)
        composer = tab.composer
        composer.set_mode(mode)
        if tab.endpoint.is_websocket:  # a data frame, whatever was chosen before
            composer.set_action("binary" if mode in ("hex", "file") else "text")
        composer.set_text(filled.text)
        if filled.unresolved:
            line = unresolved_line(
                f"message {message.name!r}", filled.unresolved, self.panel.environment()
            )
            composer.show_error(line + (" — not sent" if send else ""))
            self.side.notify(line)
            return True
        composer.focus_editor()
        if send:
            composer.send()
        return True

    # -- saving -----------------------------------------------------------------------

    def attach(self, tab: RecordsTab) -> None:
        """Offer "Save to workspace…" in a tab's composer and records' context menu."""
        tab.view.recordMenu.connect(self._record_menu)
        if isinstance(tab, SessionTab):
            tab.workspaceSaveRequested.connect(self.save_from_composer)

    @guarded
    def _record_menu(self, menu: QMenu, record: Record | None) -> None:
        if record is None or record.kind not in _PAYLOAD_KINDS or not record.payload:
            return
        menu.addSeparator()
        action = menu.addAction("Save to workspace…")
        action.setObjectName("saveRecordToWorkspaceAction")
        action.setEnabled(self.panel.root is not None)
        action.triggered.connect(lambda: self.save_record(record))

    @guarded
    def save_from_composer(self, mode: str, text: str) -> None:
        """The composer's "Save to workspace…": ask a name, append to messages.toml."""
        root = self._save_root()
        if root is not None:
            self._ask_name(lambda name: message_from_composer(name, mode, text, root))

    @guarded
    def save_record(self, record: Record) -> None:
        """A record's "Save to workspace…": its payload as a saved message."""
        if self._save_root() is not None:
            self._ask_name(lambda name: message_from_record(name, record))

    def _save_root(self) -> Path | None:
        root = self.panel.root
        if root is None or (self.panel.state is not None and self.panel.state.missing):
            self.side.notify("Save to workspace: open a workspace first (File ▸ Open Workspace…)")
            return None
        return root

    def _ask_name(self, make: Callable[[str], SavedMessage]) -> None:
        """Ask the message's name (window-modal, not blocking), then save it."""
        dialog = QInputDialog(self.window)
        dialog.setObjectName("saveToWorkspaceDialog")
        dialog.setWindowTitle("Save to workspace")
        dialog.setLabelText("Name of the saved message:")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(lambda name: self.save_message(make(name)))
        self.save_dialog = dialog
        dialog.open()

    @guarded
    def save_message(self, message: SavedMessage) -> bool:
        """Append ``message`` to the workspace's messages.toml; one line either way."""
        root = self._save_root()
        if root is None:
            return False
        if not message.name.strip():
            self.side.notify("Save to workspace: the message needs a name")
            return False
        try:
            path = append_message(root, message)
        except InspectorError as exc:
            self.side.notify(f"Save to workspace: {exc}")
            return False
        self.panel.reload()
        self.side.notify(f"saved message {message.name!r} to {path}")
        return True

    @guarded
    def reorder_messages(self, names: list[str]) -> bool:
        """Dragged messages: messages.toml in the new order (one line if it cannot be)."""
        root = self._save_root()
        if root is None:
            return False
        try:
            reorder_messages(root, names)
        except InspectorError as exc:
            self.side.notify(f"Reordering messages: {exc}")
            return False
        self.panel.reload()
        return True

    # -- scripts ----------------------------------------------------------------------

    @guarded
    def run_script(self, entry: ScriptEntry) -> bool:
        """Run a workspace script with the chosen environment; results in their pane."""
        state = self.panel.state
        if state is None:
            return False
        env = self.panel.environment()
        return self.results.run(entry.path, state.workspace, self.panel.scope(), env)

    @guarded
    def show_step(self, path: Path, number: int) -> RecordsTab | None:
        """Show the run's capture (opening it if no tab shows it) at the result record
        of step ``number``, between the traffic the step caused: a session's capture
        tab, or the read-only server tab of a listening script's capture ("All
        connections", at the step's place)."""
        place = step_record(path, number)
        tabs = [t for t in self.side.session_tabs() if _shows_file(t, path)]
        if not tabs:
            tabs = [t for t in self.side.captures.open_path(path) if _shows_file(t, path)]
        if not tabs:
            return None
        hosting = next((t for t in tabs if isinstance(t, HostingTab)), None)
        if hosting is not None:
            self.side.tabs.setCurrentWidget(hosting)
            if place is not None:
                self._select_in_hosting(hosting, path, place)
            return hosting
        tab = next(
            (t for t in tabs if isinstance(t, CaptureTab) and place and t.captured.id == place[0]),
            tabs[0],
        )
        self.side.tabs.setCurrentWidget(tab)
        if place is not None:
            tab.view.select_seq(place[1])
        return tab

    @staticmethod
    def _select_in_hosting(tab: HostingTab, path: Path, place: tuple[int, int]) -> None:
        """Select record ``place`` (session id, seq) in a server tab's "All connections"."""
        try:
            with CaptureStore.open(path) as first:
                sessions = first.sessions()
        except CaptureError:
            return
        conn = session_conn(sessions, place[0])
        at = tab.all_records.place_of(conn, place[1])
        if at is not None:
            tab.select_connection(None)
            tab.all_view.select_seq(at)

    async def shutdown(self) -> None:
        """Quitting: stop a running script (its sessions close, its capture is kept)."""
        await self.results.shutdown()


def _shows_file(tab: RecordsTab, path: Path) -> bool:
    """True when ``tab`` shows the capture file ``path`` read-only."""
    if isinstance(tab, CaptureTab):
        return tab.source_path == path
    return isinstance(tab, HostingTab) and tab.read_only and tab.capture_path == path


def step_record(path: Path, number: int) -> tuple[int, int] | None:
    """The session and sequence number of step ``number``'s last result record in a
    run's capture (None: not recorded, or the file cannot be read)."""
    found: tuple[int, int] | None = None
    try:
        with CaptureStore.open(path) as first:
            sessions = first.sessions()
        for session in sessions:
            with CaptureStore.open(path, session_id=session.id) as store:
                for page in store.pages():
                    for record in page:
                        if record.kind is Kind.INFO and record.fields.get("script_step") == number:
                            found = (session.id, record.seq)
    except CaptureError:
        return None
    return found
