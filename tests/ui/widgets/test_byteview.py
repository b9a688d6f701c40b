"""ByteView: painting only what is visible, field lookup, selection and copying."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from inspector.ui import theme
from inspector.ui.widgets.byteview import ByteView, bytes_literal, hex_text

WS_RANGES = [
    ("header", 0, 6),
    ("fin", 0, 1),
    ("rsv1", 0, 1),
    ("rsv2", 0, 1),
    ("rsv3", 0, 1),
    ("opcode", 0, 1),
    ("mask", 1, 2),
    ("payload_len", 1, 2),
    ("mask_key", 2, 6),
    ("payload", 6, 11),
]


def _view(qtbot: QtBot, data: bytes, ranges=(), header_end=None) -> ByteView:
    view = ByteView()
    qtbot.addWidget(view)
    view.resize(760, 320)
    view.set_data(data, list(ranges), header_end)
    view.show()
    qtbot.waitExposed(view)
    return view


def _has_colour(image: QImage, colour: QColor) -> bool:
    target = colour.rgb()
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            if image.pixel(x, y) == target:
                return True
    return False


def test_sixteen_mib_paints_visible_lines_and_scrolls(qtbot: QtBot) -> None:
    data = bytes(range(256)) * (16 * 1024 * 1024 // 256)
    view = _view(qtbot, data, [("payload", 0, len(data))], header_end=0)
    top = view.viewport().grab().toImage()
    vbar = view.verticalScrollBar()
    assert vbar.maximum() > 1_000_000 - 100  # one scroll step per line of 16 bytes
    vbar.setValue(vbar.maximum())
    bottom = view.viewport().grab().toImage()
    assert top != bottom
    dark = theme.is_dark(view)
    assert not _has_colour(bottom, theme.highlight(dark))
    view.highlight(len(data) - 40, len(data) - 20)
    assert _has_colour(view.viewport().grab().toImage(), theme.highlight(dark))
    view.highlight(1000, 1010)  # far away: scrolled into view
    assert vbar.value() <= 1000 // 16 < vbar.value() + vbar.pageStep()
    assert view.offset_at(view.byte_rect(1005).center()) == 1005


def test_header_and_payload_are_tinted_differently(qtbot: QtBot) -> None:
    view = _view(qtbot, bytes(range(11)), WS_RANGES, header_end=6)
    image = view.viewport().grab().toImage()
    dark = theme.is_dark(view)
    header_px = image.pixel(view.byte_rect(0).topLeft() + QPoint(1, 1))
    payload_px = image.pixel(view.byte_rect(8).topLeft() + QPoint(1, 1))
    assert header_px == theme.header_bytes(dark).rgb()
    assert payload_px == theme.payload_bytes(dark).rgb()


def test_field_lookup_names_the_innermost_range(qtbot: QtBot) -> None:
    view = _view(qtbot, bytes(11), WS_RANGES, header_end=6)
    assert view.field_at(0) == "fin"
    assert view.fields_at(0) == ["fin", "rsv1", "rsv2", "rsv3", "opcode"]
    assert view.field_at(1) == "mask"
    assert view.field_at(3) == "mask_key"
    assert view.field_at(9) == "payload"
    assert view.field_at(11) is None
    assert view.range_of("mask_key") == (2, 6)


def test_hover_and_click_emit_field_names(qtbot: QtBot) -> None:
    view = _view(qtbot, bytes(11), WS_RANGES, header_end=6)
    with qtbot.waitSignal(view.fieldHovered) as hovered:
        qtbot.mouseMove(view.viewport(), view.byte_rect(4).center())
    assert hovered.args == ["mask_key"]
    with qtbot.waitSignal(view.fieldSelected) as selected:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.byte_rect(7).center())
    assert selected.args == ["payload"]
    assert view.selection() == (7, 8)


def test_drag_and_shift_click_select_a_span(qtbot: QtBot) -> None:
    view = _view(qtbot, bytes(range(64)))
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view.byte_rect(3).center())
    qtbot.mouseMove(vp, view.byte_rect(10).center())
    qtbot.mouseMove(vp, view.byte_rect(20).center())
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view.byte_rect(20).center())
    assert view.selection() == (3, 21)
    qtbot.mouseClick(
        vp,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ShiftModifier,
        pos=view.byte_rect(40).center(),
    )
    assert view.selection() == (3, 41)
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert view.selection() == (3, 42)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.selection() == (40, 41)


def test_copy_as_hex_text_and_literal(qtbot: QtBot) -> None:
    data = b"\x81\x05Hello \xff world"
    view = _view(qtbot, data)
    clipboard = QApplication.clipboard()
    view.select(0, 4)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == "81 05 48 65"
    view.select(2, len(data))
    view.copy_text()
    assert clipboard.text() == "Hello \ufffd world"
    view.select(0, 2)
    view.copy_literal_action.trigger()
    assert clipboard.text() == 'b"\\x81\\x05"'
    assert eval(bytes_literal(data)) == data  # the literal is valid Python
    assert hex_text(b"") == ""


def test_copy_uses_the_highlighted_field_without_a_selection(qtbot: QtBot) -> None:
    view = _view(qtbot, bytes(range(11)), WS_RANGES, header_end=6)
    assert not view.copy_hex_action.isEnabled()
    view.highlight(2, 6)
    assert view.copy_hex_action.isEnabled()
    view.copy_hex()
    assert QApplication.clipboard().text() == "02 03 04 05"


def test_empty_and_malformed_input_is_harmless(qtbot: QtBot) -> None:
    view = _view(qtbot, b"", [("bad",), ("x", "a", 3), ("late", 50, 60)], header_end=99)
    assert view.ranges() == []
    assert view.selection() is None
    assert not view.viewport().grab().isNull()
    view.highlight(5, 9)
    assert view.highlighted() is None
    qtbot.keyClick(view, Qt.Key.Key_Down)
    view.set_data(b"abc", [("whole", 0, 99)])
    assert view.ranges() == [("whole", 0, 3)]


def test_tooltip_names_the_fields_under_the_mouse(qtbot: QtBot) -> None:
    view = _view(qtbot, bytes(11), WS_RANGES, header_end=6)
    offset = view.offset_at(view.byte_rect(3).center())
    # The decoded tree's labels and its Bytes column's convention (last byte included).
    assert view.tooltip_at(offset) == "Masking key \u2014 bytes 2\u20135, this is byte 3 (0x3)"
    assert view.tooltip_at(0) == "FIN, RSV1, RSV2, RSV3, Opcode \u2014 byte 0 (0x0)"


def test_dragging_below_the_view_scrolls_and_extends_the_selection(qtbot: QtBot) -> None:
    view = _view(qtbot, bytes(4096))
    vp = view.viewport()
    start = view.byte_rect(5).center()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    below = QPoint(start.x(), vp.height() + 40)
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(below),
        QPointF(vp.mapToGlobal(below)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(vp, move)
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() >= 10, timeout=5000)
    selection = view.selection()
    assert selection is not None and selection[0] == 5
    assert selection[1] > (bar.value() + vp.height() // view.byte_rect(0).height()) * 16 - 32
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(start.x(), vp.height() - 1))
    assert not view._autoscroll.isActive()  # a test-only reach: scrolling ends with the drag
