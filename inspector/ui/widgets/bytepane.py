"""BytePane: the hex view under a caption that says what its bytes are, with a switch
between the bytes on the wire and the payload (unmasked, inflated), as Wireshark's
byte view offers a tab per data source.

The caption names the bytes shown ("Wire: 19 bytes as received", "Payload: 11 bytes,
unmasked and inflated") and says so plainly when an import rebuilt them rather than a
capture recording them. The chosen view is kept from record to record.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from inspector.core.records import Direction, Kind, Record
from inspector.ui import theme
from inspector.ui.guard import guarded
from inspector.ui.widgets.byteview import ByteView, header_end_of
from inspector.ui.widgets.fieldtext import format_size


class ByteSource(Enum):
    """Which bytes of a record the hex view shows."""

    WIRE = "wire"
    PAYLOAD = "payload"


class BytePane(QWidget):
    """A caption and a Wire / Payload switch over a :class:`ByteView`."""

    def __init__(self, view: ByteView | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bytePane")
        self.view = view if view is not None else ByteView()
        self.caption = QLabel()
        self.caption.setObjectName("hexCaption")
        self.caption.setAccessibleName("What the bytes are")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.wire_button = self._switch("Wire", "The frame or message exactly as on the wire")
        self.payload_button = self._switch(
            "Payload", "The payload as the application sees it: unmasked and inflated"
        )
        self.wire_button.setChecked(True)
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.wire_button)
        group.addButton(self.payload_button)
        group.buttonClicked.connect(self._switched)
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(2)
        row.addWidget(self.caption, 1)
        row.addWidget(self.wire_button)
        row.addWidget(self.payload_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        self._record: Record | None = None
        self._source = ByteSource.WIRE
        self._show()

    def _switch(self, text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(f"hex{text}Button")
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(f"Show {text.lower()} bytes")
        button.setCheckable(True)
        button.setAutoRaise(True)
        return button

    # -- public API ------------------------------------------------------------------

    def show_record(self, record: Record | None, context: object = None) -> None:
        """Show ``record``'s bytes in the chosen view (the wire when it has no other)."""
        self._record = record
        self._show()

    def clear(self) -> None:
        """Show nothing."""
        self.show_record(None)

    @property
    def source(self) -> ByteSource:
        """The bytes shown now."""
        return self._shown

    def set_source(self, source: ByteSource) -> None:
        """Show the wire or the payload (kept for the next records)."""
        self._source = source
        self._show()

    def has_payload_view(self) -> bool:
        """True when the record's payload differs from its wire bytes."""
        r = self._record
        return (
            r is not None
            and bool(r.wire)
            and r.payload is not None
            and r.kind is not Kind.HANDSHAKE
            and r.payload != r.wire
        )

    def highlight(self, start: int, end: int) -> None:
        """Highlight a span of the wire bytes (the whole payload in the payload view)."""
        if self._shown is ByteSource.WIRE:
            self.view.highlight(start, end)
        elif self._record is not None and self._is_payload_range(start, end):
            self.view.highlight(0, len(self.view.data()))

    # -- internals -------------------------------------------------------------------

    def _is_payload_range(self, start: int, end: int) -> bool:
        assert self._record is not None
        for item in self._record.fields.get("ranges") or ():
            if len(item) == 3 and item[0] == "payload":
                return (int(item[1]), int(item[2])) == (start, end)
        return False

    @guarded
    def _switched(self, *_: object) -> None:
        self.set_source(ByteSource.PAYLOAD if self.payload_button.isChecked() else ByteSource.WIRE)

    def _show(self) -> None:
        r = self._record
        two = self.has_payload_view()
        self.wire_button.setEnabled(two)
        self.payload_button.setEnabled(two)
        self._shown = self._source if two else ByteSource.WIRE
        self.wire_button.setChecked(self._shown is ByteSource.WIRE)
        self.payload_button.setChecked(self._shown is ByteSource.PAYLOAD)
        if r is None:
            self.view.clear()
            self._caption("", warn=False)
            return
        rebuilt = bool(r.fields.get("synthesised"))
        if self._shown is ByteSource.PAYLOAD:
            payload = r.payload or b""
            self.view.set_data(payload)
            self._caption(f"Payload: {format_size(len(payload))}{_treated(r)}", warn=False)
        elif r.wire:
            self.view.set_data(
                r.wire, r.fields.get("ranges") or (), header_end_of(r.wire, r.fields)
            )
            if rebuilt:
                source = r.fields.get("rebuilt_from") or "an import"
                text = f"Wire: {format_size(len(r.wire))}, rebuilt from {source}, not captured"
            else:
                way = "as sent" if r.direction is Direction.OUT else "as received"
                text = f"Wire: {format_size(len(r.wire))} {way}"
            self._caption(text, warn=rebuilt)
        else:
            payload = r.payload or b""
            self.view.set_data(payload)
            text = f"Payload: {format_size(len(payload))}" if payload else "No bytes"
            self._caption(text, warn=False)

    def _caption(self, text: str, *, warn: bool) -> None:
        self.caption.setText(text)
        self.caption.setToolTip(text)
        if warn:
            colour = theme.error_text(theme.is_dark(self)).name()
            self.caption.setStyleSheet(f"QLabel#hexCaption {{ color: {colour}; }}")
        else:
            self.caption.setStyleSheet("")


def _treated(record: Record) -> str:
    """What was undone to get the payload from the wire: ", unmasked and inflated"."""
    done = []
    if record.fields.get("masked"):
        done.append("unmasked")
    if record.fields.get("compressed"):
        done.append("inflated")
    if record.kind in (Kind.MESSAGE,):
        done.append("without its framing")
    return ", " + " and ".join(done) if done else ""
