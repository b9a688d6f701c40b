"""The File menu and the capture side of the window: open, recent, drop, save, export,
replay.

Kept apart from :mod:`main_window`: it is given the tab widget, the settings and a few
callbacks (:class:`WindowHooks`), and the window places its actions in the menus.
Native file dialogs are reached through :attr:`CaptureActions.ask_open` and friends so
tests can answer them; a file that cannot be read becomes one line in the status bar.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QTabWidget, QWidget

from inspector.capture.formats import ExportCancelled, import_har, read_jsonl, records_of
from inspector.capture.formats.common import ImportedSession
from inspector.capture.formats.detect import InputKind, detect_format
from inspector.capture.store import CaptureStore
from inspector.core.endpoints import Endpoint
from inspector.core.errors import CaptureError
from inspector.core.options import SessionOptions
from inspector.core.records import Kind, Record
from inspector.net.replay import Timing, replay_steps, run_replay
from inspector.ui.capture_files import CAPTURE_SUFFIX
from inspector.ui.export_dialog import (
    FORMATS,
    ExportDialog,
    export_file,
    run_with_progress,
    save_records,
)
from inspector.ui.guard import guarded, spawn
from inspector.ui.models.source import MemoryRecords
from inspector.ui.replay import ReplayChoice, ReplayDialog
from inspector.ui.settings import Settings
from inspector.ui.tabs.base import RecordsTab
from inspector.ui.tabs.capture import CaptureTab
from inspector.ui.tabs.server_capture import is_listen_capture, open_server_capture
from inspector.ui.tabs.session import SessionTab

log = logging.getLogger(__name__)

RECENT_KEY = "captures/recent"
#: The folder the last file dialog was answered in (the next one opens there).
LAST_FOLDER_KEY = "dialogs/last_folder"
MAX_RECENT_CAPTURES = 10
#: Sessions of one file opened as tabs; the rest are named in the status bar.
MAX_TABS_PER_FILE = 20
OPEN_FILTER = "Captures (*.sockcap *.har *.jsonl);;All files (*)"


@dataclass(frozen=True, slots=True)
class WindowHooks:
    """What the capture actions ask of the window they serve."""

    #: Show one line in the status bar.
    notify: Callable[[str], None]
    #: The tab on screen, if any.
    current_tab: Callable[[], RecordsTab | None]
    #: Add a tab, make it current and start it.
    add_tab: Callable[[RecordsTab], None]
    #: Open a live session in a new tab (None when it could not be started).
    open_session: Callable[[Endpoint, SessionOptions], SessionTab | None]
    #: Say why a file could not be opened, in a notice that stays until dismissed.
    problem: Callable[[str], None]


class CaptureActions(QObject):
    """File ▸ Open/Recent/Save As/Export, drag and drop, and Session ▸ Replay to…."""

    def __init__(
        self,
        parent: QWidget,
        tabs: QTabWidget,
        settings: Settings,
        capture_dir: Path | None,
        hooks: WindowHooks,
    ) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.tabs = tabs
        self.settings = settings
        self.capture_dir = capture_dir
        self.hooks = hooks
        self.ask_open: Callable[[], str] = self._ask_open
        self.ask_save: Callable[[str, str], str] = self._ask_save
        self._make_actions()
        bar = tabs.tabBar()
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        bar.customContextMenuRequested.connect(self._tab_menu)

    def notify(self, message: str) -> None:
        self.hooks.notify(message)

    # -- menus ------------------------------------------------------------------

    def _action(self, text: str, shortcut: str | None, slot: Any, name: str) -> QAction:
        action = QAction(text, self.parent_widget)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        return action

    def _make_actions(self) -> None:
        self.open_action = self._action("&Open capture…", "Ctrl+O", self.open_dialog, "openAction")
        self.recent_menu = QMenu("Recent &captures", self.parent_widget)
        self.recent_menu.setObjectName("recentCapturesMenu")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        self.save_action = self._action("&Save As…", "Ctrl+S", self.save_as_dialog, "saveAsAction")
        self.export_action = self._action("&Export…", "Ctrl+E", self.export_dialog, "exportAction")
        self.replay_action = self._action("Re&play to…", None, self.replay_dialog, "replayAction")

    def fill_file_menu(self, menu: QMenu) -> None:
        """Open, Recent captures, Save As and Export, in that order."""
        menu.addAction(self.open_action)
        menu.addMenu(self.recent_menu)
        menu.addSeparator()
        menu.addAction(self.save_action)
        menu.addAction(self.export_action)

    def _tab_menu(self, pos: QPoint) -> None:
        bar = self.tabs.tabBar()
        index = bar.tabAt(pos)
        tab = self.tabs.widget(index) if index >= 0 else None
        if not isinstance(tab, RecordsTab):
            return
        menu = QMenu(bar)
        replay_action = menu.addAction("Replay to…")
        replay_action.setEnabled(self.can_replay(tab))
        replay_action.triggered.connect(lambda: self.replay_dialog(tab=tab))
        save = menu.addAction("Save As…")
        save.triggered.connect(lambda: self.save_as_dialog(tab=tab))
        export = menu.addAction("Export…")
        export.triggered.connect(lambda: self.export_dialog(tab=tab))
        menu.popup(bar.mapToGlobal(pos))

    # -- recent captures --------------------------------------------------------

    def recent(self) -> list[str]:
        raw = self.settings.qsettings.value(RECENT_KEY, "")
        try:
            value = json.loads(raw) if isinstance(raw, str) and raw else []
        except ValueError:
            return []
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def _set_recent(self, paths: list[str]) -> None:
        self.settings.qsettings.setValue(RECENT_KEY, json.dumps(paths))

    def add_recent(self, path: Path) -> None:
        text = str(path.resolve())
        paths = [text, *(p for p in self.recent() if p != text)]
        self._set_recent(paths[:MAX_RECENT_CAPTURES])

    def fill_recent_menu(self) -> None:
        """List recent captures; missing files are shown greyed once, then dropped."""
        menu = self.recent_menu
        menu.clear()
        paths = self.recent()
        missing = [p for p in paths if not Path(p).is_file()]
        for text in paths:
            action = menu.addAction(Path(text).name)
            action.setToolTip(text)
            if text in missing:
                action.setText(f"{Path(text).name} (missing)")
                action.setEnabled(False)
            else:
                action.triggered.connect(lambda _=False, p=text: self.open_later(Path(p)))
        if not paths:
            menu.addAction("No recent captures").setEnabled(False)
        if missing:
            self._set_recent([p for p in paths if p not in missing])
            self.notify(
                f"{len(missing)} recent capture(s) no longer exist and were removed from the list"
            )

    # -- opening ------------------------------------------------------------------

    def last_folder(self) -> Path | None:
        """Where the next file dialog opens: the folder used last, else the captures'."""
        value = self.settings.qsettings.value(LAST_FOLDER_KEY, "")
        if isinstance(value, str) and value and Path(value).is_dir():
            return Path(value)
        return self.capture_dir

    def _remember_folder(self, chosen: str) -> None:
        self.settings.qsettings.setValue(LAST_FOLDER_KEY, str(Path(chosen).resolve().parent))

    def _in_last_folder(self, name: str) -> str:
        folder = self.last_folder()
        return str(folder / name) if folder is not None else name

    def _ask_open(self) -> str:
        folder = self.last_folder()
        path, _ = QFileDialog.getOpenFileName(
            self.parent_widget, "Open capture", str(folder or ""), OPEN_FILTER
        )
        return path

    @guarded
    def open_dialog(self, *_: object) -> asyncio.Task[list[CaptureTab]] | None:
        """File ▸ Open: choose a capture, HAR or JSON Lines file and open it."""
        path = self.ask_open()
        if not path:
            return None
        self._remember_folder(path)
        return self.open_later(Path(path))

    def open_later(self, path: Path) -> asyncio.Task[list[CaptureTab]]:
        """Open ``path`` as a task: imports are read off the GUI thread."""
        return spawn(self.open_file(path), f"opening {path}")

    def open_path(self, path: Path) -> list[CaptureTab]:
        """Open every session of ``path`` read-only in tabs, at once (on this thread)."""
        try:
            kind = detect_format(path)
            if kind is InputKind.CAPTURE:
                return self._shown(path, self._open_capture(path))
            return self._shown(path, self._imported_tabs(path, _load_imported(path, kind)))
        except CaptureError as exc:
            self.hooks.problem(str(exc))
        except (OSError, ValueError, MemoryError) as exc:
            self.hooks.problem(f"cannot open {path}: {exc}")
        return []

    async def open_file(self, path: Path) -> list[CaptureTab]:
        """Open ``path`` in tabs; a HAR or JSON Lines file is parsed in a worker thread,
        with a cancellable progress dialog when that takes over a second."""
        try:
            kind = detect_format(path)
            if kind is InputKind.CAPTURE:
                return self._shown(path, self._open_capture(path))

            def load(job: Any) -> list[tuple[Any, list[Record]]] | None:
                loaded = _load_imported(path, kind)
                return None if job.cancelled.is_set() else loaded

            loaded = await run_with_progress(f"Reading {path.name}…", 0, load, self.parent_widget)
            if loaded is None:
                self.notify(f"Opening {path.name} cancelled")
                return []
            return self._shown(path, self._imported_tabs(path, loaded))
        except CaptureError as exc:
            self.hooks.problem(str(exc))
        except (OSError, ValueError, MemoryError) as exc:
            self.hooks.problem(f"cannot open {path}: {exc}")
        return []

    def _shown(self, path: Path, tabs: list[CaptureTab]) -> list[CaptureTab]:
        self.add_recent(path)
        for tab in tabs:
            self.hooks.add_tab(tab)
        return tabs

    def _open_capture(self, path: Path) -> list[CaptureTab]:
        """A native capture: every session read-only, paged from SQLite."""
        with CaptureStore.open(path) as first:
            sessions = first.sessions()
        if is_listen_capture(sessions):  # a listener and its connections: one server tab
            return [open_server_capture(path, sessions, self.settings)]  # type: ignore[list-item]
        self._note_skipped(path, len(sessions))
        tabs: list[CaptureTab] = []
        try:
            for session in sessions[:MAX_TABS_PER_FILE]:
                store = CaptureStore.open(path, session_id=session.id)
                tabs.append(CaptureTab(path, store, store.session, self.settings))
        except CaptureError:
            for tab in tabs:
                if isinstance(tab.store, CaptureStore):
                    tab.store.close()
                tab.deleteLater()
            raise
        return tabs

    def _imported_tabs(
        self, path: Path, imported: list[tuple[Any, list[Record]]]
    ) -> list[CaptureTab]:
        self._note_skipped(path, len(imported))
        return [
            CaptureTab(path, MemoryRecords(records), session, self.settings)
            for session, records in imported[:MAX_TABS_PER_FILE]
        ]

    def _note_skipped(self, path: Path, count: int) -> None:
        if count > MAX_TABS_PER_FILE:
            self.notify(
                f"{path.name} holds {count} sessions; the first {MAX_TABS_PER_FILE} are open"
            )

    # -- drag and drop ------------------------------------------------------------

    def drag(self, event: QDragEnterEvent | QDragMoveEvent) -> None:
        """Accept a drag carrying local files."""
        if _local_files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> list[asyncio.Task[list[CaptureTab]]]:
        """Open every local file dropped on the window."""
        files = _local_files(event)
        if not files:
            event.ignore()
            return []
        event.acceptProposedAction()
        return [self.open_later(path) for path in files]

    # -- saving and exporting -----------------------------------------------------

    def _ask_save(self, suggested: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, "Save", suggested, filters)
        return path

    def _tab(self, tab: RecordsTab | None) -> RecordsTab | None:
        tab = tab if isinstance(tab, RecordsTab) else self.hooks.current_tab()
        if tab is None or tab.store is None:
            self.notify("No session or capture to save")
            return None
        return tab

    @guarded
    def save_as_dialog(self, *_: object, tab: RecordsTab | None = None) -> Path | None:
        """File ▸ Save As…: write the tab's session as a native capture."""
        tab = self._tab(tab)
        if tab is None:
            return None
        name = _base_name(tab) + CAPTURE_SUFFIX
        path = self.ask_save(self._in_last_folder(name), f"Captures (*{CAPTURE_SUFFIX})")
        if not path:
            return None
        self._remember_folder(path)
        return self.save_as(tab, Path(path))

    def save_as(self, tab: RecordsTab, target: Path) -> Path | None:
        """Write ``tab``'s session to ``target`` (safe while it is still recording)."""
        store = tab.store
        try:
            if isinstance(store, CaptureStore):
                store.save_as(target)
            elif store is not None:
                session = getattr(tab, "captured", None) or _session_of(tab)
                save_records(target, session, tab.options, records_of(store))
        except CaptureError as exc:
            self.notify(str(exc))
            return None
        except OSError as exc:
            self.notify(f"cannot save to {target}: {exc.strerror or exc}")
            return None
        self.notify(f"Saved {tab.title} to {target}")
        self.add_recent(target)
        return target

    @guarded
    def export_dialog(self, *_: object, tab: RecordsTab | None = None) -> None:
        """File ▸ Export…: choose format and secrets, then the file; export off the GUI."""
        tab = self._tab(tab)
        if tab is None:
            return
        model = tab.model
        shown = model.shown_seqs() if model is not None else None
        counts = (len(shown), model.total) if shown is not None and model is not None else None
        dialog = ExportDialog(str(tab.endpoint.scheme), self.parent_widget, counts)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        choice = dialog.choice()
        _, suffix, filters = FORMATS[choice.fmt]
        path = self.ask_save(self._in_last_folder(_base_name(tab) + suffix), filters)
        if path:
            self._remember_folder(path)
            only = frozenset(shown) if choice.only_shown and shown is not None else None
            spawn(
                self.export(tab, choice.fmt, Path(path), choice.include_secrets, only=only),
                "exporting",
            )

    async def export(
        self,
        tab: RecordsTab,
        fmt: str,
        target: Path,
        include_secrets: bool = False,
        on_dialog: Callable[[Any], None] | None = None,
        only: frozenset[int] | None = None,
    ) -> bool:
        """Export ``tab``'s records (those in ``only``, when given) to ``target``; True
        when the file was written."""
        store = tab.store
        if store is None:
            return False
        session = getattr(tab, "captured", None) or _session_of(tab)
        try:
            count = await export_file(
                fmt, target, store, session, include_secrets, self.parent_widget, on_dialog, only
            )
        except ExportCancelled:
            self.notify(f"Export to {target.name} cancelled; nothing was written")
            return False
        except CaptureError as exc:
            self.notify(str(exc))
            return False
        secrets = "with secrets" if include_secrets else "secrets redacted"
        self.notify(f"Exported {count} item(s) to {target} ({secrets})")
        return True

    # -- replay -------------------------------------------------------------------

    @staticmethod
    def can_replay(tab: RecordsTab) -> bool:
        """A capture, or a session that has ended, can be replayed."""
        return isinstance(tab, CaptureTab) or tab.state in ("closed", "failed")

    @guarded
    def replay_dialog(self, *_: object, tab: RecordsTab | None = None) -> SessionTab | None:
        """Session ▸ Replay to…: choose endpoint and timing, then replay in a new tab."""
        tab = tab if isinstance(tab, RecordsTab) else self.hooks.current_tab()
        if tab is None or tab.store is None:
            self.notify("No capture or closed session to replay")
            return None
        if not self.can_replay(tab):
            self.notify("Replay needs a capture or a closed session: disconnect first")
            return None
        steps = replay_steps(records_of(tab.store))
        dialog = ReplayDialog(tab.endpoint.url, len(steps), self.parent_widget)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        choice = dialog.choice()
        return self.replay(tab, choice) if choice is not None else None

    def replay(self, tab: RecordsTab, choice: ReplayChoice) -> SessionTab | None:
        """Open a session to ``choice.endpoint`` with ``tab``'s options and resend."""
        assert tab.store is not None
        try:
            steps = replay_steps(records_of(tab.store))
        except CaptureError as exc:
            self.notify(str(exc))
            return None
        new = self.hooks.open_session(choice.endpoint, tab.options)
        if new is not None:
            new.mark_replay(tab.title, len(steps))
            new.replay_bar.task = spawn(
                self._replay(new, steps, choice.timing), f"replaying to {choice.endpoint.url}"
            )
        return new

    async def _replay(self, tab: SessionTab, steps: list[Any], timing: Timing) -> None:
        bar = tab.replay_bar
        task = tab._open_task
        try:
            # Shielded: Stop ends the replay, not the session being opened.
            opened = await asyncio.shield(task) if task is not None else False
            if not opened or tab.session is None:
                bar.finish("the session did not open; nothing was sent")
                self.notify(f"Replay to {tab.endpoint.url}: the session did not open")
                return
            result = await run_replay(tab.session, steps, timing, progress=bar.progress)
        except asyncio.CancelledError:
            # Stop: the session stays open; what was sent is recorded.
            tab.replayed = bar.sent  # type: ignore[attr-defined]
            bar.finish(f"stopped after {bar.sent} of {len(steps)} message(s)")
            self.notify(f"Replay to {tab.endpoint.url} stopped after {bar.sent} message(s)")
            return
        tab.replayed = result.sent  # type: ignore[attr-defined]
        bar.finish(f"{result.sent} of {len(steps)} message(s) sent")
        self.notify(result.summary(tab.endpoint.url))


