"""Quitting the window, or closing a tab, while a peer floods the session: the window or
tab goes at once, the peer is sent a close, and the capture is finished and opens."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from servers import HOST, ServerLoop, websocket_accept

from inspector.capture.files import STATE_RUNNING
from inspector.capture.store import CaptureStore
from inspector.core.records import Kind
from inspector.ui.main_window import MainWindow
from inspector.ui.tabs.session import SessionTab

WAIT_MS = 30_000
MESSAGES = 1_000_000  # the most the peer sends, whoever leaves first
FRAME = b"\x81\x40" + b"0123456789abcdef" * 4  # a 64-byte text frame, unmasked
BATCH = FRAME * 1024  # one write


@dataclass
class FloodPeer:
    """A WebSocket peer that floods text frames and notes the client's close frame."""

    port: int = 0
    close_seen: bool = False
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}/"


def _has_close(data: bytes) -> bool:
    """True once client frames (masked, RFC 6455 §5.2) hold a close frame."""
    pos = 0
    while pos + 2 <= len(data):
        opcode, length = data[pos] & 0x0F, data[pos + 1] & 0x7F
        extra = {126: 2, 127: 8}.get(length, 0)
        if pos + 2 + extra + 4 > len(data):
            return False
        if extra:
            length = int.from_bytes(data[pos + 2 : pos + 2 + extra], "big")
        if opcode == 0x8:
            return True
        pos += 2 + extra + 4 + length
    return False


async def _serve(peer: FloodPeer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    peer.connections += 1
    peer.writers.append(writer)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        key = b""
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + websocket_accept(key) + b"\r\n\r\n"
        )

        async def listen() -> None:
            data = b""
            while chunk := await reader.read(65536):
                data += chunk
                if _has_close(data):
                    peer.close_seen = True
                    return

        listening = asyncio.ensure_future(listen())
        try:
            for _ in range(MESSAGES // 1024):  # bounded; ends early when the client leaves
                if listening.done():
                    break
                writer.write(BATCH)
                await writer.drain()
            await asyncio.wait_for(listening, 30)
        finally:
            listening.cancel()
    except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
        pass
    finally:
        writer.transport.abort()


@pytest.fixture
def flood_peer(server_loop: ServerLoop) -> Iterator[FloodPeer]:
    peer = FloodPeer()

    async def start() -> asyncio.Server:
        server = await asyncio.start_server(lambda r, w: _serve(peer, r, w), HOST, 0)
        peer.port = server.sockets[0].getsockname()[1]
        return server

    server = server_loop.call(start())
    yield peer

    async def stop() -> None:
        server.close()
        for writer in peer.writers:
            writer.transport.abort()

    server_loop.call(stop())


def _flooding(qtbot: QtBot, window: MainWindow, peer: FloodPeer) -> SessionTab:
    """Open a session to the flood peer and wait until the flood is being shown."""
    window.connect_bar.set_text(peer.url)
    window.connect_bar.connect_button.click()
    qtbot.waitUntil(lambda: window.current_tab() is not None, timeout=WAIT_MS)
    tab = window.current_tab()
    assert tab is not None
    qtbot.waitUntil(lambda: tab.counters.records_in > 5_000, timeout=WAIT_MS)
    assert tab.state == "open"  # still flooding: far from the last message
    return tab


def _finished_capture(path: Path | None) -> tuple[str, int, Kind]:
    """The state, record count and last record kind of a capture file, opened anew."""
    assert path is not None
    with CaptureStore.open(path) as store:
        count = store.count()
        return store.session.state, count, store.record(count - 1).kind


def test_quit_during_a_flood_hides_at_once_sends_close_and_finishes_the_capture(
    qtbot: QtBot, window: MainWindow, flood_peer: FloodPeer
) -> None:
    tab = _flooding(qtbot, window, flood_peer)
    window.quit_action.trigger()  # Ctrl+Q
    assert not window.isVisible()  # gone before any session has closed
    assert not window.closed
    qtbot.waitUntil(lambda: window.closed, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: flood_peer.close_seen, timeout=WAIT_MS)
    assert tab.session is not None and tab.session.ended
    state, count, last = _finished_capture(tab.capture_path)
    assert state != STATE_RUNNING
    assert count > 5_000
    assert last is Kind.CLOSED


def test_closing_a_tab_during_a_flood_removes_it_at_once_and_finishes_the_capture(
    qtbot: QtBot, window: MainWindow, flood_peer: FloodPeer
) -> None:
    tab = _flooding(qtbot, window, flood_peer)
    path = tab.capture_path
    window.close_tab(window.tabs.indexOf(tab))
    assert window.tabs.count() == 0
    qtbot.waitUntil(lambda: flood_peer.close_seen, timeout=WAIT_MS)
    assert tab.session is not None
    session = tab.session
    qtbot.waitUntil(lambda: session.ended, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _finished_capture(path)[0] != STATE_RUNNING, timeout=WAIT_MS)
    _state, count, last = _finished_capture(path)
    assert count > 5_000
    assert last is Kind.CLOSED
    assert flood_peer.connections == 1
