"""Small helpers shared by the GUI tests: find rows, send from the composer, wait."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot

from inspector.core.records import Record
from inspector.ui.tabs.session import SessionTab

WAIT_MS = 10_000


def records(tab: SessionTab) -> list[Record]:
    """Every record shown in the tab's table, in row order."""
    model = tab.model
    assert model is not None
    shown = [model.record_at(row) for row in range(model.rowCount())]
    return [r for r in shown if r is not None]


def find_row(tab: SessionTab, predicate: Callable[[Record], bool]) -> int | None:
    """The first row whose record passes ``predicate``."""
    for row, record in enumerate(records(tab)):
        if predicate(record):
            return row
    return None


def wait_row(qtbot: QtBot, tab: SessionTab, predicate: Callable[[Record], bool]) -> int:
    """Wait until a row passes ``predicate`` and return it."""
    qtbot.waitUntil(lambda: find_row(tab, predicate) is not None, timeout=WAIT_MS)
    row = find_row(tab, predicate)
    assert row is not None
    return row


def compose(tab: SessionTab, text: str, mode: str = "text", action: str | None = None) -> None:
    """Type ``text`` in the composer and press Send."""
    tab.composer.set_mode(mode)
    if action is not None:
        tab.composer.set_action(action)
    tab.composer.set_text(text)
    tab.composer.send_button.click()
