"""A script's records while it runs: the results pane shows every session of the run as
it records (a listening script's listener and its client interleaved), a double-click
on a step selects its result there, and after the run a double-click opens the listen
capture as a read-only server tab at the step's record."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot
from websockets.asyncio.client import connect as ws_connect

from inspector.core.records import Direction, Kind, Record
from inspector.ui.main_window import MainWindow
from inspector.ui.script_results import ScriptResultsPane
from inspector.ui.tabs.server import ServerTab
from inspector.ui.workspace_panel import ItemKind
from tests.ui.ui_helpers import WAIT_MS

GREETER = """name = "greeter"

[[step]]
do = "listen"
url = "ws://127.0.0.1:0"

[[step]]
do = "accept"
timeout = 60

[[step]]
do = "expect"
regex = "^hello (\\\\w+)"
timeout = 60

[[step]]
do = "extract"
var = "who"
regex = "^hello (\\\\w+)"

[[step]]
do = "send"
text = "welcome {{who}}"

[[step]]
do = "expect"
text = "bye"
timeout = 60

[[step]]
do = "close"
code = 4100
"""


def _run(qtbot: QtBot, coro: Any) -> Any:
    """Run a coroutine on the qasync loop while Qt spins; return its result."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


def live(results: ScriptResultsPane) -> list[Record]:
    """The records the pane's live view shows, in row order."""
    model = results.live.view.model
    assert model is not None
    shown = [model.record_at(row) for row in range(model.rowCount())]
    return [r for r in shown if r is not None]


def selected(results: ScriptResultsPane) -> Record | None:
    view = results.live.view
    assert view.model is not None
    return view.model.record_at(view.table.currentIndex().row())


def test_a_listening_script_shows_its_records_while_it_runs(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    (root / "scripts").mkdir(parents=True)
    (root / "workspace.toml").write_text('version = 1\nname = "server"\n')
    (root / "scripts" / "greeter.toml").write_text(GREETER)
    assert window.workspaces.open_workspace(root)
    results = window.workspaces.results

    window.workspaces.panel.activate(ItemKind.SCRIPT, "greeter")
    qtbot.waitUntil(lambda: results.status_of(1) == "passed", timeout=WAIT_MS)
    note = results.steps.topLevelItem(0).text(3)
    assert note.startswith("listening on ws://127.0.0.1:"), note
    url = note.rsplit(" ", 1)[1]

    client = _run(qtbot, ws_connect(url, compression=None))
    try:
        _run(qtbot, client.send("hello ada"))
        assert _run(qtbot, client.recv()) == "welcome ada"
        # The run waits for "bye": its records are shown already, the client's message
        # and the answer among them, each with the session it belongs to.
        assert results.running and results.status_of(6) == "running…"
        qtbot.waitUntil(
            lambda: any(r.payload == b"welcome ada" for r in live(results)), timeout=WAIT_MS
        )
        shown = live(results)
        hello = next(r for r in shown if r.direction is Direction.IN and r.payload == b"hello ada")
        assert results.live.records.conn_of(hello.seq) == 1  # the accepted client
        assert any(results.live.records.conn_of(r.seq) is None for r in shown)  # the listener
        assert results.live.view.filter_bar is not None

        # A double-click on a step during the run selects its result in the live view,
        # right after the message the expect matched.
        results.activate_step(3)
        assert results.pages.currentWidget() is results.live.view
        record = selected(results)
        assert record is not None and record.kind is Kind.INFO
        assert record.fields["script_step"] == 3
        before = live(results)[record.seq - 1]
        assert before.payload == b"hello ada"

        _run(qtbot, client.send("bye"))
        qtbot.waitUntil(lambda: results.state == "passed", timeout=WAIT_MS)
    finally:
        _run(qtbot, client.close())

    # Over: the view reads the finished file and keeps every record.
    count = len(live(results))
    assert any(r.payload == b"bye" for r in live(results))
    assert results.live.view.model is not None and results.live.view.model.total == count

    # After the run a double-click opens the listen capture as a read-only server tab
    # and selects the step's result in "All connections".
    tabs = window.tabs.count()
    results.activate_step(5)
    tab = window.current_tab()
    assert isinstance(tab, ServerTab) and tab.read_only
    assert window.tabs.count() == tabs + 1
    assert tab.capture_path == results.capture_path
    model = tab.all_view.model
    assert model is not None and tab.view is tab.all_view
    row = tab.all_view.table.currentIndex().row()
    shown_record = model.record_at(row)
    assert shown_record is not None and shown_record.fields["script_step"] == 5
    sent = model.record_at(row - 1)
    assert sent is not None and sent.payload == b"welcome ada"
    # Again: the same tab, another step.
    results.activate_step(3)
    assert window.tabs.count() == tabs + 1
    again = model.record_at(tab.all_view.table.currentIndex().row())
    assert again is not None and again.fields["script_step"] == 3
