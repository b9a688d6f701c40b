"""HeadersView: the WebSocket opening handshake, parsed and raw.

RFC 6455 §4.1/§4.2.2: the client sends an HTTP/1.1 GET with Upgrade headers, the server
answers 101 Switching Protocols, or anything else to refuse. Headers are shown in wire
order with duplicates kept; "Raw" shows the bytes exactly as sent and received.
A refused upgrade is marked as a failure and its body shown (text, or hex if binary).
Each table is as tall as its rows (no scroll bar of its own): the pane scrolls as one.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.records import Record
from inspector.ui import theme
from inspector.ui.widgets.fieldtext import http_lines

BODY_PREVIEW = 64 * 1024  # bytes of a refusal body shown


class HeadersView(QWidget):
    """Request and response headers of the upgrade, with a raw view and a placeholder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("headersView")
        self.setAccessibleName("Handshake headers")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._stack = QStackedWidget(self)
        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("headersPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setEnabled(False)
        self._stack.addWidget(self.placeholder)

        self.tabs = QTabWidget(self)
        parsed = QWidget()
        column = QVBoxLayout(parsed)
        self.request_line = _line_label(mono, "requestLine")
        self.request_table = _table("requestHeaders", "Request headers")
        self.status_line = _line_label(mono, "statusLine")
        self.response_table = _table("responseHeaders", "Response headers")
        self.body_label = QLabel("Body")
        self.body = QPlainTextEdit()
        self.body.setObjectName("responseBody")
        self.body.setReadOnly(True)
        self.body.setFont(mono)
        self.body.setAccessibleName("Response body")
        for title, widget in (
            ("Request", self.request_line),
            (None, self.request_table),
            ("Response", self.status_line),
            (None, self.response_table),
            (None, self.body_label),
            (None, self.body),
        ):
            if title:
                heading = QLabel(title)
                bold = heading.font()
                bold.setBold(True)
                heading.setFont(bold)
                column.addWidget(heading)
            column.addWidget(widget, 1 if widget is self.body else 0)
        column.addStretch(0)
        self.raw = QPlainTextEdit()
        self.raw.setObjectName("rawHandshake")
        self.raw.setReadOnly(True)
        self.raw.setFont(mono)
        self.raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.raw.setAccessibleName("Raw handshake")
        self.tabs.addTab(parsed, "Headers")
        self.tabs.addTab(self.raw, "Raw")
        self._stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        self.failed = False
        self.clear()

    # -- public API ------------------------------------------------------------------

    def clear(self, message: str = "No handshake yet") -> None:
        """Show only a placeholder (e.g. "TCP session: no handshake")."""
        self.placeholder.setText(message)
        self._stack.setCurrentWidget(self.placeholder)
        for table in (self.request_table, self.response_table):
            table.setRowCount(0)
            _fit_rows(table)
        self.request_line.clear()
        self.status_line.clear()
        self.raw.clear()
        self.body.clear()
        self.failed = False

    def show_handshake(self, request: Record | None, response: Record | None) -> None:
        """Show the upgrade request and the server's answer (either may be missing)."""
        if request is None and response is None:
            self.clear()
            return
        dark = theme.is_dark(self)
        self._stack.setCurrentWidget(self.tabs)
        raw: list[str] = []
        if request is not None:
            lines = http_lines(request.wire)
            first = lines[0][0] if lines else _request_line(request)
            self.request_line.setText(first)
            _fill(self.request_table, _headers(request, lines))
            raw.append(request.wire.decode("latin-1") if request.wire else first)
        else:
            self.request_line.setText("(no request recorded)")
            _fill(self.request_table, [])
        self.failed = False
        self.body.clear()
        self.body.hide()
        self.body_label.hide()
        if response is not None:
            lines = http_lines(response.wire)
            status = response.fields.get("status")
            first = (
                lines[0][0] if lines else f"HTTP/1.1 {status} {response.fields.get('reason', '')}"
            )
            self.failed = not response.fields.get("accepted", status == 101)
            self.status_line.setText(first + ("  — upgrade refused" if self.failed else ""))
            _fill(self.response_table, _headers(response, lines))
            body = _body(response)
            if body:
                self.body.setPlainText(_body_text(body))
                self.body.show()
                self.body_label.setText(f"Body ({len(body):,} bytes)")
                self.body_label.show()
            raw.append(_raw_text(response.wire) if response.wire else first)
        else:
            self.status_line.setText("(no response yet)")
            _fill(self.response_table, [])
        colour = theme.error_text(dark) if self.failed else theme.success_text(dark)
        style = f"color: {colour.name()};"
        if self.failed:
            style += f" background: {theme.error_background(dark).name()}; padding: 2px;"
        self.status_line.setStyleSheet(style if response is not None else "")
        self.raw.setPlainText("\n".join(part.replace("\r\n", "\n") for part in raw))

    def show_record(self, record: Record | None, context: object = None) -> None:
        """Show the session's handshake from ``context`` (request, response, scheme)."""
        request = getattr(context, "request", None)
        response = getattr(context, "response", None)
        if request is None and response is None:
            scheme = str(getattr(context, "scheme", "") or "")
            if scheme and scheme not in ("ws", "wss"):
                self.clear(f"{scheme.upper()} session: no handshake")
            else:
                self.clear()
            return
        self.show_handshake(request, response)

    def header_rows(self, which: str = "response") -> list[tuple[str, str]]:
        """The (name, value) rows of the request or response table, in order."""
        table = self.request_table if which == "request" else self.response_table
        return [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]


def _line_label(font: QFont, name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setFont(font)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _table(name: str, accessible: str) -> QTableWidget:
    table = QTableWidget(0, 2)
    table.setObjectName(name)
    table.setAccessibleName(accessible)
    table.setHorizontalHeaderLabels(["Name", "Value"])
    rows = table.verticalHeader()
    rows.hide()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    # Every row is shown: the table never scrolls inside the pane, which scrolls instead.
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    _fit_rows(table)
    return table


def _fit_rows(table: QTableWidget) -> None:
    """Make ``table`` exactly as tall as its header and rows."""
    rows = table.verticalHeader()
    height = table.horizontalHeader().sizeHint().height()
    height += rows.defaultSectionSize() * table.rowCount() + 2 * table.frameWidth()
    table.setFixedHeight(height)


def _fill(table: QTableWidget, rows: Sequence[tuple[str, str]]) -> None:
    table.setRowCount(len(rows))
    for r, (name, value) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(name))
        item = QTableWidgetItem(value)
        item.setToolTip(value)
        table.setItem(r, 1, item)
    _fit_rows(table)


def _headers(record: Record, lines: list[tuple[str, int, int]]) -> list[tuple[str, str]]:
    """Headers from the record's fields, or parsed from its wire bytes."""
    given = record.fields.get("headers")
    if given:
        return [(str(p[0]), str(p[1])) for p in given if len(p) >= 2]
    out = []
    for text, _, _ in lines[1:]:
        name, sep, value = text.partition(":")
        if sep:
            out.append((name.strip(), value.strip()))
    return out


def _request_line(record: Record) -> str:
    f = record.fields
    return f"{f.get('method', 'GET')} {f.get('target', '/')} HTTP/1.1"


def _body(response: Record) -> bytes:
    if response.payload:
        return response.payload
    end = response.wire.find(b"\r\n\r\n")
    return response.wire[end + 4 :] if end >= 0 else b""


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3 and len(data) >= BODY_PREVIEW  # cut mid-character
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def _body_text(body: bytes) -> str:
    """A refusal body as text, or as a hex dump when it is binary."""
    head = body[:BODY_PREVIEW]
    more = f"\n… {len(body) - len(head):,} more bytes" if len(body) > len(head) else ""
    if _is_text(head):
        return head.decode("utf-8", errors="replace") + more
    rows = []
    for off in range(0, len(head), 16):
        chunk = head[off : off + 16]
        ascii_part = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        rows.append(f"{off:08x}  {chunk.hex(' '):<47}  {ascii_part}")
    return "\n".join(rows) + more


def _raw_text(wire: bytes) -> str:
    """The response as received: the head verbatim, a binary body as hex."""
    end = wire.find(b"\r\n\r\n")
    if end < 0:
        return wire.decode("latin-1")
    head, body = wire[: end + 4], wire[end + 4 :]
    if not body or _is_text(body[:BODY_PREVIEW]):
        return head.decode("latin-1") + body[:BODY_PREVIEW].decode("utf-8", errors="replace")
    return head.decode("latin-1") + _body_text(body)
