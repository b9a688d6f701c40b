"""Detail panes of the main window: bytes, decoded fields, handshake headers, timing.

Each pane is self-contained and offers ``show_record(record, context)``; ``DetailPane``
bundles them and wires the decoded tree to the byte view.
"""

from __future__ import annotations

from inspector.ui.widgets.byteview import ByteView
from inspector.ui.widgets.context import RecordContext
from inspector.ui.widgets.decoded import DecodedTree
from inspector.ui.widgets.detail import DetailPane
from inspector.ui.widgets.headers import HeadersView
from inspector.ui.widgets.timing import TimingView

__all__ = ["ByteView", "DecodedTree", "DetailPane", "HeadersView", "RecordContext", "TimingView"]
