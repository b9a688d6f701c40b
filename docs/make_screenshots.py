"""Render screenshots of the window with live sessions into docs/ (offscreen).

Starts the test suite's loopback echo servers (WebSocket and TCP), opens the real
MainWindow at 1280x800 with private settings and captures, sends a few messages,
selects an echoed frame and one of its fields, and saves:

- docs/screenshot.png: a WebSocket session with the decoded frame, its bytes and timing;
- docs/screenshot-headers.png: the same session showing the handshake headers;
- docs/screenshot-tabs.png: WebSocket, TCP and UDP sessions side by side (TCP selected);
- docs/screenshot-server.png: a server tab (Listen on ws://127.0.0.1:0/) with two
  websockets clients, one of them selected, a masked client frame decoded.

Run: ``.venv/bin/python docs/make_screenshots.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import servers  # noqa: E402  (the tests' loopback servers)

from inspector.core.endpoints import parse_endpoint  # noqa: E402
from inspector.core.records import Direction, Kind  # noqa: E402
from inspector.ui.main_window import MainWindow  # noqa: E402
from inspector.ui.settings import Settings  # noqa: E402
from inspector.ui.tabs.session import SessionTab  # noqa: E402

DOCS = ROOT / "docs"
SIZE = (1280, 800)


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the loop run until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        await asyncio.sleep(0.02)


def find_row(tab: SessionTab, predicate: Callable[..., bool]) -> int:
    model = tab.model
    assert model is not None
    for row in range(model.rowCount()):
        record = model.record_at(row)
        if record is not None and predicate(record):
            return row
    return -1


async def snap(window: MainWindow, path: Path, settle: float = 0.4) -> None:
    """Let the window paint for ``settle`` seconds, then save it to ``path``."""
    await asyncio.sleep(settle)
    window.grab().save(str(path))


def run_in_window(
    start: Callable[[servers.ServerLoop], list[Any]],
    make: Callable[[MainWindow, list[Any], Path], Awaitable[None]],
) -> None:
    """Start ``start``'s loopback servers, open the real window (1280x800, its settings
    and captures in a temporary folder, given to ``make`` too) on a qasync loop, run
    ``make(window, servers, folder)``, close the window and stop the servers."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Socket Inspector")
    app.setQuitOnLastWindowClosed(False)
    server_loop = servers.ServerLoop()
    started = start(server_loop)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def run(window: MainWindow, folder: Path) -> None:
        await make(window, started, folder)
        window.close()
        await wait_for(lambda: window.closed)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, folder / "captures")
        window.resize(*SIZE)
        window.show()
        try:
            with loop:
                loop.run_until_complete(run(window, folder))
        finally:
            window.deleteLater()
            app.processEvents()
            for server in started:
                server.stop()
            server_loop.close()


async def open_tab(window: MainWindow, url: str) -> SessionTab:
    tab = window.open_url(url)
    assert tab is not None, window.connect_bar.error
    await wait_for(lambda: tab.state == "open")
    return tab


async def send(tab: SessionTab, text: str, mode: str = "text") -> None:
    assert tab.model is not None
    before = tab.model.total
    tab.composer.set_mode(mode)
    tab.composer.set_text(text)
    tab.composer.send()
    await wait_for(lambda: tab.model is not None and tab.model.total >= before + 2)


async def make(window: MainWindow, ws_url: str, tcp_url: str, udp_url: str) -> None:
    tcp = await open_tab(window, tcp_url)
    tcp.composer.set_line_ending("\\r\\n")
    for line in ("HELLO inspector", "STATUS"):
        await send(tcp, line)
    udp = await open_tab(window, udp_url)
    await send(udp, "de ad be ef 00 01", mode="hex")
    ws = await open_tab(window, ws_url)
    await send(ws, json.dumps({"type": "subscribe", "channel": "prices", "id": 1}), mode="json")
    await send(ws, "ping-me")
    await send(ws, "Hello from Socket Inspector")
    await send(ws, "00 01 02 03 fe ff", mode="hex")
    ws.composer.set_mode("json")
    ws.composer.set_text('{"type": "unsubscribe", "channel": "prices"}')
    await asyncio.sleep(0.3)

    row = find_row(
        ws,
        lambda r: (
            r.kind is Kind.FRAME
            and r.direction is Direction.IN
            and b"subscribe" in (r.payload or b"")
        ),
    )
    ws.select_row(row)
    tree = ws.details.tree
    item = tree.item_for("payload_len") or tree.item_for("opcode")
    if item is not None:
        tree.setCurrentItem(item)
    ws.details.show_timing_tab()
    await snap(window, DOCS / "screenshot.png")

    ws.details.show_headers_tab()
    request_row = find_row(ws, lambda r: r.kind is Kind.HANDSHAKE and r.direction is Direction.IN)
    ws.select_row(request_row)
    await snap(window, DOCS / "screenshot-headers.png", 0.3)

    window.tabs.setCurrentWidget(tcp)
    tcp.select_row(find_row(tcp, lambda r: r.direction is Direction.IN and r.kind is Kind.DATA))
    await snap(window, DOCS / "screenshot-tabs.png", 0.3)

    await make_server(window)


async def make_server(window: MainWindow) -> None:
    """A server tab with two real clients: one selected, its masked frame decoded."""
    from websockets.asyncio.client import connect

    tab = window.listen(parse_endpoint("ws://127.0.0.1:0/", listen=True))
    assert tab is not None
    await wait_for(lambda: tab.listener_state == "listening")
    url = tab.listener.url
    alice = await connect(url, compression=None, user_agent_header="alice-client/1.0")
    bob = await connect(url, compression=None, user_agent_header="bob-client/2.3")
    await alice.send(json.dumps({"type": "hello", "user": "alice"}))
    await bob.send(json.dumps({"type": "hello", "user": "bob"}))
    await alice.send(json.dumps({"type": "order", "side": "buy", "qty": 3, "price": 101.25}))
    await wait_for(lambda: len(tab.connections.entries) == 2)
    tab.select_connection(1)
    await wait_for(lambda: tab.view.model is not None and tab.view.model.total >= 5)
    tab.composer.set_mode("json")
    tab.composer.set_text('{"type": "fill", "qty": 3}')
    tab.composer.send()
    tab.target.setCurrentIndex(tab.target.findData("all"))
    tab.composer.set_text('{"type": "tick", "price": 101.5}')
    tab.composer.send()
    await alice.recv()
    await alice.recv()
    await bob.recv()
    await asyncio.sleep(0.3)
    tab.target.setCurrentIndex(tab.target.findData("selected"))
    row = find_row(
        tab,  # type: ignore[arg-type]
        lambda r: (
            r.kind is Kind.FRAME and r.direction is Direction.IN and b"order" in (r.payload or b"")
        ),
    )
    tab.select_row(row)
    item = tab.details.tree.item_for("mask_key") or tab.details.tree.item_for("opcode")
    if item is not None:
        tab.details.tree.setCurrentItem(item)
    tab.details.show_headers_tab()
    tab.composer.set_text('{"type": "bye"}')
    await snap(window, DOCS / "screenshot-server.png")
    await alice.close()
    await bob.close()


def main() -> int:
    def start(loop: servers.ServerLoop) -> list[Any]:
        return [
            servers.start_ws_server(loop, compression=True),
            servers.start_tcp_echo(loop),
            servers.start_udp_echo(loop),
        ]

    run_in_window(start, lambda window, s, _: make(window, s[0].url, s[1].url, s[2].url))
    names = ("screenshot.png", "screenshot-headers.png", "screenshot-tabs.png")
    for name in (*names, "screenshot-server.png"):
        print(DOCS / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
