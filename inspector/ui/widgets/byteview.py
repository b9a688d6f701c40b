"""ByteView: an offset / hex / ASCII dump of immutable bytes, painted line by line.

Modelled on Wireshark's byte view (ui/qt/widgets/byte_view_text.h): it receives bytes
plus named byte ranges and knows nothing of protocols. Only the lines in the viewport
are painted, computed from the scroll position, so a 16 MiB payload costs the same as
16 bytes. Hovering or clicking a byte names the innermost range that holds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QFontDatabase,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QMenu, QToolTip, QWidget

from inspector.ui import theme
from inspector.ui.widgets.fieldtext import bytes_label, range_label

BYTES_PER_LINE = 16
_GROUP = 8  # a one-character gap after this many bytes, as in hexdump -C
_MARGIN = 6  # pixels left of the offsets
_COPY_LIMIT = 64 * 1024 * 1024  # never put more than this on the clipboard
_PRINTABLE = bytes(range(0x20, 0x7F))
_ASCII_TABLE = bytes(b if b in _PRINTABLE else 0x2E for b in range(256))

Range = tuple[str, int, int]


def hex_text(data: bytes) -> str:
    """Bytes as space-separated hex pairs: ``81 05 48 65``."""
    return data.hex(" ")


def utf8_text(data: bytes) -> str:
    """Bytes as text, invalid UTF-8 replaced by U+FFFD."""
    return data.decode("utf-8", errors="replace")


def bytes_literal(data: bytes) -> str:
    """Bytes as a Python/C-compatible literal with every byte escaped: ``b"\\x81\\x05"``."""
    return 'b"' + "".join(f"\\x{b:02x}" for b in data) + '"'


class ByteView(QAbstractScrollArea):
    """A read-only hex dump with field ranges, a selection and a highlighted field."""

    fieldHovered = Signal(str)  # innermost range name under the mouse ("" when none)
    fieldSelected = Signal(str)  # innermost range name of a clicked byte ("" when none)
    selectionChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data = b""
        self._offset_digits = 8
        self.setObjectName("hexView")
        self.setAccessibleName("Bytes")
        self.setAccessibleDescription("Offset, hexadecimal and ASCII dump of the selected record")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.verticalScrollBar().setSingleStep(1)
        self._ranges: list[Range] = []
        self._header_end = 0
        self._highlight: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None
        self._anchor: int | None = None
        self._cursor: int | None = None
        self._dragging = False
        #: While a drag selection is held above or below the view, scroll towards it.
        self._drag_pos = QPoint()
        self._autoscroll = QTimer(self)
        self._autoscroll.setInterval(40)
        self._autoscroll.timeout.connect(self._autoscroll_step)
        self._make_actions()
        self._relayout()

    # -- public API ------------------------------------------------------------------

    def set_data(
        self,
        data: bytes,
        ranges: Sequence[Sequence[object]] = (),
        header_end: int | None = None,
    ) -> None:
        """Show ``data``; ``ranges`` name byte spans, ``[0, header_end)`` is header."""
        self._data = bytes(data)
        self._ranges = _clean_ranges(ranges, len(self._data))
        self._header_end = max(0, min(header_end or 0, len(self._data)))
        self._highlight = None
        self._hover = None
        self._anchor = self._cursor = None
        self._offset_digits = max(8, len(f"{max(len(self._data) - 1, 0):x}"))
        self.verticalScrollBar().setValue(0)
        self.horizontalScrollBar().setValue(0)
        self._relayout()
        self._update_actions()
        self.viewport().update()
        self.selectionChanged.emit()

    def clear(self) -> None:
        """Show nothing."""
        self.set_data(b"")

    def data(self) -> bytes:
        """The bytes shown."""
        return self._data

    def ranges(self) -> list[Range]:
        """The named ranges, outermost first, clipped to the data."""
        return list(self._ranges)

    def show_record(self, record: object, context: object = None) -> None:
        """Show a record's wire bytes (or its payload when nothing was on the wire)."""
        wire = getattr(record, "wire", b"") or b""
        fields = getattr(record, "fields", {}) or {}
        if wire:
            self.set_data(wire, fields.get("ranges") or (), header_end_of(wire, fields))
        else:
            self.set_data(getattr(record, "payload", None) or b"")

    def highlight(self, start: int, end: int) -> None:
        """Strongly highlight ``[start, end)`` (a selected field) and scroll it into view."""
        start, end = max(0, start), min(end, len(self._data))
        self._highlight = (start, end) if start < end else None
        if self._highlight:
            self._ensure_visible(start)
        self._update_actions()
        self.viewport().update()

    def highlighted(self) -> tuple[int, int] | None:
        """The highlighted span, if any."""
        return self._highlight

    def selection(self) -> tuple[int, int] | None:
        """The bytes selected with mouse or keyboard as ``(start, end)``, end exclusive."""
        if self._anchor is None or self._cursor is None:
            return None
        return min(self._anchor, self._cursor), max(self._anchor, self._cursor) + 1

    def select(self, start: int, end: int) -> None:
        """Select ``[start, end)``."""
        if not self._data or end <= start:
            self._anchor = self._cursor = None
        else:
            self._anchor = max(0, min(start, len(self._data) - 1))
            self._cursor = max(0, min(end - 1, len(self._data) - 1))
            self._ensure_visible(self._cursor)
        self._selection_changed()

    def field_at(self, offset: int) -> str | None:
        """The innermost named range holding ``offset`` (smallest span, first listed)."""
        names = self.fields_at(offset)
        return names[0] if names else None

    def fields_at(self, offset: int) -> list[str]:
        """Every innermost range name at ``offset`` (bit fields share a byte)."""
        best: list[str] = []
        best_len = -1
        for name, start, end in self._ranges:
            if start <= offset < end:
                length = end - start
                if best_len < 0 or length < best_len:
                    best, best_len = [name], length
                elif length == best_len:
                    best.append(name)
        return best

    def tooltip_at(self, offset: int) -> str:
        """The tooltip of a byte: the field(s) holding it, by the decoded tree's labels,
        their span (first and last byte, as in the tree's Bytes column) and its offset."""
        names = self.fields_at(offset)
        if not names:
            return f"(no field) \u2014 byte {offset} (0x{offset:x})"
        label = ", ".join(range_label(name) for name in names)
        span = self.range_of(names[0])
        where = bytes_label(*span) if span else f"byte {offset}"
        if span and span[1] - span[0] > 1:
            where += f", this is byte {offset} (0x{offset:x})"
        else:
            where += f" (0x{offset:x})"
        return f"{label} \u2014 {where}"

    def range_of(self, name: str) -> tuple[int, int] | None:
        """The span of the first range called ``name``."""
        for rname, start, end in self._ranges:
            if rname == name:
                return start, end
        return None

    def copy_hex(self) -> None:
        """Copy the selection (or highlighted field) as ``81 05 48 65``."""
        self._copy(hex_text)

    def copy_text(self) -> None:
        """Copy the selection (or highlighted field) as UTF-8 text."""
        self._copy(utf8_text)

    def copy_literal(self) -> None:
        """Copy the selection (or highlighted field) as a bytes literal."""
        self._copy(bytes_literal)

    def offset_at(self, pos: QPoint) -> int | None:
        """The byte offset under a viewport position, None outside the hex/ASCII columns."""
        if not self._data:
            return None
        line = self.verticalScrollBar().value() + pos.y() // self._line_h
        x = pos.x() + self.horizontalScrollBar().value()
        column = self._column_at(x)
        if column is None:
            return None
        offset = line * BYTES_PER_LINE + column
        return offset if 0 <= offset < len(self._data) else None

    def byte_rect(self, offset: int) -> QRect:
        """Viewport rectangle of a byte's hex cell (for tests and tooltips)."""
        line = offset // BYTES_PER_LINE - self.verticalScrollBar().value()
        x = self._hex_x(offset % BYTES_PER_LINE) - self.horizontalScrollBar().value()
        return QRect(x, line * self._line_h, 2 * self._char_w, self._line_h)

    # -- geometry --------------------------------------------------------------------

    def _relayout(self) -> None:
        """Recompute metrics and scroll ranges after new data, font or size."""
        fm = QFontMetrics(self.font())
        self._char_w = max(1, fm.horizontalAdvance("0"))
        self._line_h = max(1, fm.height())
        self._ascent = fm.ascent()
        cw = self._char_w
        self._hex_start = _MARGIN + (self._offset_digits + 2) * cw
        hex_chars = BYTES_PER_LINE * 3 + (BYTES_PER_LINE - 1) // _GROUP
        self._ascii_start = self._hex_start + (hex_chars + 1) * cw
        self._width = self._ascii_start + BYTES_PER_LINE * cw + _MARGIN
        lines = self._line_count()
        visible = max(1, self.viewport().height() // self._line_h)
        vbar = self.verticalScrollBar()
        vbar.setRange(0, max(0, lines - visible))
        vbar.setPageStep(visible)
        hbar = self.horizontalScrollBar()
        hbar.setRange(0, max(0, self._width - self.viewport().width()))
        hbar.setPageStep(self.viewport().width())

    def _line_count(self) -> int:
        return (len(self._data) + BYTES_PER_LINE - 1) // BYTES_PER_LINE

    def _hex_x(self, column: int) -> int:
        return self._hex_start + (column * 3 + column // _GROUP) * self._char_w

    def _ascii_x(self, column: int) -> int:
        return self._ascii_start + column * self._char_w

    def _column_at(self, x: int) -> int | None:
        cw = self._char_w
        if self._hex_start <= x < self._ascii_start - cw:
            for column in range(BYTES_PER_LINE):
                if x < self._hex_x(column) + 3 * cw:
                    return column
            return BYTES_PER_LINE - 1
        if self._ascii_start <= x < self._ascii_start + BYTES_PER_LINE * cw:
            return (x - self._ascii_start) // cw
        return None

    def _ensure_visible(self, offset: int) -> None:
        line = offset // BYTES_PER_LINE
        vbar = self.verticalScrollBar()
        visible = max(1, self.viewport().height() // self._line_h)
        if line < vbar.value():
            vbar.setValue(line)
        elif line >= vbar.value() + visible:
            vbar.setValue(line - visible + 1)

    def sizeHint(self):
        """Wide enough for one full line, a few lines tall."""
        size = super().sizeHint()
        size.setWidth(self._width + self.verticalScrollBar().sizeHint().width() + 4)
        return size

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the scroll ranges in step with the viewport."""
        super().resizeEvent(event)
        self._relayout()

    def changeEvent(self, event: QEvent) -> None:
        """Re-measure on font change, repaint on palette (light/dark) change."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange):
            self._relayout()
            self.viewport().update()

    # -- painting --------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint only the lines that intersect the viewport."""
        painter = QPainter(self.viewport())
        painter.setFont(self.font())
        palette = self.palette()
        dark = theme.is_dark(self)
        painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Base))
        if not self._data:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, "No bytes")
            painter.end()
            return
        painter.translate(-self.horizontalScrollBar().value(), 0)
        first = self.verticalScrollBar().value()
        rows = event.rect().bottom() // self._line_h + 1
        top_row = event.rect().top() // self._line_h
        colours = _Colours(palette, dark)
        for row in range(top_row, rows + 1):
            line = first + row
            start = line * BYTES_PER_LINE
            if start >= len(self._data):
                break
            self._paint_line(painter, row * self._line_h, start, colours)
        painter.end()

    def _paint_line(self, painter: QPainter, y: int, start: int, colours: _Colours) -> None:
        chunk = self._data[start : start + BYTES_PER_LINE]
        cw, lh = self._char_w, self._line_h
        baseline = y + self._ascent
        painter.setPen(colours.offset)
        painter.drawText(_MARGIN, baseline, f"{start:0{self._offset_digits}x}")
        # Backgrounds, as runs of equal colour so adjacent bytes join up.
        roles = [self._role(start + i) for i in range(len(chunk))]
        i = 0
        while i < len(chunk):
            j = i
            while j + 1 < len(chunk) and roles[j + 1] == roles[i]:
                j += 1
            fill = colours.background(roles[i])
            if fill is not None:
                x0, x1 = self._hex_x(i), self._hex_x(j) + 2 * cw
                painter.fillRect(x0 - cw // 2, y, x1 - x0 + cw, lh, fill)
                painter.fillRect(self._ascii_x(i), y, (j - i + 1) * cw, lh, fill)
            i = j + 1
        # Text, also in runs: one drawText per run keeps painting cheap.
        ascii_line = chunk.translate(_ASCII_TABLE).decode("ascii")
        i = 0
        while i < len(chunk):
            j = i
            text_role = colours.text_role(roles[i])
            while (
                j + 1 < len(chunk)
                and colours.text_role(roles[j + 1]) == text_role
                and (j + 1) % _GROUP != 0
            ):
                j += 1
            painter.setPen(colours.foreground(text_role))
            painter.drawText(self._hex_x(i), baseline, chunk[i : j + 1].hex(" "))
            painter.drawText(self._ascii_x(i), baseline, ascii_line[i : j + 1])
            i = j + 1

    def _role(self, offset: int) -> int:
        """Background role of one byte: 0 payload, 1 header, 2 hover, 3 selection, 4 field."""
        if self._highlight and self._highlight[0] <= offset < self._highlight[1]:
            return 4
        sel = self.selection()
        if sel and sel[0] <= offset < sel[1]:
            return 3
        if self._hover and self._hover[0] <= offset < self._hover[1]:
            return 2
        return 1 if offset < self._header_end else 0

    # -- mouse and keyboard ----------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start a selection (or extend it with Shift) and name the clicked field."""
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        event.accept()
        offset = self.offset_at(event.position().toPoint())
        if offset is None:
            return
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if not shift or self._anchor is None:
            self._anchor = offset
        self._cursor = offset
        self._dragging = True
        self._selection_changed()
        self.fieldSelected.emit(self.field_at(offset) or "")

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Extend a drag selection, or track the field under the mouse."""
        pos = event.position().toPoint()
        offset = self.offset_at(pos)
        if self._dragging:
            self._drag_pos = pos
            outside = pos.y() < 0 or pos.y() >= self.viewport().height()
            if outside and not self._autoscroll.isActive():
                self._autoscroll.start()
            elif not outside:
                self._autoscroll.stop()
            if offset is not None and offset != self._cursor:
                self._cursor = offset
                self._selection_changed()
        self._set_hover(offset)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """End a drag selection."""
        self._dragging = False
        self._autoscroll.stop()
        event.accept()

    def _autoscroll_step(self) -> None:
        """Scroll towards a drag held outside the view (faster the further out) and
        extend the selection to the line that came into view."""
        height = self.viewport().height()
        y = self._drag_pos.y()
        if not self._dragging or 0 <= y < height:
            self._autoscroll.stop()
            return
        distance = -y if y < 0 else y - height + 1
        lines = 1 + distance // max(1, self._line_h)
        vbar = self.verticalScrollBar()
        vbar.setValue(vbar.value() + (lines if y >= height else -lines))
        inside = QPoint(self._drag_pos.x(), 0 if y < 0 else height - 1)
        offset = self.offset_at(inside)
        if offset is None:  # beside the columns: take the whole first or last line
            line = vbar.value() + inside.y() // self._line_h
            last = line * BYTES_PER_LINE + (0 if y < 0 else BYTES_PER_LINE - 1)
            offset = max(0, min(last, len(self._data) - 1))
        if offset != self._cursor:
            self._cursor = offset
            self._selection_changed()
        self.viewport().update()

    def leaveEvent(self, event: QEvent) -> None:
        """Forget the hovered field when the mouse leaves."""
        self._set_hover(None)
        super().leaveEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        """Tooltips name the field(s) under the mouse and its byte span."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            offset = self.offset_at(event.pos())
            if offset is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_at(offset))
            return True
        return super().viewportEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Arrows, Page Up/Down, Home/End move the cursor; with Shift they select."""
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_hex()  # also when the key reaches us without the shortcut map
            return
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.select(0, len(self._data))
            return
        if not self._data:
            super().keyPressEvent(event)
            return
        cursor = self._cursor if self._cursor is not None else 0
        page = max(1, self.viewport().height() // self._line_h) * BYTES_PER_LINE
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        moves = {
            Qt.Key.Key_Left: cursor - 1,
            Qt.Key.Key_Right: cursor + 1,
            Qt.Key.Key_Up: cursor - BYTES_PER_LINE,
            Qt.Key.Key_Down: cursor + BYTES_PER_LINE,
            Qt.Key.Key_PageUp: cursor - page,
            Qt.Key.Key_PageDown: cursor + page,
            Qt.Key.Key_Home: 0 if ctrl else cursor - cursor % BYTES_PER_LINE,
            Qt.Key.Key_End: len(self._data) - 1
            if ctrl
            else cursor - cursor % BYTES_PER_LINE + BYTES_PER_LINE - 1,
        }
        target = moves.get(Qt.Key(event.key()))
        if target is None:
            super().keyPressEvent(event)
            return
        target = max(0, min(target, len(self._data) - 1))
        if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier or self._anchor is None:
            self._anchor = target
        self._cursor = target
        self._ensure_visible(target)
        self._selection_changed()
        self.fieldHovered.emit(self.field_at(target) or "")

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Copy and select-all actions."""
        menu = QMenu(self)
        menu.addActions([self.copy_hex_action, self.copy_text_action, self.copy_literal_action])
        menu.addSeparator()
        menu.addAction(self.select_all_action)
        menu.exec(event.globalPos())

    # -- internals -------------------------------------------------------------------

    def _make_actions(self) -> None:
        def action(text: str, shortcut: QKeySequence | str, slot: object) -> QAction:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.copy_hex_action = action("Copy as Hex", QKeySequence.StandardKey.Copy, self.copy_hex)
        self.copy_text_action = action("Copy as Text", "Ctrl+Shift+C", self.copy_text)
        self.copy_literal_action = action("Copy as Bytes Literal", "Ctrl+Alt+C", self.copy_literal)
        self.select_all_action = action(
            "Select All",
            QKeySequence.StandardKey.SelectAll,
            lambda: self.select(0, len(self._data)),
        )

    def _update_actions(self) -> None:
        has = self._copy_span() is not None
        for act in (self.copy_hex_action, self.copy_text_action, self.copy_literal_action):
            act.setEnabled(has)
        self.select_all_action.setEnabled(bool(self._data))

    def _copy_span(self) -> tuple[int, int] | None:
        return self.selection() or self._highlight

    def _copy(self, render: object) -> None:
        span = self._copy_span()
        if span is None:
            return
        start, end = span
        end = min(end, start + _COPY_LIMIT)
        QGuiApplication.clipboard().setText(render(self._data[start:end]))  # type: ignore[operator]

    def _selection_changed(self) -> None:
        self._update_actions()
        self.viewport().update()
        self.selectionChanged.emit()

    def _set_hover(self, offset: int | None) -> None:
        span: tuple[int, int] | None = None
        name = ""
        if offset is not None:
            name = self.field_at(offset) or ""
            span = self.range_of(name) if name else None
        if span != self._hover:
            self._hover = span
            self.viewport().update()
            self.fieldHovered.emit(name)


