"""Being the server in a tab: a listener, its connections, and their records.

The tab owns a :class:`~inspector.net.listener.Listener` and one capture file: its
first session is the listener's own (listening, accepted, refused, the end), then one
session per connection, as ``inspector listen -o`` writes it. Beside the records view
a list shows every connection (peer, state, opened at, messages and bytes each way,
how it ended, close code); selecting one shows its records in the same panes as a
client session, "All connections" interleaves every record with a connection column.
One timer drains every Recorder (no Qt signal per record); the composer sends to the
selected connection or to all. A tab opened from a listen capture is the same view,
read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QWidget,
)

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.core.recorder import Recorder
from inspector.core.records import Record
from inspector.core.rules import Rule, RuleEngine
from inspector.ui import theme
from inspector.ui.bridge import FLUSH_INTERVAL_MS, Counters
from inspector.ui.capture_files import create_capture
from inspector.ui.composer import Composer, SendAction
from inspector.ui.guard import guarded, report_failure, spawn
from inspector.ui.listen_options import ListenOptions
from inspector.ui.models.source import MemoryRecords, RecordSource
from inspector.ui.preferences import capture_limit
from inspector.ui.settings import Settings
from inspector.ui.status import state_colour
from inspector.ui.tabs.base import RecordsTab, endpoint_title
from inspector.ui.tabs.connections import (
    AllRecords,
    AllRecordsView,
    ConnectionsModel,
    ConnEntry,
    send_to,
)
from inspector.ui.tabs.records_view import RecordsView

log = logging.getLogger(__name__)

#: Seconds a graceful stop may take before connections are dropped.
STOP_WAIT = 3.0
#: Rows of a connection's records read back for its panes when its view is first shown.
_HEAD, _TAIL = 64, 2000
_EVERYWHERE = ("0.0.0.0", "::", "")
#: The window's state words for a listener's states (icon, colours, status bar).
_TAB_STATE = {
    "starting": "connecting",
    "listening": "open",
    "stopping": "closing",
    "stopped": "closed",
    "failed": "failed",
}


def everywhere(endpoint: Endpoint) -> bool:
    """True when the address listens on every interface (other machines can connect)."""
    return endpoint.host in _EVERYWHERE


class ServerTab(RecordsTab):
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
        super().__init__(endpoint, listen.session_options(), settings, parent)
        self.setObjectName("serverTab")
        self.listen_options = listen
        self.rules = list(rules)
        self.capture_dir = capture_dir
        self.cert_dir = cert_dir
        self.read_only = False
        self.listener: Any = None
        self.listener_state = "starting"
        self.failure: str | None = None
        self.url = endpoint.url
        self.tls: Any = None
        self.capture_store: CaptureStore | None = None
        self._held = MemoryRecords()
        self.clock = SessionClock()
        self.recorder: Recorder | None = None
        self.all_records = AllRecords(self._records_of)
        self._new_entries: list[ConnEntry] = []
        self._stop_task: asyncio.Task[None] | None = None
        self._finished = False
        self._counters = Counters()

        # The base made a plain records view; "All connections" needs the connection
        # column (the new view takes the fault panel's label before the old one goes).
        plain = self.view
        self.all_view = self.install_view(AllRecordsView(settings))
        self.views.removeWidget(plain)
        plain.deleteLater()
        self.all_view.server_side = True

        self.connections = ConnectionsModel(self)
        self.conn_table = QTableView()
        self.conn_table.setObjectName("connectionsTable")
        self.conn_table.setAccessibleName("Connections")
        self.conn_table.setModel(self.connections)
        self.conn_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.conn_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        vertical = self.conn_table.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.conn_table.setWordWrap(False)
        self.conn_table.setShowGrid(False)
        self.conn_table.setAlternatingRowColors(True)
        header = self.conn_table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((36, 130, 90, 90, 60, 60, 70, 70, 220)):
            self.conn_table.setColumnWidth(column, width)
        self.conn_table.selectionModel().currentRowChanged.connect(self._conn_selected)

        self.main_layout.removeWidget(self.views)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setObjectName("serverSplitter")
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.conn_table)
        self.split.addWidget(self.views)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 4)
        self.split.setSizes([140, 600])
        self.main_layout.addWidget(self.split, 1)

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
        self.cert_button = QPushButton("Export certificate…")
        self.cert_button.setObjectName("serverCertButton")
        self.cert_button.setToolTip(
            "Save the certificate this server presents (PEM), to tell a client, browser "
            "or OS to trust it"
        )
        self.cert_button.clicked.connect(self._export_dialog)
        self.cert_button.hide()
        self.top_row.addWidget(self.cert_button)
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
        self.composer = Composer(endpoint, settings)
        self.composer.sendRequested.connect(self._send)
        target_row = QHBoxLayout()
        target_row.setContentsMargins(4, 0, 4, 0)
        target_row.addWidget(QLabel("Send:"))
        target_row.addWidget(self.target)
        target_row.addStretch(1)
        self.main_layout.addLayout(target_row)
        self.main_layout.addWidget(self.composer)

        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self.all_view.show_source(
            self.all_records, self.clock.started_wall_ns, str(endpoint.scheme), follow=True
        )
        self.connections.all_note = ""
        self._select_conn_row(0)

    # -- what the window asks ---------------------------------------------------------

    @property
    def title(self) -> str:
        title = f"Server {endpoint_title(self.endpoint)}"
        return f"{title} (capture)" if self.read_only else title

    @property
    def state(self) -> str:
        return _TAB_STATE.get(self.listener_state, "closed")

    @property
    def counters(self) -> Counters:
        return self._counters

    @property
    def unverified(self) -> bool:
        return False

    def selected_entry(self) -> ConnEntry | None:
        """The connection selected in the list; None for "All connections"."""
        index = self.conn_table.currentIndex()
        return self.connections.entry_at(index.row()) if index.isValid() else None

    def entry(self, number: int) -> ConnEntry | None:
        return next((e for e in self.connections.entries if e.number == number), None)

    def _records_of(self, number: int | None) -> RecordSource | None:
        """Where "All connections" reads connection ``number``'s records (None: the
        listener's): its capture session, or memory without a capture."""
        if number is None:
            return self.capture_store or self._held
        entry = self.entry(number)
        return entry.store if entry is not None else None

    def select_connection(self, number: int | None) -> None:
        """Show connection ``number``'s records (None: all connections)."""
        row = 0 if number is None else self.connections.row_of(number)
        if row is not None:
            self._select_conn_row(row)

    def _select_conn_row(self, row: int) -> None:
        index = self.connections.index(row, 0)
        self.conn_table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    # -- the banner ---------------------------------------------------------------------

    def _show_state(self, *_: object) -> None:
        state = self.listener_state
        where = self.url
        if self.read_only:
            text = f"Capture of a server on {where} — read-only"
        else:
            text = {
                "starting": f"Starting to listen on {where} …",
                "listening": f"Listening on {where}",
                "stopping": f"Stopping {where} …",
                "stopped": f"Stopped listening on {where}",
                "failed": f"Cannot listen on {where}",
            }[state]
        if self.failure:
            text += f" — {self.failure}"
        if state != "failed":
            text += (
                "  ·  ⚠ on every interface: other machines can connect"
                if everywhere(self.endpoint)
                else "  ·  loopback only"
            )
        if self.tls is not None:
            made = " (made for localhost)" if self.tls.self_signed else ""
            text += f"\nCertificate SHA-256 {self.tls.fingerprint}{made}"
            self.cert_button.show()
        live = sum(1 for e in self.connections.entries if e.conn is not None and not e.conn.ended)
        text += f"  ·  {live} open, {len(self.connections.entries)} accepted"
        if self.capture_problem:
            text += f"\nNot recorded to a file: {self.capture_problem}"
        elif self.capture_path is not None:
            text += f"  ·  capture: {self.capture_path.name}"
        self.banner.setText(text)
        colour = state_colour(self.state, theme.is_dark(self))
        self.banner.setStyleSheet(f"QLabel#sessionBanner {{ color: {colour.name()}; }}")
        running = state == "listening" and not self.read_only
        entry = self.selected_entry()
        to_all = self.target.currentData() == "all" or entry is None
        can_send = running and (
            bool(self.listener.open_connections)
            if to_all
            else entry is not None and entry.conn is not None and entry.conn.is_open
        )
        self.composer.set_sendable(can_send)
        self.composer.setEnabled(not self.read_only)
        self.target.setEnabled(not self.read_only)
        self.disconnect_button.setEnabled(
            running and entry is not None and entry.conn is not None and not entry.conn.ended
        )
        self.stop_button.setEnabled(state in ("starting", "listening") and not self.read_only)

    # -- listening ----------------------------------------------------------------------

    def start(self) -> None:
        if self.read_only:
            return
        from inspector.net.listener import create_listener

        self.recorder = Recorder(
            self._held, clock=self.clock, capture_limit=capture_limit(self.settings)
        )
        self._timer.start()
        try:
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
            self.listener = create_listener(
                self.endpoint,
                self.options,
                self.recorder,
                self._recorder_for,
                rules=rules,
                max_connections=self.listen_options.max_connections,
                tls=self.tls,
                server=server,
            )
        except InspectorError as exc:  # a certificate, a rule, a scheme: one line
            self._failed(str(exc))
            return
        except Exception as exc:  # a defect: say so, keep the window
            report_failure(f"listening on {self.url}", exc)
            self._failed(f"cannot listen: {exc}")
            return
        self.listener.on_connection = self._connection_ready
        self._show_state()
        spawn(self._listen(), f"listening on {self.url}")

    def _failed(self, message: str) -> None:
        self.listener_state = "failed"
        self.failure = message
        self._tick()
        self._timer.stop()
        self._show_state()
        self.stateChanged.emit(self.state)
        self.notice.emit(f"{self.title}: {message}")

    async def _listen(self) -> None:
        from inspector.net.listener import ListenError

        try:
            await self.listener.start()
        except ListenError as exc:
            self._failed(str(exc))
            return
        self.url = self.listener.url
        self.endpoint = parse_endpoint(self.url, listen=True)
        self._open_capture()
        self.listener_state = "listening"
        self._show_state()
        self.stateChanged.emit(self.state)

    def _open_capture(self) -> None:
        """The capture file, made once the real port is known (its first session is the
        listener's; the records made before it are written first)."""
        assert self.recorder is not None
        if self.capture_dir is None:
            self.recorder.sink = self._held
            self.store = self._held
            return
        options = {**dataclasses.asdict(self.options), "role": "listener"}
        try:
            store = create_capture(self.capture_dir, self.endpoint, options, self.clock)  # type: ignore[arg-type]
        except CaptureError as exc:
            self.capture_problem = str(exc)
            self.notice.emit(f"{self.title}: {exc}")
            self.recorder.sink = self._held
            self.store = self._held
            return
        store.write_many(self._held.records(0, self._held.count()))
        self.recorder.sink = store
        self.capture_store = store
        self.store = store
        self.capture_path = Path(store.path)

    def _recorder_for(self, number: int, peer: str) -> Recorder:
        """A capture session and Recorder for connection ``number`` (from the engine)."""
        clock = SessionClock()
        sink: CaptureStore | MemoryRecords = MemoryRecords()
        if self.capture_store is not None:
            options = {
                **dataclasses.asdict(self.options),
                "role": "server",
                "conn": number,
                "peer": peer,
            }
            try:
                sink = self.capture_store.add_session(
                    endpoint=self.url,
                    scheme=str(self.endpoint.scheme),
                    options=options,
                    clock=clock,
                )
            except CaptureError as exc:
                self.notice.emit(f"{self.title}: connection {number} kept in memory: {exc}")
        recorder = Recorder(sink, clock=clock, capture_limit=capture_limit(self.settings))
        offset = clock.started_mono_ns - self.clock.started_mono_ns
        entry = ConnEntry(number, peer, sink, clock.started_wall_ns, offset, recorder)
        self._new_entries.append(entry)
        return recorder

    def _connection_ready(self, conn: Any) -> None:
        """Called by the listener: the connection can carry messages."""
        with contextlib.suppress(Exception):
            self._show_state()

    @guarded
    def _export_dialog(self, *_: object) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export certificate", "localhost-cert.pem", "PEM (*.pem *.crt)"
        )
        if path:
            self.export_certificate(Path(path))

    def export_certificate(self, target: Path) -> bool:
        """Write the certificate the listener presents (PEM) to ``target``."""
        tls = self.tls
        if tls is None:
            return False
        try:
            target.write_text(ssl.DER_cert_to_PEM_cert(tls.cert_der), encoding="ascii")
        except OSError as exc:
            self.notice.emit(f"cannot write {target}: {exc.strerror or exc}")
            return False
        self.notice.emit(f"Certificate saved to {target}")
        return True

    def show_read_only(self, counters: Counters) -> None:
        """Show the tab as a capture of a server: nothing listens, nothing is sent."""
        self.read_only = True
        self.listener_state = "stopped"
        self._counters = counters
        self.composer.setToolTip("A capture is read-only: listen again to answer clients")
        self._show_state()

    # -- the timer: drain every recorder ------------------------------------------------

    @guarded
    def _tick(self) -> None:
        changed = bool(self._new_entries)
        if changed:
            entries, self._new_entries = self._new_entries, []
            self.connections.add(entries)
        # This tick's records of every session, put in time order for "All connections".
        arrived: list[tuple[int, int, int | None, Record]] = []
        rec = self.recorder
        if rec is not None:
            arrived += [(r.t_ns, 0, None, r) for r in rec.drain()]
        listener = self.listener
        c_in = c_out = b_in = b_out = 0
        for entry in self.connections.entries:
            recorder = entry.recorder
            if recorder is None:
                continue
            if entry.conn is None and listener is not None:
                entry.conn = listener.connections.get(entry.number)
            if not entry.finished:
                batch = recorder.drain()
                if batch:
                    changed = True
                    offset = entry.start_offset_ns
                    arrived += [(r.t_ns + offset, entry.number, entry.number, r) for r in batch]
                    view = entry.view
                    if view is not None and view.model is not None:
                        view.model.append(batch)
                        view.add_batch(batch)
                if entry.conn is not None and entry.conn.ended:
                    self._finish_entry(entry)
                    changed = True
            c_in += recorder.count_in
            c_out += recorder.count_out
            b_in += recorder.bytes_in
            b_out += recorder.bytes_out
        self._to_all(arrived)
        counters = Counters(c_in, c_out, b_in, b_out)
        if changed or counters != self._counters:
            self.connections.refresh()
        if self.all_records.left_out:
            self.connections.all_note = (
                f"{self.all_records.left_out} records not shown here (each connection "
                "and the capture have them)"
            )
        if counters != self._counters:
            self._counters = counters
            self.countersChanged.emit(counters)
        if changed:
            self._show_state()

    def _to_all(self, arrived: list[tuple[int, int, int | None, Record]]) -> None:
        """Append one tick's records (listener time, order, connection, record) to "All
        connections" in time order."""
        if not arrived:
            return
        arrived.sort(key=lambda item: (item[0], item[1]))
        added: list[Record] = []
        for t_ns, _order, conn, record in arrived:
            added += self.all_records.take([record], conn, t_ns - record.t_ns)
        model = self.all_view.model
        if added and model is not None:
            model.append(added)
            self.all_view.add_batch(added)

    def _finish_entry(self, entry: ConnEntry) -> None:
        """The connection ended: its last records were drained; finish its session."""
        entry.finished = True
        store = entry.store
        if isinstance(store, CaptureStore) and entry.conn is not None:
            try:
                store.finish(str(entry.conn.state), entry.conn.summary())
            except CaptureError as exc:
                self.capture_problem = self.capture_problem or str(exc)

    # -- selecting a connection ---------------------------------------------------------

    @guarded
    def _conn_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self.connections.entry_at(current.row()) if current.isValid() else None
        if entry is None:
            view: RecordsView = self.all_view
        else:
            view = entry.view if entry.view is not None else self._make_view(entry)
        self.views.setCurrentWidget(view)
        self.view = view
        # Save As and Export work on the session shown (the listener's for "All").
        self.store = entry.store if entry is not None else self.capture_store or self._held
        self._show_state()

    def _make_view(self, entry: ConnEntry) -> RecordsView:
        """The records view of one connection, made when it is first shown."""
        view = RecordsView(self.settings)
        view.server_side = True
        view.notice.connect(self.notice)
        self.views.addWidget(view)
        entry.view = view
        source = entry.store if entry.store is not None else MemoryRecords()
        view.show_source(source, entry.started_wall_ns, str(self.endpoint.scheme), follow=True)
        try:
            view.load(source, _HEAD, _TAIL)
        except CaptureError as exc:
            self.notice.emit(f"{self.title}: connection {entry.number}: {exc}")
        return view

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

    @guarded
    def stop(self, *_: object) -> None:
        """Stop listening: every connection closed gracefully, the capture finished."""
        if self._stop_task is None and self.listener is not None:
            self._stop_task = spawn(self._stop(STOP_WAIT), f"stopping {self.url}")

    async def _stop(self, timeout: float) -> None:
        listener = self.listener
        if listener is None:
            return
        if self.listener_state == "listening":
            self.listener_state = "stopping"
            self._show_state()
            self.stateChanged.emit(self.state)
        try:
            await listener.stop(timeout)
        finally:
            if self.listener_state != "failed":
                self.listener_state = "stopped"
            self._finish()
            self._show_state()
            self.stateChanged.emit(self.state)

    def _finish(self) -> None:
        """Last drain, every session's end written, the listener's too."""
        self._tick()
        self._timer.stop()
        if self._finished:
            return
        self._finished = True
        for entry in self.connections.entries:
            if not entry.finished:
                self._finish_entry(entry)
        store = self.capture_store
        if store is not None and self.listener is not None:
            try:
                store.finish(str(self.listener.state), self.listener.summary())
                store.flush()
            except CaptureError as exc:
                self.capture_problem = str(exc)

    async def shutdown(self, timeout: float = STOP_WAIT) -> None:
        """Stop listening gracefully (closing the tab, quitting) and close the capture."""
        if self.listener is not None and self.listener_state in (
            "starting",
            "listening",
            "stopping",
        ):
            if self._stop_task is None:
                self._stop_task = asyncio.ensure_future(self._stop(timeout))
            await asyncio.gather(self._stop_task, return_exceptions=True)
        self._timer.stop()
        stores = [e.store for e in self.connections.entries if isinstance(e.store, CaptureStore)]
        if self.capture_store is not None:
            stores.append(self.capture_store)
        for store in stores:
            with contextlib.suppress(CaptureError):
                store.close()
