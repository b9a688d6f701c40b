"""The fault panel shows what its tab's FaultState says, with no tab or window behind it."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.ui.faults import FaultPanel, FaultState


def test_the_panel_shows_a_state_and_asks_its_owner_to_save(qtbot: QtBot, tmp_path: Path) -> None:
    target = tmp_path / "kept.sockcap"
    panel = FaultPanel(save_dialog=lambda *_: str(target))
    qtbot.addWidget(panel)
    panel.show()
    state = FaultState(
        parse_endpoint("wss://127.0.0.1:9/"),
        SessionOptions(verify=False),
        partial="receiving: frame 12 of 40 bytes",
        capture_problem="disk full",
        capture_name="s.sockcap",
        not_kept=3,
        not_kept_bytes=120,
        capture_limit="10 records",
    )
    panel.reset(state)
    assert panel.unverified_label.isVisible()
    assert panel.partial_label.text() == "receiving: frame 12 of 40 bytes"
    assert "disk full" in panel.disk_label.text() and panel.disk_row.isVisible()
    assert (
        panel.limit_label.text()
    ) == "3 records (120 bytes) not kept: capture limit of 10 records"
    asked: list[Path] = []
    panel.saveRequested.connect(asked.append)
    panel.save_button.click()
    assert asked == [target]
    panel.mark_saved(target)
    assert str(target) in panel.disk_label.text()
    wanted: list[tuple[object, SessionOptions]] = []
    panel.connectAnyway.connect(lambda endpoint, options: wanted.append((endpoint, options)))
    panel.connect_anyway()
    assert wanted and wanted[0][0] == state.endpoint and not wanted[0][1].verify

    panel.show_state(FaultState(parse_endpoint("ws://127.0.0.1:9/"), SessionOptions()))
    assert not panel.unverified_label.isVisible()
    assert not panel.partial_label.isVisible() and not panel.disk_row.isVisible()
    assert not panel.limit_label.isVisible()
