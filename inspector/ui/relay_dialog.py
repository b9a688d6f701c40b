"""Relay… in the window: where clients connect, the server they are relayed to, and how.

:class:`RelaySettings` is what the dialog edits (and what the next Relay… starts
with, kept with the settings as JSON; the rules as the TOML text of
``inspector relay --rules``): the two URLs, the network faults of each direction, the
upstream's certificate checks and Origin, the certificate shown to clients on tls://
and wss://, and which direction the rules see. :func:`check_settings` turns it into
the two endpoints or one line saying why it cannot work — the same checks as the
command line. The relay tab (:mod:`inspector.ui.tabs.relay`) builds the
``RelayConfig`` from it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import InspectorError
from inspector.core.rulefile import dump_rules, parse_rules
from inspector.core.rules import Rule, RuleError
from inspector.net.relaybase import check_pairing
from inspector.net.relayfaults import CutMode, Faults
from inspector.ui import theme
from inspector.ui.guard import guarded
from inspector.ui.rules_dialog import RulesDialog
from inspector.ui.settings import Settings
from inspector.ui.widgets.formparts import CheckedDialog

_SETTINGS_KEY = "relay/settings"
_RULES_KEY = "relay/rules"
_EVERYWHERE = ("0.0.0.0", "::", "")
#: The listen URL offered for each family of upstream scheme.
_DEFAULT_LISTEN = {
    "ws": "ws://127.0.0.1:0/",
    "tcp": "tcp://127.0.0.1:0",
    "udp": "udp://127.0.0.1:0",
}
_RULES_ON = {"c2s": "client → server", "s2c": "server → client", "both": "both directions"}


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """One relay as asked for in the window (URLs as typed)."""

    listen: str = "ws://127.0.0.1:0/"
    upstream: str = ""
    c2s: Faults = field(default_factory=Faults)
    s2c: Faults = field(default_factory=Faults)
    verify: bool = True
    cafile: str | None = None
    connect_timeout: float = 10.0
    origin: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    rules_on: str = "c2s"
    max_connections: int | None = None

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        for side in ("c2s", "s2c"):
            data[side]["cut_mode"] = str(data[side]["cut_mode"])
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RelaySettings:
        """Settings stored by :meth:`to_json`; a value of the wrong type is left at its
        default, and anything unreadable gives the defaults."""
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        values: dict[str, Any] = {}
        for name, kind in _SETTING_TYPES.items():
            value = data.get(name)
            if _fits(value, kind):
                values[name] = value
        if values.get("rules_on") not in _RULES_ON:
            values.pop("rules_on", None)
        for side in ("c2s", "s2c"):
            faults = data.get(side)
            if isinstance(faults, dict):
                kept = {k: v for k, v in faults.items() if k in _FAULT_NUMBERS}
                kept = {k: v for k, v in kept.items() if _fits(v, _FAULT_NUMBERS[k])}
                mode = faults.get("cut_mode")
                kept["cut_mode"] = CutMode(mode) if mode in ("reset", "close") else CutMode.RESET
                values[side] = Faults(**kept)
        return cls(**values)


#: What each stored setting must be (a number is never a bool, and never negative).
_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "listen": (str,), "upstream": (str,), "verify": (bool,), "cafile": (str, type(None)),
    "connect_timeout": (float, int), "origin": (str, type(None)),
    "cert_file": (str, type(None)), "key_file": (str, type(None)), "rules_on": (str,),
    "max_connections": (int, type(None)),
}  # fmt: skip
_FAULT_NUMBERS: dict[str, tuple[type, ...]] = {
    "delay_ms": (float, int), "jitter_ms": (float, int), "loss": (float, int),
    "rate_kbps": (float, int, type(None)), "cut_after_bytes": (int, type(None)),
    "cut_after_messages": (int, type(None)),
}  # fmt: skip


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in kinds:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return False
    return isinstance(value, kinds)


def stored_settings(settings: Settings) -> RelaySettings:
    return RelaySettings.from_json(str(settings.qsettings.value(_SETTINGS_KEY, "") or ""))


def store_settings(settings: Settings, relay: RelaySettings) -> None:
    settings.qsettings.setValue(_SETTINGS_KEY, relay.to_json())


def stored_relay_rules(settings: Settings) -> list[Rule]:
    """The relay's rules kept with the settings (none when missing or unreadable)."""
    text = str(settings.qsettings.value(_RULES_KEY, "") or "")
    if not text.strip():
        return []
    try:
        return parse_rules(text, "stored relay rules")
    except RuleError:
        return []


