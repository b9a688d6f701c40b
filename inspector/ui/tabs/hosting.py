"""What the server and relay tabs share: an engine that accepts connections, their list,
their records, one capture file, and stopping.

A :class:`HostingTab` owns one engine that binds and accepts — a
:class:`~inspector.net.listener.Listener` (the server tab) or a
:class:`~inspector.net.relaybase.Relay` (the relay tab) — and one capture file: its
first session is the engine's own (listening, accepted, refused, the end), then one
session per connection, as ``inspector listen -o`` and ``inspector relay -o`` write
it. Beside the records view a list shows every connection; selecting one shows its
records in the same panes as a client session, "All connections" interleaves every
record with a connection column. One timer drains every Recorder (no Qt signal per
record). Subclasses make the engine, name its states and add their own controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QWidget,
)

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import CaptureError, InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Record
from inspector.ui import theme
from inspector.ui.bridge import FLUSH_INTERVAL_MS, Counters
from inspector.ui.capture_files import create_capture
from inspector.ui.composer import Composer
from inspector.ui.guard import guarded, report_failure, spawn
from inspector.ui.models.source import MemoryRecords, RecordSource
from inspector.ui.preferences import capture_limit
from inspector.ui.settings import Settings
from inspector.ui.status import state_colour
from inspector.ui.tabs.base import RecordsTab
from inspector.ui.tabs.connections import (
    AllRecords,
    AllRecordsView,
    ConnectionsModel,
    ConnEntry,
    connections_table,
)
from inspector.ui.tabs.records_view import RecordsView

#: Seconds a graceful stop may take before connections are dropped.
STOP_WAIT = 3.0
#: Rows of a connection's records read back for its panes when its view is first shown.
_HEAD, _TAIL = 64, 2000
_EVERYWHERE = ("0.0.0.0", "::", "")
#: The window's state words for an engine's states (icon, colours, status bar).
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


class HostingTab(RecordsTab):
    """An engine that accepts connections (live), or its capture (read-only)."""

    #: The list's column widths (the last one stretches).
    COLUMN_WIDTHS: tuple[int, ...] = (36, 130, 90, 90, 60, 60, 70, 70, 220)
    #: What the engine is called in messages ("listening on", "relaying").
    DOING = "listening on"

    def __init__(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        settings: Settings,
        capture_dir: Path | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(endpoint, options, settings, parent)
        self.capture_dir = capture_dir
        self.read_only = False
        #: The engine: a Listener (server tab) or a Relay (relay tab).
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
        self.all_view = self.install_view(self.make_all_view())
        self.views.removeWidget(plain)
        plain.deleteLater()

        self.connections = self.make_connections_model()
        self.conn_table = connections_table(self.connections, self.COLUMN_WIDTHS)
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

        self.cert_button = QPushButton("Export certificate…")
        self.cert_button.setObjectName("serverCertButton")
        self.cert_button.setToolTip(
            "Save the certificate this tab presents to clients (PEM), to tell a client, "
            "browser or OS to trust it"
        )
        self.cert_button.clicked.connect(self._export_dialog)
        self.cert_button.hide()
        self.top_row.addWidget(self.cert_button)

        # The send row: subclasses add their target choice after the label.
        self.composer = Composer(endpoint, settings)
        self.send_row = QHBoxLayout()
        self.send_row.setContentsMargins(4, 0, 4, 0)
        self.send_row.addWidget(QLabel("Send:"))
        self.main_layout.addLayout(self.send_row)
        self.main_layout.addWidget(self.composer)

        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self.all_view.show_source(
            self.all_records, self.clock.started_wall_ns, str(endpoint.scheme), follow=True
        )

    # -- what subclasses make -----------------------------------------------------------

    def make_all_view(self) -> RecordsView:
        """The "All connections" records view (with the connection column)."""
        view = AllRecordsView(self.settings)
        view.server_side = True
        return view

    def make_conn_view(self) -> RecordsView:
        """A records view for one connection's records."""
        view = RecordsView(self.settings)
        view.server_side = True
        return view

    def make_connections_model(self) -> ConnectionsModel:
        return ConnectionsModel(self)

    def create_engine(self) -> Any:
        """The engine this tab runs (InspectorError with one line when it cannot)."""
        raise NotImplementedError

    def engine_conn(self, number: int) -> Any:
        """The engine's connection ``number`` (None until it exists)."""
        raise NotImplementedError

    def state_text(self) -> str:
        """The banner's first words for the engine's state."""
        raise NotImplementedError

    def role_options(self, role: str, **more: Any) -> dict[str, Any]:
        """The options stored with a session of this tab's capture."""
        return {**dataclasses.asdict(self.options), "role": role, **more}

    def update_controls(self, running: bool, entry: ConnEntry | None) -> None:
        """Enable what can be used now (after every state change)."""

    def observe(self, entry: ConnEntry, batch: list[Record]) -> None:
        """A connection's new records (a tick's batch): subclasses watch for marks."""

    # -- what the window asks ---------------------------------------------------------

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

    def _records_of(self, number: int | None) -> RecordSource | None:
        """Where "All connections" reads connection ``number``'s records (None: the
        listener's or relay's own): its capture session, or memory without a capture."""
        if number is None:
            return self.capture_store or self._held
        entry = self.entry(number)
        return entry.store if entry is not None else None

    def entry(self, number: int) -> ConnEntry | None:
        return next((e for e in self.connections.entries if e.number == number), None)

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

    def live_connections(self) -> int:
        return sum(1 for e in self.connections.entries if e.conn is not None and not e.conn.ended)

    # -- the banner ---------------------------------------------------------------------

    def _show_state(self, *_: object) -> None:
        state = self.listener_state
        text = self.state_text()
        if self.failure:
            text += f" — {self.failure}"
        if state != "failed":
            text += (
                "  ·  ⚠ on every interface: other machines can connect"
                if everywhere(self.endpoint)
                else "  ·  loopback only"
            )
        text += self.banner_details()
        if self.capture_problem:
            text += f"\nNot recorded to a file: {self.capture_problem}"
        elif self.capture_path is not None:
            text += f"  ·  capture: {self.capture_path.name}"
        self.banner.setText(text)
        colour = state_colour(self.state, theme.is_dark(self))
        self.banner.setStyleSheet(f"QLabel#sessionBanner {{ color: {colour.name()}; }}")
        running = state == "listening" and not self.read_only
        self.composer.setEnabled(not self.read_only)
        self.update_controls(running, self.selected_entry())

    def banner_details(self) -> str:
        """What the banner says after the address: the certificate, the counts."""
        text = ""
        if self.tls is not None:
            made = " (made for localhost)" if self.tls.self_signed else ""
            text += f"\nCertificate SHA-256 {self.tls.fingerprint}{made}"
            self.cert_button.show()
        accepted = len(self.connections.entries)
        return text + f"  ·  {self.live_connections()} open, {accepted} accepted"

    @guarded
    def _export_dialog(self, *_: object) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export certificate", "localhost-cert.pem", "PEM (*.pem *.crt)"
        )
        if path:
            self.export_certificate(Path(path))

    def export_certificate(self, target: Path) -> bool:
        """Write the certificate the engine presents to clients (PEM) to ``target``."""
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

    # -- starting -----------------------------------------------------------------------

    def start(self) -> None:
        if self.read_only:
            return
        self.recorder = Recorder(
            self._held, clock=self.clock, capture_limit=capture_limit(self.settings)
        )
        self._timer.start()
        try:
            self.listener = self.create_engine()
        except InspectorError as exc:  # a certificate, a rule, a scheme: one line
            self._failed(str(exc))
            return
        except Exception as exc:  # a defect: say so, keep the window
            report_failure(f"{self.DOING} {self.url}", exc)
            self._failed(f"cannot start: {exc}")
            return
        self._show_state()
        spawn(self._listen(), f"{self.DOING} {self.url}")

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
        engine's; the records made before it are written first)."""
        assert self.recorder is not None
        if self.capture_dir is None:
            self.recorder.sink = self._held
            self.store = self._held
            return
        options = self.role_options("listener")
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
            options = self.role_options("server", conn=number, peer=peer)
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
        """Called by the engine: the connection can carry messages."""
        with contextlib.suppress(Exception):
            self._show_state()

    def show_read_only(self, counters: Counters) -> None:
        """Show the tab as a capture: nothing listens, nothing is sent."""
        self.read_only = True
        self.listener_state = "stopped"
        self._counters = counters
        self.composer.setToolTip("A capture is read-only: start again to send")
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
        engine = self.listener
        c_in = c_out = b_in = b_out = 0
        for entry in self.connections.entries:
            recorder = entry.recorder
            if recorder is None:
                continue
            if entry.conn is None and engine is not None:
                entry.conn = self.engine_conn(entry.number)
            if not entry.finished:
                batch = recorder.drain()
                if batch:
                    changed = True
                    self.observe(entry, batch)
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
        if counters != self._counters:
            self._counters = counters
            self.countersChanged.emit(counters)
        if changed:
            self._show_state()

    def _to_all(self, arrived: list[tuple[int, int, int | None, Record]]) -> None:
        """Append one tick's records (engine time, order, connection, record) to "All
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
        # Save As and Export work on the session shown (the engine's for "All").
        self.store = entry.store if entry is not None else self.capture_store or self._held
        self._show_state()

    def _make_view(self, entry: ConnEntry) -> RecordsView:
        """The records view of one connection, made when it is first shown."""
        view = self.make_conn_view()
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

    # -- stopping -----------------------------------------------------------------------

    @guarded
    def stop(self, *_: object) -> None:
        """Stop: every connection closed gracefully, the capture finished."""
        if self._stop_task is None and self.listener is not None:
            self._stop_task = spawn(self._stop(STOP_WAIT), f"stopping {self.url}")

    async def _stop(self, timeout: float) -> None:
        engine = self.listener
        if engine is None:
            return
        if self.listener_state == "listening":
            self.listener_state = "stopping"
            self._show_state()
            self.stateChanged.emit(self.state)
        try:
            await engine.stop(timeout)
        finally:
            if self.listener_state != "failed":
                self.listener_state = "stopped"
            self._finish()
            self._show_state()
            self.stateChanged.emit(self.state)

    def _finish(self) -> None:
        """Last drain, every session's end written, the engine's too."""
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
        """Stop gracefully (closing the tab, quitting) and close the capture."""
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
