"""theme: colours distinct and legible in the light and the dark scheme."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from inspector.core.records import Direction, Kind
from inspector.ui import theme

LIGHT_BG, DARK_BG = QColor("#ffffff"), QColor("#1e1e1e")


def _contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours."""

    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_text_colours_are_legible_and_distinct_in_both_schemes() -> None:
    for dark, bg in ((False, LIGHT_BG), (True, DARK_BG)):
        texts = [theme.direction_colour(d, dark) for d in Direction]
        texts += [theme.error_text(dark), theme.automatic_text(dark), theme.success_text(dark)]
        texts += [theme.kind_colour(k, dark) for k in Kind]
        for colour in texts:
            assert _contrast(colour, bg) >= 3.0, (colour.name(), dark)
        assert len({c.name() for c in (theme.direction_colour(d, dark) for d in Direction)}) == 3
        backgrounds = {
            theme.header_bytes(dark).name(),
            theme.payload_bytes(dark).name(),
            theme.highlight(dark).name(),
            theme.hover(dark).name(),
        }
        assert len(backgrounds) == 4
        assert _contrast(theme.highlight_text(dark), theme.highlight(dark)) >= 4.5
    assert theme.highlight(False) != theme.highlight(True)


def test_is_dark_follows_the_widget_palette(qtbot: QtBot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    widget.setPalette(palette)
    assert theme.is_dark(widget)
    palette.setColor(QPalette.ColorRole.Window, QColor("#f0f0f0"))
    widget.setPalette(palette)
    assert not theme.is_dark(widget)
    assert isinstance(theme.is_dark(), bool)
