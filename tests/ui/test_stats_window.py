"""The window's Latency pane and ``inspector show FILE --stats --json`` give the same
statistics for the same capture: both read it with the same code (the narrow read, the
session decoder's ids a page at a time, ``core.matching``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS

from inspector.cli import run_command
from inspector.ui.main_window import MainWindow
from tests.cli.test_show_stats_fast import RPC, SIO, record_session


def _cli_stats(path: Path, *argv: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", str(path), "--stats", "--json", *argv], out, err) == 0, (
        err.getvalue())  # fmt: skip
    stats = json.loads(out.getvalue())
    del stats["session"], stats["matched_by"]
    return stats


@pytest.mark.parametrize("url", [SIO, RPC])
def test_latency_pane_equals_show_stats(
    tmp_path: Path, qtbot: QtBot, window: MainWindow, url: str
) -> None:
    path = tmp_path / "pairs.sockcap"
    record_session(path, url, seed=11)  # reused ids, unanswered and unsolicited among them
    expected = _cli_stats(path)
    assert expected["count"] > 50 and expected["unanswered"] and expected["unsolicited"]

    (tab,) = window.captures.open_path(path)
    view = tab.view
    view.show_stats()
    qtbot.waitUntil(lambda: view.pairing.done, timeout=WAIT_MS)
    view.draw_stats()
    assert view.stats.shown is not None
    assert view.stats.shown.to_json() == expected
    assert view.stats.count == expected["count"]
    assert view.stats.unanswered == expected["unanswered"]
    assert f"pairs {expected['count']:,}" in view.stats.summary.text()
    # Every pair is linked both ways, with its latency, for the table and the details.
    matching = view.pairing.matching
    assert len(view.pairing.partner) == 2 * len(matching)
    first = matching.pairs()[0]
    assert view.pairing.partner[first.request_seq] == first.response_seq
    assert view.pairing.latency[first.response_seq] == first.latency_ns


def _pair_by(qtbot: QtBot, view, how: str, rule: str = "") -> None:
    """Choose how to pair in the "Pair by…" dialog, as a person would."""
    view.ask_pair_by()
    dialog = view.pair_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    {"rule": dialog.by_rule, "next": dialog.by_next, "ids": dialog.by_decoder}[how].click()
    dialog.request.setText(rule)
    dialog.response.setText("")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    ok.click()


def test_pair_by_a_rule_or_the_next_message_equals_show_stats(
    tmp_path: Path, qtbot: QtBot, window: MainWindow
) -> None:
    """The window's "Pair by…" gives what ``--match-id`` and ``--match-next`` give."""
    path = tmp_path / "rules.sockcap"
    record_session(path, RPC, seed=5)
    (tab,) = window.captures.open_path(path)
    view = tab.view
    view.show_stats()

    # A rule that does not parse is one line; the dialog stays open, nothing changes.
    _pair_by(qtbot, view, "rule", "$.id[")
    dialog = view.pair_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.error.text().startswith("bad JSON path '$.id['")
    dialog.reject()
    assert view.pairing.by.rule is None

    for how, rule, argv in (("rule", "$.id", ("--match-id", "$.id")),
                            ("next", "", ("--match-next",)), ("ids", "", ())):  # fmt: skip
        _pair_by(qtbot, view, how, rule)
        qtbot.waitUntil(lambda: view.pairing.done, timeout=WAIT_MS)
        view.draw_stats()
        expected = _cli_stats(path, *argv)
        assert expected["count"] > 50
        assert view.stats.shown is not None and view.stats.shown.to_json() == expected, how
        label = {"rule": "(rule $.id)", "next": "(next inbound message)", "ids": "(by content)"}
        assert label[how] in view.stats.summary.text()
