"""The protocol composer: a Socket.IO event, a GraphQL operation, a STOMP frame, an MQTT
packet, a JSON-RPC request or a SignalR invocation built from a few fields.

The fields of the chosen template (``protocols.speakers.compose``) become a form; the
exact bytes it builds are shown as they change, a bad field is one red line, and Send
hands the bytes to the session like any message (recorded as sent). Automatic ids (an
operation id, a packet id, a JSON-RPC id, an ack id) count up per session.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.protocols.speakers.base import Outgoing
from inspector.protocols.speakers.compose import TEMPLATES, ComposeContext, Ids, Template
from inspector.ui import theme
from inspector.ui.compose_input import SendAction
from inspector.ui.guard import guarded

#: Bytes of a binary message shown in the preview's hex dump.
PREVIEW_BYTES = 512


def preview_text(out: Outgoing) -> str:
    """The bytes as a person checks them: the text of a text message (control bytes
    escaped), else a hex dump; the size first."""
    data = out.data
    head = f"{'text' if out.text else 'binary'} message, {len(data)} bytes\n"
    if out.text:
        text = data.decode("utf-8", "replace")
        return head + "".join(c if c.isprintable() or c == "\n" else f"\\x{ord(c):02x}"
                              for c in text)  # fmt: skip
    lines = [
        f"{offset:04x}  {data[offset : offset + 16].hex(' ')}"
        for offset in range(0, min(len(data), PREVIEW_BYTES), 16)
    ]
    if len(data) > PREVIEW_BYTES:
        lines.append(f"… {len(data) - PREVIEW_BYTES} more bytes")
    return head + "\n".join(lines)


class ProtocolMessageDialog(QDialog):
    """Build one protocol message from a template; ``sendRequested`` carries it."""

    sendRequested = Signal(object)  # SendAction

    def __init__(
        self,
        endpoint: Endpoint,
        context: Callable[[], ComposeContext],
        protocol: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Protocol message")
        self.setObjectName("protocolDialog")
        self.endpoint = endpoint
        self._context = context
        self.ids = Ids()
        self._edits: dict[str, QLineEdit] = {}
        self.built: Outgoing | None = None

        self.template = QComboBox()
        self.template.setObjectName("protocolTemplate")
        self.template.setAccessibleName("Message template")
        for spec in TEMPLATES.values():
            self.template.addItem(spec.title, spec.name)
        if protocol is not None:
            names = [name for name in TEMPLATES if name.startswith(f"{protocol}:")]
            if names:
                self.template.setCurrentIndex(list(TEMPLATES).index(names[0]))
        self.template.currentIndexChanged.connect(self._template_changed)

        self.form = QFormLayout()
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("protocolPreview")
        self.preview.setAccessibleName("Bytes to send")
        self.preview.setReadOnly(True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview.setMinimumHeight(90)
        self.error = QLabel()
        self.error.setObjectName("protocolError")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.hide)
        self.send_button = buttons.addButton("Send", QDialogButtonBox.ButtonRole.ActionRole)
        self.send_button.setObjectName("protocolSend")
        self.send_button.clicked.connect(self.send)

        layout = QVBoxLayout(self)
        layout.addWidget(self.template)
        layout.addLayout(self.form)
        layout.addWidget(QLabel("Exactly what will be sent:"))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._template_changed()

    def current(self) -> Template:
        """The chosen template."""
        return TEMPLATES[str(self.template.currentData())]

    def set_template(self, name: str) -> None:
        """Choose the template called ``name``."""
        self.template.setCurrentIndex(list(TEMPLATES).index(name))

    def set_field(self, name: str, text: str) -> None:
        """Type ``text`` into the field called ``name``."""
        self._edits[name].setText(text)

    def values(self) -> dict[str, str]:
        """The typed fields (an empty field takes the template's default)."""
        return {name: edit.text() for name, edit in self._edits.items() if edit.text()}

    @guarded
    def _template_changed(self, *_: object) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._edits.clear()
        for spec in self.current().fields:
            edit = QLineEdit()
            edit.setObjectName(f"protocolField_{spec.name}")
            edit.setAccessibleName(spec.name)
            if spec.default not in (None, "", [], False):
                edit.setPlaceholderText(f"{spec.default}" if spec.kind != "json" else
                                        str(spec.default).replace("'", '"'))  # fmt: skip
            if spec.hint:
                edit.setPlaceholderText(spec.hint)
                edit.setToolTip(spec.hint)
            edit.textChanged.connect(self._refresh)
            self._edits[spec.name] = edit
            self.form.addRow(spec.name.replace("_", " "), edit)
        self._refresh()

    @guarded
    def _refresh(self, *_: object) -> None:
        """Show the bytes the fields build now (the ids not yet taken: a trial copy)."""
        trial = Ids()
        trial._last = dict(self.ids._last)
        try:
            out = self.current().build(self.values(), self._context(), trial)
        except InspectorError as exc:
            self.built = None
            self.preview.setPlainText("")
            self._say(str(exc))
            return
        self.built = out
        self.preview.setPlainText(preview_text(out))
        self.error.hide()

    def _say(self, line: str) -> None:
        colour = theme.error_text(theme.is_dark(self)).name()
        self.error.setStyleSheet(f"color: {colour}")
        self.error.setText(line)
        self.error.show()

    @guarded
    def send(self, *_: object) -> None:
        """Build the message (taking its ids) and ask the session to send it."""
        try:
            out = self.current().build(self.values(), self._context(), self.ids)
        except InspectorError as exc:
            self._say(str(exc))
            return
        if self.endpoint.is_websocket:
            action = SendAction("text" if out.text else "binary", out.data)
        else:
            action = SendAction("data", out.data)
        self.sendRequested.emit(action)
        self._refresh()  # the next ids