class _Colours:
    """The colours of one paint pass, resolved once from the palette and scheme."""

    def __init__(self, palette: QPalette, dark: bool) -> None:
        self.offset = theme.offset_text(dark)
        self._text = palette.color(QPalette.ColorRole.Text)
        self._backgrounds: dict[int, QColor] = {
            0: theme.payload_bytes(dark),
            1: theme.header_bytes(dark),
            2: theme.hover(dark),
            3: palette.color(QPalette.ColorRole.Highlight),
            4: theme.highlight(dark),
        }
        self._foregrounds = {
            0: self._text,
            3: palette.color(QPalette.ColorRole.HighlightedText),
            4: theme.highlight_text(dark),
        }

    def background(self, role: int) -> QColor | None:
        return self._backgrounds.get(role)

    def text_role(self, role: int) -> int:
        return role if role in (3, 4) else 0

    def foreground(self, text_role: int) -> QColor:
        return self._foregrounds[text_role]


def _clean_ranges(ranges: Sequence[Sequence[object]], size: int) -> list[Range]:
    """Valid ``(name, start, end)`` triples clipped to the data; malformed ones dropped."""
    out: list[Range] = []
    for item in ranges:
        try:
            name, start, end = item  # type: ignore[misc]
            start, end = max(0, int(start)), min(size, int(end))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            continue
        if start < end:
            out.append((str(name), start, end))
    return out


def header_end_of(wire: bytes, fields: object) -> int:
    """Where a record's header ends: ``header_len``, the payload range or the HTTP head."""
    get = getattr(fields, "get", None)
    if get is None:
        return 0
    header_len = get("header_len")
    if isinstance(header_len, int):
        return header_len
    for item in get("ranges") or ():
        if len(item) == 3 and item[0] in ("payload", "body"):
            return int(item[1])
    if wire.startswith((b"GET ", b"HTTP/")):
        end = wire.find(b"\r\n\r\n")
        return end + 4 if end >= 0 else len(wire)
    return 0