def store_relay_rules(settings: Settings, rules: list[Rule]) -> None:
    settings.qsettings.setValue(_RULES_KEY, dump_rules(rules))


def family(endpoint: Endpoint) -> str:
    """ws, tcp or udp: the schemes that relay to each other."""
    return "udp" if endpoint.is_datagram else "ws" if endpoint.is_websocket else "tcp"


def reach_text(host: str) -> str:
    """Who can connect to a relay bound to ``host``, in plain words."""
    if host in _EVERYWHERE:
        return "⚠ every interface: other machines on your network can connect through the relay"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return "loopback only: only programs on this machine can connect"
    return f"⚠ {host}: machines that can reach this address can connect through the relay"


def check_settings(relay: RelaySettings, rules: list[Rule]) -> tuple[Endpoint, Endpoint]:
    """The listen and upstream endpoints; InspectorError or ValueError with one line
    when the relay cannot work as asked (the command line's checks)."""
    listen = parse_endpoint(relay.listen, listen=True)
    if not relay.upstream.strip():
        raise ValueError("give the upstream server's URL (where clients are relayed to)")
    upstream = parse_endpoint(relay.upstream)
    check_pairing(listen, upstream)
    messages = listen.is_datagram or listen.is_websocket
    for name, faults in (("client → server", relay.c2s), ("server → client", relay.s2c)):
        if (faults.loss or faults.cut_after_messages is not None) and not messages:
            raise ValueError(
                f"{name}: loss and a cut after messages count messages: they are for "
                "ws/wss and udp relays"
            )
        if faults.cut_after_bytes is not None and listen.is_datagram:
            raise ValueError(f"{name}: udp has no byte stream: cut after messages instead")
        if faults.loss > 100:
            raise ValueError(f"{name}: loss is a percentage (0-100)")
    if (relay.cert_file is None) != (relay.key_file is None):
        raise ValueError("give both a certificate and its key, or neither")
    if relay.origin is not None and not listen.is_websocket:
        raise ValueError("Origin is for ws:// and wss:// relays")
    return listen, upstream


class _FaultColumn:
    """The fault fields of one direction (a column of the dialog's grid)."""

    def __init__(self, grid: QGridLayout, column: int, name: str, faults: Faults) -> None:
        def spin(row: int, maximum: float, suffix: str, value: float, special: str) -> Any:
            box = QDoubleSpinBox()
            box.setObjectName(f"{name}{row}")
            box.setRange(0, maximum)
            box.setDecimals(0 if suffix in (" ms", " bytes", " messages") else 1)
            box.setSuffix(suffix)
            box.setSpecialValueText(special)
            box.setValue(value)
            grid.addWidget(box, row, column)
            return box

        self.delay = spin(1, 600_000, " ms", faults.delay_ms, "none")
        self.jitter = spin(2, 600_000, " ms", faults.jitter_ms, "none")
        self.loss = spin(3, 100, " %", faults.loss, "none")
        self.rate = spin(4, 10_000_000, " kbit/s", faults.rate_kbps or 0, "unlimited")
        self.cut_bytes = spin(5, 1e12, " bytes", faults.cut_after_bytes or 0, "never")
        self.cut_messages = spin(6, 1e9, " messages", faults.cut_after_messages or 0, "never")

    def faults(self, mode: CutMode) -> Faults:
        """The faults asked for (a field this pair of schemes cannot use counts as none)."""

        def value(box: QDoubleSpinBox) -> float:
            return box.value() if box.isEnabled() else 0.0

        return Faults(
            delay_ms=value(self.delay),
            jitter_ms=value(self.jitter),
            loss=value(self.loss),
            rate_kbps=value(self.rate) or None,
            cut_after_bytes=int(value(self.cut_bytes)) or None,
            cut_after_messages=int(value(self.cut_messages)) or None,
            cut_mode=mode,
        )

    def set_enabled(self, datagram: bool, messages: bool) -> None:
        self.loss.setEnabled(messages)
        self.cut_messages.setEnabled(messages)
        self.cut_bytes.setEnabled(not datagram)


