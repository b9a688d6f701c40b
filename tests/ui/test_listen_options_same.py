"""One set of server options: the window's Listen options build exactly the
ServerOptions ``inspector listen`` builds from the same choices, refuse the same
contradictions, and a listener in the window then behaves as the command line's."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from inspector.cli.listen import build_listen_parser, server_options
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import UsageError
from inspector.core.options import UDP_IDLE, ServerOptions
from inspector.ui.listen_options import ListenDialog, ListenOptions, store_options
from inspector.ui.main_window import MainWindow
from inspector.ui.tabs.server import ServerTab

WAIT_MS = 10_000

SAME = [
    ("ws://127.0.0.1:0/feed", [], ListenOptions(any_path=False)),
    ("ws://127.0.0.1:0/feed", ["--any-path"], ListenOptions(any_path=True)),
    ("ws://127.0.0.1:0/", [], ListenOptions(any_path=False)),
    (
        "ws://127.0.0.1:0/",
        ["--refuse", "503", "--refuse-header", "Retry-After: 30", "--refuse-body", "busy"],
        ListenOptions(
            refuse_status=503, refuse_headers=(("Retry-After", "30"),), refuse_body="busy"
        ),
    ),
    (
        "ws://127.0.0.1:0/",
        ["--subprotocol", "chat", "--require-subprotocol"],
        ListenOptions(subprotocols=("chat",), require_subprotocol=True),
    ),
    (
        "ws://127.0.0.1:0/",
        ["--deflate", "server_no_context_takeover"],
        ListenOptions(deflate="server_no_context_takeover"),
    ),
    ("udp://127.0.0.1:0", [], ListenOptions()),
    ("udp://127.0.0.1:0", ["--udp-idle", "5"], ListenOptions(udp_idle=5.0)),
    ("udp://127.0.0.1:0", ["--udp-idle", "0"], ListenOptions(udp_idle=None)),
]


def from_cli(url: str, argv: list[str]) -> ServerOptions:
    args = build_listen_parser().parse_args([url, *argv])
    return server_options(args, parse_endpoint(url, listen=True))


@pytest.mark.parametrize(("url", "argv", "window"), SAME)
def test_the_window_builds_the_server_options_the_command_line_builds(
    url: str, argv: list[str], window: ListenOptions
) -> None:
    target = parse_endpoint(url, listen=True).target
    assert window.server_options(target) == from_cli(url, argv)


def test_the_default_udp_idle_is_stated_and_the_same() -> None:
    assert from_cli("udp://127.0.0.1:0", []).udp_idle == UDP_IDLE == ListenOptions().udp_idle


@pytest.mark.parametrize(
    ("argv", "window"),
    [
        (["--require-subprotocol"], ListenOptions(require_subprotocol=True)),
        (["--deflate", "server_no_context_takeover", "--no-compress"],
         ListenOptions(deflate="server_no_context_takeover", compression=False)),
        (["--refuse-body", "x"], ListenOptions(refuse_body="x")),
    ],
)  # fmt: skip
def test_both_refuse_the_same_contradictions(argv: list[str], window: ListenOptions) -> None:
    with pytest.raises(UsageError):
        from_cli("ws://127.0.0.1:0/", argv)
    with pytest.raises(ValueError):
        window.server_options("/")


def test_the_dialog_edits_the_new_options(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = ListenDialog(ListenOptions(), cert_dir=tmp_path / "certs")
    qtbot.addWidget(dialog)
    dialog.refuse.setValue(503)
    dialog.refuse_headers.setPlainText("Retry-After: 30\n\nX-Why: testing")
    dialog.subprotocols.setText("chat")
    dialog.require_subprotocol.setChecked(True)
    dialog.udp_idle.setValue(2.5)
    made = dialog.options()
    assert made.refuse_headers == (("Retry-After", "30"), ("X-Why", "testing"))
    assert made.require_subprotocol and made.udp_idle == 2.5
    dialog.refuse_headers.setPlainText("no colon here")
    dialog.accept()
    assert not dialog.error.isHidden() and "header line 1" in dialog.error.text()
    dialog.refuse_headers.setPlainText("")
    dialog.deflate.setText("bogus_parameter")
    dialog.accept()
    assert "bogus_parameter" in dialog.error.text()
    dialog.deflate.setText("")
    dialog.udp_idle.setValue(0)
    assert dialog.options().udp_idle is None  # "never"


def _listen(qtbot: QtBot, window: MainWindow, url: str) -> ServerTab:
    before = window.tabs.count()
    window.connect_bar.set_text(url)
    window.connect_bar.listen_button.click()
    qtbot.waitUntil(lambda: window.tabs.count() == before + 1, timeout=WAIT_MS)
    tab = window.current_tab()
    assert isinstance(tab, ServerTab)
    qtbot.waitUntil(lambda: tab.listener_state == "listening", timeout=WAIT_MS)
    return tab


def _run(qtbot: QtBot, coro: Any) -> Any:
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


def test_the_window_refuses_with_the_headers_as_the_command_line_does(
    qtbot: QtBot, window: MainWindow, settings: Any, tmp_path: Path
) -> None:
    store_options(
        settings, ListenOptions(refuse_status=503, refuse_headers=(("Retry-After", "30"),))
    )
    tab = _listen(qtbot, window, "ws://127.0.0.1:0/")

    async def refused() -> Any:
        with pytest.raises(InvalidStatus) as info:
            async with ws_connect(tab.listener.url):
                pass
        return info.value.response

    response = _run(qtbot, refused())
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"


def test_a_quiet_udp_client_shows_as_ended_idle_in_the_connection_list(
    qtbot: QtBot, window: MainWindow, settings: Any
) -> None:
    store_options(settings, ListenOptions(udp_idle=0.2))
    tab = _listen(qtbot, window, "udp://127.0.0.1:0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.sendto(b"hello", ("127.0.0.1", tab.listener.port))
        qtbot.waitUntil(lambda: len(tab.connections.entries) == 1, timeout=WAIT_MS)
        entry = tab.connections.entries[0]
        qtbot.waitUntil(lambda: entry.ended_text().startswith("idle: "), timeout=WAIT_MS)
    row = tab.connections.row_of(1)
    assert tab.connections.index(row, 8).data().startswith("idle: nothing from ")
