"""One live session in one tab: its records view, banner, fault panel and composer.

The tab owns the session's engine objects (Recorder, capture store, net Session) and
their GUI counterparts (table model, bridge). Network work runs as asyncio tasks on
the qasync loop; every failure ends up in the tab's banner and the status bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QPushButton, QWidget

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Record
from inspector.net.factory import create_session, send_message
from inspector.net.session import Session, SessionState
from inspector.net.speaking import compose_context, protocol_of
from inspector.ui import theme
from inspector.ui.bridge import Counters, SessionBridge
from inspector.ui.capture_files import create_capture
from inspector.ui.composer import Composer, SendAction
from inspector.ui.faults import UNVERIFIED_TEXT, FaultState, partial_text
from inspector.ui.guard import guarded, report_failure, spawn
from inspector.ui.models.source import MemoryRecords
from inspector.ui.preferences import capture_limit
from inspector.ui.rawframe_dialog import RAW_ACTION, send_raw_frame
from inspector.ui.settings import Settings
from inspector.ui.status import state_colour
from inspector.ui.tabs.auto_reconnect import AutoReconnect
from inspector.ui.tabs.base import RecordsTab
from inspector.ui.tabs.records_view import RecordsView
from inspector.ui.tabs.replay_bar import ReplayBar

log = logging.getLogger(__name__)
_TOOLTIP = Qt.ItemDataRole.ToolTipRole

#: Seconds a graceful close may take before the connection is dropped.
CLOSE_WAIT = 3.0
#: Earlier attempts (before a reconnect) a tab keeps showing; older ones stay in their
#: capture files and in Recent captures.
MAX_EARLIER_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class Attempt:
    """One earlier session of a tab, kept visible after a reconnect."""

    number: int
    view: RecordsView
    state: str
    capture_path: Path | None
    #: The capture reopened read-only for the view (None: records kept in memory).
    reader: CaptureStore | None

    @property
    def label(self) -> str:
        where = self.capture_path.name if self.capture_path else "kept in memory"
        return f"Attempt {self.number} · {self.state} · {where}"


class SessionTab(RecordsTab):
    """A live session and everything shown about it."""

    #: (path: Path): an attempt's capture file was finished by a reconnect.
    captureKept = Signal(object)
    #: (mode, text): the composer's "Save to workspace…" (whichever composer is shown).
    workspaceSaveRequested = Signal(str, str)

    def __init__(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        settings: Settings,
        capture_dir: Path | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(endpoint, options, settings, parent)
        self.setObjectName("sessionTab")
        self.capture_dir = capture_dir
        self.session: Session | None = None
        self.recorder: Recorder | None = None
        self.bridge: SessionBridge | None = None
        self._open_task: asyncio.Task[bool] | None = None
        self.internal_error: str | None = None
        self._finished = False
        self.attempts: list[Attempt] = []
        #: True once any session of this tab reached OPEN.
        self.ever_opened = False
        self._send_failed = False  # the last send from the composer failed
        self.auto_reconnect = AutoReconnect(self)
        self.auto_reconnect.due.connect(self._reconnect_automatically)
        self.auto_reconnect.changed.connect(self._show_state)

        self.attempt_box = QComboBox()
        self.attempt_box.setObjectName("attemptBox")
        self.attempt_box.setAccessibleName("Attempt shown")
        self.attempt_box.setToolTip("Earlier attempts of this tab, each with its capture")
        self.attempt_box.currentIndexChanged.connect(self._show_attempt)
        self.attempt_box.hide()
        self.top_row.addWidget(self.attempt_box)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnectButton")
        self.disconnect_button.setAccessibleName("Disconnect")
        self.disconnect_button.clicked.connect(self.disconnect)
        self.reconnect_button = QPushButton("Reconnect")
        self.reconnect_button.setObjectName("reconnectButton")
        self.reconnect_button.setAccessibleName("Reconnect")
        self.reconnect_button.clicked.connect(self.reconnect)
        self.top_row.addWidget(self.disconnect_button)
        self.top_row.addWidget(self.reconnect_button)

        #: The tab this session replays, when it is a replay.
        self.replay_of: str | None = None
        self.replay_bar = ReplayBar()
        self.main_layout.insertWidget(self.main_layout.indexOf(self.faults) + 1, self.replay_bar)
        self.composer = self._make_composer()
        self.main_layout.addWidget(self.composer)

    def _make_composer(self) -> Composer:
        composer = Composer(self.endpoint, self.settings)
        composer.protocol_context = lambda: compose_context(self.session)
        composer.protocol_hint = self._protocol_hint
        composer.sendRequested.connect(self._send)
        composer.workspaceSaveRequested.connect(self.workspaceSaveRequested)
        composer.set_sendable(False)
        return composer

    def _protocol_hint(self) -> str | None:
        """The protocol the session speaks, or the one its facts name (the protocol
        composer opens on its templates)."""
        session = self.session
        if session is None:
            return None
        if session.speaking is not None:
            return session.speaking.name
        return protocol_of(session)

    # -- state ----------------------------------------------------------------------

    @property
    def state(self) -> str:
        """connecting, open, closing, closed or failed."""
        if self.internal_error is not None:
            return "failed"
        return str(self.session.state) if self.session is not None else "closed"

    @property
    def title(self) -> str:
        title = super().title
        return f"{title} (replay)" if self.replay_of is not None else title

    def mark_replay(self, source: str, total: int) -> None:
        """Mark this tab as a replay of ``source`` (``total`` messages to resend)."""
        self.replay_of = source
        self.replay_bar.begin(source, total)
        self.stateChanged.emit(self.state)  # the window retitles the tab

    @property
    def counters(self) -> Counters:
        return self.bridge.counters if self.bridge is not None else Counters()

    def fault_state(self) -> FaultState:
        """The fault panel's view of this session (the growing unit only when shown)."""
        recorder = self.recorder
        limit = recorder.capture_limit if recorder is not None else None
        # Only the tab on screen reads the growing unit (it copies up to a frame's bytes).
        shown = self.faults.isVisible()
        return FaultState(
            self.endpoint,
            self.options,
            partial=partial_text(self.session, str(self.endpoint.scheme)) if shown else "",
            capture_problem=self.capture_problem,
            capture_name=self.capture_path.name if self.capture_path else None,
            not_kept=recorder.not_kept if recorder is not None else 0,
            not_kept_bytes=recorder.not_kept_bytes if recorder is not None else 0,
            capture_limit=limit.describe() if limit is not None else None,
        )

    @guarded
    def _tick(self) -> None:
        self.faults.show_state(self.fault_state())
        if isinstance(self.store, CaptureStore):  # records of a pause committed too
            self.store.commit_if_due()

    def _show_state(self) -> None:
        state = self.state
        session = self.session
        text = {
            "connecting": f"Connecting to {self.endpoint.url} …",
            "open": f"Open: {self.endpoint.url}",
            "closing": f"Closing {self.endpoint.url} …",
            "closed": f"Closed: {self.endpoint.url}",
            "failed": f"Failed: {self.endpoint.url}",
        }[state]
        if session is not None and session.failure:
            text += f" — {session.failure}"
        if self.internal_error is not None:
            text += f" — {self.internal_error}"
        if self.auto_reconnect.waiting:
            text += f" — {self.auto_reconnect.note()}"
        if self.unverified:
            text += f"  ·  ⚠ {UNVERIFIED_TEXT}"
        if self.capture_problem:
            text += f"\nNot recorded to a file: {self.capture_problem}"
        elif self.capture_path is not None:
            text += f"  ·  capture: {self.capture_path.name}"
        self.banner.setText(text)
        self.banner.setToolTip(str(self.capture_path) if self.capture_path else "")
        colour = state_colour(state, theme.is_dark(self))
        self.banner.setStyleSheet(f"QLabel#sessionBanner {{ color: {colour.name()}; }}")
        self.composer.set_sendable(state == "open")
        self.disconnect_button.setEnabled(state in ("connecting", "open"))
        self.reconnect_button.setEnabled(state in ("closed", "failed"))

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Create the capture and the session, and start opening it."""
        self._begin()
        self._open_task = spawn(self._open(), f"opening {self.endpoint.url}")

    def _begin(self) -> None:
        clock = SessionClock()
        self.capture_problem = None
        self.capture_path = None
        store: CaptureStore | MemoryRecords
        if self.capture_dir is None:
            store = MemoryRecords()
        else:
            try:
                store = create_capture(
                    self.capture_dir, self.endpoint, self.options, clock, commit_thread=True
                )
                self.capture_path = Path(store.path)
            except CaptureError as exc:
                store = MemoryRecords()
                self._capture_failed(str(exc))
        self.store = store
        self._finished = False
        self.recorder = Recorder(store, clock=clock, capture_limit=capture_limit(self.settings))
        model = self.view.show_source(
            store, clock.started_wall_ns, str(self.endpoint.scheme), follow=True
        )
        self.bridge = SessionBridge(self.recorder, model, self)
        self.bridge.flushed.connect(self._flushed)
        self.bridge.ticked.connect(self._tick)
        self.faults.reset(self.fault_state())
        self.bridge.start()
        self.internal_error = None
        try:
            self.session = create_session(self.endpoint, self.options, self.recorder)
            self.session.keep_messages = False  # the window shows records, not messages
        except Exception as exc:  # a defect, not a network fault: show it, keep the tab
            self.session = None
            self.internal_error = f"cannot start the session: {exc}"
            report_failure(f"starting {self.endpoint.url}", exc)
        else:
            self.session.on_state_change = self._state_changed
        self.view.update_counts()
        self._show_state()
        self.stateChanged.emit(self.state)

    def _capture_failed(self, message: str) -> None:
        """Tell the user once that this session is kept in memory only."""
        if self.capture_problem is None:
            self.capture_problem = message
            self.notice.emit(f"{self.title}: {message}")

    async def _open(self) -> bool:
        session = self.session
        if session is None:
            return False
        try:
            opened = await session.open()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a defect in the engine: end the session, say why
            self.internal_error = f"the session failed unexpectedly: {exc}"
            report_failure(f"opening {self.endpoint.url}", exc)
            session.abort()
            self._show_state()
            self.stateChanged.emit(self.state)
            return False
        if opened and self.isVisible():
            self.composer.focus_editor()
        return opened

    def _state_changed(self, state: SessionState) -> None:
        """Called by the session (inside the engine): keep it short and never raise."""
        try:
            if state is SessionState.OPEN:
                self.ever_opened = True
                self.auto_reconnect.opened()
            elif state in (SessionState.CLOSED, SessionState.FAILED) and self.bridge is not None:
                # The rows catch up with the state: the close frame is shown when the
                # tab says "Closed", not one timer tick later.
                self.bridge.flush()
            self._show_state()
            self.stateChanged.emit(str(state))
            if state in (SessionState.CLOSED, SessionState.FAILED):
                self._finish_capture()
                session = self.session
                self.auto_reconnect.ended(self.options, session is not None and session.ok)
        except Exception:
            log.exception("state change handling failed")

    def _finish_capture(self) -> None:
        """Write how the session ended into its capture (the file stays open for reading)."""
        if self._finished or self.session is None or self.store is None:
            return
        self._finished = True
        if isinstance(self.store, CaptureStore):
            self.store.finish(str(self.session.state), self.session.summary())
            if self.store.error:
                self._capture_failed(self.store.error)

    @guarded
    def disconnect(self) -> None:
        """Close the session gracefully (cancel it while still connecting)."""
        self.auto_reconnect.hold()
        session = self.session
        if session is None:
            return
        if session.state is SessionState.CONNECTING and self._open_task is not None:
            self._open_task.cancel()
        elif session.state is SessionState.OPEN:
            spawn(self._close_gracefully(session), f"closing {self.endpoint.url}")

    @guarded
    def reconnect(self) -> None:
        """Start a new session to the same endpoint in this tab (and a new capture)."""
        self.auto_reconnect.cancel()
        self.auto_reconnect.release()
        spawn(self._reconnect(), f"reconnecting to {self.endpoint.url}")

    @guarded
    def _reconnect_automatically(self) -> None:
        """The back-off is over: the next attempt (its count goes on)."""
        spawn(self._reconnect(), f"reconnecting to {self.endpoint.url}")

    @property
    def reusable(self) -> bool:
        """True when the tab failed without ever connecting: a corrected endpoint may
        take it over rather than open one more tab."""
        return not self.ever_opened and not self.attempts and self.state == "failed"

    @guarded
    def retarget(self, endpoint: Endpoint, options: SessionOptions) -> None:
        """Open ``endpoint`` in this tab instead of the one that never connected."""
        spawn(self._retarget(endpoint, options), f"connecting to {endpoint.url}")

    async def _retarget(self, endpoint: Endpoint, options: SessionOptions) -> None:
        await self._end_session()
        self.endpoint = endpoint
        self.options = options
        old = self.composer
        self.composer = self._make_composer()
        self.main_layout.replaceWidget(old, self.composer)
        old.deleteLater()
        self.start()

    async def _reconnect(self) -> None:
        await self._end_session()
        self._keep_attempt()
        self.start()

    def _keep_attempt(self) -> None:
        """Keep the ended attempt visible (its capture reopened read-only) and give the
        next attempt a records view of its own."""
        old = self.view
        path = self.capture_path
        reader: CaptureStore | None = None
        if isinstance(self.store, CaptureStore) and path is not None:
            try:
                reader = CaptureStore.open(path)
            except CaptureError as exc:
                self.notice.emit(f"{self.title}: the earlier attempt cannot be shown: {exc}")
            else:
                if old.model is not None:
                    old.model.set_source(reader)
            self.captureKept.emit(path)
        number = len(self.attempts) + 1
        if self.attempts:
            number = self.attempts[-1].number + 1
        self.attempts.append(Attempt(number, old, self.state, path, reader))
        while len(self.attempts) > MAX_EARLIER_ATTEMPTS:
            self._drop_attempt(self.attempts.pop(0))
        self.install_view(RecordsView(self.settings))
        self._fill_attempts()

    def _drop_attempt(self, attempt: Attempt) -> None:
        self.views.removeWidget(attempt.view)
        attempt.view.deleteLater()
        if attempt.reader is not None:
            with contextlib.suppress(CaptureError):
                attempt.reader.close()

    def _fill_attempts(self) -> None:
        box = self.attempt_box
        box.blockSignals(True)
        box.clear()
        for attempt in self.attempts:
            box.addItem(attempt.label)
            box.setItemData(box.count() - 1, str(attempt.capture_path or ""), _TOOLTIP)
        box.addItem(f"Attempt {self._current_number} · now")
        box.setCurrentIndex(box.count() - 1)
        box.blockSignals(False)
        box.setVisible(bool(self.attempts))

    @property
    def _current_number(self) -> int:
        return self.attempts[-1].number + 1 if self.attempts else 1

    @guarded
    def _show_attempt(self, index: int) -> None:
        """Show an earlier attempt's records, or the current ones (the last item)."""
        if 0 <= index < len(self.attempts):
            self.views.setCurrentWidget(self.attempts[index].view)
        else:
            self.views.setCurrentWidget(self.view)

    async def _close_gracefully(self, session: Session, timeout: float = CLOSE_WAIT) -> None:
        try:
            async with asyncio.timeout(timeout):
                await session.close()
        except TimeoutError:
            session.abort()

    async def shutdown(self, timeout: float = CLOSE_WAIT) -> None:
        """End the session (gracefully, within ``timeout``), flush and close the capture,
        and close the earlier attempts' captures."""
        try:
            await self._end_session(timeout)
        finally:
            for attempt in self.attempts:
                if attempt.reader is not None:
                    with contextlib.suppress(CaptureError):
                        attempt.reader.close()

    async def _end_session(self, timeout: float = CLOSE_WAIT) -> None:
        """End the session (gracefully, within ``timeout``), flush and close the capture."""
        session = self.session
        if session is not None and not session.ended:
            if session.state is SessionState.CONNECTING and self._open_task is not None:
                self._open_task.cancel()
                await asyncio.gather(self._open_task, return_exceptions=True)
            if not session.ended:
                await self._close_gracefully(session, timeout)
        if self.bridge is not None:
            self.bridge.stop()
        self._finish_capture()
        if isinstance(self.store, CaptureStore):
            try:
                self.store.close()
            except CaptureError as exc:
                self._capture_failed(str(exc))

    # -- records --------------------------------------------------------------------

    @guarded
    def _flushed(self, batch: Sequence[Record], counters: Counters) -> None:
        if batch:
            self.faults.add_records(batch)
        store = self.store
        if isinstance(store, CaptureStore) and store.error:
            self._capture_failed(store.error)
            self._show_state()
        self.view.add_batch(batch)
        self.countersChanged.emit(counters)

    # -- sending --------------------------------------------------------------------

    @guarded
    def _send(self, action: SendAction) -> None:
        session = self.session
        if session is None:
            return
        try:
            if action.action == RAW_ACTION:
                send_raw_frame(session, self.recorder, action)
            elif not send_message(
                session, action.action, action.payload, action.code, action.reason
            ):
                self.composer.show_hint("nothing to send")
        except (InspectorError, OSError, ValueError) as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            self.composer.show_error(message)
            self.notice.emit(f"{self.title}: {message}")
            self._send_failed = True
            return
        if self._send_failed:  # the status bar still shows that error: replace it
            self._send_failed = False
            self.notice.emit(f"{self.title}: {action.action} sent")
