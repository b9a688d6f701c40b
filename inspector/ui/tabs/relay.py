"""Sitting between a client and a server in a tab: a relay, its pairs and their records.

The tab owns a :class:`~inspector.net.relaybase.Relay` (made from the Relay… dialog's
:class:`~inspector.ui.relay_dialog.RelaySettings`) and one capture file laid out as
``inspector relay -o`` writes it: the relay's own session first (listening with the
upstream URL, accepted, refused, an end per pair), then one session per client
connection holding both directions. It is built like the server tab (the shared
:class:`~inspector.ui.tabs.hosting.HostingTab`): the pairs list (client, state, both
directions' counts, how it ended, a side that backed up), "All connections", each
pair's records with directions in words (:mod:`inspector.ui.tabs.relay_views`), the
filter and the Timing pane. Disconnect closes the selected pair, Stop relaying every
pair gracefully; an upstream that refuses or fails TLS ends its pair with one line in
the list and the banner.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QPushButton, QSplitter, QWidget

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.core.records import Kind, Record
from inspector.core.rules import Rule
from inspector.net.intercept import Interceptor, MessageKind, Way
from inspector.ui.composer import SendAction
from inspector.ui.guard import guarded, spawn
from inspector.ui.relay_dialog import RelaySettings
from inspector.ui.settings import Settings
from inspector.ui.tabs.base import endpoint_title
from inspector.ui.tabs.connections import ConnectionsModel, ConnEntry
from inspector.ui.tabs.hosting import STOP_WAIT, HostingTab
from inspector.ui.tabs.intercept_panel import InterceptPanel
from inspector.ui.tabs.records_view import RecordsView
from inspector.ui.tabs.relay_views import PairsModel, RelayAllRecordsView, RelayRecordsView

#: The composer's directions: towards the server (as the client would send) or the client.
TO_SERVER, TO_CLIENT = "c2s", "s2c"


class RelayTab(HostingTab):
    """A relay and its pairs (live)."""

    DOING = "relaying"
    COLUMN_WIDTHS = (30, 112, 104, 92, 40, 40, 70, 70, 60)

    def __init__(
        self,
        listen: Endpoint,
        upstream: Endpoint,
        relay: RelaySettings,
        rules: Sequence[Rule],
        settings: Settings,
        capture_dir: Path | None,
        parent: QWidget | None = None,
        *,
        cert_dir: Path | None = None,
    ) -> None:
        options = SessionOptions(
            verify=relay.verify, cafile=relay.cafile, connect_timeout=relay.connect_timeout
        )
        super().__init__(listen, options, settings, capture_dir, parent)
        self.setObjectName("relayTab")
        self.upstream = upstream
        self.relay_settings = relay
        self.rules = list(rules)
        self.cert_dir = cert_dir
        #: The last pair that failed, in one line (upstream refused, TLS failed, …).
        self.last_problem: str | None = None
        self._backed: dict[int, set[str]] = {}
        #: Holds, releases and injects messages; every pair attaches to it.
        self.interceptor = Interceptor()
        self.intercept_panel = InterceptPanel(self.interceptor)
        self._held_counts: dict[int, int] = {}
        # The pairs list beside the intercept queue, above the records.
        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.setObjectName("relayTopSplitter")
        self.top_split.setChildrenCollapsible(False)
        self.split.insertWidget(0, self.top_split)
        self.top_split.addWidget(self.conn_table)
        self.top_split.addWidget(self.intercept_panel)
        self.top_split.setStretchFactor(0, 1)
        self.top_split.setStretchFactor(1, 1)
        self.top_split.setSizes([640, 640])
        self.split.setSizes([180, 580])
        self._timer.timeout.connect(self._refresh_intercept)
        self.intercept_panel.queueChanged.connect(self._held_changed)

        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.setObjectName("disconnectPairButton")
        self.disconnect_button.setToolTip(
            "Close the selected client's connection and its upstream connection gracefully"
        )
        self.disconnect_button.clicked.connect(self.disconnect_selected)
        self.stop_button = QPushButton("Stop relaying")
        self.stop_button.setObjectName("stopRelayingButton")
        self.stop_button.setToolTip(
            "Close every pair gracefully (both sides) and finish the capture"
        )
        self.stop_button.clicked.connect(self.stop)
        self.top_row.addWidget(self.disconnect_button)
        self.top_row.addWidget(self.stop_button)

        self.direction = QComboBox()
        self.direction.setObjectName("injectDirection")
        self.direction.setAccessibleName("Send towards")
        self.direction.addItem("To the server (as if from the client)", TO_SERVER)
        self.direction.addItem("To the client (as if from the server)", TO_CLIENT)
        self.direction.currentIndexChanged.connect(self._show_state)
        self.composer.sendRequested.connect(self._send)
        self.send_row.addWidget(self.direction)
        self.send_row.addStretch(1)
        self._select_conn_row(0)

    # -- what HostingTab asks -----------------------------------------------------------

    def make_all_view(self) -> RecordsView:
        return RelayAllRecordsView(self.settings)

    def make_conn_view(self) -> RecordsView:
        return RelayRecordsView(self.settings)

    def make_connections_model(self) -> ConnectionsModel:
        return PairsModel(self)

    @property
    def pairs_model(self) -> PairsModel:
        model = self.connections
        assert isinstance(model, PairsModel)
        return model

    def role_options(self, role: str, **more: Any) -> dict[str, Any]:
        return super().role_options(role, upstream=self.upstream.url, **more)

    def create_engine(self) -> Any:
        from inspector.net.relay import RelayConfig, create_relay

        assert self.recorder is not None
        s = self.relay_settings
        tls = None
        if self.endpoint.secure:
            from inspector.net.certs import server_tls

            alpn = ["http/1.1"] if self.endpoint.is_websocket else None
            tls = server_tls(s.cert_file, s.key_file, directory=self.cert_dir, alpn=alpn)
            self.tls = tls
        rules = None
        if self.rules:
            from inspector.core.rules import RuleEngine
            from inspector.net.relayrules import RelayRules

            on = s.rules_on
            directions = frozenset({"c2s", "s2c"} if on == "both" else {on})
            rules = RelayRules(RuleEngine(self.rules), directions)
        config = RelayConfig(
            self.endpoint,
            self.upstream,
            self.options,
            tls=tls,
            origin=s.origin,
            c2s=s.c2s,
            s2c=s.s2c,
            max_connections=s.max_connections,
            rules=rules,
            intercept=self.interceptor,
        )
        relay = create_relay(config, self.recorder, self._recorder_for)
        relay.on_pair = self._connection_ready
        relay.on_pair_end = self._pair_ended
        return relay

    def engine_conn(self, number: int) -> Any:
        return self.listener.pairs.get(number)

    # -- what the window asks ---------------------------------------------------------

    @property
    def title(self) -> str:
        title = f"Relay {endpoint_title(self.endpoint)} → {self.upstream.netloc}"
        if self.read_only:
            return f"{title} (capture)"
        held = self.intercept_panel.held_count
        return f"{title} · {held} held" if held else title

    @property
    def relay(self) -> Any:
        """The net Relay (None before the tab starts)."""
        return self.listener

    def state_text(self) -> str:
        where, up = self.url, self.upstream.url
        if self.read_only:
            return f"Capture of a relay {where} → {up} — read-only"
        return {
            "starting": f"Starting to relay {where} → {up} …",
            "listening": f"Relaying {where} → {up}",
            "stopping": f"Stopping the relay {where} …",
            "stopped": f"Stopped relaying {where} → {up}",
            "failed": f"Cannot relay on {where}",
        }[self.listener_state]

    def banner_details(self) -> str:
        text = super().banner_details()
        faults = []
        for name, f in (("client → server", self.relay_settings.c2s),
                        ("server → client", self.relay_settings.s2c)):  # fmt: skip
            if f.active:
                faults.append(f"{name}: {f.describe()}")
        if faults:
            text += "\nFaults " + "; ".join(faults)
        if self.last_problem:
            text += f"\nLast problem: {self.last_problem}"
        return text

    def update_controls(self, running: bool, entry: ConnEntry | None) -> None:
        pair = entry.conn if entry is not None else None
        self.composer.set_sendable(running and self._injectable(pair))
        self.direction.setEnabled(not self.read_only)
        self.intercept_panel.setEnabled(not self.read_only)
        self.disconnect_button.setEnabled(running and pair is not None and not pair.ended)
        self.stop_button.setEnabled(
            self.listener_state in ("starting", "listening") and not self.read_only
        )

    # -- pairs --------------------------------------------------------------------------

    def observe(self, entry: ConnEntry, batch: list[Record]) -> None:
        """Follow a side that backs up (the relay's INFO records say when and which)."""
        backed = self._backed.setdefault(entry.number, set())
        before = set(backed)
        for record in batch:
            if record.kind is Kind.INFO and "backed_up" in record.fields:
                leg = str(record.fields.get("leg", "?"))
                if record.fields["backed_up"]:
                    backed.add(leg)
                else:
                    backed.discard(leg)
        if backed != before:
            self._note(entry.number)

    def _note(self, number: int) -> None:
        backed = self._backed.get(number, set())
        words = [
            f"backed up (the {'server' if leg == 'upstream' else leg} reads slowly)"
            for leg in sorted(backed)
        ]
        held = self.intercept_panel.held_by_conn().get(number)
        if held:
            words.insert(0, f"{held} held")
        notes = self.pairs_model.notes
        if words:
            notes[number] = "; ".join(words)
        else:
            notes.pop(number, None)

    def backed_up(self, number: int) -> bool:
        """True while a side of pair ``number`` reads too slowly (its other side waits)."""
        return bool(self._backed.get(number))

    @guarded
    def _pair_ended(self, pair: Any) -> None:
        """Called by the relay: a pair ended; a failure becomes the banner's last problem."""
        self._backed.pop(pair.number, None)
        self._note(pair.number)
        if pair.failure:
            self.last_problem = f"connection {pair.number} ({pair.peer}): {pair.failure}"
            self.notice.emit(f"{self.title}: {self.last_problem}")

    @guarded
    def disconnect_selected(self, *_: object) -> None:
        """Close the selected pair gracefully (both legs)."""
        entry = self.selected_entry()
        if entry is None or entry.conn is None or entry.conn.ended:
            return
        pair = entry.conn
        spawn(pair.close(STOP_WAIT), f"closing pair {pair.number}")

    # -- intercept and inject -------------------------------------------------------------

    @guarded
    def _refresh_intercept(self) -> None:
        """The timer's look at the queue (the panel says when it changed)."""
        self.intercept_panel.refresh()

    @guarded
    def _held_changed(self) -> None:
        """The queue changed: the held counts per pair and in the tab's title."""
        counts = self.intercept_panel.held_by_conn()
        if counts == self._held_counts:
            return
        for number in set(counts) | set(self._held_counts):
            self._note(number)
        self._held_counts = counts
        self.connections.refresh()
        self.stateChanged.emit(self.state)  # the window shows the new title

    def _finish(self) -> None:
        super()._finish()
        self._refresh_intercept()

    def _inject_target(self) -> int | None:
        """The pair the composer sends into: the selected one, or the only open one."""
        entry = self.selected_entry()
        if entry is not None:
            return entry.number
        open_pairs = self.interceptor.connections()
        return open_pairs[0] if len(open_pairs) == 1 else None

    def _injectable(self, pair: Any) -> bool:
        """True when a message can be sent into the selected pair (or the only one)."""
        if pair is not None:
            return not pair.ended and bool(getattr(pair, "is_open", False))
        return len(self.interceptor.connections()) == 1

    def _message_kind(self, action: SendAction) -> MessageKind:
        """What the composer's message is on this relay; ValueError (one line) otherwise."""
        if self.endpoint.is_websocket:
            if action.action in ("text", "binary"):
                return MessageKind(action.action)
            raise ValueError(
                f"the relay injects text or binary messages, not {action.action} frames"
            )
        if action.action not in ("text", "binary", "data"):
            raise ValueError(f"a {self.endpoint.scheme} relay injects data, not {action.action}")
        return MessageKind.DATAGRAM if self.endpoint.is_datagram else MessageKind.DATA

    @guarded
    def _send(self, action: SendAction) -> None:
        """Inject the composed message into the chosen pair, the chosen way."""
        number = self._inject_target()
        if number is None:
            self.composer.show_error("select the connection to send into")
            return
        way = Way(self.direction.currentData())
        try:
            kind = self._message_kind(action)
            self.interceptor.inject(number, way, action.payload, kind)
        except (InspectorError, ValueError) as exc:
            problem = " ".join(str(exc).split()) or type(exc).__name__
            self.composer.show_error(problem)
            self.notice.emit(f"{self.title}: {problem}")

    async def shutdown(self, timeout: float = STOP_WAIT) -> None:
        await super().shutdown(timeout)
        self.intercept_panel.detach()
