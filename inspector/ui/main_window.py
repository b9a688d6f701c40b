"""The main window: connect bar, one tab per session, status bar, shortcuts.

Quitting closes every session gracefully (bounded wait) and finishes the capture files
before the window really closes.
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
    QLabel,
    QMainWindow,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.ui import faults, theme
from inspector.ui.bridge import Counters
from inspector.ui.capture_actions import CaptureActions
from inspector.ui.connect_bar import ConnectBar
from inspector.ui.guard import add_reporter, guarded, remove_reporter, spawn
from inspector.ui.help_menu import HelpMenus
from inspector.ui.models.records import TIME_FORMATS
from inspector.ui.session_tab import TIME_LABELS, SessionTab
from inspector.ui.settings import Settings
from inspector.ui.status import StatusPanel, state_colour, state_icon

log = logging.getLogger(__name__)

#: Seconds quitting waits for all sessions to close before dropping them.
QUIT_WAIT = 4.0
#: Seconds quitting or closing a tab waits for the peer to answer the close it was sent
#: before dropping the connection: a peer busy sending (a flood) answers late or never.
CLOSE_ANSWER_WAIT = 0.3
_NOTICE_MS = 15_000
_WELCOME = (
    "<h3>No session open</h3>"
    "<p>Type an endpoint above and press Enter:</p>"
    "<p><code>ws://127.0.0.1:8765/</code> &nbsp; <code>wss://echo.example/</code> &nbsp; "
    "<code>tcp://host:7</code> &nbsp; <code>tls://host:443</code> &nbsp; "
    "<code>udp://host:53</code></p>"
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
        self.connect_bar.connectRequested.connect(self.open_session)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("sessionTabs")
        self.tabs.setAccessibleName("Sessions")
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(self._current_changed)

        welcome = QLabel(_WELCOME)
        welcome.setObjectName("welcome")
        welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        welcome.setTextFormat(Qt.TextFormat.RichText)
        self.stack = QStackedWidget()
        self.stack.addWidget(welcome)
        self.stack.addWidget(self.tabs)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.connect_bar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status_panel = StatusPanel()
        self.statusBar().addPermanentWidget(self.status_panel)
        self._make_actions()
        self.help_menus = HelpMenus(self, settings)
        self.captures = CaptureActions(self)
        self.unverified_status = faults.status_label(self)
        self.statusBar().addPermanentWidget(self.unverified_status)
        add_reporter(self.notify)

        geometry = settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        self.connect_bar.focus_endpoint()

    def _make_actions(self) -> None:
        menu = self.menuBar().addMenu("&Session")

        def add(text: str, shortcut: str, slot: object, name: str) -> QAction:
            action = QAction(text, self)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            menu.addAction(action)
            return action

        self.new_action = add("&New session…", "Ctrl+T", self.new_session, "newSessionAction")
        self.find_action = add("&Find…", "Ctrl+F", self.focus_filter, "findAction")
        self.disconnect_action = add(
            "&Disconnect", "Ctrl+D", self.disconnect_current, "disconnectAction"
        )
        self.reconnect_action = add(
            "&Reconnect", "Ctrl+R", self.reconnect_current, "reconnectAction"
        )
        self.close_action = add("&Close tab", "Ctrl+W", self.close_current, "closeTabAction")
        menu.addSeparator()
        self.quit_action = add("&Quit", "Ctrl+Q", self.close, "quitAction")

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

    def session_tabs(self) -> list[SessionTab]:
        return [
            tab
            for i in range(self.tabs.count())
            if isinstance(tab := self.tabs.widget(i), SessionTab)
        ]

    def current_tab(self) -> SessionTab | None:
        tab = self.tabs.currentWidget()
        return tab if isinstance(tab, SessionTab) else None

    @guarded
    def open_session(self, endpoint: Endpoint, options: SessionOptions) -> SessionTab:
        """Open a session to ``endpoint`` in a new tab and start connecting."""
        tab = SessionTab(endpoint, options, self.settings, self.capture_dir)
        tab.stateChanged.connect(lambda state, t=tab: self._tab_state(t, state))
        tab.countersChanged.connect(lambda counters, t=tab: self._tab_counters(t, counters))
        tab.notice.connect(self.notify)
        tab.faults.connectAnyway.connect(self.open_session)
        index = self.tabs.addTab(tab, state_icon("connecting"), tab.title)
        self.tabs.setTabToolTip(index, endpoint.url)
        faults.mark_tab(self.tabs, tab)
        self.stack.setCurrentWidget(self.tabs)
        self.tabs.setCurrentIndex(index)
        self.connect_bar.set_history(self.settings.add_recent_endpoint(endpoint.url))
        tab.start()
        return tab

    def open_url(self, text: str) -> SessionTab | None:
        """Open a session to a typed URL (marking the field if it is wrong)."""
        self.connect_bar.set_text(text)
        endpoint = self.connect_bar.parse()
        if endpoint is None:
            return None
        return self.open_session(endpoint, self.connect_bar.options)

    def _tab_state(self, tab: SessionTab, state: str) -> None:
        index = self.tabs.indexOf(tab)
        if index < 0:
            return
        dark = theme.is_dark(self)
        self.tabs.setTabIcon(index, state_icon(state, dark))
        bar = self.tabs.tabBar()
        muted = state in ("failed", "closed")
        bar.setTabTextColor(index, state_colour(state, dark) if muted else QColor())
        self.tabs.setTabToolTip(index, f"{tab.endpoint.url} — {state}")
        self.tabs.tabBar().setAccessibleName(f"{tab.title} {state}")
        faults.mark_tab(self.tabs, tab)
        if tab is self.current_tab():
            self.status_panel.show_session(state, tab.counters)
            faults.mark_status(self.unverified_status, tab)

    def _tab_counters(self, tab: SessionTab, counters: Counters) -> None:
        if tab is self.current_tab():
            self.status_panel.show_session(tab.state, counters)

    @guarded
    def _current_changed(self, _index: int) -> None:
        tab = self.current_tab()
        faults.mark_status(self.unverified_status, tab)
        if tab is None:
            self.status_panel.show_session(None, None)
        else:
            self.status_panel.show_session(tab.state, tab.counters)
            if tab.model is not None:
                self._check_time_format(tab.model.time_format)

    @guarded
    def close_tab(self, index: int) -> None:
        """Close a session's tab: end the session gracefully, then remove it."""
        tab = self.tabs.widget(index)
        if not isinstance(tab, SessionTab):
            return
        self.tabs.removeTab(index)
        if self.tabs.count() == 0:
            self.stack.setCurrentIndex(0)
            self.connect_bar.focus_endpoint()

        async def finish() -> None:
            try:
                self._stop_showing(tab)
                await tab.shutdown(CLOSE_ANSWER_WAIT)
            finally:
                tab.deleteLater()

        spawn(finish(), f"closing {tab.endpoint.url}")

    @guarded
    def close_current(self, *_: object) -> None:
        if self.tabs.count():
            self.close_tab(self.tabs.currentIndex())

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
    def disconnect_current(self, *_: object) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.disconnect()

    @guarded
    def reconnect_current(self, *_: object) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.reconnect()

    # -- notices and closing ----------------------------------------------------------

    def notify(self, message: str) -> None:
        """Show a one-line notice in the status bar."""
        self.statusBar().showMessage(message, _NOTICE_MS)

    async def shutdown(self, timeout: float = QUIT_WAIT) -> None:
        """Close every session (gracefully, within ``timeout``) and finish the captures."""
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
            self._stop_showing(tab)

    @staticmethod
    def _stop_showing(tab: SessionTab) -> None:
        """A tab nobody sees any more: its records go to its capture only."""
        if tab.bridge is not None:
            tab.bridge.discard()

    @property
    def closed(self) -> bool:
        """True once every session is closed and the window has closed."""
        return self._closed
