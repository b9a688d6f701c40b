"""Render docs/screenshot-workspace.png: the workspace panel, a saved message sent with
its variables, and a script's results.

Starts the tests' WebSocket echo server on 127.0.0.1, writes a small workspace to a
temporary folder, opens the real MainWindow at 1280x800 offscreen with the workspace
panel, connects to the saved endpoint (environment "dev"), sends two saved messages,
leaves a third with an unknown variable in the composer, and runs the "login" script.

Run: ``.venv/bin/python docs/make_workspace_screenshot.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT / "tests"))

import servers  # noqa: E402
from make_screenshots import run_in_window, snap, wait_for  # noqa: E402

from inspector.ui.main_window import MainWindow  # noqa: E402
from inspector.ui.tabs.session import SessionTab  # noqa: E402
from inspector.ui.workspace_panel import ItemKind  # noqa: E402

OUT = ROOT / "docs" / "screenshot-workspace.png"


def write_workspace(root: Path, ws_url: str) -> None:
    (root / "scripts").mkdir(parents=True)
    (root / "workspace.toml").write_text('version = 1\nname = "Chat API"\n')
    (root / "endpoints.toml").write_text(
        '[[endpoint]]\nname = "chat"\nurl = "{{base}}/chat"\n'
        'headers = { Authorization = "Bearer {{token}}" }\n\n'
        '[[endpoint]]\nname = "staging chat"\nurl = "wss://staging.example/chat"\n'
    )
    (root / "messages.toml").write_text(
        '[[message]]\nname = "login"\njson = \'{"op": "login", "user": "{{user}}"}\'\n\n'
        '[[message]]\nname = "join lobby"\njson = \'{"op": "join", "room": "lobby"}\'\n\n'
        '[[message]]\nname = "hello"\ntext = "hello from {{user}}"\n\n'
        '[[message]]\nname = "order"\njson = \'{"op": "order", "id": "{{order_id}}"}\'\n'
    )
    (root / "environments.toml").write_text(
        f'[environment.dev]\nbase = "{ws_url.rstrip("/")}"\nuser = "alice"\n'
        'token = "dev-token"\n\n'
        '[environment.staging]\nbase = "wss://staging.example"\nuser = "ci-bot"\n'
    )
    (root / "scripts" / "login.toml").write_text(
        'name = "login"\n\n[[step]]\ndo = "connect"\nendpoint = "chat"\n\n'
        '[[step]]\ndo = "send"\nmessage = "login"\n\n'
        '[[step]]\ndo = "expect"\njson_path = "$.user"\nequals = "alice"\n\n'
        '[[step]]\ndo = "extract"\nvar = "who"\njson_path = "$.user"\n\n'
        '[[step]]\ndo = "repeat"\ntimes = 3\n\n[[step]]\ndo = "send"\ntext = "ping {{who}}"\n\n'
        '[[step]]\ndo = "expect"\ncontains = "ping"\n\n[[step]]\ndo = "end"\n\n'
        '[[step]]\ndo = "close"\ncode = 1000\n\n'
        '[[step]]\ndo = "assert"\nclose_code = 1000\nlatency_ms_max = 250\n'
    )
    (root / "scripts" / "smoke.toml").write_text(
        'name = "smoke"\n[[step]]\ndo = "connect"\nendpoint = "chat"\n'
    )


async def make(window: MainWindow, started: list[Any], folder: Path) -> None:
    root = folder / "chat-api"
    write_workspace(root, started[0].url)
    actions = window.workspaces
    actions.open_workspace(root)
    actions.panel.set_environment("dev")
    actions.panel.activate(ItemKind.ENDPOINT, "chat")
    await wait_for(lambda: isinstance(window.current_tab(), SessionTab))
    tab = window.current_tab()
    assert isinstance(tab, SessionTab)
    await wait_for(lambda: tab.state == "open")
    for name in ("login", "join lobby", "hello"):
        before = tab.model.total if tab.model else 0
        actions.use_message(actions.panel.state.workspace.message(name), send=True)  # type: ignore[union-attr]
        await wait_for(lambda b=before: tab.model is not None and tab.model.total >= b + 2)
    actions.panel.activate(ItemKind.MESSAGE, "order")
    actions.panel.activate(ItemKind.SCRIPT, "login")
    await wait_for(lambda: actions.results.state == "passed")
    window.resizeDocks([actions.panel], [330], Qt.Orientation.Horizontal)
    window.resizeDocks([actions.results], [230], Qt.Orientation.Vertical)
    await snap(window, OUT, 0.5)


def main() -> int:
    run_in_window(lambda loop: [servers.start_ws_server(loop)], make)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
