"""The window's Latency pane and ``inspector show FILE --stats --json`` give the same
statistics for the same capture: both read it with the same code (the narrow read, the
session decoder's ids a page at a time, ``core.matching``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from ui_helpers import WAIT_MS

from inspector.cli import run_command
from inspector.ui.main_window import MainWindow
from tests.cli.test_show_stats_fast import RPC, SIO, record_session


def _cli_stats(path: Path) -> dict:
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", str(path), "--stats", "--json"], out, err) == 0, err.getvalue()
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
