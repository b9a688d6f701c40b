"""DetailPane: the detail panes bundled, with the decoded tree and byte view linked.

Selecting a field in the tree highlights its bytes; clicking bytes selects their field
in the tree (Wireshark's packet details / packet bytes pair).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from inspector.core.records import Record
from inspector.ui.widgets.bytepane import BytePane
from inspector.ui.widgets.byteview import ByteView
from inspector.ui.widgets.context import RecordContext
from inspector.ui.widgets.decoded import DecodedTree
from inspector.ui.widgets.headers import HeadersView
from inspector.ui.widgets.timing import TimingView


class DetailPane(QWidget):
    """Tabs "Decoded" (tree over bytes), "Headers" and "Timing" for the selected record."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPane")
        self.decoded = DecodedTree()
        self.bytes = ByteView()
        self.bytes_pane = BytePane(self.bytes)
        self.headers = HeadersView()
        self.timing = TimingView()
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("decodedSplitter")
        split.addWidget(self.decoded)
        split.addWidget(self.bytes_pane)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("detailTabs")
        self.tabs.addTab(split, "Decoded")
        self.tabs.addTab(self.headers, "Headers")
        self.tabs.addTab(self.timing, "Timing")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.decoded.rangeSelected.connect(self.bytes_pane.highlight)
        self.bytes.fieldSelected.connect(self.decoded.select_field)

    def show_record(self, record: Record | None, context: RecordContext | None = None) -> None:
        """Show one record in every pane (None clears the record panes)."""
        context = context or RecordContext()
        self.decoded.show_record(record, context)
        self.bytes_pane.show_record(record, context)
        self.headers.show_record(record, context)
        self.timing.show_record(record, context)

    def clear(self) -> None:
        """Forget the session."""
        self.decoded.show_record(None)
        self.bytes_pane.clear()
        self.headers.clear()
        self.timing.clear()