def _load_imported(path: Path, kind: InputKind) -> list[tuple[Any, list[Record]]]:
    """The sessions of a HAR or JSON Lines file (pure: safe in a worker thread)."""
    if kind is InputKind.HAR:
        imported = import_har(path)
        if not imported:
            raise CaptureError(f"{path} holds no WebSocket session")
        return [(session, list(records)) for session, records in imported]
    records = read_jsonl(path)
    if not records:
        raise CaptureError(f"{path} holds no records")
    session = ImportedSession(endpoint="", scheme=_guess_scheme(records), started_wall_ns=0)
    return [(session, records)]


def _local_files(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> list[Path]:
    data = event.mimeData()
    if data is None or not data.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in data.urls() if url.isLocalFile()]


def _base_name(tab: RecordsTab) -> str:
    if isinstance(tab, CaptureTab):
        return tab.source_path.stem
    if tab.capture_path is not None:
        return tab.capture_path.stem
    return f"{tab.endpoint.scheme}-{tab.endpoint.host}-{tab.endpoint.port}"


def _session_of(tab: RecordsTab) -> ImportedSession:
    """What the exporters need to know about a live tab's session."""
    started = tab.model._started_wall_ns if tab.model is not None else 0
    return ImportedSession(
        endpoint=tab.endpoint.url, scheme=str(tab.endpoint.scheme), started_wall_ns=started
    )


def _guess_scheme(records: list[Any]) -> str:
    kinds = {record.kind for record in records[:1000]}
    if kinds & {Kind.HANDSHAKE, Kind.FRAME}:
        return "ws"
    if Kind.DATAGRAM in kinds:
        return "udp"
    return "tcp"
