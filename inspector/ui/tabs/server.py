"""Being the server in a tab: a listener, its connections, and their records.

The tab owns a :class:`~inspector.net.listener.Listener` and one capture file: its
first session is the listener's own (listening, accepted, refused, the end), then one
session per connection, as ``inspector listen -o`` writes it. What it shares with the
relay tab — the connections list, "All connections", the timer that drains every
Recorder, the capture, stopping — is :class:`~inspector.ui.tabs.hosting.HostingTab`;
this module adds the listener, the close code, Disconnect and the composer's target
(the selected connection or all). A tab opened from a listen capture is the same
view, read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.rules import Rule, RuleEngine
from inspector.ui.composer import SendAction
from inspector.ui.guard import guarded, spawn
from inspector.ui.listen_options import ListenOptions
from inspector.ui.settings import Settings
from inspector.ui.tabs.base import endpoint_title
from inspector.ui.tabs.connections import ConnEntry, send_to
from inspector.ui.tabs.hosting import STOP_WAIT, HostingTab, everywhere

log = logging.getLogger(__name__)

__all__ = ["STOP_WAIT", "ServerTab", "everywhere"]


class ServerTab(HostingTab):
    """A listener and its connections (live), or a listen capture (read-only)."""

    def __init__(
        self,
        endpoint: Endpoint,
        listen: ListenOptions,
        rules: Sequence[Rule],
        settings: Settings,
        capture_dir: Path | None,
        parent: QWidget | None = None,
        *,
        cert_dir: Path | None = None,
    ) -> None:
        super().__init__(endpoint, listen.session_options(), settings, capture_dir, parent)
        self.setObjectName("serverTab")
        self.listen_options = listen
        self.rules = list(rules)
        self.cert_dir = cert_dir

        self.close_code = QSpinBox()
        self.close_code.setObjectName("serverCloseCode")
        self.close_code.setAccessibleName("Close code")
        self.close_code.setRange(1000, 4999)
        self.close_code.setValue(1000)
        self.close_code.setToolTip("WebSocket close code for Disconnect")
        self.close_reason = QLineEdit()
        self.close_reason.setObjectName("serverCloseReason")
        self.close_reason.setAccessibleName("Close reason")
        self.close_reason.setPlaceholderText("close reason")
        self.close_reason.setMaximumWidth(160)
        for widget in (self.close_code, self.close_reason):
            widget.setVisible(endpoint.is_websocket)
            self.top_row.addWidget(widget)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnectConnectionButton")
        self.disconnect_button.setToolTip("Close the selected connection gracefully")
        self.disconnect_button.clicked.connect(self.disconnect_selected)
        self.stop_button = QPushButton("Stop listening")
        self.stop_button.setObjectName("stopListeningButton")
        self.stop_button.setToolTip("Close every connection gracefully and finish the capture")
        self.stop_button.clicked.connect(self.stop)
        self.top_row.addWidget(self.disconnect_button)
        self.top_row.addWidget(self.stop_button)

        self.target = QComboBox()
        self.target.setObjectName("sendTarget")
        self.target.setAccessibleName("Send to")
        self.target.addItem("To the selected connection", "selected")
        self.target.addItem("To all connections (broadcast)", "all")
        self.target.currentIndexChanged.connect(self._show_state)
        self.target_hint = QLabel()
        self.target_hint.setObjectName("sendTargetHint")
        self.send_row.addWidget(self.target)
        self.send_row.addStretch(1)
        self.composer.sendRequested.connect(self._send)
        self._select_conn_row(0)

    # -- what the window asks ---------------------------------------------------------

    @property
    def title(self) -> str:
        title = f"Server {endpoint_title(self.endpoint)}"
        return f"{title} (capture)" if self.read_only else title

    def state_text(self) -> str:
        where = self.url
        if self.read_only:
            return f"Capture of a server on {where} — read-only"
        return {
            "starting": f"Starting to listen on {where} …",
            "listening": f"Listening on {where}",
            "stopping": f"Stopping {where} …",
            "stopped": f"Stopped listening on {where}",
            "failed": f"Cannot listen on {where}",
        }[self.listener_state]

    def update_controls(self, running: bool, entry: ConnEntry | None) -> None:
        to_all = self.target.currentData() == "all" or entry is None
        can_send = running and (
            bool(self.listener.open_connections)
            if to_all
            else entry is not None and entry.conn is not None and entry.conn.is_open
        )
        self.composer.set_sendable(can_send)
        self.target.setEnabled(not self.read_only)
        self.disconnect_button.setEnabled(
            running and entry is not None and entry.conn is not None and not entry.conn.ended
        )
        self.stop_button.setEnabled(
            self.listener_state in ("starting", "listening") and not self.read_only
        )

    # -- listening ----------------------------------------------------------------------

    def create_engine(self) -> Any:
        from inspector.net.listener import create_listener

        assert self.recorder is not None
        if self.endpoint.secure:
            from inspector.net.certs import server_tls

            alpn = ["http/1.1"] if self.endpoint.is_websocket else None
            o = self.listen_options
            self.tls = server_tls(o.cert_file, o.key_file, directory=self.cert_dir, alpn=alpn)
        rules = RuleEngine(self.rules) if self.rules else None
        try:
            server = self.listen_options.server_options(self.endpoint.target)
        except ValueError as exc:
            raise InspectorError(str(exc)) from None
        listener = create_listener(
            self.endpoint,
            self.options,
            self.recorder,
            self._recorder_for,
            rules=rules,
            max_connections=self.listen_options.max_connections,
            tls=self.tls,
            server=server,
        )
        listener.on_connection = self._connection_ready
        return listener

    def engine_conn(self, number: int) -> Any:
        return self.listener.connections.get(number)

    # -- sending and ending -------------------------------------------------------------

    def _targets(self) -> list[Any]:
        entry = self.selected_entry()
        listener = self.listener
        if listener is None:
            return []
        if self.target.currentData() == "all" or entry is None:
            return list(listener.open_connections)
        return [entry.conn] if entry.conn is not None else []

    @guarded
    def _send(self, action: SendAction) -> None:
        targets = self._targets()
        if not targets:
            self.composer.show_error("no open connection to send to")
            return
        sent = 0
        problem: str | None = None
        for conn in targets:
            try:
                send_to(conn, action, self._spawn_close)
                sent += 1
            except (InspectorError, OSError, ValueError) as exc:
                problem = " ".join(str(exc).split()) or type(exc).__name__
        if problem is not None and (sent == 0 or len(targets) == 1):
            self.composer.show_error(problem)
            self.notice.emit(f"{self.title}: {problem}")
        elif len(targets) > 1:
            self.notice.emit(
                f"{self.title}: {action.action} sent to {sent} of {len(targets)} connections"
            )

    def _spawn_close(self, conn: Any, code: int | None, reason: str) -> None:
        spawn(conn.close_with(code, reason, STOP_WAIT), f"closing connection {conn.number}")

    @guarded
    def disconnect_selected(self, *_: object) -> None:
        """Close the selected connection gracefully (WebSocket: the chosen code, reason)."""
        entry = self.selected_entry()
        if entry is None or entry.conn is None or entry.conn.ended:
            return
        code = self.close_code.value() if self.endpoint.is_websocket else None
        self._spawn_close(entry.conn, code, self.close_reason.text())
