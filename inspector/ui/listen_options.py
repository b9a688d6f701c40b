"""What a listener starts with in the window: server options, TLS files and rules,
kept with the settings (the rules as the same TOML text ``inspector listen --rules``
reads), and the dialog that edits the options.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import InspectorError
from inspector.core.options import DEFAULT_MAX_SIZE, Framing, SessionOptions
from inspector.core.rulefile import dump_rules, parse_rules
from inspector.core.rules import Rule, RuleError
from inspector.protocols.wshandshake import Refusal
from inspector.ui import theme
from inspector.ui.guard import guarded
from inspector.ui.settings import Settings

_OPTIONS_KEY = "listen/options"
_RULES_KEY = "listen/rules"
_FRAMINGS = {
    Framing.RAW: "Raw (one record per read)",
    Framing.LINES: "Lines (\\n or \\r\\n)",
    Framing.LEN16: "16-bit length prefix",
    Framing.LEN32: "32-bit length prefix",
    Framing.MQTT: "MQTT packets (remaining length)",
}


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
    #: WebSocket: refuse every upgrade with this HTTP status (None: accept) and body.
    refuse_status: int | None = None
    refuse_body: str = ""

    def answer(self, target: str) -> Callable[[Any], Refusal | None] | None:
        """How upgrade requests are answered (None: accept every one): refused with the
        chosen status, or 404 for a path other than ``target`` when only it is served."""
        if self.any_path and self.refuse_status is None:
            return None
        path = target.split("?", 1)[0]
        status, body = self.refuse_status, self.refuse_body

        def answer(request: Any) -> Refusal | None:
            if status is not None:
                return Refusal(status, body)
            asked = str(request.path).split("?", 1)[0]
            if asked != path:
                return Refusal(404, f"no WebSocket at {asked}: this server answers {path}\n")
            return None

        return answer

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
            made = cls(**values)
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


class ListenDialog(QDialog):
    """Edits the ListenOptions: WebSocket server, TCP framing, TLS, limits."""

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
        self.subprotocols = QLineEdit(", ".join(options.subprotocols))
        self.subprotocols.setObjectName("listenSubprotocols")
        self.subprotocols.setPlaceholderText("chat, superchat (the first offered on the list)")
        form.addRow("Subprotocols", self.subprotocols)
        self.compression = QCheckBox("Accept permessage-deflate")
        self.compression.setObjectName("listenCompression")
        self.compression.setChecked(options.compression)
        form.addRow("Compression", self.compression)
        self.max_size = QSpinBox()
        self.max_size.setObjectName("listenMaxSize")
        self.max_size.setRange(0, 1024)
        self.max_size.setSuffix(" MiB")
        self.max_size.setSpecialValueText("unlimited")
        self.max_size.setValue((options.max_size or 0) // (1024 * 1024))
        form.addRow("Largest message", self.max_size)
        self.auto_pong = QCheckBox("Answer pings automatically")
        self.auto_pong.setObjectName("listenAutoPong")
        self.auto_pong.setChecked(options.auto_pong)
        form.addRow("Auto pong", self.auto_pong)
        self.any_path = QCheckBox("Accept any path (else only the URL's path; others get 404)")
        self.any_path.setObjectName("listenAnyPath")
        self.any_path.setChecked(options.any_path)
        form.addRow("Paths", self.any_path)
        self.refuse = QSpinBox()
        self.refuse.setObjectName("listenRefuseStatus")
        self.refuse.setRange(0, 599)
        self.refuse.setSpecialValueText("accept upgrades")
        self.refuse.setValue(options.refuse_status or 0)
        self.refuse.setToolTip(
            "Refuse every upgrade with this HTTP status, to see how a client copes"
        )
        form.addRow("Refuse with status", self.refuse)
        self.refuse_body = QLineEdit(options.refuse_body)
        self.refuse_body.setObjectName("listenRefuseBody")
        self.refuse_body.setPlaceholderText("body of the refusal")
        form.addRow("Refusal body", self.refuse_body)
        layout.addWidget(ws)

        stream = QGroupBox("TCP and TLS (tcp://, tls://)")
        stream_form = QFormLayout(stream)
        self.framing = QComboBox()
        for framing, label in _FRAMINGS.items():
            self.framing.addItem(label, framing)
        self.framing.setCurrentIndex(list(_FRAMINGS).index(options.framing))
        stream_form.addRow("Framing", self.framing)
        layout.addWidget(stream)

        tls = QGroupBox("TLS (tls://, wss://)")
        tls_form = QFormLayout(tls)
        self.cert_file = self._file_row(tls_form, "Certificate", options.cert_file)
        self.key_file = self._file_row(tls_form, "Key", options.key_file)
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
        self.max_connections = QSpinBox()
        self.max_connections.setObjectName("listenMaxConnections")
        self.max_connections.setRange(0, 100_000)
        self.max_connections.setSpecialValueText("no limit")
        self.max_connections.setValue(options.max_connections or 0)
        general.addRow("Max connections", self.max_connections)
        layout.addLayout(general)

        self.error = QLabel()
        self.error.setObjectName("listenError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.error_text(theme.is_dark(self)).name()}")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.cert_file.textChanged.connect(self._show_fingerprint)
        self.key_file.textChanged.connect(self._show_fingerprint)
        self._show_fingerprint()

    def _file_row(self, form: QFormLayout, label: str, value: str | None) -> QLineEdit:
        row = QHBoxLayout()
        edit = QLineEdit(value or "")
        edit.setPlaceholderText("made for localhost")
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
        path, _ = QFileDialog.getSaveFileName(
            self, "Export certificate", "localhost-cert.pem", "PEM (*.pem *.crt)"
        )
        if path:
            self.export_certificate(Path(path))

    def export_certificate(self, target: Path) -> bool:
        """Write the certificate this listener presents (PEM) to ``target``."""
        import ssl

        try:
            tls = self._tls()
            target.write_text(ssl.DER_cert_to_PEM_cert(tls.cert_der), encoding="ascii")
        except InspectorError as exc:
            self._fail(str(exc))
            return False
        except OSError as exc:
            self._fail(f"cannot write {target}: {exc.strerror or exc}")
            return False
        return True

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def options(self) -> ListenOptions:
        """The options as edited; ValueError with one line when they cannot work."""
        cert = self.cert_file.text().strip() or None
        key = self.key_file.text().strip() or None
        if (cert is None) != (key is None):
            raise ValueError("give both a certificate and its key, or neither")
        mib = self.max_size.value()
        refuse = self.refuse.value() or None
        if refuse is not None and not 200 <= refuse <= 599:
            raise ValueError("a refusal's status is an HTTP status from 200 to 599")
        return ListenOptions(
            subprotocols=tuple(p.strip() for p in self.subprotocols.text().split(",") if p.strip()),
            compression=self.compression.isChecked(),
            max_size=mib * 1024 * 1024 if mib else None,
            auto_pong=self.auto_pong.isChecked(),
            framing=Framing(self.framing.currentData()),
            cert_file=cert,
            key_file=key,
            max_connections=self.max_connections.value() or None,
            any_path=self.any_path.isChecked(),
            refuse_status=refuse,
            refuse_body=self.refuse_body.text(),
        )

    def accept(self) -> None:
        try:
            self.options()
        except ValueError as exc:
            self._fail(str(exc))
            return
        super().accept()
