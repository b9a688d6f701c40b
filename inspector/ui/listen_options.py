"""What a listener starts with in the window: server options, TLS files and rules,
kept with the settings (the rules as the same TOML text ``inspector listen --rules``
reads), and the dialog that edits the options.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core import options as core_options
from inspector.core.errors import InspectorError
from inspector.core.options import DEFAULT_MAX_SIZE, Framing, SessionOptions
from inspector.core.rulefile import dump_rules, parse_rules
from inspector.core.rules import Rule, RuleError
from inspector.protocols.wshandshake import deflate_params
from inspector.ui.guard import guarded
from inspector.ui.settings import Settings
from inspector.ui.widgets.formparts import (
    CheckedDialog,
    check_box,
    file_row,
    framing_group,
    headers_text,
    number_box,
    parse_headers,
    size_box,
    size_value,
    text_line,
)

_OPTIONS_KEY = "listen/options"
_RULES_KEY = "listen/rules"


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """How the window listens: WebSocket server options, framing, TLS files, limits."""

    subprotocols: tuple[str, ...] = ()
    compression: bool = True
    max_size: int | None = DEFAULT_MAX_SIZE
    auto_pong: bool = True
    framing: Framing = Framing.RAW
    cert_file: str | None = None
    key_file: str | None = None
    max_connections: int | None = None
    #: WebSocket: accept an upgrade to any path (False: only the listening URL's path).
    any_path: bool = True
    #: WebSocket: refuse every upgrade with this HTTP status (None: accept), these
    #: headers and this body.
    refuse_status: int | None = None
    refuse_body: str = ""
    refuse_headers: tuple[tuple[str, str], ...] = ()
    #: WebSocket: refuse (400) a client that offers none of ``subprotocols``.
    require_subprotocol: bool = False
    #: WebSocket: permessage-deflate parameters to ask for (RFC 7692 §7.1); None: none.
    deflate: str | None = None
    #: udp://: seconds a client may stay silent before its connection ends (None: never).
    udp_idle: float | None = core_options.UDP_IDLE

    def server_options(self, target: str) -> core_options.ServerOptions:
        """The ServerOptions ``inspector listen`` builds from the same choices, for a
        listening URL whose path is ``target``; ValueError with one line."""
        return core_options.build_server_options(
            target,
            any_path=self.any_path,
            subprotocols=self.subprotocols,
            require_subprotocol=self.require_subprotocol,
            compression=self.compression,
            deflate=self.deflate,
            refuse_status=self.refuse_status,
            refuse_headers=self.refuse_headers,
            refuse_body=self.refuse_body,
            udp_idle=self.udp_idle,
        )

    def session_options(self) -> SessionOptions:
        """The options every accepted connection runs with."""
        return SessionOptions(
            subprotocols=self.subprotocols,
            compression=self.compression,
            max_size=self.max_size,
            auto_pong=self.auto_pong,
            framing=self.framing,
        )

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["subprotocols"] = list(self.subprotocols)
        data["framing"] = str(self.framing)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ListenOptions:
        """Options stored by :meth:`to_json`; anything damaged falls back to the default."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                return cls()
            known = {f.name for f in dataclasses.fields(cls)}
            values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
            values["subprotocols"] = tuple(str(p) for p in values.get("subprotocols", ()))
            values["framing"] = Framing(values.get("framing", "raw"))
            values["refuse_headers"] = parse_headers(
                "\n".join(f"{name}: {value}" for name, value in values.get("refuse_headers", ()))
            )
            made = cls(**values)
            made.server_options("/")
        except (ValueError, TypeError):
            return cls()
        return made


def stored_options(settings: Settings) -> ListenOptions:
    return ListenOptions.from_json(str(settings.qsettings.value(_OPTIONS_KEY, "") or ""))


def store_options(settings: Settings, options: ListenOptions) -> None:
    settings.qsettings.setValue(_OPTIONS_KEY, options.to_json())


def stored_rules(settings: Settings) -> list[Rule]:
    """The rules kept with the settings (none when missing or unreadable)."""
    text = str(settings.qsettings.value(_RULES_KEY, "") or "")
    if not text.strip():
        return []
    try:
        return parse_rules(text, "stored rules")
    except RuleError:
        return []


