"""The raw-frame composer: a WebSocket frame built field by field, for testing servers.

Any opcode, FIN and RSV bits, masked or not with a chosen key, any close code, a
payload length that lies and the length's encoding: the dialog shows the exact bytes
and, in red, every RFC 6455 rule the frame breaks, then sends it as built through the
session's ``send_raw``. The send is recorded (the bytes as written) with an INFO record
beside it saying the frame was deliberately built so, and why it is invalid.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.protocols.rawframe import (
    LengthForm,
    RawFrame,
    Role,
    build,
    close_payload,
    random_mask_key,
    violations,
)
from inspector.protocols.wireframes import opcode_name
from inspector.ui import theme
from inspector.ui.compose_input import ComposeError, SendAction, parse_hex
from inspector.ui.guard import guarded

#: The action name of a raw frame in :class:`SendAction`.
RAW_ACTION = "raw"
PREVIEW_BYTES = 64


class RawFrameDialog(QDialog):
    """Build one frame bit by bit; ``sendRequested`` carries it as a SendAction."""

    sendRequested = Signal(object)  # SendAction("raw", wire, reason=violations)

    def __init__(self, parent: QWidget | None = None, compressed: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Raw WebSocket frame")
        self.setObjectName("rawFrameDialog")
        self.compressed = compressed
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.opcode = QComboBox()
        self.opcode.setObjectName("rawOpcode")
        self.opcode.setAccessibleName("Opcode")
        for value in range(16):
            self.opcode.addItem(f"0x{value:X} {opcode_name(value)}", value)
        self.opcode.setCurrentIndex(1)
        self.bits = {name: QCheckBox(name) for name in ("FIN", "RSV1", "RSV2", "RSV3", "MASK")}
        self.bits["FIN"].setChecked(True)
        self.bits["MASK"].setChecked(True)
        bits_row = QHBoxLayout()
        for box in self.bits.values():
            box.setObjectName(f"raw{box.text()}")
            bits_row.addWidget(box)
        bits_row.addStretch(1)
        self.mask_key = QLineEdit(random_mask_key().hex())
        self.mask_key.setObjectName("rawMaskKey")
        self.mask_key.setAccessibleName("Masking key")
        self.mask_key.setFont(mono)
        self.mask_key.setInputMask("HHHHHHHH")
        new_key = QPushButton("New key")
        new_key.clicked.connect(lambda: self.mask_key.setText(random_mask_key().hex()))
        key_row = QHBoxLayout()
        key_row.addWidget(self.mask_key)
        key_row.addWidget(new_key)

        self.payload_mode = QComboBox()
        self.payload_mode.setObjectName("rawPayloadMode")
        self.payload_mode.addItem("Text (UTF-8)", "text")
        self.payload_mode.addItem("Hex", "hex")
        self.payload = QPlainTextEdit()
        self.payload.setObjectName("rawPayload")
        self.payload.setAccessibleName("Payload")
        self.payload.setMaximumHeight(80)
        self.close_code = QSpinBox()
        self.close_code.setObjectName("rawCloseCode")
        self.close_code.setAccessibleName("Close code")
        self.close_code.setRange(-1, 0xFFFF)
        self.close_code.setSpecialValueText("no code")
        self.close_code.setValue(1000)
        self.close_code.setToolTip(
            "Any two-byte code, reserved ones too; the payload is the reason"
        )

        self.lie = QCheckBox("Declare another length:")
        self.lie.setObjectName("rawLengthLies")
        self.declared = QSpinBox()
        self.declared.setObjectName("rawDeclaredLength")
        self.declared.setRange(0, 2**31 - 1)
        self.length_form = QComboBox()
        self.length_form.setObjectName("rawLengthForm")
        for form in LengthForm:
            self.length_form.addItem(form.value, form)
        length_row = QHBoxLayout()
        length_row.addWidget(self.lie)
        length_row.addWidget(self.declared)
        length_row.addWidget(self.length_form)
        length_row.addStretch(1)

        self.preview = QLabel()
        self.preview.setObjectName("rawPreview")
        self.preview.setFont(mono)
        self.preview.setWordWrap(True)
        self.verdict = QLabel()
        self.verdict.setObjectName("rawVerdict")
        self.verdict.setWordWrap(True)
        self.send_button = QPushButton("Send as built")
        self.send_button.setObjectName("rawSend")
        self.send_button.clicked.connect(self.send)
        close = QPushButton("Close")
        close.clicked.connect(self.close)

        form = QFormLayout()
        form.addRow("Opcode", self.opcode)
        form.addRow("Bits", bits_row)
        form.addRow("Masking key", key_row)
        form.addRow("Payload as", self.payload_mode)
        form.addRow("Payload", self.payload)
        form.addRow("Close code", self.close_code)
        form.addRow("Length", length_row)
        form.addRow("Bytes", self.preview)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.verdict)
        layout.addLayout(buttons)

        for signal in (
            self.opcode.currentIndexChanged,
            self.payload_mode.currentIndexChanged,
            self.payload.textChanged,
            self.mask_key.textChanged,
            self.close_code.valueChanged,
            self.lie.toggled,
            self.declared.valueChanged,
            self.length_form.currentIndexChanged,
            *(box.toggled for box in self.bits.values()),
        ):
            signal.connect(self._refresh)
        self._refresh()

    # -- building ---------------------------------------------------------------------

    def frame(self) -> RawFrame:
        """The frame the fields describe; ComposeError when a field cannot be read."""
        opcode = int(self.opcode.currentData())
        text = self.payload.toPlainText()
        body = parse_hex(text) if self.payload_mode.currentData() == "hex" else text.encode()
        if opcode == 0x8 and self.close_code.value() >= 0:
            body = close_payload(self.close_code.value(), body)
        key_text = self.mask_key.text()
        masked = self.bits["MASK"].isChecked()
        if masked and len(key_text) != 8:
            raise ComposeError("a masking key is eight hex digits")
        return RawFrame(
            opcode=opcode,
            payload=body,
            fin=self.bits["FIN"].isChecked(),
            rsv1=self.bits["RSV1"].isChecked(),
            rsv2=self.bits["RSV2"].isChecked(),
            rsv3=self.bits["RSV3"].isChecked(),
            masked=masked,
            mask_key=bytes.fromhex(key_text) if masked else b"\x00" * 4,
            declared_length=self.declared.value() if self.lie.isChecked() else None,
            length_form=self.length_form.currentData(),
        )

    def built(self) -> tuple[bytes, list[str]]:
        """The frame's bytes and the rules it breaks (as a client frame)."""
        frame = self.frame()
        try:
            wire = build(frame)
        except ValueError as exc:
            raise ComposeError(str(exc)) from None
        return wire, violations(frame, Role.CLIENT, extensions=self.compressed)

    @guarded
    def _refresh(self, *_: object) -> None:
        opcode = int(self.opcode.currentData())
        self.close_code.setEnabled(opcode == 0x8)
        self.mask_key.setEnabled(self.bits["MASK"].isChecked())
        self.declared.setEnabled(self.lie.isChecked())
        dark = theme.is_dark(self)
        try:
            wire, broken = self.built()
        except ComposeError as exc:
            self.preview.setText("")
            self._verdict(str(exc), theme.error_text(dark).name())
            self.send_button.setEnabled(False)
            return
        shown = wire[:PREVIEW_BYTES].hex(" ")
        more = f" … ({len(wire):,} bytes)" if len(wire) > PREVIEW_BYTES else f" ({len(wire)} bytes)"
        self.preview.setText(shown + more)
        self.send_button.setEnabled(True)
        if broken:
            lines = "\n".join(f"• {line}" for line in broken)
            self._verdict(
                f"Deliberately invalid; it is sent exactly as built:\n{lines}",
                theme.error_text(dark).name(),
            )
        else:
            self._verdict("A valid frame.", theme.success_text(dark).name())

    def _verdict(self, text: str, colour: str) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"QLabel#rawVerdict {{ color: {colour}; }}")

    @guarded
    def send(self, *_: object) -> None:
        """Ask the session to write the frame as built."""
        try:
            wire, broken = self.built()
        except ComposeError as exc:
            self._verdict(str(exc), theme.error_text(theme.is_dark(self)).name())
            return
        self.sendRequested.emit(SendAction(RAW_ACTION, wire, reason="; ".join(broken)))


def send_raw_frame(session: object, recorder: Recorder | None, action: SendAction) -> None:
    """Write a raw frame with the session's ``send_raw`` (it records the bytes), then an
    INFO record marking it as built by hand and saying which rules it breaks."""
    send_raw = getattr(session, "send_raw", None)
    if send_raw is None:
        raise ComposeError("this session cannot send raw bytes")
    send_raw(action.payload)
    if recorder is None:
        return
    if action.reason:
        message = f"raw frame sent as built, deliberately invalid: {action.reason}"
    else:
        message = "raw frame sent as built (a valid frame)"
    recorder.record(
        Direction.META,
        Kind.INFO,
        fields={"message": message, "deliberate": True, "violations": action.reason or None},
    )
