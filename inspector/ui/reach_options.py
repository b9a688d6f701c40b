"""The Proxy, client certificate, heartbeat, reconnect and address options of a tab's
session: a panel of the Options dialog, and their words in the options summary.

The proxy is edited as its parts (kind, host:port, user, password); the password is
typed into a password field and never shown in the summary or kept in a capture.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.net.proxy import FROM_ENVIRONMENT, parse_proxy
from inspector.net.resolve import parse_bind
from inspector.ui.guard import guarded

#: (combo label, the scheme or choice it stands for)
PROXY_KINDS = (
    ("No proxy", ""),
    ("From the environment (HTTPS_PROXY, ALL_PROXY…)", FROM_ENVIRONMENT),
    ("HTTP (CONNECT)", "http"),
    ("SOCKS5", "socks5"),
    ("SOCKS5, names resolved by the proxy", "socks5h"),
)
_FAMILIES = (("IPv4 and IPv6 (Happy Eyeballs)", None), ("IPv4 only", "ipv4"), ("IPv6 only", "ipv6"))


def _seconds(value: float | None, none_text: str) -> QDoubleSpinBox:
    """Seconds, 0 shown as ``none_text`` (the option off)."""
    spin = QDoubleSpinBox()
    spin.setRange(0.0, 3600.0)
    spin.setDecimals(1)
    spin.setSuffix(" s")
    spin.setSpecialValueText(none_text)
    spin.setValue(value or 0.0)
    return spin


class ReachOptions(QWidget):
    """Proxy, client certificate, heartbeats, reconnect and addresses of one session."""

    def __init__(self, options: SessionOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reachOptions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        proxy_box = QGroupBox("Proxy (ws://, wss://, tcp://, tls://)")
        form = QFormLayout(proxy_box)
        self.proxy_kind = QComboBox()
        self.proxy_kind.setObjectName("proxyKind")
        for label, value in PROXY_KINDS:
            self.proxy_kind.addItem(label, value)
        form.addRow("Proxy", self.proxy_kind)
        self.proxy_address = QLineEdit()
        self.proxy_address.setObjectName("proxyAddress")
        self.proxy_address.setPlaceholderText("host:port, e.g. proxy.example:3128")
        form.addRow("Address", self.proxy_address)
        self.proxy_user = QLineEdit()
        self.proxy_user.setPlaceholderText("none")
        form.addRow("User name", self.proxy_user)
        self.proxy_password = QLineEdit()
        self.proxy_password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Password", self.proxy_password)
        layout.addWidget(proxy_box)
        self._load_proxy(options.proxy)
        self.proxy_kind.currentIndexChanged.connect(self._proxy_kind_changed)
        self._proxy_kind_changed()

        cert_box = QGroupBox("Client certificate (mutual TLS)")
        cert_form = QFormLayout(cert_box)
        self.client_cert = self._file_row(cert_form, "Certificate", options.client_cert)
        self.client_cert.setPlaceholderText("PEM (with or without its key) or PKCS#12")
        self.client_key = self._file_row(cert_form, "Key", options.client_key)
        self.client_key.setPlaceholderText("in the certificate file")
        self.key_password = QLineEdit(options.client_key_password or "")
        self.key_password.setEchoMode(QLineEdit.EchoMode.Password)
        cert_form.addRow("Key password", self.key_password)
        layout.addWidget(cert_box)

        beat_box = QGroupBox("Heartbeats and reconnecting")
        beat_form = QFormLayout(beat_box)
        self.ping_interval = _seconds(options.ping_interval, "no pings")
        self.ping_interval.setObjectName("pingInterval")
        beat_form.addRow("WebSocket ping every", self.ping_interval)
        self.ping_timeout = _seconds(options.ping_timeout, "no limit")
        beat_form.addRow("Close (1011) without pong after", self.ping_timeout)
        self.keepalive = _seconds(options.keepalive, "none")
        beat_form.addRow("TCP/UDP keepalive every", self.keepalive)
        self.keepalive_text = QLineEdit(options.keepalive_text)
        self.keepalive_text.setPlaceholderText("sent as it is (empty: an empty message)")
        beat_form.addRow("Keepalive text", self.keepalive_text)
        self.reconnect = QCheckBox("Open the session again after it ends abnormally")
        self.reconnect.setObjectName("reconnectCheck")
        self.reconnect.setChecked(options.reconnect)
        beat_form.addRow("Reconnect", self.reconnect)
        self.reconnect_max = QSpinBox()
        self.reconnect_max.setRange(0, 1000)
        self.reconnect_max.setSpecialValueText("no limit")
        self.reconnect_max.setValue(options.reconnect_max or 0)
        beat_form.addRow("At most (attempts)", self.reconnect_max)
        layout.addWidget(beat_box)

        address_box = QGroupBox("Addresses")
        address_form = QFormLayout(address_box)
        self.family = QComboBox()
        for label, value in _FAMILIES:
            self.family.addItem(label, value)
        self.family.setCurrentIndex(max(0, [v for _, v in _FAMILIES].index(options.family)))
        address_form.addRow("Families", self.family)
        self.bind = QLineEdit(options.bind or "")
        self.bind.setPlaceholderText("any (e.g. 192.0.2.10 or [2001:db8::1]:40000)")
        address_form.addRow("Source address", self.bind)
        layout.addWidget(address_box)

    def _file_row(self, form: QFormLayout, label: str, value: str | None) -> QLineEdit:
        row = QHBoxLayout()
        edit = QLineEdit(value or "")
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit, label))
        row.addWidget(edit)
        row.addWidget(browse)
        form.addRow(label, row)
        return edit

    @guarded
    def _browse(self, edit: QLineEdit, what: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Client {what.lower()}")
        if path:
            edit.setText(path)

    def _load_proxy(self, setting: str | None) -> None:
        if not setting:
            self.proxy_kind.setCurrentIndex(0)
            return
        if setting.strip().lower() == FROM_ENVIRONMENT:
            self.proxy_kind.setCurrentIndex(1)
            return
        try:
            proxy = parse_proxy(setting)
        except InspectorError:
            self.proxy_kind.setCurrentIndex(0)
            return
        values = [value for _, value in PROXY_KINDS]
        self.proxy_kind.setCurrentIndex(values.index(str(proxy.scheme)))
        self.proxy_address.setText(proxy.netloc)
        self.proxy_user.setText(proxy.username or "")
        self.proxy_password.setText(proxy.password or "")

    @guarded
    def _proxy_kind_changed(self, _index: int = 0) -> None:
        needs_address = self.proxy_kind.currentData() not in ("", FROM_ENVIRONMENT)
        for edit in (self.proxy_address, self.proxy_user, self.proxy_password):
            edit.setEnabled(needs_address)

    def proxy_setting(self) -> str | None:
        """The proxy option as edited; ValueError with one line when it is not one."""
        kind = self.proxy_kind.currentData()
        if not kind:
            return None
        if kind == FROM_ENVIRONMENT:
            return FROM_ENVIRONMENT
        address = self.proxy_address.text().strip()
        if not address:
            raise ValueError("Proxy: give the proxy's host:port")
        user = self.proxy_user.text()
        credentials = ""
        if user:
            credentials = quote(user, safe="")
            password = self.proxy_password.text()
            if password:
                credentials += ":" + quote(password, safe="")
            credentials += "@"
        setting = f"{kind}://{credentials}{address}"
        try:
            parse_proxy(setting)
        except InspectorError as exc:
            raise ValueError(f"Proxy: {exc}".replace(setting, address)) from None
        return setting

    def apply(self, options: SessionOptions) -> SessionOptions:
        """``options`` with this panel's choices; ValueError with one line if one is bad."""
        bind = self.bind.text().strip() or None
        if bind is not None:
            try:
                parse_bind(bind)
            except ValueError as exc:
                raise ValueError(f"Source address: {exc}".replace("--bind ", "")) from None
        return dataclasses.replace(
            options,
            proxy=self.proxy_setting(),
            client_cert=self.client_cert.text().strip() or None,
            client_key=self.client_key.text().strip() or None,
            client_key_password=self.key_password.text() or None,
            ping_interval=self.ping_interval.value() or None,
            ping_timeout=self.ping_timeout.value() or None,
            keepalive=self.keepalive.value() or None,
            keepalive_text=self.keepalive_text.text(),
            reconnect=self.reconnect.isChecked(),
            reconnect_max=self.reconnect_max.value() or None,
            family=self.family.currentData(),
            bind=bind,
        )