def store_rules(settings: Settings, rules: list[Rule]) -> None:
    settings.qsettings.setValue(_RULES_KEY, dump_rules(rules))


class ListenDialog(CheckedDialog):
    """Edits the ListenOptions: WebSocket server, TCP framing, UDP, TLS, limits."""

    def __init__(
        self, options: ListenOptions, parent: QWidget | None = None, cert_dir: Path | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("listenDialog")
        self.setWindowTitle("Listen options")
        self._options = options
        self._cert_dir = cert_dir
        layout = QVBoxLayout(self)

        ws = QGroupBox("WebSocket server (ws://, wss://)")
        form = QFormLayout(ws)
        self.subprotocols = text_line(
            "listenSubprotocols",
            ", ".join(options.subprotocols),
            "chat, superchat (the first offered on the list)",
        )
        form.addRow("Subprotocols", self.subprotocols)
        self.require_subprotocol = check_box(
            "listenRequireSubprotocol",
            "Refuse (400) a client that offers none of them",
            options.require_subprotocol,
        )
        form.addRow("", self.require_subprotocol)
        self.compression = check_box(
            "listenCompression", "Accept permessage-deflate", options.compression
        )
        form.addRow("Compression", self.compression)
        self.deflate = text_line(
            "listenDeflate",
            options.deflate or "",
            "server_no_context_takeover; server_max_window_bits=10",
        )
        form.addRow("Deflate parameters", self.deflate)
        self.max_size = size_box(options.max_size)
        self.max_size.setObjectName("listenMaxSize")
        form.addRow("Largest message", self.max_size)
        self.auto_pong = check_box(
            "listenAutoPong", "Answer pings automatically", options.auto_pong
        )
        form.addRow("Auto pong", self.auto_pong)
        self.any_path = check_box(
            "listenAnyPath",
            "Accept any path (else only the URL's path; others get 404)",
            options.any_path,
        )
        form.addRow("Paths", self.any_path)
        self.refuse = number_box(
            "listenRefuseStatus", 0, 599, options.refuse_status or 0, special="accept upgrades"
        )
        self.refuse.setToolTip(
            "Refuse every upgrade with this HTTP status, to see how a client copes"
        )
        form.addRow("Refuse with status", self.refuse)
        self.refuse_body = text_line("listenRefuseBody", options.refuse_body, "body of the refusal")
        form.addRow("Refusal body", self.refuse_body)
        self.refuse_headers = QPlainTextEdit(headers_text(options.refuse_headers))
        self.refuse_headers.setObjectName("listenRefuseHeaders")
        self.refuse_headers.setPlaceholderText("Retry-After: 30 (one header a line)")
        self.refuse_headers.setFixedHeight(self.refuse_headers.fontMetrics().lineSpacing() * 4)
        form.addRow("Refusal headers", self.refuse_headers)
        layout.addWidget(ws)

        self.framing = framing_group(layout, options.framing)

        udp = QGroupBox("UDP (udp://)")
        udp_form = QFormLayout(udp)
        self.udp_idle = QDoubleSpinBox()
        self.udp_idle.setObjectName("listenUdpIdle")
        self.udp_idle.setRange(0, 86_400)
        self.udp_idle.setDecimals(1)
        self.udp_idle.setSuffix(" s")
        self.udp_idle.setSpecialValueText("never")
        self.udp_idle.setValue(options.udp_idle or 0)
        self.udp_idle.setToolTip("A client that sends nothing this long is shown as ended 'idle'")
        udp_form.addRow("End a quiet client after", self.udp_idle)
        layout.addWidget(udp)

        tls = QGroupBox("TLS (tls://, wss://)")
        tls_form = QFormLayout(tls)
        self.cert_file = file_row(
            tls_form, "Certificate", options.cert_file, "made for localhost", "Certificate (PEM)"
        )
        self.key_file = file_row(
            tls_form, "Key", options.key_file, "made for localhost", "Key (PEM)"
        )
        self.fingerprint = QLabel("-")
        self.fingerprint.setObjectName("listenFingerprint")
        self.fingerprint.setWordWrap(True)
        tls_form.addRow("SHA-256", self.fingerprint)
        self.export_button = QPushButton("Export certificate…")
        self.export_button.setObjectName("exportCertButton")
        self.export_button.setToolTip(
            "Save the certificate (PEM) to tell a browser or OS to trust it"
        )
        self.export_button.clicked.connect(self._export)
        tls_form.addRow("", self.export_button)
        note = QLabel(
            "Without files a certificate for localhost, 127.0.0.1 and ::1 is made once and "
            "kept in your data folder."
        )
        note.setWordWrap(True)
        tls_form.addRow(note)
        layout.addWidget(tls)

        general = QFormLayout()
        self.max_connections = number_box(
            "listenMaxConnections", 0, 100_000, options.max_connections or 0, special="no limit"
        )
        general.addRow("Max connections", self.max_connections)
        layout.addLayout(general)

        self.add_error_and_buttons(layout, "listenError")
        self.cert_file.textChanged.connect(self._show_fingerprint)
        self.key_file.textChanged.connect(self._show_fingerprint)
        self._show_fingerprint()

    def _tls(self) -> Any:
        """The ServerTLS these files (or the made certificate) give; CertificateError."""
        from inspector.net.certs import server_tls

        cert = self.cert_file.text().strip() or None
        key = self.key_file.text().strip() or None
        return server_tls(cert, key, directory=self._cert_dir)

    @guarded
    def _show_fingerprint(self, *_: object) -> None:
        cert = self.cert_file.text().strip()
        key = self.key_file.text().strip()
        if bool(cert) != bool(key):
            self.fingerprint.setText("give both a certificate and its key")
            self.export_button.setEnabled(False)
            return
        try:
            tls = self._tls()
        except InspectorError as exc:
            self.fingerprint.setText(str(exc))
            self.export_button.setEnabled(False)
            return
        made = " (made for localhost)" if tls.self_signed else ""
        self.fingerprint.setText(tls.fingerprint + made)
        self.fingerprint.setToolTip(str(tls.cert_path))
        self.export_button.setEnabled(True)

    @guarded
    def _export(self, *_: object) -> None:
        self.with_chosen_path(
            self.export_certificate,
            "Export certificate",
            "PEM (*.pem *.crt)",
            "localhost-cert.pem",
        )

    def export_certificate(self, target: Path) -> bool:
        """Write the certificate this listener presents (PEM) to ``target``."""
        import ssl

        def write() -> None:
            der = self._tls().cert_der
            target.write_text(ssl.DER_cert_to_PEM_cert(der), encoding="ascii")

        return self.attempt(write, target)

    def options(self) -> ListenOptions:
        """The options as edited; ValueError with one line when they cannot work."""
        cert = self.cert_file.text().strip() or None
        key = self.key_file.text().strip() or None
        if (cert is None) != (key is None):
            raise ValueError("give both a certificate and its key, or neither")
        refuse = self.refuse.value() or None
        if refuse is not None and not 200 <= refuse <= 599:
            raise ValueError("a refusal's status is an HTTP status from 200 to 599")
        headers = parse_headers(self.refuse_headers.toPlainText())
        deflate = self.deflate.text().strip() or None
        try:
            deflate_params(deflate)
        except InspectorError as exc:
            raise ValueError(str(exc)) from None
        made = ListenOptions(
            subprotocols=tuple(p.strip() for p in self.subprotocols.text().split(",") if p.strip()),
            compression=self.compression.isChecked(),
            max_size=size_value(self.max_size),
            auto_pong=self.auto_pong.isChecked(),
            framing=Framing(self.framing.currentData()),
            cert_file=cert,
            key_file=key,
            max_connections=self.max_connections.value() or None,
            any_path=self.any_path.isChecked(),
            refuse_status=refuse,
            refuse_body=self.refuse_body.text(),
            refuse_headers=headers,
            require_subprotocol=self.require_subprotocol.isChecked(),
            deflate=deflate,
            udp_idle=self.udp_idle.value() or None,
        )
        made.server_options("/")  # the same checks inspector listen makes
        return made

    def check(self) -> None:
        self.options()
