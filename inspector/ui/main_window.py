"""The main window: connect bar, one tab per session or capture, status bar, menus.

The window owns the wiring: every signal between its parts (connect bar, tabs, fault
panels, capture actions, status bar) is connected in :meth:`MainWindow._connect_signals`
and :meth:`MainWindow._connect_tab`. Quitting closes every session gracefully (bounded
wait) and finishes the capture files before the window really closes.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.core.rules import Rule
from inspector.net.compare_run import CompareConfig
from inspector.ui import faults, theme
from inspector.ui.bridge import Counters
from inspector.ui.capture_actions import CaptureActions, WindowHooks
from inspector.ui.connect_bar import ConnectBar
from inspector.ui.guard import add_reporter, guarded, remove_reporter, spawn
from inspector.ui.help_menu import HelpMenus
from inspector.ui.listen_options import (
    ListenDialog,
    store_options,
    store_rules,
    stored_options,
    stored_rules,
)
from inspector.ui.models.records import TIME_FORMATS
from inspector.ui.problem_bar import ProblemBar
from inspector.ui.relay_dialog import (
    RelayDialog,
    RelaySettings,
    check_settings,
    store_relay_rules,
    store_settings,
    stored_relay_rules,
    stored_settings,
)
from inspector.ui.rules_dialog import RulesDialog
from inspector.ui.settings import Settings
from inspector.ui.status import StatusPanel, state_colour, state_icon
from inspector.ui.tabs.base import RecordsTab
from inspector.ui.tabs.capture import CaptureTab
from inspector.ui.tabs.compare import CompareDialog, CompareTab
from inspector.ui.tabs.records_view import TIME_LABELS
from inspector.ui.tabs.relay import RelayTab
from inspector.ui.tabs.server import ServerTab
from inspector.ui.tabs.session import SessionTab
from inspector.ui.workspace_actions import WorkspaceActions

log = logging.getLogger(__name__)

#: Seconds quitting waits for all sessions to close before dropping them.
QUIT_WAIT = 4.0
#: Seconds quitting or closing a tab waits for the peer to answer the close it was sent
#: before dropping the connection: a peer busy sending (a flood) answers late or never.
CLOSE_ANSWER_WAIT = 0.3
_NOTICE_MS = 15_000
#: Endpoints shown on the empty screen; clicking one fills the connect bar.
EXAMPLE_ENDPOINTS = (
    "ws://127.0.0.1:8765/",
    "wss://echo.example/",
    "tcp://host:7",
    "tls://host:443",
    "udp://host:53",
)
_WELCOME = (
    "<h3>No session open</h3>"
    "<p>Type an endpoint above and press Enter, or click an example to fill it in:</p>"
    "<p>"
    + " &nbsp; ".join(f'<a href="{url}"><code>{url}</code></a>' for url in EXAMPLE_ENDPOINTS)
    + "</p>"
    "<p>Ctrl+T new session · Ctrl+W close tab · Ctrl+F filter · Ctrl+Q quit</p>"
)


class MainWindow(QMainWindow):
    """The application window."""

    #: Quitting is over: every session closed, every capture finished; the window closed.
    quitFinished = Signal()

    def __init__(
        self, settings: Settings, capture_dir: Path | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("Socket Inspector")
        self.settings = settings
        self.capture_dir = capture_dir
        self._closing = False
        self._closed = False

        self.connect_bar = ConnectBar()
        self.connect_bar.set_history(settings.recent_endpoints())

        self.tabs = QTabWidget()
        self.tabs.setObjectName("sessionTabs")
        self.tabs.setAccessibleName("Sessions")
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)

        welcome = QLabel(_WELCOME)
        welcome.setObjectName("welcome")
        welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        welcome.setTextFormat(Qt.TextFormat.RichText)
        welcome.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        welcome.setOpenExternalLinks(False)
        self.welcome = welcome
        self.stack = QStackedWidget()
        self.stack.addWidget(welcome)
        self.stack.addWidget(self.tabs)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.connect_bar)
        self.problem_bar = ProblemBar()
        layout.addWidget(self.problem_bar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status_panel = StatusPanel()
        self.statusBar().addPermanentWidget(self.status_panel)
        self.captures = CaptureActions(
            self,
            self.tabs,
            settings,
            capture_dir,
            WindowHooks(
                self.notify, self.current_tab, self.add_tab, self.open_session, self.show_problem
            ),
        )
        self.workspaces = WorkspaceActions(self, self, settings, capture_dir)
        self.workspaces.attach_connect_bar(self.connect_bar)
        self.setAcceptDrops(True)
        self._make_actions()
        self.help_menus = HelpMenus(self, settings)
        self.unverified_status = faults.status_label(self)
        self.statusBar().addPermanentWidget(self.unverified_status)
        self._connect_signals()

        geometry = settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        self.connect_bar.focus_endpoint()
        self.workspaces.reopen_last()

    def _connect_signals(self) -> None:
        """Every connection between the window's parts (a tab's own: :meth:`_connect_tab`)."""
        self.connect_bar.connectRequested.connect(self.connect_requested)
        self.connect_bar.listenRequested.connect(self.listen)
        self.connect_bar.listenOptionsRequested.connect(self.edit_listen_options)
        self.connect_bar.rulesRequested.connect(self.edit_rules)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(self._current_changed)
        self.welcome.linkActivated.connect(self.fill_endpoint)
        self.workspaces.results.captureKept.connect(self.captures.add_recent)
        self.workspaces.results.openCapture.connect(self.captures.open_path)
        add_reporter(self.notify)

    def _connect_tab(self, tab: RecordsTab) -> None:
        """Wire one tab's signals to the window."""
        tab.stateChanged.connect(lambda state, t=tab: self._tab_state(t, state))
        tab.countersChanged.connect(lambda counters, t=tab: self._tab_counters(t, counters))
        tab.notice.connect(self.notify)
        tab.faults.connectAnyway.connect(self.open_session)
        tab.faults.saveRequested.connect(lambda path, t=tab: self._save_from_faults(t, path))
        if isinstance(tab, SessionTab):
            tab.captureKept.connect(self.captures.add_recent)
        self.workspaces.attach(tab)

    def _make_actions(self) -> None:
        def add(menu: QMenu, text: str, shortcut: str, slot: object, name: str) -> QAction:
            action = QAction(text, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            menu.addAction(action)
            return action

        file_menu = self.menuBar().addMenu("&File")
        file_menu.setObjectName("fileMenu")
        self.captures.fill_file_menu(file_menu)
        self.workspaces.fill_file_menu(file_menu)
        file_menu.addSeparator()
        self.quit_action = add(file_menu, "&Quit", "Ctrl+Q", self.close, "quitAction")

        menu = self.menuBar().addMenu("&Session")
        self.new_action = add(menu, "&New session…", "Ctrl+T", self.new_session, "newSessionAction")
        self.find_action = add(menu, "&Find…", "Ctrl+F", self.focus_filter, "findAction")
        self.disconnect_action = add(
            menu, "&Disconnect", "Ctrl+D", self.disconnect_current, "disconnectAction"
        )
        self.reconnect_action = add(
            menu, "&Reconnect", "Ctrl+R", self.reconnect_current, "reconnectAction"
        )
        self.close_action = add(menu, "&Close tab", "Ctrl+W", self.close_current, "closeTabAction")
        menu.addSeparator()
        menu.addAction(self.captures.replay_action)
        menu.addSeparator()
        self.listen_action = add(
            menu,
            "&Listen on the address",
            "Ctrl+L",
            self.connect_bar.request_listen,
            "listenAction",
        )
        self.listen_options_action = add(
            menu, "Listen &options…", "", self.edit_listen_options, "listenOptionsAction"
        )
        self.rules_action = add(menu, "R&ules…", "", self.edit_rules, "rulesAction")
        self.relay_action = add(menu, "Rela&y…", "Ctrl+Shift+R", self.relay_dialog, "relayAction")
        # Decode as…, decoded summaries and latency statistics of the current tab.
        self.decoding_menu = menu.addMenu("&Decoding")
        self.decoding_menu.setObjectName("decodingMenu")
        self.decoding_menu.aboutToShow.connect(self._fill_decoding_menu)
        self.compare_action = add(
            menu, "Compare &transports…", "", self.compare_transports, "compareAction"
        )

        # View ▸ Time column: the same choice as the table header's context menu.
        view = self.menuBar().addMenu("&View")
        times = view.addMenu("&Time column")
        group = QActionGroup(self)
        self.time_actions: dict[str, QAction] = {}
        for number, value in enumerate(TIME_FORMATS, start=1):
            action = QAction(TIME_LABELS[value], self)
            action.setObjectName(f"time{value.title()}Action")
            action.setCheckable(True)
            action.setShortcut(QKeySequence(f"Ctrl+Shift+{number}"))
            action.triggered.connect(lambda _=False, v=value: self.set_time_format(v))
            group.addAction(action)
            times.addAction(action)
            self.time_actions[value] = action
        self._check_time_format(self.settings.time_format())

        # View ▸ tabs: browsers' keys for the next, previous and n-th tab.
        view.addSeparator()
        self.next_tab_action = add(view, "&Next tab", "Ctrl+PgDown", self.next_tab, "nextTabAction")
        self.next_tab_action.setShortcuts([QKeySequence("Ctrl+PgDown"), QKeySequence("Ctrl+Tab")])
        self.previous_tab_action = add(
            view, "&Previous tab", "Ctrl+PgUp", self.previous_tab, "previousTabAction"
        )
        self.previous_tab_action.setShortcuts(
            [QKeySequence("Ctrl+PgUp"), QKeySequence("Ctrl+Shift+Tab")]
        )
        go_to = view.addMenu("&Go to tab")
        self.tab_actions: list[QAction] = []
        for number in range(1, 10):
            text = "Last tab" if number == 9 else f"Tab {number}"
            action = add(
                go_to,
                text,
                f"Alt+{number}",
                lambda _=False, n=number: self.go_to_tab(n),
                f"tab{number}Action",
            )
            self.tab_actions.append(action)
        self.workspaces.fill_view_menu(view)

    @guarded
    def set_time_format(self, value: str) -> None:
        """Show the current tab's times in ``value`` format (remembered for new tabs)."""
        tab = self.current_tab()
        if tab is not None:
            tab.set_time_format(value)
        else:
            self.settings.set_time_format(value)
        self._check_time_format(value)

    def _check_time_format(self, value: str) -> None:
        action = self.time_actions.get(value)
        if action is not None:
            action.setChecked(True)

    # -- sessions -------------------------------------------------------------------

    def session_tabs(self) -> list[RecordsTab]:
        """Every tab, live sessions and captures."""
        return [
            tab
            for i in range(self.tabs.count())
            if isinstance(tab := self.tabs.widget(i), RecordsTab)
        ]

    def current_tab(self) -> RecordsTab | None:
        tab = self.tabs.currentWidget()
        return tab if isinstance(tab, RecordsTab) else None

    def add_tab(self, tab: RecordsTab) -> None:
        """Add ``tab`` (wired to the window), make it current and start it."""
        self._connect_tab(tab)
        icon = tab.icon
        if icon is None:
            icon = state_icon("connecting" if isinstance(tab, SessionTab) else tab.state)
        index = self.tabs.addTab(tab, icon, tab.title)
        tooltip = tab.banner_text() if isinstance(tab, CaptureTab) else tab.endpoint.url
        self.tabs.setTabToolTip(index, tooltip)
        faults.mark_tab(self.tabs, tab, tab.title, tab.unverified)
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(index)
        tab.start()

    def _remember(self, endpoint: Endpoint) -> None:
        """Put ``endpoint`` (as typed, when typed with variables) first in the history."""
        entry = self.connect_bar.history_entry(endpoint)
        self.connect_bar.set_history(self.settings.add_recent_endpoint(entry))

    @guarded
    def open_session(self, endpoint: Endpoint, options: SessionOptions) -> SessionTab:
        """Open a session to ``endpoint`` in a new tab and start connecting."""
        tab = SessionTab(endpoint, options, self.settings, self.capture_dir)
        self._remember(endpoint)
        self.add_tab(tab)
        return tab

    @guarded
    def connect_requested(self, endpoint: Endpoint, options: SessionOptions) -> RecordsTab:
        """Enter in the connect bar: a new tab, or the current one when it failed without
        ever connecting (a typo corrected), keeping its options unless edited."""
        tab = self.current_tab()
        if isinstance(tab, SessionTab) and tab.reusable:
            if not self.connect_bar.edited:
                options = tab.options
            self._remember(endpoint)
            tab.retarget(endpoint, options)
            self.connect_bar.follow(endpoint, options)
            return tab
        return self.open_session(endpoint, options)

    @guarded
    def listen(self, endpoint: Endpoint) -> ServerTab:
        """Listen on ``endpoint`` in a new server tab, with the stored options and rules."""
        tab = ServerTab(
            endpoint,
            stored_options(self.settings),
            stored_rules(self.settings),
            self.settings,
            self.capture_dir,
        )
        self._remember(endpoint)
        self.add_tab(tab)
        return tab

    @guarded
    def edit_listen_options(self, *_: object) -> None:
        """The options new server tabs listen with (WebSocket server, TLS, limits)."""
        dialog = ListenDialog(stored_options(self.settings), self)
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted:
                store_options(self.settings, dialog.options())
        finally:
            dialog.deleteLater()

    @guarded
    def edit_rules(self, *_: object) -> None:
        """The rules new server tabs answer with (kept with the settings)."""
        dialog = RulesDialog(stored_rules(self.settings), self)
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted:
                store_rules(self.settings, dialog.rules())
        finally:
            dialog.deleteLater()

    @guarded
    def relay_dialog(self, *_: object) -> RelayTab | None:
        """Session ▸ Relay…: choose a listen and an upstream URL, then relay in a new tab."""
        stored = stored_settings(self.settings)
        dialog = RelayDialog(stored, stored_relay_rules(self.settings), self)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            relay = dialog.settings()
            store_settings(self.settings, relay)
            store_relay_rules(self.settings, dialog.rules())
            return self.open_relay(relay, dialog.rules())
        finally:
            dialog.deleteLater()

    def open_relay(self, relay: RelaySettings, rules: list[Rule]) -> RelayTab:
        """Relay as ``relay`` says in a new tab; ValueError or InspectorError (one line)
        when it cannot work (the dialog checks the same before it closes)."""
        listen, upstream = check_settings(relay, rules)
        tab = RelayTab(listen, upstream, relay, rules, self.settings, self.capture_dir)
        self.add_tab(tab)
        return tab

    def _save_from_faults(self, tab: RecordsTab, path: Path) -> None:
        """Save As from a tab's disk notice: the same road as File ▸ Save As."""
        if self.captures.save_as(tab, path) is not None:
            tab.faults.mark_saved(path)

    def open_url(self, text: str) -> SessionTab | None:
        """Open a session to a typed URL (marking the field if it is wrong)."""
        self.connect_bar.set_text(text)
        endpoint = self.connect_bar.parse()
        if endpoint is None:
            return None
        return self.open_session(endpoint, self.connect_bar.options_for(endpoint))

    def _tab_state(self, tab: RecordsTab, state: str) -> None:
        index = self.tabs.indexOf(tab)
        if index < 0:
            return
        dark = theme.is_dark(self)
        self.tabs.setTabIcon(index, state_icon(state, dark))
        self.tabs.setTabText(index, tab.title)
        bar = self.tabs.tabBar()
        muted = state in ("failed", "closed")
        bar.setTabTextColor(index, state_colour(state, dark) if muted else QColor())
        tooltip = f"{tab.endpoint.url} — {state}"
        if isinstance(tab, SessionTab) and tab.replay_of is not None:
            tooltip += f" — replay of {tab.replay_of}"
        self.tabs.setTabToolTip(index, tooltip)
        self.tabs.tabBar().setAccessibleName(f"{tab.title} {state}")
        faults.mark_tab(self.tabs, tab, tab.title, tab.unverified)
        if tab is self.current_tab():
            self.status_panel.show_session(state, tab.counters)
            faults.mark_status(self.unverified_status, tab.unverified)

    def _tab_counters(self, tab: RecordsTab, counters: Counters) -> None:
        if tab is self.current_tab():
            self.status_panel.show_session(tab.state, counters)

    @guarded
    def _current_changed(self, _index: int) -> None:
        tab = self.current_tab()
        faults.mark_status(self.unverified_status, tab is not None and tab.unverified)
        if tab is not None:
            known = not isinstance(tab, CaptureTab) or tab.has_endpoint
            self.connect_bar.follow(tab.endpoint if known else None, tab.options)
        if tab is None:
            self.status_panel.show_session(None, None)
        else:
            self.status_panel.show_session(tab.state, tab.counters)
            if tab.model is not None:
                self._check_time_format(tab.model.time_format)

    @guarded
    def compare_transports(self, *_: object) -> None:
        """Session ▸ Compare transports…: choose, then run in a Compare tab."""
        dialog = CompareDialog(self)
        if dialog.exec() == CompareDialog.DialogCode.Accepted:
            self.open_compare(dialog.choice(self.capture_dir))

    def open_compare(self, config: CompareConfig) -> CompareTab:
        """Add a Compare tab for ``config``, make it current and start it."""
        tab = CompareTab(config)
        index = self.tabs.addTab(tab, tab.title)
        self.tabs.setTabToolTip(index, "transports compared side by side")
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(index)
        tab.start()
        return tab

    @guarded
    def close_tab(self, index: int) -> None:
        """Close a session's tab: end the session gracefully, then remove it."""
        tab = self.tabs.widget(index)
        if isinstance(tab, CompareTab):
            self.tabs.removeTab(index)
            self._tabs_gone()
            spawn(_close_compare(tab), "closing the comparison")
            return
        if not isinstance(tab, RecordsTab):
            return
        self.tabs.removeTab(index)
        self._tabs_gone()

        async def finish() -> None:
            try:
                self._stop_showing(tab)
                await tab.shutdown(CLOSE_ANSWER_WAIT)
            finally:
                tab.deleteLater()

        spawn(finish(), f"closing {tab.endpoint.url}")

    def _tabs_gone(self) -> None:
        if self.tabs.count() == 0:
            self.stack.setCurrentIndex(0)
            self.connect_bar.focus_endpoint()

    @guarded
    def next_tab(self, *_: object) -> None:
        """Ctrl+PgDown / Ctrl+Tab: the tab to the right (the first after the last)."""
        if self.tabs.count():
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + 1) % self.tabs.count())

    @guarded
    def previous_tab(self, *_: object) -> None:
        """Ctrl+PgUp / Ctrl+Shift+Tab: the tab to the left (the last before the first)."""
        if self.tabs.count():
            self.tabs.setCurrentIndex((self.tabs.currentIndex() - 1) % self.tabs.count())

    @guarded
    def go_to_tab(self, number: int) -> None:
        """Alt+1…8: the n-th tab; Alt+9: the last, as browsers do."""
        count = self.tabs.count()
        if count:
            self.tabs.setCurrentIndex(count - 1 if number == 9 else min(number, count) - 1)

    @guarded
    def close_current(self, *_: object) -> None:
        if self.tabs.count():
            self.close_tab(self.tabs.currentIndex())

    @guarded
    def fill_endpoint(self, url: str) -> None:
        """Put ``url`` in the endpoint field, ready to edit or connect."""
        self.connect_bar.set_text(url)
        self.connect_bar.focus_endpoint()

    @guarded
    def new_session(self, *_: object) -> None:
        """Ctrl+T: put the cursor in the endpoint field; Connect opens a new tab."""
        self.connect_bar.focus_endpoint()

    @guarded
    def focus_filter(self, *_: object) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.focus_filter()

    @guarded
    def _fill_decoding_menu(self) -> None:
        self.decoding_menu.clear()
        tab = self.current_tab()
        if tab is not None:
            tab.view.fill_session_menu(self.decoding_menu)

    @guarded
    def disconnect_current(self, *_: object) -> None:
        tab = self.current_tab()
        if isinstance(tab, SessionTab):
            tab.disconnect()
        elif isinstance(tab, ServerTab | RelayTab):
            tab.disconnect_selected()

    @guarded
    def reconnect_current(self, *_: object) -> None:
        tab = self.current_tab()
        if isinstance(tab, SessionTab):
            tab.reconnect()

    # -- notices and closing ----------------------------------------------------------

    def notify(self, message: str) -> None:
        """Show a one-line notice in the status bar."""
        self.statusBar().showMessage(message, _NOTICE_MS)

    def show_problem(self, message: str) -> None:
        """A failure the user must be able to read: a bar that stays until dismissed
        (and the status bar line)."""
        self.problem_bar.show_problem(message)
        self.notify(message)

    async def shutdown(self, timeout: float = QUIT_WAIT) -> None:
        """Close every session (gracefully, within ``timeout``) and finish the captures."""
        await self.workspaces.shutdown()
        for i in range(self.tabs.count()):
            if isinstance(compare := self.tabs.widget(i), CompareTab):
                await compare.shutdown()
        tabs = self.session_tabs()
        if not tabs:
            return
        self.notify(f"Closing {len(tabs)} session(s)…")
        share = min(timeout, max(0.5, timeout - 0.5))
        results = await asyncio.gather(
            *(tab.shutdown(share) for tab in tabs), return_exceptions=True
        )
        for tab, result in zip(tabs, results, strict=True):
            if isinstance(result, BaseException):
                log.error("closing %s failed: %s", tab.endpoint.url, result)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Files dragged over the window can be dropped (see CaptureActions.drop)."""
        self.captures.drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.captures.drag(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped files as captures."""
        self.captures.drop(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close sessions first (asynchronously), then let the window close."""
        if self._closed:
            event.accept()
            self.quitFinished.emit()
            return
        event.ignore()
        if self._closing:
            return
        self._closing = True
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        self._leave_screen()

        async def close_all() -> None:
            try:
                await self.shutdown(CLOSE_ANSWER_WAIT)
            finally:
                self._closed = True
                remove_reporter(self.notify)
                QTimer.singleShot(0, self.close)

        spawn(close_all(), "quitting")

    def _leave_screen(self) -> None:
        """Quitting: the window goes at once; its sessions close behind it."""
        self.hide()
        for tab in self.session_tabs():
            if isinstance(tab, SessionTab):  # a capture tab has no live records
                self._stop_showing(tab)

    @staticmethod
    def _stop_showing(tab: RecordsTab) -> None:
        """A tab nobody sees any more: its records go to its capture only (a live
        session's bridge stops feeding the table; capture and server tabs have none)."""
        bridge = getattr(tab, "bridge", None)
        if bridge is not None:
            bridge.discard()

    @property
    def closed(self) -> bool:
        """True once every session is closed and the window has closed."""
        return self._closed


async def _close_compare(tab: CompareTab) -> None:
    """Cancel a closed Compare tab's run, then delete it."""
    try:
        await tab.shutdown()
    finally:
        tab.deleteLater()
