"""The workspace side panel against real servers: open a workspace, connect to a saved
endpoint, send a saved message with variables, follow edits made on disk, show a broken
file in one line, save to the workspace, run a script and see its results."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QInputDialog
from pytestqt.qtbot import QtBot

from inspector.capture.store import CaptureStore
from inspector.core.records import Direction, Kind
from inspector.core.workspace import SavedMessage
from inspector.ui.guard import remove_reporter
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings
from inspector.ui.tabs.capture import CaptureTab
from inspector.ui.tabs.session import SessionTab
from inspector.ui.workspace_panel import ItemKind
from tests.servers import RunningServer
from tests.ui.ui_helpers import WAIT_MS, records, wait_row


def make_workspace(root: Path, ws_url: str) -> Path:
    """Endpoints, messages, an environment and a script, as a person would write them."""
    (root / "scripts").mkdir(parents=True)
    (root / "workspace.toml").write_text('version = 1\nname = "echo"\n')
    (root / "endpoints.toml").write_text(
        '# the echo server of the tests\n[[endpoint]]\nname = "echo"\nurl = "{{base}}/chat"\n'
    )
    (root / "messages.toml").write_text(
        "# hand-written: this comment must survive a save\n"
        '[[message]]\nname = "hello"\ntext = "hello {{user}}"\n\n'
        '[[message]]\nname = "order"\njson = \'{"op": "order", "who": "{{user}}"}\'\n\n'
        '[[message]]\nname = "secret"\ntext = "token {{token}} for {{user}}"\n'
    )
    (root / "environments.toml").write_text(
        f'[environment.dev]\nbase = "{ws_url.rstrip("/")}"\nuser = "alice"\n\n'
        '[environment.other]\nbase = "ws://127.0.0.1:9"\nuser = "bob"\n'
    )
    (root / "scripts" / "chat.toml").write_text(
        'name = "chat"\n\n'
        '[[step]]\ndo = "connect"\nendpoint = "echo"\n\n'
        '[[step]]\ndo = "send"\nmessage = "hello"\n\n'
        '[[step]]\ndo = "expect"\ntext = "hello alice"\n\n'
        '[[step]]\ndo = "close"\ncode = 1000\n\n'
        '[[step]]\ndo = "assert"\nclose_code = 1000\n'
    )
    return root


def open_dev(window: MainWindow, root: Path) -> None:
    assert window.workspaces.open_workspace(root)
    window.workspaces.panel.set_environment("dev")


def opened_session(qtbot: QtBot, window: MainWindow, action: Callable[[], object]) -> SessionTab:
    """Run ``action`` (which opens a session tab) and wait for that session to open."""
    before = window.tabs.count()
    action()
    qtbot.waitUntil(lambda: window.tabs.count() == before + 1, timeout=WAIT_MS)
    tab = window.current_tab()
    assert isinstance(tab, SessionTab)
    qtbot.waitUntil(lambda: tab.state == "open", timeout=WAIT_MS)
    return tab


def connect_saved(qtbot: QtBot, window: MainWindow) -> SessionTab:
    """Double-click the saved endpoint and wait for its session to open."""
    return opened_session(
        qtbot, window, lambda: window.workspaces.panel.activate(ItemKind.ENDPOINT, "echo")
    )


def test_the_panel_shows_the_workspace_and_sends_a_saved_message(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    panel = window.workspaces.panel
    assert panel.isVisible()
    assert panel.names(ItemKind.ENDPOINT) == ["echo"]
    assert panel.names(ItemKind.MESSAGE) == ["hello", "order", "secret"]
    assert panel.names(ItemKind.SCRIPT) == ["chat"]
    assert panel.problem_text is None

    tab = connect_saved(qtbot, window)
    assert tab.endpoint.url == ws_server.url.rstrip("/") + "/chat"

    # Double-click: into the composer with {{user}} filled from "dev"; Ctrl+Enter sends.
    panel.activate(ItemKind.MESSAGE, "hello")
    assert tab.composer.text() == "hello alice"
    assert tab.composer.error_text is None
    tab.composer.send()
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"hello alice")

    # "Send now" from the context menu: straight to the server, JSON mode, as a data
    # frame even when the composer was left on Close.
    tab.composer.set_action("close")
    menu = panel.context_menu(panel.item_for(ItemKind.MESSAGE, "order"))
    assert menu is not None
    send = next(a for a in menu.actions() if a.objectName() == "sendSavedAction")
    send.trigger()
    assert tab.composer.current_mode() == "json"
    wanted = b'{"op": "order", "who": "alice"}'
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == wanted)


def test_messages_are_reordered_by_dragging(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    panel = window.workspaces.panel
    tree = panel.tree
    source = panel.item_for(ItemKind.MESSAGE, "secret")
    target = panel.item_for(ItemKind.MESSAGE, "hello")
    assert source is not None and target is not None
    tree.setCurrentItem(source)
    rect = tree.visualItemRect(target)
    event = QDropEvent(
        QPointF(rect.center().x(), rect.top() + 1),
        Qt.DropAction.MoveAction,
        tree.mimeData([source]),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    tree.dropEvent(event)
    qtbot.waitUntil(
        lambda: panel.names(ItemKind.MESSAGE) == ["secret", "hello", "order"], timeout=WAIT_MS
    )
    text = (root / "messages.toml").read_text()
    assert [m["name"] for m in tomllib.loads(text)["message"]] == ["secret", "hello", "order"]
    assert text.startswith("# hand-written: this comment must survive a save\n")


def test_unknown_variables_are_named_in_one_line_and_never_sent(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    panel = window.workspaces.panel
    tab = connect_saved(qtbot, window)
    sent_before = len([r for r in records(tab) if r.direction is Direction.OUT])

    assert window.workspaces.use_message(root_message(window, "secret"), send=True)
    assert tab.composer.text() == "token {{token}} for alice"
    error = tab.composer.error_text
    assert error is not None
    assert error == "message 'secret': no value for {{token}} (environment 'dev') — not sent"
    assert len([r for r in records(tab) if r.direction is Direction.OUT]) == sent_before

    # No environment: the endpoint cannot be opened, and says which variable is missing.
    panel.set_environment(None)
    count = window.tabs.count()
    panel.activate(ItemKind.ENDPOINT, "echo")
    assert window.tabs.count() == count
    assert window.statusBar().currentMessage() == (
        "endpoint 'echo': no value for {{base}} (no environment chosen)"
    )


def save_record(qtbot: QtBot, window: MainWindow, tab: SessionTab, row: int, name: str) -> None:
    """A record's context menu ▸ Save to workspace…, named ``name``; waits for the panel."""
    menu = tab.view.record_menu(row)
    action = next(a for a in menu.actions() if a.objectName() == "saveRecordToWorkspaceAction")
    action.trigger()
    dialog = window.findChild(QInputDialog, "saveToWorkspaceDialog")
    assert dialog is not None
    dialog.setTextValue(name)
    dialog.accept()
    panel = window.workspaces.panel
    qtbot.waitUntil(lambda: name in panel.names(ItemKind.MESSAGE), timeout=WAIT_MS)


