"""The composer: type a message, check it, send it; history and saved messages.

Input is checked before anything is sent: JSON must parse (the error position is shown
under the field), hex must be pairs of hex digits (spaces allowed), a file must be
readable. For WebSocket the message goes as a text or binary frame, a ping or pong with
that payload, or a close with a code and the text as reason; for TCP/TLS a line ending
can end every line; for UDP the message is one datagram.

A message can be sent repeatedly (Packet Sender's way): a count and an interval, both
bounded, and the Send button turns into Stop while the run lasts. An error from the
session stops the run; the next send attempt clears the previous error. "Raw frame…"
opens the raw-frame composer (:mod:`inspector.ui.rawframe_dialog`), "Protocol…" the
protocol message composer (:mod:`inspector.ui.protocol_dialog`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.endpoints import Endpoint, Scheme
from inspector.protocols.speakers.compose import ComposeContext
from inspector.ui import theme
from inspector.ui.compose_input import (
    LINE_ENDINGS,
    MAX_CONTROL_PAYLOAD,
    MAX_INTERVAL_MS,
    MAX_REPEAT,
    MODES,
    WS_ACTIONS,
    ComposeError,
    SendAction,
    encode,
    end_lines,
)
from inspector.ui.guard import guarded
from inspector.ui.settings import Settings


class Composer(QWidget):
    """Message editor and send controls of one session."""

    sendRequested = Signal(object)  # SendAction
    #: (mode, text): "Save to workspace…" from the Saved menu.
    workspaceSaveRequested = Signal(str, str)

    def __init__(
        self, endpoint: Endpoint, settings: Settings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.endpoint = endpoint
        self.settings = settings
        self._history = settings.sent_history()
        self._history_index: int | None = None
        self._draft = ""

        self.mode = QComboBox()
        self.mode.setObjectName("composerMode")
        self.mode.setAccessibleName("Composer mode")
        for mode, label in zip(MODES, ("Text", "JSON", "Hex", "File"), strict=True):
            self.mode.addItem(label, mode)
        self.mode.currentIndexChanged.connect(self._mode_changed)

        self.action = QComboBox()
        self.action.setObjectName("composerAction")
        self.action.setAccessibleName("Send as")
        for action, label in zip(
            WS_ACTIONS, ("Text frame", "Binary frame", "Ping", "Pong", "Close"), strict=True
        ):
            self.action.addItem(label, action)
        self.action.currentIndexChanged.connect(self._action_changed)

        self.close_code = QSpinBox()
        self.close_code.setObjectName("closeCode")
        self.close_code.setAccessibleName("Close code")
        self.close_code.setRange(1000, 4999)
        self.close_code.setValue(1000)
        self.close_code.setPrefix("code ")
        self.close_code.valueChanged.connect(self._clear_error)

        self.line_ending = QComboBox()
        self.line_ending.setObjectName("lineEnding")
        self.line_ending.setAccessibleName("Line ending")
        for label in LINE_ENDINGS:
            self.line_ending.addItem(f"end: {label}", label)
        self.line_ending.setToolTip("Ending added after every line of the message")
        self.line_ending.currentIndexChanged.connect(self._clear_error)

        self.repeat = QSpinBox()
        self.repeat.setObjectName("repeatCount")
        self.repeat.setAccessibleName("Send count")
        self.repeat.setToolTip("Send the message this many times")
        self.repeat.setRange(1, MAX_REPEAT)
        self.repeat.setPrefix("\u00d7 ")
        self.repeat.valueChanged.connect(self._repeat_changed)
        self.interval = QSpinBox()
        self.interval.setObjectName("repeatInterval")
        self.interval.setAccessibleName("Interval between sends")
        self.interval.setToolTip("Time between two sends of a repeated message")
        self.interval.setRange(0, MAX_INTERVAL_MS)
        self.interval.setSingleStep(100)
        self.interval.setValue(1000)
        self.interval.setPrefix("every ")
        self.interval.setSuffix(" ms")
        self._repeat_timer = QTimer(self)
        self._repeat_timer.setObjectName("repeatTimer")
        self._repeat_timer.timeout.connect(self._repeat_step)
        self._repeat_action: SendAction | None = None
        self._repeat_left = 0
        self.repeat_sent = 0
        self._file_stash: str | None = None
        self._mode_before = "text"

        self.browse = QPushButton("Browse…")
        self.browse.setObjectName("composerBrowse")
        self.browse.clicked.connect(self._browse)

        self.saved = QToolButton()
        self.saved.setObjectName("savedButton")
        self.saved.setText("Saved")
        self.saved.setAccessibleName("Saved messages")
        self.saved.setToolTip("Save the current message for this endpoint, or load one")
        self.saved.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.saved_menu = QMenu(self.saved)
        self.saved_menu.aboutToShow.connect(self._fill_saved_menu)
        self.saved.setMenu(self.saved_menu)

        self.edit = QPlainTextEdit()
        self.edit.setObjectName("composerEdit")
        self.edit.setAccessibleName("Message")
        self.edit.setTabChangesFocus(True)
        self.edit.setMaximumHeight(64)
        self.edit.installEventFilter(self)
        self.edit.textChanged.connect(self._clear_error)

        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send")
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_button.clicked.connect(self._send_clicked)

        self.raw_button = QToolButton()
        self.raw_button.setObjectName("rawFrameButton")
        self.raw_button.setText("Raw frame…")
        self.raw_button.setAccessibleName("Raw frame")
        self.raw_button.setToolTip(
            "Build a WebSocket frame bit by bit (any opcode, bits, mask, length) and send "
            "it exactly as built, to test how the server treats it"
        )
        self.raw_button.clicked.connect(self.open_raw_frame)
        self.raw_dialog: QWidget | None = None

        self.protocol_button = QToolButton()
        self.protocol_button.setObjectName("protocolButton")
        self.protocol_button.setText("Protocol…")
        self.protocol_button.setAccessibleName("Protocol message")
        self.protocol_button.setToolTip(
            "Build a Socket.IO, GraphQL, STOMP, MQTT, JSON-RPC or SignalR message from a "
            "few fields, see its exact bytes, and send it"
        )
        self.protocol_button.clicked.connect(self.open_protocol)
        self.protocol_dialog: QWidget | None = None
        #: The session's facts for protocol messages (the tab sets it: the negotiated
        #: subprotocol, the protocol its decoder chose).
        self.protocol_context: Callable[[], ComposeContext] = ComposeContext
        self.protocol_hint: Callable[[], str | None] = lambda: None

        self.error = QLabel()
        self.error.setObjectName("composerError")
        self.error.setAccessibleName("Composer error")
        self.error.hide()

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.mode)
        controls.addWidget(self.action)
        controls.addWidget(self.close_code)
        controls.addWidget(self.line_ending)
        controls.addWidget(self.browse)
        controls.addWidget(self.repeat)
        controls.addWidget(self.interval)
        controls.addStretch(1)
        controls.addWidget(self.error)
        controls.addStretch(1)
        controls.addWidget(self.raw_button)
        controls.addWidget(self.protocol_button)
        controls.addWidget(self.saved)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(controls)
        layout.addLayout(row)

        websocket = endpoint.is_websocket
        self.action.setVisible(websocket)
        self.line_ending.setVisible(endpoint.scheme in (Scheme.TCP, Scheme.TLS))
        # Over tcp:// and tls:// a frame can follow an upgrade typed by hand.
        self.raw_button.setVisible(endpoint.scheme is not Scheme.UDP)
        self._mode_changed()
        self._action_changed()
        self._repeat_changed()

    # -- state ----------------------------------------------------------------------

    def current_mode(self) -> str:
        return str(self.mode.currentData())

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentIndex(MODES.index(mode))

    def current_action(self) -> str:
        return str(self.action.currentData()) if self.endpoint.is_websocket else "data"

    def set_action(self, action: str) -> None:
        self.action.setCurrentIndex(WS_ACTIONS.index(action))

    def set_line_ending(self, label: str) -> None:
        self.line_ending.setCurrentIndex(list(LINE_ENDINGS).index(label))

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        self.edit.moveCursor(QTextCursor.MoveOperation.End)

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_sendable(self, sendable: bool) -> None:
        """Enable sending only while the session is open (a repeated run stops when the
        session does)."""
        self.send_button.setEnabled(sendable)
        if not sendable:
            self.stop_repeat()

    def focus_editor(self) -> None:
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def error_text(self) -> str | None:
        return self.error.text() if not self.error.isHidden() else None

    def show_error(self, message: str) -> None:
        """Mark the editor red and say why (a repeated run stops here)."""
        self.stop_repeat()
        colour = theme.error_text(theme.is_dark(self)).name()
        self.error.setStyleSheet(f"color: {colour}")
        self.error.setText(message)
        self.error.setToolTip(message)
        self.error.show()
        self.edit.setStyleSheet(f"QPlainTextEdit#composerEdit {{ border: 2px solid {colour}; }}")

    def show_hint(self, message: str) -> None:
        """A quiet line where errors go (no error colour, no red border), e.g. "nothing
        to send"; cleared like an error when the text changes."""
        self.error.setStyleSheet(f"color: {self.palette().placeholderText().color().name()}")
        self.error.setText(message)
        self.error.setToolTip(message)
        self.error.show()
        self.edit.setStyleSheet("")

    @guarded
    def _clear_error(self, *_: object) -> None:
        if not self.error.isHidden():
            self.error.hide()
            self.edit.setStyleSheet("")

    @guarded
    def _mode_changed(self, *_: object) -> None:
        mode = self.current_mode()
        self.browse.setVisible(mode == "file")
        # File mode wants a path, not the message typed before: keep that message aside
        # and give it back when leaving File mode.
        if mode == "file" and self._mode_before != "file":
            self._file_stash = self.text()
            self.edit.clear()
        elif mode != "file" and self._mode_before == "file" and self._file_stash is not None:
            self.set_text(self._file_stash)
            self._file_stash = None
        self._mode_before = mode
        placeholders = {
            "text": "Message text",
            "json": '{"type": "hello"}',
            "hex": "48 65 6c 6c 6f",
            "file": "Path of the file to send",
        }
        self.edit.setPlaceholderText(placeholders[mode] + "  —  Ctrl+Enter sends")
        if self.endpoint.is_websocket and self.current_action() in ("text", "binary"):
            self.set_action("binary" if mode in ("hex", "file") else "text")
        self._clear_error()

    @guarded
    def _action_changed(self, *_: object) -> None:
        self.close_code.setVisible(self.current_action() == "close")
        self._clear_error()

    @guarded
    def _repeat_changed(self, *_: object) -> None:
        self.interval.setVisible(self.repeat.value() > 1)

    @guarded
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "File to send")
        if path:
            self.set_text(path)

    # -- sending --------------------------------------------------------------------

    def build(self) -> SendAction:
        """The action the composer's content stands for; raise ComposeError if invalid."""
        action = self.current_action()
        text = self.text()
        if action == "close":
            reason = text
            if len(reason.encode("utf-8")) > MAX_CONTROL_PAYLOAD - 2:
                raise ComposeError("a close reason is at most 123 bytes (RFC 6455 §5.5)")
            return SendAction("close", code=self.close_code.value(), reason=reason)
        payload = encode(self.current_mode(), text)
        if action in ("ping", "pong") and len(payload) > MAX_CONTROL_PAYLOAD:
            raise ComposeError(f"a {action} payload is at most 125 bytes (RFC 6455 §5.5)")
        if action == "text":
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                raise ComposeError("a text frame must be UTF-8: send it as Binary") from None
        if action == "data":
            ending = LINE_ENDINGS[str(self.line_ending.currentData())]
            if self.current_mode() in ("text", "json"):
                payload = end_lines(text, ending)
            else:
                payload += ending
        return SendAction(action, payload)

    @guarded
    def send(self) -> None:
        """Check the content and ask the session to send it (``repeat`` times); during
        a repeated run, stop it instead (as the button, which reads Stop)."""
        if self.repeating:
            self.stop_repeat()
            return
        if not self.send_button.isEnabled():
            self.show_error("the session is not open")
            return
        self._clear_error()  # a new attempt: the last one's verdict no longer stands
        try:
            action = self.build()
        except ComposeError as exc:
            self.show_error(str(exc))
            return
        self._remember(self.text())
        count = self.repeat.value()
        if count > 1:
            self._start_repeat(action, count)
            return
        self.sendRequested.emit(action)

    # -- raw frames -----------------------------------------------------------------

    @guarded
    def open_raw_frame(self, *_: object) -> None:
        """Show the raw-frame composer (one per session, kept between uses)."""
        from inspector.ui.rawframe_dialog import RawFrameDialog  # loaded when first asked for

        if self.raw_dialog is None:
            dialog = RawFrameDialog(self)
            dialog.sendRequested.connect(self._raw_requested)
            self.raw_dialog = dialog
        self.raw_dialog.show()

    @guarded
    def open_protocol(self, *_: object) -> None:
        """Show the protocol composer (one per session: its automatic ids count on)."""
        from inspector.ui.protocol_dialog import ProtocolMessageDialog  # loaded when asked

        if self.protocol_dialog is None:
            dialog = ProtocolMessageDialog(self.endpoint, self.protocol_context,
                                           self.protocol_hint(), self)  # fmt: skip
            dialog.sendRequested.connect(self._raw_requested)
            self.protocol_dialog = dialog
        self.protocol_dialog.show()

    @guarded
    def _raw_requested(self, action: SendAction) -> None:
        if not self.send_button.isEnabled():
            self.show_error("the session is not open")
            return
        self._clear_error()
        self.sendRequested.emit(action)

    # -- repeated sends -------------------------------------------------------------

    @property
    def repeating(self) -> bool:
        """True while a repeated run is sending."""
        return self._repeat_action is not None

    def stop_repeat(self) -> None:
        """End a repeated run now (what was sent stays sent)."""
        if self._repeat_action is None:
            return
        self._repeat_timer.stop()
        self._repeat_action = None
        self._repeat_left = 0
        self.send_button.setText("Send")
        self.send_button.setToolTip("Send (Ctrl+Enter)")

    @guarded
    def _send_clicked(self, *_: object) -> None:
        if self.repeating:
            self.stop_repeat()
        else:
            self.send()

    def _start_repeat(self, action: SendAction, count: int) -> None:
        self._repeat_action = action
        self._repeat_left = count
        self.repeat_sent = 0
        self.send_button.setText("Stop")
        self.send_button.setToolTip(f"Stop sending ({count} times)")
        self._repeat_timer.setInterval(self.interval.value())
        self._repeat_step()
        if self.repeating:
            self._repeat_timer.start()

    @guarded
    def _repeat_step(self) -> None:
        action = self._repeat_action
        if action is None:
            return
        self._repeat_left -= 1
        self.repeat_sent += 1
        self.send_button.setToolTip(f"Stop sending ({self.repeat_sent} of {self.repeat.value()})")
        if self._repeat_left <= 0:
            self.stop_repeat()
        self.sendRequested.emit(action)

    def _remember(self, text: str) -> None:
        self._history_index = None
        if not text or (self._history and self._history[-1] == text):
            return
        self._history.append(text)
        self.settings.set_sent_history(self._history)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+Enter sends; Up/Down at the first/last line walk the history."""
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.send()
                return True
            cursor = self.edit.textCursor()
            if key == Qt.Key.Key_Up and cursor.blockNumber() == 0:
                return self._walk_history(-1)
            if key == Qt.Key.Key_Down and cursor.blockNumber() == self.edit.blockCount() - 1:
                return self._walk_history(+1)
        return super().eventFilter(watched, event)

    def _walk_history(self, step: int) -> bool:
        if not self._history:
            return False
        if self._history_index is None:
            if step > 0:
                return False
            self._draft = self.text()
            index = len(self._history) - 1
        else:
            index = self._history_index + step
        if index >= len(self._history):
            self._history_index = None
            self.set_text(self._draft)
            return True
        index = max(0, index)
        self._history_index = index
        self.set_text(self._history[index])
        return True

    # -- saved messages ---------------------------------------------------------------

    @guarded
    def _fill_saved_menu(self) -> None:
        self.saved_menu.clear()
        save = self.saved_menu.addAction("Save current message")
        save.setEnabled(bool(self.text()))
        save.triggered.connect(self.save_current)
        to_workspace = self.saved_menu.addAction("Save to workspace…")
        to_workspace.setObjectName("saveToWorkspaceAction")
        to_workspace.setEnabled(bool(self.text()))
        to_workspace.triggered.connect(
            lambda: self.workspaceSaveRequested.emit(self.current_mode(), self.text())
        )
        saved = self.settings.saved_messages(self.endpoint.url)
        if saved:
            self.saved_menu.addSeparator()
        for text in saved:
            label = text if len(text) <= 60 else text[:57] + "…"
            action = self.saved_menu.addAction(label.replace("\n", " ⏎ "))
            action.setToolTip(text)
            action.triggered.connect(lambda _=False, t=text: self.set_text(t))

    @guarded
    def save_current(self, *_: object) -> None:
        """Keep the current message in this endpoint's saved list."""
        if self.text():
            self.settings.save_message(self.endpoint.url, self.text())

    def saved_messages(self) -> list[str]:
        return self.settings.saved_messages(self.endpoint.url)