class RelayDialog(CheckedDialog):
    """Relay…: a listen URL, an upstream URL, faults per direction, TLS, rules."""

    def __init__(
        self, relay: RelaySettings, rules: list[Rule], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("relayDialog")
        self.setWindowTitle("Relay between a client and a server")
        self.setMinimumWidth(560)
        self._rules = list(rules)
        self._listen_edited = False
        layout = QVBoxLayout(self)

        where = QFormLayout()
        self.upstream = QLineEdit(relay.upstream)
        self.upstream.setObjectName("relayUpstream")
        self.upstream.setAccessibleName("Upstream URL")
        self.upstream.setPlaceholderText("wss://api.example.com/socket  (the real server)")
        self.listen = QLineEdit(relay.listen)
        self.listen.setObjectName("relayListen")
        self.listen.setAccessibleName("Listen URL")
        self.listen.setPlaceholderText("ws://127.0.0.1:0/  (port 0 picks a free port)")
        self.reach = QLabel()
        self.reach.setObjectName("relayReach")
        self.reach.setWordWrap(True)
        where.addRow("Server (upstream)", self.upstream)
        where.addRow("Clients connect to", self.listen)
        where.addRow("", self.reach)
        layout.addLayout(where)

        faults_box = QGroupBox("Bad network on purpose")
        faults_layout = QVBoxLayout(faults_box)
        grid = QGridLayout()
        faults_layout.addLayout(grid)
        grid.addWidget(QLabel("<b>client → server</b>"), 0, 1)
        grid.addWidget(QLabel("<b>server → client</b>"), 0, 2)
        for row, label in enumerate(
            ("Delay", "Jitter (±)", "Loss", "Rate", "Cut after bytes", "Cut after messages"),
            start=1,
        ):
            grid.addWidget(QLabel(label), row, 0)
        self.c2s = _FaultColumn(grid, 1, "relayC2s", relay.c2s)
        self.s2c = _FaultColumn(grid, 2, "relayS2c", relay.s2c)
        self.cut_mode = QComboBox()
        self.cut_mode.setObjectName("relayCutMode")
        self.cut_mode.addItem("A cut resets both sides (RST)", CutMode.RESET)
        self.cut_mode.addItem("A cut closes both sides (FIN)", CutMode.CLOSE)
        self.cut_mode.setCurrentIndex(0 if relay.c2s.cut_mode is CutMode.RESET else 1)
        grid.addWidget(self.cut_mode, 7, 1, 1, 2)
        self.faults_note = QLabel(
            "Loss and a cut after messages count WebSocket messages and UDP datagrams; "
            "every effect is shown in the records."
        )
        self.faults_note.setWordWrap(True)
        faults_layout.addWidget(self.faults_note)
        layout.addWidget(faults_box)

        upstream_box = QGroupBox("Towards the server")
        up_form = QFormLayout(upstream_box)
        self.verify = QCheckBox("Verify the server's certificate (tls://, wss://)")
        self.verify.setObjectName("relayVerify")
        self.verify.setChecked(relay.verify)
        up_form.addRow("Certificate", self.verify)
        self.cafile = self._file_row(up_form, "Trust this CA", relay.cafile, "system trust")
        self.timeout = QDoubleSpinBox()
        self.timeout.setObjectName("relayConnectTimeout")
        self.timeout.setRange(0.1, 600)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(relay.connect_timeout)
        up_form.addRow("Connect time limit", self.timeout)
        self.origin = QLineEdit(relay.origin or "")
        self.origin.setObjectName("relayOrigin")
        self.origin.setPlaceholderText("the client's own (Host is always the server's)")
        up_form.addRow("Origin (WebSocket)", self.origin)
        layout.addWidget(upstream_box)

        client_box = QGroupBox("Towards the clients (tls://, wss://)")
        client_form = QFormLayout(client_box)
        self.cert_file = self._file_row(
            client_form, "Certificate", relay.cert_file, "made for localhost"
        )
        self.key_file = self._file_row(client_form, "Key", relay.key_file, "made for localhost")
        self.max_connections = QSpinBox()
        self.max_connections.setObjectName("relayMaxConnections")
        self.max_connections.setRange(0, 100_000)
        self.max_connections.setSpecialValueText("no limit")
        self.max_connections.setValue(relay.max_connections or 0)
        client_form.addRow("Max connections", self.max_connections)
        layout.addWidget(client_box)

        rules_row = QHBoxLayout()
        self.rules_button = QPushButton("Rules…")
        self.rules_button.setObjectName("relayRulesButton")
        self.rules_button.setToolTip(
            "Answer matching messages from the relay instead of forwarding them "
            "(the listen rules, on the direction chosen beside)"
        )
        self.rules_button.clicked.connect(self.edit_rules)
        self.rules_label = QLabel()
        self.rules_label.setObjectName("relayRulesLabel")
        self.rules_on = QComboBox()
        self.rules_on.setObjectName("relayRulesOn")
        for value, label in _RULES_ON.items():
            self.rules_on.addItem(f"on {label}", value)
        self.rules_on.setCurrentIndex(max(0, list(_RULES_ON).index(relay.rules_on)))
        rules_row.addWidget(self.rules_button)
        rules_row.addWidget(self.rules_label, 1)
        rules_row.addWidget(self.rules_on)
        layout.addLayout(rules_row)

        self.add_error_and_buttons(layout, "relayError", "Relay")

        self.listen.textEdited.connect(self._listen_typed)
        self.listen.textChanged.connect(self._follow)
        self.upstream.textChanged.connect(self._upstream_changed)
        self._show_rules()
        self._follow()

    def _file_row(
        self, form: QFormLayout, label: str, value: str | None, placeholder: str
    ) -> QLineEdit:
        row = QHBoxLayout()
        edit = QLineEdit(value or "")
        edit.setPlaceholderText(placeholder)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit, label))
        row.addWidget(edit, 1)
        row.addWidget(browse)
        form.addRow(label, row)
        return edit

    @guarded
    def _browse(self, edit: QLineEdit, label: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"{label} (PEM)")
        if path:
            edit.setText(path)

    # -- following what is typed -----------------------------------------------------------

    def _listen_typed(self, *_: object) -> None:
        self._listen_edited = True

    @guarded
    def _upstream_changed(self, *_: object) -> None:
        """An upstream of another family: offer the matching listen URL (until the user
        types one of their own)."""
        try:
            upstream = parse_endpoint(self.upstream.text())
        except InspectorError:
            return
        wanted = _DEFAULT_LISTEN[family(upstream)]
        if not self._listen_edited and self.listen.text() != wanted:
            self.listen.setText(wanted)
        self._follow()

    @guarded
    def _follow(self, *_: object) -> None:
        """Say who can connect, and enable the fields this pair of schemes uses."""
        self.error.hide()
        try:
            listen = parse_endpoint(self.listen.text(), listen=True)
        except InspectorError as exc:
            self.reach.setText(str(exc))
            return
        reach = reach_text(listen.host)
        self.reach.setText(reach)
        warn = theme.error_text(theme.is_dark(self)).name() if reach.startswith("⚠") else ""
        self.reach.setStyleSheet(f"color: {warn};" if warn else "")
        datagram, ws = listen.is_datagram, listen.is_websocket
        for column in (self.c2s, self.s2c):
            column.set_enabled(datagram, datagram or ws)
        self.origin.setEnabled(ws)
        for edit in (self.cert_file, self.key_file):
            edit.setEnabled(listen.secure)
        self._show_rules()

    def _show_rules(self) -> None:
        count = len(self._rules)
        text = "no rules" if not count else f"{count} rule{'s' if count != 1 else ''}"
        self.rules_label.setText(text)

    @guarded
    def edit_rules(self, *_: object) -> None:
        """The rules the relay answers with (the listen rules; loaded and saved as the
        file ``inspector relay --rules`` reads)."""
        dialog = RulesDialog(self._rules, self)
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self._rules = dialog.rules()
                self._show_rules()
        finally:
            dialog.deleteLater()

    # -- the result ---------------------------------------------------------------------

    def set_rules(self, rules: list[Rule]) -> None:
        self._rules = list(rules)
        self._show_rules()

    def rules(self) -> list[Rule]:
        """The rules as edited."""
        return list(self._rules)

    def settings(self) -> RelaySettings:
        """What the fields say (not checked: :func:`check_settings` does that)."""
        mode = CutMode(self.cut_mode.currentData())
        cert = self.cert_file.text().strip() or None
        key = self.key_file.text().strip() or None
        origin = self.origin.text().strip() or None
        return RelaySettings(
            listen=self.listen.text().strip(),
            upstream=self.upstream.text().strip(),
            c2s=self.c2s.faults(mode),
            s2c=self.s2c.faults(mode),
            verify=self.verify.isChecked(),
            cafile=self.cafile.text().strip() or None,
            connect_timeout=self.timeout.value(),
            origin=origin if self.origin.isEnabled() else None,
            cert_file=cert if self.cert_file.isEnabled() else None,
            key_file=key if self.key_file.isEnabled() else None,
            rules_on=str(self.rules_on.currentData()),
            max_connections=self.max_connections.value() or None,
        )

    def choice(self) -> tuple[Endpoint, Endpoint]:
        """The two endpoints; InspectorError or ValueError with one line."""
        return check_settings(self.settings(), self.rules())

    def check(self) -> None:
        self.choice()
