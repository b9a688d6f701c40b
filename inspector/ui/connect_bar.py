"""The connect bar: endpoint field with history, session options, Connect.

A wrong URL is marked in the field itself (red frame, the reason beside it and in the
tooltip): no dialog interrupts typing.

``{{name}}`` in the typed URL is filled from the environment chosen in the bar (the
same choice as the workspace panel's, shown while a workspace is open) and
``{{env.NAME}}`` from the process environment; a variable without a value opens
nothing and is named in the same one line.

Options belong to a tab. The bar follows the active tab (its endpoint and options, with
a short summary of what differs from the defaults and a Reset); a connect uses the
options edited in the bar, or the active tab's when the endpoint is that tab's (a copy),
and otherwise the defaults, so a header set for one host is not sent to the next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from urllib.parse import unquote_plus

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.capture.formats.redact import is_secret_query_name
from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import EndpointError
from inspector.core.options import DEFAULT_MAX_SIZE, Framing, SessionOptions
from inspector.core.variables import Scope
from inspector.core.workspace_state import fill_known, unresolved_line
from inspector.protocols.deflate import parse_deflate_offer
from inspector.ui import theme
from inspector.ui.guard import guarded
from inspector.ui.reach_options import ReachOptions, reach_summary
from inspector.ui.speak_options import SpeakOptionsBox, speak_summary
from inspector.ui.widgets import formparts
from inspector.ui.widgets.formparts import parse_headers


class OptionsDialog(formparts.CheckedDialog):
    """Edits the SessionOptions of the next session."""

    def __init__(self, options: SessionOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("optionsDialog")
        self.setWindowTitle("Session options")
        self._options = options
        layout = QVBoxLayout(self)

        ws = QGroupBox("WebSocket (ws://, wss://)")
        ws_form = QFormLayout(ws)
        self.headers = QPlainTextEdit(formparts.headers_text(options.headers))
        self.headers.setObjectName("headersEdit")
        self.headers.setPlaceholderText("Authorization: Bearer …\nX-Custom: value")
        self.headers.setFixedHeight(70)
        ws_form.addRow("Extra headers", self.headers)
        self.subprotocols = QLineEdit(", ".join(options.subprotocols))
        self.subprotocols.setPlaceholderText("chat, superchat")
        ws_form.addRow("Subprotocols", self.subprotocols)
        self.origin = QLineEdit(options.origin or "")
        self.origin.setPlaceholderText("https://example.com")
        ws_form.addRow("Origin", self.origin)
        self.compression = QCheckBox("Offer permessage-deflate")
        self.compression.setChecked(options.compression)
        ws_form.addRow("Compression", self.compression)
        self.deflate_offer = QLineEdit(options.deflate_offer or "")
        self.deflate_offer.setObjectName("deflateOfferEdit")
        self.deflate_offer.setPlaceholderText("client_max_window_bits (default)")
        self.deflate_offer.setToolTip(
            "permessage-deflate parameters to offer (RFC 7692 §7.1), separated by ';':\n"
            "client_no_context_takeover, server_no_context_takeover,\n"
            "client_max_window_bits[=9-15], server_max_window_bits=8-15"
        )
        ws_form.addRow("Deflate offer", self.deflate_offer)
        self.compression_level = QSpinBox()
        self.compression_level.setObjectName("compressionLevelSpin")
        self.compression_level.setRange(-1, 9)
        self.compression_level.setSpecialValueText("zlib default (6)")
        level = options.compression_level
        self.compression_level.setValue(-1 if level is None else level)
        self.compression_level.setToolTip("How hard messages this side sends are compressed")
        ws_form.addRow("Compression level", self.compression_level)
        self.auto_pong = QCheckBox("Answer pings automatically")
        self.auto_pong.setChecked(options.auto_pong)
        ws_form.addRow("Auto pong", self.auto_pong)
        self.max_size = formparts.size_box(options.max_size)
        ws_form.addRow("Max message size", self.max_size)
        layout.addWidget(ws)

        self.framing = formparts.framing_group(layout, options.framing)

        tls = QGroupBox("TLS (tls://, wss://)")
        tls_form = QFormLayout(tls)
        self.verify = QCheckBox("Verify the server certificate")
        self.verify.setChecked(options.verify)
        tls_form.addRow("Verify", self.verify)
        self.cafile = formparts.file_row(
            tls_form, "CA file", options.cafile, "system trust store", "CA certificates (PEM)"
        )
        layout.addWidget(tls)

        self.reach = ReachOptions(options)
        layout.addWidget(self.reach)
        self.speak = SpeakOptionsBox(options)
        layout.addWidget(self.speak)

        general = QFormLayout()
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.5, 300.0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(options.connect_timeout)
        general.addRow("Connect timeout", self.timeout)
        layout.addLayout(general)

        self.add_error_and_buttons(layout, "optionsError")

    def options(self) -> SessionOptions:
        """The options as edited; raise ValueError with one line when one is invalid."""
        headers = parse_headers(self.headers.toPlainText())
        subprotocols = tuple(p.strip() for p in self.subprotocols.text().split(",") if p.strip())
        offer = self.deflate_offer.text().strip() or None
        if offer is not None:
            try:
                parse_deflate_offer(offer)
            except ValueError as exc:
                raise ValueError(f"Deflate offer: {exc}") from None
        edited = dataclasses.replace(
            self._options,
            headers=headers,
            subprotocols=subprotocols,
            origin=self.origin.text().strip() or None,
            compression=self.compression.isChecked(),
            deflate_offer=offer,
            compression_level=(
                None if self.compression_level.value() < 0 else self.compression_level.value()
            ),
            auto_pong=self.auto_pong.isChecked(),
            max_size=formparts.size_value(self.max_size),
            framing=Framing(self.framing.currentData()),
            verify=self.verify.isChecked(),
            cafile=self.cafile.text().strip() or None,
            connect_timeout=self.timeout.value(),
        )
        return self.speak.apply(self.reach.apply(edited))

    def check(self) -> None:
        self.options()


_SUMMARY_CHARS = 48  # the options summary is cut (whole in its tooltip) beyond this
#: What a new session uses unless told otherwise.
DEFAULT_OPTIONS = SessionOptions(max_size=DEFAULT_MAX_SIZE)
_FRAMING_SHORT = {
    Framing.LINES: "lines",
    Framing.LEN16: "16-bit lengths",
    Framing.LEN32: "32-bit lengths",
    Framing.MQTT: "MQTT packets",
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def options_summary(options: SessionOptions, defaults: SessionOptions = DEFAULT_OPTIONS) -> str:
    """What differs from ``defaults`` in a few words ("2 headers · subprotocol chat ·
    verify off"), or "" when nothing does."""
    parts: list[str] = []
    if options.headers != defaults.headers:
        parts.append(_plural(len(options.headers), "header"))
    if options.subprotocols != defaults.subprotocols:
        word = "subprotocol" if len(options.subprotocols) == 1 else "subprotocols"
        parts.append(f"{word} {', '.join(options.subprotocols)}" if options.subprotocols else "")
    if options.origin != defaults.origin:
        parts.append(f"origin {options.origin}" if options.origin else "no origin")
    if options.compression != defaults.compression:
        parts.append("compression on" if options.compression else "no compression")
    if options.deflate_offer != defaults.deflate_offer:
        parts.append("deflate offer")
    if options.compression_level != defaults.compression_level:
        parts.append(f"level {options.compression_level}")
    if options.max_size != defaults.max_size:
        size = options.max_size
        parts.append(f"max {size // (1024 * 1024)} MiB" if size else "no size limit")
    if options.auto_pong != defaults.auto_pong:
        parts.append("auto pong" if options.auto_pong else "no auto pong")
    if options.framing != defaults.framing:
        parts.append(_FRAMING_SHORT.get(options.framing, str(options.framing)))
    if options.verify != defaults.verify:
        parts.append("verify on" if options.verify else "verify off")
    if options.cafile != defaults.cafile:
        parts.append("own CA file" if options.cafile else "system CAs")
    if options.connect_timeout != defaults.connect_timeout:
        parts.append(f"timeout {options.connect_timeout:g} s")
    parts.extend(reach_summary(options, defaults))
    parts.extend(speak_summary(options, defaults))
    return " · ".join(p for p in parts if p)


class ConnectBar(QWidget):
    """Endpoint field, options button and Connect button."""

    #: (endpoint: Endpoint, options: SessionOptions)
    connectRequested = Signal(object, object)
    #: (endpoint: Endpoint): listen on the typed address (port 0 allowed).
    listenRequested = Signal(object)
    #: The Listen button's menu: edit the listen options, edit the rules.
    listenOptionsRequested = Signal()
    rulesRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectBar")
        self._options = DEFAULT_OPTIONS
        #: True once options were set in the bar since it last followed a tab.
        self.edited = False
        #: The endpoint of the tab the bar follows (its options are a copy's).
        self.followed: Endpoint | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 2)

        self.endpoint_edit = QComboBox()
        self.endpoint_edit.setObjectName("endpointEdit")
        self.endpoint_edit.setAccessibleName("Endpoint")
        self.endpoint_edit.setEditable(True)
        self.endpoint_edit.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.endpoint_edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.endpoint_edit.setMinimumContentsLength(30)
        line = self.endpoint_edit.lineEdit()
        line.setPlaceholderText("ws://host:port/path, wss://…, tcp://host:port, tls://…, udp://…")
        line.setClearButtonEnabled(True)
        line.returnPressed.connect(self.request_connect)
        line.textEdited.connect(self._clear_error)
        # The history keeps no secret values (``?token=``): picking such an entry puts
        # the cursor where the value goes.
        self.endpoint_edit.activated.connect(self._history_chosen)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), line)
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut.setWhatsThis("Connect")
        shortcut.activated.connect(self.request_connect)
        shortcut_enter = QShortcut(QKeySequence("Ctrl+Enter"), line)
        shortcut_enter.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut_enter.setWhatsThis("Connect")
        shortcut_enter.activated.connect(self.request_connect)

        self.options_button = QPushButton("Options…")
        self.options_button.setObjectName("optionsButton")
        self.options_button.setAccessibleName("Session options")
        self.options_button.setToolTip("Headers, subprotocols, compression, framing, TLS")
        self.options_button.clicked.connect(self.edit_options)

        self.options_summary = QLabel()
        self.options_summary.setObjectName("optionsSummary")
        self.options_summary.setAccessibleName("Options that differ from the defaults")
        self.options_summary.hide()
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("optionsResetButton")
        self.reset_button.setAccessibleName("Reset the session options")
        self.reset_button.setToolTip("Use the default options for the next session")
        self.reset_button.clicked.connect(self.reset_options)
        self.reset_button.hide()

        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connectButton")
        self.connect_button.setAccessibleName("Connect")
        self.connect_button.setToolTip("Open a session to the endpoint in a new tab (Enter)")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.request_connect)

        # Listen beside Connect: the same URL forms, the window becomes the server. The
        # arrow holds what a listener starts with (server options, TLS, rules).
        self.listen_button = QToolButton()
        self.listen_button.setObjectName("listenButton")
        self.listen_button.setText("Listen")
        self.listen_button.setAccessibleName("Listen")
        self.listen_button.setToolTip(
            "Be the server: listen on the address in a new tab (Ctrl+L); port 0 picks a "
            "free port, 0.0.0.0 or [::] listens on every interface"
        )
        self.listen_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.listen_button.clicked.connect(self.request_listen)
        listen_menu = QMenu(self.listen_button)
        self.listen_options_action = listen_menu.addAction("Listen options…")
        self.listen_options_action.setObjectName("listenOptionsAction")
        self.listen_options_action.triggered.connect(self.listenOptionsRequested)
        self.rules_action = listen_menu.addAction("Rules…")
        self.rules_action.setObjectName("rulesAction")
        self.rules_action.triggered.connect(self.rulesRequested)
        self.listen_button.setMenu(listen_menu)

        # The workspace's environment (one choice with the panel's); shown while a
        # workspace is open.
        self.scope_of: Callable[[], Scope] = Scope
        self.environment_box = QComboBox()
        self.environment_box.setObjectName("connectEnvironment")
        self.environment_box.setAccessibleName("Environment")
        self.environment_box.setToolTip(
            "The workspace environment whose variables fill {{name}} in the endpoint"
        )
        self.environment_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.environment_row = QWidget()
        self.environment_row.setObjectName("connectEnvironmentRow")
        env_layout = QHBoxLayout(self.environment_row)
        env_layout.setContentsMargins(0, 0, 0, 0)
        env_layout.addWidget(QLabel("Env:"))
        env_layout.addWidget(self.environment_box)
        self.environment_row.hide()

        self.error_label = QLabel()
        self.error_label.setObjectName("endpointError")
        self.error_label.setAccessibleName("Endpoint error")
        self.error_label.setWordWrap(False)
        self.error_label.hide()

        layout.addWidget(QLabel("Endpoint:"))
        layout.addWidget(self.endpoint_edit, 1)
        layout.addWidget(self.environment_row)
        layout.addWidget(self.options_summary)
        layout.addWidget(self.reset_button)
        layout.addWidget(self.options_button)
        layout.addWidget(self.connect_button)
        layout.addWidget(self.listen_button)
        outer = QVBoxLayout()
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        wrapper = QWidget()
        wrapper.setLayout(layout)
        outer.addWidget(wrapper)
        error_row = QHBoxLayout()
        error_row.setContentsMargins(80, 0, 6, 2)
        error_row.addWidget(self.error_label)
        outer.addLayout(error_row)
        self.setLayout(outer)

    # -- endpoint -------------------------------------------------------------------

    def text(self) -> str:
        return self.endpoint_edit.currentText()

    def set_text(self, text: str) -> None:
        self.endpoint_edit.setEditText(text)

    def set_history(self, recent: list[str]) -> None:
        """Fill the drop-down with recent endpoints, keeping what is typed."""
        typed = self.text()
        self.endpoint_edit.blockSignals(True)
        self.endpoint_edit.clear()
        self.endpoint_edit.addItems(recent)
        self.endpoint_edit.setEditText(typed)
        self.endpoint_edit.blockSignals(False)

    @guarded
    def _history_chosen(self, *_: object) -> None:
        text = self.text()
        at = secret_gap(text)
        if at is not None:
            line = self.endpoint_edit.lineEdit()
            line.setCursorPosition(at)
            line.setFocus(Qt.FocusReason.OtherFocusReason)
            self.endpoint_edit.setToolTip("Type the secret value: the history does not keep it")

    def focus_endpoint(self) -> None:
        self.endpoint_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.endpoint_edit.lineEdit().selectAll()

    @property
    def error(self) -> str | None:
        """The reason the typed endpoint was refused, while it is shown."""
        return self.error_label.text() if not self.error_label.isHidden() else None

    def show_error(self, message: str) -> None:
        """Mark the field as wrong: red frame, reason beside it and as tooltip."""
        colour = theme.error_text(theme.is_dark(self)).name()
        self.endpoint_edit.setStyleSheet(
            f"QComboBox#endpointEdit {{ border: 2px solid {colour}; }}"
        )
        self.endpoint_edit.setToolTip(message)
        self.error_label.setStyleSheet(f"color: {colour}")
        self.error_label.setText(message)
        self.error_label.show()

    @guarded
    def _clear_error(self, *_: object) -> None:
        if self.error_label.isHidden():
            return
        self.endpoint_edit.setStyleSheet("")
        self.endpoint_edit.setToolTip("")
        self.error_label.clear()
        self.error_label.hide()

    def environment(self) -> str | None:
        """The chosen environment's name (None: none chosen, or no workspace open)."""
        name = self.environment_box.currentData()
        return name if isinstance(name, str) and name else None

    def resolved(self) -> str | None:
        """The typed URL with its variables filled, or None after naming (in the field's
        one line) every variable that has no value."""
        text = self.text()
        if "{{" not in text:
            return text
        filled = fill_known(text, self.scope_of(), "endpoint")
        if filled.unresolved:
            self.show_error(unresolved_line("endpoint", filled.unresolved, self.environment()))
            return None
        return filled.text

    def parse(self) -> Endpoint | None:
        """The typed endpoint, or None after marking the field with the reason."""
        url = self.resolved()
        if url is None:
            return None
        try:
            endpoint = parse_endpoint(url)
        except EndpointError as exc:
            self.show_error(str(exc))
            return None
        self._clear_error()
        return endpoint

    def parse_listen(self) -> Endpoint | None:
        """The typed address to listen on (port 0: a free port), or None after marking
        the field with the reason."""
        url = self.resolved()
        if url is None:
            return None
        try:
            endpoint = parse_endpoint(url, listen=True)
        except EndpointError as exc:
            self.show_error(str(exc))
            return None
        self._clear_error()
        return endpoint

    @guarded
    def request_listen(self, *_: object) -> None:
        endpoint = self.parse_listen()
        if endpoint is not None:
            self.listenRequested.emit(endpoint)

    @guarded
    def request_connect(self) -> None:
        endpoint = self.parse()
        if endpoint is None:
            return
        options = self.filled_headers(self.options_for(endpoint))
        if options is not None:
            self.connectRequested.emit(endpoint, options)

    def filled_headers(self, options: SessionOptions) -> SessionOptions | None:
        """``options`` with ``{{name}}`` in header values filled as the endpoint is, or
        None after naming (in the field's one line) the variables that have no value."""
        if not any("{{" in value for _name, value in options.headers):
            return options
        headers = []
        for name, value in options.headers:
            filled = fill_known(value, self.scope_of(), f"header {name}")
            if filled.unresolved:
                line = unresolved_line(f"header {name}", filled.unresolved, self.environment())
                self.show_error(line)
                return None
            headers.append((name, filled.text))
        return dataclasses.replace(options, headers=tuple(headers))

    def history_entry(self, endpoint: Endpoint) -> str:
        """What the endpoint history keeps for a session to ``endpoint``: the typed URL
        with its ``{{variables}}`` when filling it gave this endpoint (so a value from
        the environment, a token say, stays out of the history and the entry follows
        the environment chosen later), else the endpoint's URL."""
        text = self.text()
        if "{{" in text:
            filled = fill_known(text, self.scope_of(), "endpoint")
            for listen in (False, True):
                try:
                    if parse_endpoint(filled.text, listen=listen) == endpoint:
                        return text
                except EndpointError:
                    continue
        return endpoint.url

    # -- options --------------------------------------------------------------------

    @property
    def options(self) -> SessionOptions:
        """The options shown in the bar (the followed tab's, or as edited)."""
        return self._options

    @options.setter
    def options(self, options: SessionOptions) -> None:
        self.set_options(options)

    def options_for(self, endpoint: Endpoint) -> SessionOptions:
        """The options a session to ``endpoint`` starts with: as edited in the bar, else
        the followed tab's for its own endpoint (a copy), else the defaults."""
        if self.edited or (self.followed is not None and endpoint == self.followed):
            return self._options
        return DEFAULT_OPTIONS

    def follow(self, endpoint: Endpoint | None, options: SessionOptions) -> None:
        """Show the active tab's endpoint and options (None: a tab with no endpoint)."""
        if endpoint is not None:
            self.set_text(endpoint.url)
            self._clear_error()
        self.followed = endpoint
        self._show_options(options)
        self.edited = False

    @guarded
    def edit_options(self) -> None:
        dialog = OptionsDialog(self._options, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.set_options(dialog.options())
        dialog.deleteLater()

    @guarded
    def reset_options(self, *_: object) -> None:
        """Reset: the next session starts from the default options."""
        self.set_options(DEFAULT_OPTIONS)

    def set_options(self, options: SessionOptions) -> None:
        """Use ``options`` for the next session opened from the bar."""
        self._show_options(options)
        self.edited = True

    def _show_options(self, options: SessionOptions) -> None:
        """Show ``options``: a summary of what differs, Reset, and a verify-off mark."""
        self._options = options
        summary = options_summary(options)
        metrics = self.options_summary.fontMetrics()
        width = metrics.horizontalAdvance("x" * _SUMMARY_CHARS)
        self.options_summary.setText(
            metrics.elidedText(summary, Qt.TextElideMode.ElideRight, width)
        )
        self.options_summary.setToolTip(summary)
        self.options_summary.setVisible(bool(summary))
        self.reset_button.setVisible(bool(summary))
        unverified = not options.verify
        self.options_button.setText("Options… ⚠ verify off" if unverified else "Options…")
        self.options_button.setToolTip(
            "New wss:// and tls:// sessions will not check the server certificate"
            if unverified
            else "Headers, subprotocols, compression, framing, TLS"
        )


def secret_gap(url: str) -> int | None:
    """Where the first secret value dropped from a history entry goes (after its "="),
    or None when it has none."""
    head, sep, rest = url.partition("?")
    if not sep:
        return None
    pos = len(head) + 1
    for part in rest.partition("#")[0].split("&"):
        name, eq, value = part.partition("=")
        if eq and not value and is_secret_query_name(unquote_plus(name)):
            return pos + len(name) + 1
        pos += len(part) + 1
    return None
