"""The traffic plot draws what it counted, also for a session a second long."""

from __future__ import annotations

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from inspector.core.records import Direction, Kind, Record
from inspector.ui import theme
from inspector.ui.widgets.traffic import TrafficCounter, TrafficPlot


def _pixels_of(plot: TrafficPlot, colour: QColor) -> int:
    """How many pixels of the rendered plot are (nearly) ``colour``."""
    image = plot.grab().toImage()
    found = 0
    for y in range(0, image.height()):
        for x in range(0, image.width()):
            pixel = image.pixelColor(x, y)
            if (
                abs(pixel.red() - colour.red()) < 24
                and abs(pixel.green() - colour.green()) < 24
                and abs(pixel.blue() - colour.blue()) < 24
            ):
                found += 1
    return found


def test_a_capture_within_one_second_is_drawn(qtbot: QtBot) -> None:
    """A HAR's three messages in one second: 'peak 3/s' and a mark where they are."""
    counter = TrafficCounter()
    counter.add(
        [
            Record(i, 100_000_000 * i, Direction.IN, Kind.MESSAGE, b"hello", b"hello")
            for i in range(3)
        ]
    )
    plot = TrafficPlot(counter)
    qtbot.addWidget(plot)
    plot.resize(600, 240)
    dark = theme.is_dark(plot)
    inbound = theme.direction_colour(Direction.IN, dark)
    legend_only = TrafficPlot(TrafficCounter())
    qtbot.addWidget(legend_only)
    legend_only.resize(600, 240)
    # The legend's swatch has the colour too: the plotted data must add to it.
    assert _pixels_of(plot, inbound) > _pixels_of(legend_only, inbound)