def reach_summary(options: SessionOptions, defaults: SessionOptions) -> list[str]:
    """The words for these options in the connect bar's summary (no password)."""
    parts: list[str] = []
    if options.proxy != defaults.proxy and options.proxy:
        if options.proxy.strip().lower() == FROM_ENVIRONMENT:
            parts.append("proxy from environment")
        else:
            try:
                parts.append(f"proxy {parse_proxy(options.proxy).shown}")
            except InspectorError:
                parts.append("proxy (invalid)")
    if options.client_cert != defaults.client_cert and options.client_cert:
        parts.append("client certificate")
    if options.ping_interval != defaults.ping_interval and options.ping_interval:
        parts.append(f"ping {options.ping_interval:g} s")
    if options.keepalive != defaults.keepalive and options.keepalive:
        parts.append(f"keepalive {options.keepalive:g} s")
    if options.reconnect != defaults.reconnect and options.reconnect:
        limit = f" (max {options.reconnect_max})" if options.reconnect_max else ""
        parts.append(f"reconnect{limit}")
    if options.family != defaults.family and options.family:
        parts.append(f"{'IPv4' if options.family == 'ipv4' else 'IPv6'} only")
    if options.bind != defaults.bind and options.bind:
        parts.append(f"from {options.bind}")
    return parts
