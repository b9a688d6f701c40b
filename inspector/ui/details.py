"""The detail panes of a session: decoded tree, hex view, handshake headers and timing.

Only the selected record is decoded. Selecting a field in the tree highlights its bytes
in the hex view; clicking a byte selects its field in the tree (Wireshark's way). The
application layer's fields (a payload decoder's tree) have ranges in the payload: they
are highlighted in the wire bytes where the payload is a slice of them (an unmasked,
uncompressed frame, a TCP message), and in the Payload view otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QTabWidget, QWidget

from inspector.core.records import Record
from inspector.protocols.decoders.tree import Decoded
from inspector.ui.guard import guarded
from inspector.ui.widgets.bytepane import BytePane, ByteSource
from inspector.ui.widgets.byteview import ByteView
from inspector.ui.widgets.context import RecordContext
from inspector.ui.widgets.decoded import DecodedTree
from inspector.ui.widgets.headers import HeadersView
from inspector.ui.widgets.timing import TimingView


class DetailPanes(QSplitter):
    """Decoded tree | hex view in a splitter; ``tabs`` (headers, timing) is placed by
    the session tab beside the records table, where it has room at 1280x800."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("detailSplitter")
        self.setChildrenCollapsible(False)
        self.tree = DecodedTree()
        self.hex = ByteView()
        self.bytes_pane = BytePane(self.hex)
        self.headers = HeadersView()
        self.timing = TimingView()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("detailTabs")
        self.tabs.setDocumentMode(True)
        # The headers pane is tall (request and response tables, each as tall as its
        # rows): it scrolls as one, rather than dictate the window's minimum height.
        self.headers_scroll = QScrollArea()
        self.headers_scroll.setObjectName("headersScroll")
        self.headers_scroll.setWidget(self.headers)
        self.headers_scroll.setWidgetResizable(True)
        self.headers_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.headers_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tabs.addTab(self.headers_scroll, "Headers")
        self.tabs.addTab(self.timing, "Timing")
        self.addWidget(self.tree)
        self.addWidget(self.bytes_pane)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 1)
        self.setSizes([560, 720])
        self.tree.rangeSelected.connect(self._range_selected)
        self.hex.fieldSelected.connect(self._field_selected)
        self.tree.payloadRangeSelected.connect(self._payload_range_selected)
        self._record: Record | None = None

    def show_headers_tab(self) -> None:
        self.tabs.setCurrentWidget(self.headers_scroll)

    def show_timing_tab(self) -> None:
        self.tabs.setCurrentWidget(self.timing)

    @property
    def record(self) -> Record | None:
        """The record shown."""
        return self._record

    def show_record(self, record: Record | None, context: RecordContext) -> None:
        """Decode ``record`` into the tree and hex panes; refresh the handshake pane."""
        self._record = record
        if record is None:
            self.tree.show_record(None)
            self.bytes_pane.clear()
        else:
            self.tree.show_record(record, context)
            self.bytes_pane.show_record(record, context)
        self.show_context(context)

    def show_decoded(self, decoded: Decoded | None, link: tuple[str, int] | None) -> None:
        """Add the selected record's application layer (and its pair) to the tree."""
        self.tree.add_decoded(decoded, link)

    def payload_offset(self) -> int | None:
        """Where the shown record's payload starts in its wire bytes, when the payload
        is those bytes unchanged (no mask, no compression), else None."""
        r = self._record
        if r is None or not r.wire:
            return None
        if r.payload is None:
            return 0  # a TCP read or datagram: the payload is the wire
        for item in r.fields.get("ranges") or ():
            if len(item) == 3 and item[0] == "payload":
                start, end = int(item[1]), int(item[2])
                return start if r.wire[start:end] == r.payload else None
        return None

    def show_context(self, context: RecordContext) -> None:
        """Show the session's handshake and timing phases."""
        self.headers.show_record(self._record, context)
        self.timing.set_phases(list(context.phases), context.scheme)

    def add_traffic(self, records: Sequence[Record]) -> None:
        """Feed a batch of new records to the timing pane's traffic plot."""
        self.timing.add_traffic(records if hasattr(records, "heads") else list(records))

    def clear(self) -> None:
        self._record = None
        self.tree.show_record(None)
        self.bytes_pane.clear()
        self.headers.clear()
        self.timing.clear()

    @guarded
    def _range_selected(self, start: int, end: int) -> None:
        self.bytes_pane.highlight(start, end)

    @guarded
    def _payload_range_selected(self, start: int, end: int) -> None:
        offset = self.payload_offset()
        pane = self.bytes_pane
        if pane.source is ByteSource.PAYLOAD or (offset is None and not pane.has_payload_view()):
            pane.view.highlight(start, end)
        elif offset is not None:
            pane.view.highlight(start + offset, end + offset)
        else:  # masked or inflated: only the Payload view holds these bytes as decoded
            pane.set_source(ByteSource.PAYLOAD)
            pane.view.highlight(start, end)

    @guarded
    def _field_selected(self, name: str) -> None:
        if name:
            self.tree.select_field(name)
