"""Being the server in the window: Listen, real clients, the connections list, sending,
broadcasting, rules, disconnecting, stopping, and reopening the capture."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hosting_helpers import WsClient, entry_records, run_coro
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from ui_helpers import compose
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from inspector.capture.store import CaptureStore
from inspector.core.records import Direction, Kind, Record
from inspector.core.rules import ActionKind, MatchKind, Rule
from inspector.ui.help_menu import window_shortcuts
from inspector.ui.listen_options import ListenOptions, store_options, store_rules
from inspector.ui.main_window import MainWindow
from inspector.ui.tabs.server import ServerTab

WAIT_MS = 10_000


pytestmark = pytest.mark.usefixtures("private_cert_dir")


def _listen(qtbot: QtBot, window: MainWindow, url: str) -> ServerTab:
    before = window.tabs.count()
    window.connect_bar.set_text(url)
    window.connect_bar.listen_button.click()
    qtbot.waitUntil(lambda: window.tabs.count() == before + 1, timeout=WAIT_MS)
    tab = window.current_tab()
    assert isinstance(tab, ServerTab)
    qtbot.waitUntil(lambda: tab.listener_state == "listening", timeout=WAIT_MS)
    return tab


def _shown(tab: ServerTab) -> list[Record]:
    model = tab.model
    assert model is not None
    return [r for r in (model.record_at(row) for row in range(model.rowCount())) if r]


def test_websocket_server_tab_send_broadcast_disconnect_stop(
    qtbot: QtBot, window: MainWindow, clients: Callable[..., WsClient], capture_dir: Path
) -> None:
    tab = _listen(qtbot, window, "ws://127.0.0.1:0/")
    assert tab.listener.port != 0
    assert f":{tab.listener.port}/" in tab.banner.text()
    assert "loopback only" in tab.banner.text()
    url = tab.listener.url
    first = clients(url, None)
    second = clients(url, None)
    qtbot.waitUntil(lambda: len(tab.connections.entries) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(tab.listener.open_connections) == 2, timeout=WAIT_MS)

    # A client message: recorded masked, the upgrade in Headers (request and response).
    run_coro(qtbot, first.ws.send("hello server"))
    qtbot.waitUntil(
        lambda: any(r.payload == b"hello server" for r in entry_records(tab, 1)), timeout=WAIT_MS
    )
    tab.select_connection(1)
    assert tab.view is tab.entry(1).view
    qtbot.waitUntil(lambda: any(r.payload == b"hello server" for r in _shown(tab)), timeout=WAIT_MS)
    inbound = next(r for r in _shown(tab) if r.payload == b"hello server")
    assert inbound.direction is Direction.IN
    assert inbound.fields["masked"] is True and inbound.fields["mask_key"]
    context = tab.view.context
    assert context.request is not None and context.request.direction is Direction.IN
    assert context.response is not None and context.response.fields["status"] == 101

    # Send to the selected connection only.
    compose(tab, "just you")
    qtbot.waitUntil(lambda: "just you" in first.received, timeout=WAIT_MS)
    assert "just you" not in second.received

    # Broadcast to every connection.
    tab.target.setCurrentIndex(tab.target.findData("all"))
    compose(tab, "everyone")
    qtbot.waitUntil(
        lambda: "everyone" in first.received and "everyone" in second.received, timeout=WAIT_MS
    )

    # "All connections": interleaved, with the connection column; the filter works there.
    tab.select_connection(None)
    assert tab.view is tab.all_view
    model = tab.model
    assert model is not None
    rows = _shown(tab)
    conns = {model.index(row, model.columnCount() - 1).data() for row in range(len(rows))}
    assert {"#1", "#2", "-"} <= conns
    tab.filter_bar.edit.setText("everyone")
    qtbot.waitUntil(lambda: 0 < model.rowCount() < len(rows), timeout=WAIT_MS)
    assert all(b"everyone" in (r.payload or b"") for r in _shown(tab))
    tab.filter_bar.edit.setText("")

    # Disconnect one with a chosen close code and reason.
    tab.select_connection(2)
    tab.close_code.setValue(4001)
    tab.close_reason.setText("bye two")
    tab.disconnect_button.click()
    qtbot.waitUntil(lambda: second.close_code is not None, timeout=WAIT_MS)
    assert (second.close_code, second.close_reason) == (4001, "bye two")
    qtbot.waitUntil(lambda: tab.entry(2).conn.ended, timeout=WAIT_MS)
    row = tab.connections.row_of(2)
    qtbot.waitUntil(lambda: tab.connections.index(row, 9).data() == "4001", timeout=WAIT_MS)
    assert int(tab.connections.index(row, 4).data()) >= 1  # messages in

    # Stop: the rest closed gracefully, the capture finished with one session each.
    tab.stop_button.click()
    qtbot.waitUntil(lambda: tab.listener_state == "stopped", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: first.close_code is not None, timeout=WAIT_MS)
    assert first.close_code == 1000
    path = tab.capture_path
    assert path is not None and path.parent == capture_dir
    with CaptureStore.open(path) as store:
        sessions = store.sessions()
    assert len(sessions) == 3
    assert sessions[0].options["role"] == "listener"
    assert [s.options.get("conn") for s in sessions[1:]] == [1, 2]
    assert all(s.state != "running" for s in sessions)


def test_rule_answers_and_ctrl_l_listens_on_tcp(
    qtbot: QtBot, window: MainWindow, settings: Any
) -> None:
    store_rules(
        settings, [Rule(MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}")]
    )
    window.connect_bar.set_text("tcp://127.0.0.1:0")
    window.connect_bar.focus_endpoint()
    QTest.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: isinstance(window.current_tab(), ServerTab), timeout=WAIT_MS)
    tab = window.current_tab()
    assert isinstance(tab, ServerTab)
    qtbot.waitUntil(lambda: tab.listener_state == "listening", timeout=WAIT_MS)

    async def talk() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", tab.listener.port)
        writer.write(b"PING 7")
        await writer.drain()
        answer = await reader.read(100)
        writer.close()
        await writer.wait_closed()
        return answer

    assert run_coro(qtbot, talk()) == b"PONG 7"
    qtbot.waitUntil(lambda: len(tab.connections.entries) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: tab.entry(1).conn is not None and tab.entry(1).conn.ended, timeout=WAIT_MS
    )
    kinds = [r.kind for r in entry_records(tab, 1)]
    assert Kind.CONNECT in kinds and Kind.CLOSED in kinds
    listed = window_shortcuts(window)
    assert any(s.keys == "Ctrl+L" and "Listen" in s.action for s in listed)


def test_udp_listen_send_to_one_client(qtbot: QtBot, window: MainWindow) -> None:
    tab = _listen(qtbot, window, "udp://127.0.0.1:0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.sendto(b"hi", ("127.0.0.1", tab.listener.port))
        qtbot.waitUntil(lambda: len(tab.connections.entries) == 1, timeout=WAIT_MS)
        tab.select_connection(1)
        qtbot.waitUntil(lambda: tab.entry(1).conn is not None, timeout=WAIT_MS)
        compose(tab, "hello udp")
        got: list[bytes] = []

        def received() -> bool:
            try:
                got.append(sock.recv(100))
            except BlockingIOError:
                return False
            return True

        qtbot.waitUntil(received, timeout=WAIT_MS)
    assert got == [b"hello udp"]


def test_listen_on_every_interface_says_so(qtbot: QtBot, window: MainWindow) -> None:
    tab = _listen(qtbot, window, "tcp://0.0.0.0:0")
    assert "every interface" in tab.banner.text()


def test_listen_on_a_used_port_fails_in_one_line(qtbot: QtBot, window: MainWindow) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        window.connect_bar.set_text(f"tcp://127.0.0.1:{port}")
        window.connect_bar.listen_button.click()
        qtbot.waitUntil(lambda: isinstance(window.current_tab(), ServerTab), timeout=WAIT_MS)
        tab = window.current_tab()
        assert isinstance(tab, ServerTab)
        qtbot.waitUntil(lambda: tab.state == "failed", timeout=WAIT_MS)
    assert "in use" in tab.banner.text()
    assert "\n" not in (tab.failure or "")


def test_listen_capture_reopens_as_a_read_only_server_tab(
    qtbot: QtBot, window: MainWindow, clients: Callable[..., WsClient]
) -> None:
    tab = _listen(qtbot, window, "ws://127.0.0.1:0/")
    one = clients(tab.listener.url, None)
    two = clients(tab.listener.url, None)
    run_coro(qtbot, one.ws.send("from one"))
    run_coro(qtbot, two.ws.send("from two"))
    qtbot.waitUntil(lambda: len(tab.connections.entries) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: any(r.payload == b"from two" for r in entry_records(tab, 2)), timeout=WAIT_MS
    )
    tab.stop_button.click()
    qtbot.waitUntil(lambda: tab.listener_state == "stopped", timeout=WAIT_MS)
    path = tab.capture_path
    assert path is not None

    opened = window.captures.open_path(path)
    assert len(opened) == 1
    again = opened[0]
    assert isinstance(again, ServerTab) and again.read_only
    assert window.current_tab() is again
    assert "read-only" in again.banner.text()
    assert not again.composer.isEnabled() and not again.stop_button.isEnabled()
    assert [(e.number, e.state) for e in again.connections.entries] == [
        (1, "closed"),
        (2, "closed"),
    ]
    row = again.connections.row_of(2)
    received = [r for r in entry_records(again, 2) if r.direction is Direction.IN]
    assert again.connections.index(row, 4).data() == str(len(received))
    payloads = [r.payload for r in _shown(again)]
    assert b"from one" in payloads and b"from two" in payloads
    again.select_connection(1)
    shown = [r.payload for r in _shown(again)]
    assert b"from one" in shown and b"from two" not in shown
    assert again.view.context.request is not None


def test_websocket_options_one_path_and_refusing_the_upgrade(
    qtbot: QtBot, window: MainWindow, settings: Any
) -> None:
    store_options(settings, ListenOptions(any_path=False, subprotocols=("chat",)))
    tab = _listen(qtbot, window, "ws://127.0.0.1:0/feed")

    async def status_of(url: str, **kwargs: Any) -> int | str:
        try:
            async with ws_connect(url, **kwargs) as ws:
                return f"open {ws.subprotocol}"
        except InvalidStatus as exc:
            return exc.response.status_code

    base = f"ws://127.0.0.1:{tab.listener.port}"
    assert run_coro(qtbot, status_of(f"{base}/other")) == 404
    assert run_coro(qtbot, status_of(f"{base}/feed", subprotocols=["chat"])) == "open chat"

    store_options(settings, ListenOptions(refuse_status=418, refuse_body="no tea today"))
    refusing = _listen(qtbot, window, "ws://127.0.0.1:0/")
    assert run_coro(qtbot, status_of(refusing.listener.url)) == 418
    qtbot.waitUntil(lambda: len(refusing.connections.entries) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: any(
            r.kind is Kind.HANDSHAKE and r.direction is Direction.OUT
            for r in entry_records(refusing, 1)
        ),
        timeout=WAIT_MS,
    )
    answer = next(
        r
        for r in entry_records(refusing, 1)
        if r.kind is Kind.HANDSHAKE and r.direction is Direction.OUT
    )
    assert answer.fields["status"] == 418 and answer.payload == b"no tea today"


def test_tls_listener_shows_the_made_certificate_and_closing_the_tab_stops_it(
    qtbot: QtBot, window: MainWindow, settings: Any, tmp_path: Path
) -> None:
    store_rules(settings, [Rule(MatchKind.ANY, ActionKind.ECHO)])
    tab = _listen(qtbot, window, "tls://127.0.0.1:0")
    assert tab.tls is not None and tab.tls.self_signed
    assert tab.tls.fingerprint in tab.banner.text()
    exported = tmp_path / "trust-me.pem"
    assert tab.cert_button.isVisibleTo(tab) and tab.export_certificate(exported)
    context = ssl.create_default_context(cafile=str(exported))

    async def talk() -> tuple[bytes, bytes]:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", tab.listener.port, ssl=context, server_hostname="localhost"
        )
        writer.write(b"over tls")
        await writer.drain()
        echoed = await reader.read(100)
        window.close_tab(window.tabs.indexOf(tab))  # closing the tab stops the listener
        rest = await reader.read()  # the server closes: EOF
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()
        return echoed, rest

    assert run_coro(qtbot, talk()) == (b"over tls", b"")
    qtbot.waitUntil(lambda: tab.listener_state == "stopped", timeout=WAIT_MS)
    path = tab.capture_path
    assert path is not None
    with CaptureStore.open(path) as store:
        sessions = store.sessions()
    assert [s.state for s in sessions] == ["stopped", "closed"]


def test_garbage_instead_of_an_upgrade_is_recorded_and_the_tab_goes_on(
    qtbot: QtBot, window: MainWindow, clients: Callable[..., WsClient]
) -> None:
    tab = _listen(qtbot, window, "ws://127.0.0.1:0/")

    async def garbage() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", tab.listener.port)
        writer.write(b"HELLO? \x00\xff not http\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        return answer

    answer = run_coro(qtbot, garbage())
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4")  # closed, or told why
    qtbot.waitUntil(
        lambda: tab.entry(1) is not None and tab.entry(1).ended_text() != "", timeout=WAIT_MS
    )
    errors = [r for r in entry_records(tab, 1) if r.kind is Kind.ERROR]
    assert errors and "\n" not in errors[0].fields["message"]
    assert errors[0].wire.startswith(b"HELLO? ")  # the garbage itself is recorded
    good = clients(tab.listener.url, None)
    run_coro(qtbot, good.ws.send("still here"))
    qtbot.waitUntil(
        lambda: any(r.payload == b"still here" for r in entry_records(tab, 2)), timeout=WAIT_MS
    )
    assert tab.listener_state == "listening"


def test_many_clients_at_once_are_each_listed_and_recorded(
    qtbot: QtBot, window: MainWindow, settings: Any
) -> None:
    store_rules(settings, [Rule(MatchKind.ANY, ActionKind.ECHO)])
    tab = _listen(qtbot, window, "tcp://127.0.0.1:0")
    count = 100

    async def one(n: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", tab.listener.port)
        writer.write(f"client {n}".encode())
        await writer.drain()
        echoed = await reader.read(100)
        writer.close()
        await writer.wait_closed()
        return echoed

    async def all_of_them() -> list[bytes]:
        return await asyncio.gather(*(one(n) for n in range(count)))

    answers = run_coro(qtbot, all_of_them())
    assert sorted(answers) == sorted(f"client {n}".encode() for n in range(count))
    qtbot.waitUntil(lambda: len(tab.connections.entries) == count, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: all(e.finished for e in tab.connections.entries), timeout=WAIT_MS)
    assert tab.connections.rowCount() == count + 1
    echoed = [
        r
        for r in tab.all_records.records(0, tab.all_records.count())
        if r.direction is Direction.OUT
    ]
    assert len(echoed) == count
    assert tab.counters.records_out == count