def root_message(window: MainWindow, name: str) -> SavedMessage:
    state = window.workspaces.panel.state
    assert state is not None
    message = state.workspace.message(name)
    assert message is not None
    return message


def test_edits_on_disk_show_at_once_and_a_broken_file_is_one_line(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    panel = window.workspaces.panel

    # An editor adds a message (written through a temporary file and a rename).
    text = (root / "messages.toml").read_text() + '\n[[message]]\nname = "bye"\ntext = "bye"\n'
    temp = root / ".messages.toml.swp"
    temp.write_text(text)
    temp.replace(root / "messages.toml")
    qtbot.waitUntil(lambda: "bye" in panel.names(ItemKind.MESSAGE), timeout=WAIT_MS)

    # A new script file shows too.
    (root / "scripts" / "ping.toml").write_text(
        'name = "ping"\n[[step]]\ndo = "connect"\nendpoint = "echo"\n'
    )
    qtbot.waitUntil(lambda: "ping" in panel.names(ItemKind.SCRIPT), timeout=WAIT_MS)

    # A broken endpoints file: one line naming the file and the line; the endpoint read
    # before and the messages keep working.
    (root / "endpoints.toml").write_text(
        '[[endpoint]]\nname = "echo"\nurl = "{{base}}/chat"\n\n[[endpoint]]\nname = "x"\n'
        "verify = 3\n"
    )
    qtbot.waitUntil(lambda: panel.problem_text is not None, timeout=WAIT_MS)
    line = panel.problem_text
    assert line is not None and "\n" not in line
    assert str(root / "endpoints.toml") in line
    assert line.endswith("endpoints.toml: [[endpoint]] 2: url is missing (line 5)")
    assert panel.names(ItemKind.ENDPOINT) == ["echo"]
    tab = connect_saved(qtbot, window)
    panel.activate(ItemKind.MESSAGE, "bye")
    assert tab.composer.text() == "bye"

    # Bad TOML in a script: its line, from tomllib; the script is shown as broken.
    (root / "scripts" / "ping.toml").write_text('name = "ping"\n[[step]\n')
    qtbot.waitUntil(
        lambda: any("ping.toml" in p for p in (panel.state.problems if panel.state else ())),
        timeout=WAIT_MS,
    )
    assert panel.state is not None
    problem = next(p for p in panel.state.problems if "ping.toml" in p)
    assert "line 2" in problem

    # Fixed: the problem line goes away.
    (root / "endpoints.toml").write_text('[[endpoint]]\nname = "echo"\nurl = "{{base}}/chat"\n')
    (root / "scripts" / "ping.toml").unlink()
    qtbot.waitUntil(lambda: panel.problem_text is None, timeout=WAIT_MS)
    assert panel.names(ItemKind.SCRIPT) == ["chat"]

    # The folder deleted: said plainly, nothing left to pick.
    shutil.rmtree(root)
    qtbot.waitUntil(
        lambda: panel.problem_text is not None and "gone" in panel.problem_text,
        timeout=WAIT_MS,
    )
    assert panel.problem_text == (
        f"{root}: the workspace folder is gone (deleted or moved); nothing here can be used"
    )
    assert panel.names(ItemKind.ENDPOINT) == []

    # The folder comes back (a checkout, an undo): the panel picks it up again.
    make_workspace(root, ws_server.url)
    qtbot.waitUntil(lambda: panel.names(ItemKind.ENDPOINT) == ["echo"], timeout=WAIT_MS)
    assert panel.problem_text is None


def test_save_to_workspace_from_the_composer_and_a_record(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    panel = window.workspaces.panel
    tab = connect_saved(qtbot, window)

    # The composer's Saved ▸ Save to workspace…: a name, then a plain [[message]] table.
    tab.composer.set_mode("json")
    tab.composer.set_text('{"op": "status"}')
    tab.composer._fill_saved_menu()
    action = next(
        a for a in tab.composer.saved_menu.actions() if a.objectName() == "saveToWorkspaceAction"
    )
    action.trigger()
    dialog = window.findChild(QInputDialog, "saveToWorkspaceDialog")
    assert dialog is not None
    dialog.setTextValue("status")
    dialog.accept()
    qtbot.waitUntil(lambda: "status" in panel.names(ItemKind.MESSAGE), timeout=WAIT_MS)
    text = (root / "messages.toml").read_text()
    assert text.startswith("# hand-written: this comment must survive a save\n")
    saved = tomllib.loads(text)["message"][-1]
    assert saved == {"name": "status", "json": '{"op": "status"}'}

    # A received record's context menu: its payload as a message. A payload with {{…}}
    # in it is the peer's text, not the person's variables: saved verbatim.
    tab.composer.set_mode("text")
    for text, name, extra in (("from the wire", "wire", {}), ("literal {{user}}", "literal",
                              {"verbatim": True})):  # fmt: skip
        tab.composer.set_text(text)
        tab.composer.send()
        echo = text.encode()
        row = wait_row(
            qtbot, tab, lambda r, echo=echo: r.direction is Direction.IN and r.payload == echo
        )
        save_record(qtbot, window, tab, row, name)
        saved = tomllib.loads((root / "messages.toml").read_text())["message"][-1]
        assert saved == {"name": name, "text": text, **extra}
    # Used as written, although the environment knows "user".
    tab.composer.set_text("")
    assert window.workspaces.use_message(root_message(window, "literal"))
    assert tab.composer.text() == "literal {{user}}"

    # A taken name is one line; the file is untouched.
    before = (root / "messages.toml").read_bytes()
    assert not window.workspaces.save_message(root_message(window, "hello"))
    assert "already called 'hello'" in window.statusBar().currentMessage()
    assert (root / "messages.toml").read_bytes() == before


def test_a_script_runs_in_the_window_and_is_recorded(
    qtbot: QtBot,
    window: MainWindow,
    ws_server: RunningServer,
    tmp_path: Path,
    capture_dir: Path,
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    results = window.workspaces.results

    window.workspaces.panel.activate(ItemKind.SCRIPT, "chat")
    assert results.isVisible()
    qtbot.waitUntil(lambda: results.state == "passed", timeout=WAIT_MS)
    assert [results.status_of(n) for n in range(1, 6)] == ["passed"] * 5
    assert results.heading.text().startswith("chat: passed — 5 of 5 steps in ")
    output = results.output.toPlainText()
    assert "ok   step 3 (expect): " in output
    assert results.steps.topLevelItem(2).text(2).endswith(" ms")

    # Recorded like any other session: one capture in the capture folder, with the
    # traffic and a result record per step; it is offered in Recent captures.
    path = results.capture_path
    assert path is not None and path.parent == capture_dir
    assert str(path.resolve()) in window.captures.recent()
    store = CaptureStore.open(path)
    try:
        recs = [r for page in store.pages() for r in page]
    finally:
        store.close()
    assert any(r.direction is Direction.IN and r.payload == b"hello alice" for r in recs)
    steps = [r for r in recs if r.kind is Kind.INFO and "script_step" in r.fields]
    assert [r.fields["status"] for r in steps][:3] == ["passed", "passed", "passed"]

    # A double-click on a step shows its records: the capture opens at its result,
    # right after the message the expect matched.
    results.activate_step(3)
    tab = window.current_tab()
    assert isinstance(tab, CaptureTab)
    assert tab.source_path == path
    model = tab.view.model
    assert model is not None
    row = tab.view.table.currentIndex().row()
    shown = model.record_at(row)
    assert shown is not None and shown.fields["script_step"] == 3
    before = model.record_at(row - 1)
    assert before is not None and before.payload == b"hello alice"
    assert before.direction is Direction.IN
    # Step 1's result, in the same tab (not a second copy of the capture).
    count = window.tabs.count()
    results.activate_step(1)
    assert window.tabs.count() == count
    shown = model.record_at(tab.view.table.currentIndex().row())
    assert shown is not None and shown.fields["script_step"] == 1

    # "Open capture" shows it in a tab too.
    results.open_button.click()
    qtbot.waitUntil(lambda: window.tabs.count() > count, timeout=WAIT_MS)


def test_a_failing_script_names_its_step_and_a_long_one_can_be_stopped(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    (root / "scripts" / "wrong.toml").write_text(
        'name = "wrong"\n[[step]]\ndo = "connect"\nendpoint = "echo"\n\n'
        '[[step]]\ndo = "send"\ntext = "ping"\n\n'
        '[[step]]\ndo = "expect"\ntext = "pong"\n\n'
        '[[step]]\ndo = "close"\n'
    )
    (root / "scripts" / "slow.toml").write_text(
        'name = "slow"\n[[step]]\ndo = "connect"\nendpoint = "echo"\n\n'
        '[[step]]\ndo = "expect"\ntext = "never"\ntimeout = 600\n'
    )
    open_dev(window, root)
    panel = window.workspaces.panel
    results = window.workspaces.results

    panel.activate(ItemKind.SCRIPT, "wrong")
    qtbot.waitUntil(lambda: results.state == "failed", timeout=WAIT_MS)
    assert results.heading.text() == (
        'FAILED — wrong: step 3 (expect): expected text "pong", got "ping"'
    )
    assert [results.status_of(n) for n in range(1, 5)] == ["passed", "passed", "failed", "skipped"]

    panel.activate(ItemKind.SCRIPT, "slow")
    qtbot.waitUntil(lambda: results.status_of(1) == "passed", timeout=WAIT_MS)
    assert results.running
    assert results.status_of(2) == "running…"
    results.stop_button.click()
    qtbot.waitUntil(lambda: results.state == "stopped", timeout=WAIT_MS)
    assert results.status_of(2) == "stopped"

    # A script naming an unknown variable is refused before anything runs, in one line.
    panel.set_environment("other")
    (root / "scripts" / "vars.toml").write_text(
        'name = "vars"\n[[step]]\ndo = "connect"\nurl = "{{nowhere}}"\n'
    )
    qtbot.waitUntil(lambda: "vars" in panel.names(ItemKind.SCRIPT), timeout=WAIT_MS)
    panel.activate(ItemKind.SCRIPT, "vars")
    assert results.state == "error"
    assert "unknown variable {{nowhere}}" in results.heading.text()


def test_the_last_workspace_and_environment_come_back(
    qtbot: QtBot, window: MainWindow, settings: Settings, ws_server: RunningServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    assert settings.recent_workspaces() == [str(root.resolve())]
    again = MainWindow(settings, None)
    try:
        assert again.workspaces.panel.root == root.resolve()
        assert again.workspaces.panel.environment() == "dev"
        assert again.workspaces.panel.names(ItemKind.MESSAGE) == ["hello", "order", "secret"]
    finally:
        remove_reporter(again.notify)
        again.deleteLater()

    # Close Workspace: nothing shown, nothing reopened next time.
    window.workspaces.close_action.trigger()
    assert window.workspaces.panel.root is None
    assert window.workspaces.panel.names(ItemKind.ENDPOINT) == []
    assert settings.last_workspace() is None


def test_recent_workspaces_in_the_file_menu(
    window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    first = make_workspace(tmp_path / "first", ws_server.url)
    second = make_workspace(tmp_path / "second", ws_server.url)
    actions = window.workspaces
    assert actions.open_workspace(first)
    assert actions.open_workspace(second)
    assert not actions.open_workspace(tmp_path / "nowhere")
    assert (
        window.statusBar().currentMessage() == f"{tmp_path / 'nowhere'}: no such workspace folder"
    )
    shutil.rmtree(second)
    actions.recent_menu.aboutToShow.emit()
    entries = {a.text(): a for a in actions.recent_menu.actions()}
    assert list(entries) == [f"{second.resolve()} (missing)", str(first.resolve())]
    assert not entries[f"{second.resolve()} (missing)"].isEnabled()
    entries[str(first.resolve())].trigger()
    assert actions.panel.root == first.resolve()
    assert actions.panel.names(ItemKind.SCRIPT) == ["chat"]


def connect_typed(qtbot: QtBot, window: MainWindow, text: str) -> SessionTab:
    """Type ``text`` in the connect bar, press Connect and wait for the session to open."""
    window.connect_bar.set_text(text)
    return opened_session(qtbot, window, window.connect_bar.request_connect)


def test_the_connect_bar_shares_the_environment_and_fills_the_typed_url(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    bar = window.connect_bar
    assert bar.environment_row.isHidden()
    root = make_workspace(tmp_path / "ws", ws_server.url)
    open_dev(window, root)
    panel = window.workspaces.panel
    assert not bar.environment_row.isHidden()
    names = [bar.environment_box.itemText(i) for i in range(bar.environment_box.count())]
    assert names == ["(no environment)", "dev", "other"]
    assert bar.environment() == "dev"

    # One choice: the bar's selector sets the panel's and the other way round.
    bar.environment_box.setCurrentIndex(bar.environment_box.findText("other"))
    assert panel.environment() == "other"
    panel.set_environment("dev")
    assert bar.environment() == "dev"

    # {{base}} typed in the bar comes from "dev"; the session opens to the real URL.
    tab = connect_typed(qtbot, window, "{{base}}/typed")
    assert tab.endpoint.url == ws_server.url.rstrip("/") + "/typed"

    # Unknown variables open nothing and are named in one line beside the field.
    count = window.tabs.count()
    bar.set_text("{{base}}/{{room}}?t={{env.SOCKET_INSPECTOR_NO_SUCH_VAR}}")
    bar.request_connect()
    assert window.tabs.count() == count
    assert bar.error == (
        "endpoint: no value for {{room}} (environment 'dev'); "
        "{{env.SOCKET_INSPECTOR_NO_SUCH_VAR}} not set in the process environment"
    )
    bar.environment_box.setCurrentIndex(0)
    bar.set_text("{{base}}/x")
    bar.request_listen()
    assert bar.error == "endpoint: no value for {{base}} (no environment chosen)"
    assert window.tabs.count() == count

    # Closing the workspace hides the selector again.
    window.workspaces.close_action.trigger()
    assert bar.environment_row.isHidden()


def test_typed_variables_stay_in_the_history_and_fill_header_values(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, tmp_path: Path
) -> None:
    import dataclasses

    bar = window.connect_bar
    open_dev(window, make_workspace(tmp_path / "ws", ws_server.url))
    bar.set_options(dataclasses.replace(bar.options, headers=(("X-User", "{{user}}"),)))
    tab = connect_typed(qtbot, window, "{{base}}/history")

    # The history keeps what was typed, so the entry follows the environment chosen.
    assert window.settings.recent_endpoints()[0] == "{{base}}/history"
    assert ws_server.url.rstrip("/") + "/history" not in window.settings.recent_endpoints()
    # The header went out filled from "dev".
    row = wait_row(
        qtbot, tab, lambda r: r.kind is Kind.HANDSHAKE and r.direction is Direction.OUT
    )
    request = records(tab)[row]
    assert b"X-User: alice\r\n" in request.wire and b"{{user}}" not in request.wire

    # A header variable without a value opens nothing and is named in one line.
    count = window.tabs.count()
    bar.set_options(dataclasses.replace(bar.options, headers=(("X-Room", "{{room}}"),)))
    bar.set_text("{{base}}/history")
    bar.request_connect()
    assert window.tabs.count() == count
    assert bar.error == "header X-Room: no value for {{room}} (environment 'dev')"
