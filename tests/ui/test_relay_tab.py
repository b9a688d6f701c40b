"""Relaying in the window: Relay… (the dialog), a real client through the relay to a real
server, both directions labelled, the pairs list, stopping, refusals and captures."""

from __future__ import annotations

import contextlib
import io
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hosting_helpers import WsClient, entry_records, run_coro
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from servers import Flood, HostileScript, HostileServer, RunningServer
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from inspector.capture.store import CaptureStore
from inspector.cli import run_command
from inspector.core.records import Direction, Kind, Record
from inspector.core.rules import ActionKind, MatchKind, Rule
from inspector.net.intercept import HeldMessage, MessageKind, Way
from inspector.net.relayfaults import CutMode, Faults
from inspector.ui.main_window import MainWindow
from inspector.ui.models.records import COL_DIR
from inspector.ui.relay_dialog import RelayDialog, RelaySettings, stored_settings
from inspector.ui.tabs.intercept_panel import HeldEditor
from inspector.ui.tabs.relay import RelayTab
from inspector.ui.widgets.timing import phases_from

WAIT_MS = 10_000


pytestmark = pytest.mark.usefixtures("private_cert_dir")


def _receive(qtbot: QtBot, sock: socket.socket, expected: bytes, *, eof: bool = False) -> None:
    """Read ``sock`` (without blocking the loop the relay runs on) until ``expected``
    (and, with ``eof``, the end of the stream) has arrived."""
    got = bytearray()
    ended = False

    def arrived() -> bool:
        nonlocal ended
        with contextlib.suppress(BlockingIOError):
            chunk = sock.recv(65536)
            got.extend(chunk)
            ended = ended or not chunk
        return bytes(got) == expected and (ended or not eof)

    sock.setblocking(False)
    qtbot.waitUntil(arrived, timeout=WAIT_MS)


def _relay_from_dialog(
    qtbot: QtBot, window: MainWindow, upstream: str, listen: str | None = None
) -> RelayTab:
    """Session ▸ Relay…: type the upstream (and listen) URL in the dialog, press Relay."""
    before = window.tabs.count()
    seen: dict[str, Any] = {}

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RelayDialog):
            QTimer.singleShot(10, fill)
            return
        seen["reach"] = dialog.reach.text()
        dialog.upstream.setText(upstream)
        if listen is not None:
            dialog.listen.setText(listen)
        seen["listen"] = dialog.listen.text()
        dialog.ok_button.click()

    QTimer.singleShot(0, fill)
    window.relay_action.trigger()
    qtbot.waitUntil(lambda: window.tabs.count() == before + 1, timeout=WAIT_MS)
    tab = window.current_tab()
    assert isinstance(tab, RelayTab)
    tab.dialog_seen = seen  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: tab.listener_state in ("listening", "failed"), timeout=WAIT_MS)
    return tab


def _open(qtbot: QtBot, window: MainWindow, relay: RelaySettings) -> RelayTab:
    tab = window.open_relay(relay, [])
    qtbot.waitUntil(lambda: tab.listener_state in ("listening", "failed"), timeout=WAIT_MS)
    return tab


def _shown(tab: RelayTab) -> list[tuple[str, Record]]:
    """The current view's rows: (direction column text, record)."""
    model = tab.model
    assert model is not None
    rows = []
    for row in range(model.rowCount()):
        record = model.record_at(row)
        if record is not None:
            rows.append((model.data(model.index(row, COL_DIR)), record))
    return rows


def test_relay_dialog_websocket_both_directions_labelled_and_stop_finishes_the_capture(
    qtbot: QtBot,
    window: MainWindow,
    ws_server: RunningServer,
    clients: Callable[..., WsClient],
    capture_dir: Path,
) -> None:
    tab = _relay_from_dialog(qtbot, window, ws_server.url)
    assert tab.dialog_seen["listen"] == "ws://127.0.0.1:0/"  # type: ignore[attr-defined]
    assert "loopback only" in tab.dialog_seen["reach"]  # type: ignore[attr-defined]
    assert tab.listener_state == "listening", tab.failure
    assert tab.relay.port != 0
    banner = tab.banner.text()
    assert f"Relaying ws://127.0.0.1:{tab.relay.port}/ → {ws_server.url}" in banner
    assert "loopback only" in banner
    assert window.tabs.tabText(window.tabs.currentIndex()).startswith("Relay WS 127.0.0.1:")
    assert stored_settings(window.settings).upstream == ws_server.url  # offered next time

    client = clients(tab.relay.url)
    qtbot.waitUntil(lambda: len(tab.connections.entries) == 1, timeout=WAIT_MS)
    run_coro(qtbot, client.ws.send("hello through"))
    qtbot.waitUntil(lambda: "hello through" in client.received, timeout=WAIT_MS)

    def both() -> bool:
        payloads = {(r.direction, r.payload) for r in entry_records(tab, 1)}
        return {(Direction.OUT, b"hello through"), (Direction.IN, b"hello through")} <= payloads

    qtbot.waitUntil(both, timeout=WAIT_MS)
    records = entry_records(tab, 1)
    # The relay's own records: the client's leg, the upstream's connect, both handshakes.
    legs = {r.fields.get("leg") for r in records if r.kind is Kind.CONNECT}
    assert legs == {"client", "upstream"}
    handshakes = [r for r in records if r.kind is Kind.HANDSHAKE]
    assert [h.direction for h in handshakes] == [Direction.OUT, Direction.IN]
    assert handshakes[1].fields["status"] == 101

    # The pair's own view labels the directions in words.
    tab.select_connection(1)
    qtbot.waitUntil(
        lambda: any(r.payload == b"hello through" for _, r in _shown(tab)), timeout=WAIT_MS
    )
    labels = {(r.direction, r.payload): text for text, r in _shown(tab)}
    assert labels[(Direction.OUT, b"hello through")] == "client → server"
    assert labels[(Direction.IN, b"hello through")] == "server → client"
    assert any(text == "relay · server" for text, r in _shown(tab) if r.kind is Kind.CONNECT)
    assert tab.view.filter_bar.direction.itemText(1) == "client → server"
    # The Headers pane: the client's request and the server's answer.
    assert tab.view.context.request is not None and tab.view.context.response is not None
    assert tab.view.context.request.direction is Direction.OUT

    # The pairs list counts both directions.
    model = tab.connections
    row = model.row_of(1)
    assert row is not None
    assert model.data(model.index(row, 1)) == client.ws.local_address[0] + ":" + str(
        client.ws.local_address[1]
    )
    qtbot.waitUntil(lambda: int(model.data(model.index(row, 4))) >= 2, timeout=WAIT_MS)
    assert int(model.data(model.index(row, 5))) >= 2  # the 101 answer and the echo

    # "All connections" shows every record with its pair.
    tab.select_connection(None)
    qtbot.waitUntil(
        lambda: ("client → server", b"hello through") in {(t, r.payload) for t, r in _shown(tab)},
        timeout=WAIT_MS,
    )

    # Stop relaying: the pair ends gracefully, the client sees the close, the capture is
    # finished and opens with `inspector show`.
    tab.stop_button.click()
    qtbot.waitUntil(lambda: tab.listener_state == "stopped", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: client.closed, timeout=WAIT_MS)
    assert "Stopped relaying" in tab.banner.text()
    entry = tab.entry(1)
    assert entry is not None and entry.finished
    path = tab.capture_path
    assert path is not None and path.parent == capture_dir
    with CaptureStore.open(path) as store:
        sessions = store.sessions()
    assert len(sessions) == 2
    assert sessions[0].options["role"] == "listener"
    assert sessions[0].options["upstream"] == ws_server.url
    assert sessions[0].summary["accepted"] == 1
    assert sessions[1].state == "closed"
    out, err = io.StringIO(), io.StringIO()
    assert run_command(["show", str(path), "--session", "2"], out, err) == 0, err.getvalue()
    assert "hello through" in out.getvalue()

    # File ▸ Open shows the capture again as a read-only relay tab.
    opened = window.captures.open_path(path)
    assert len(opened) == 1
    again = opened[0]
    assert isinstance(again, RelayTab) and again.read_only
    assert "Capture of a relay" in again.banner.text() and "read-only" in again.banner.text()
    assert not again.composer.isEnabled() and not again.intercept_panel.isEnabled()
    assert [(e.number, e.state) for e in again.connections.entries] == [(1, "closed")]
    sent = [r for r in entry_records(again, 1) if r.direction is Direction.OUT]
    assert again.connections.index(1, 4).data() == str(len(sent))
    again.select_connection(1)
    qtbot.waitUntil(
        lambda: (
            ("client → server", b"hello through")
            in {(text, r.payload) for text, r in _shown(again)}
        ),
        timeout=WAIT_MS,
    )


def test_upstream_refusing_is_one_line_and_the_relay_goes_on(
    qtbot: QtBot, window: MainWindow, unused_port: int
) -> None:
    tab = _open(qtbot, window, RelaySettings("tcp://127.0.0.1:0", f"tcp://127.0.0.1:{unused_port}"))
    assert tab.listener_state == "listening"
    with socket.create_connection(("127.0.0.1", tab.relay.port), timeout=5) as sock:
        qtbot.waitUntil(lambda: tab.relay.ended_count == 1, timeout=WAIT_MS)
        _receive(qtbot, sock, b"", eof=True)  # the client's connection closed, as the upstream's
    line = f"upstream 127.0.0.1:{unused_port} refused the connection"
    qtbot.waitUntil(lambda: line in tab.banner.text(), timeout=WAIT_MS)
    assert tab.last_problem is not None and "\n" not in tab.last_problem
    model = tab.connections
    qtbot.waitUntil(lambda: model.data(model.index(1, 8)) == line, timeout=WAIT_MS)
    assert model.data(model.index(1, 2)) == "failed"
    errors = [r for r in entry_records(tab, 1) if r.kind is Kind.ERROR]
    assert [e.fields["message"] for e in errors] == [line]
    assert tab.listener_state == "listening"  # the next client may find the server up


def test_port_in_use_and_bad_pairs_are_one_line(
    qtbot: QtBot, window: MainWindow, tcp_echo_server: RunningServer
) -> None:
    taken = tcp_echo_server.port
    tab = _open(qtbot, window, RelaySettings(f"tcp://127.0.0.1:{taken}", tcp_echo_server.url))
    assert tab.listener_state == "failed"
    assert tab.failure is not None and "\n" not in tab.failure
    assert str(taken) in tab.failure and "in use" in tab.failure
    assert "Cannot relay" in tab.banner.text()

    dialog = RelayDialog(RelaySettings("ws://127.0.0.1:0/", tcp_echo_server.url), [], window)
    try:
        dialog.accept()
        assert dialog.isVisible() is False and dialog.result() == 0
        text = dialog.error.text()
        assert "cannot relay ws:// to tcp://" in text and "\n" not in text
        dialog.listen.setText("tcp://0.0.0.0:0")
        assert "every interface" in dialog.reach.text()
        dialog.c2s.loss.setValue(5)
        assert not dialog.c2s.loss.isEnabled()  # loss counts messages: not for tcp
        dialog.listen.setText("udp://127.0.0.1:0")
        dialog.upstream.setText("udp://127.0.0.1:9")
        assert dialog.c2s.loss.isEnabled() and not dialog.c2s.cut_bytes.isEnabled()
        relay = dialog.settings()
        assert relay.c2s == Faults(loss=5)
    finally:
        dialog.deleteLater()


def test_a_client_that_does_not_read_is_shown_backed_up(
    qtbot: QtBot, window: MainWindow, hostile_server_factory: Callable[..., HostileServer]
) -> None:
    upstream = hostile_server_factory(HostileScript((Flood(32 << 20),)))
    tab = _open(qtbot, window, RelaySettings("tcp://127.0.0.1:0", upstream.url))
    with socket.create_connection(("127.0.0.1", tab.relay.port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and it reads nothing
        qtbot.waitUntil(lambda: tab.backed_up(1), timeout=WAIT_MS)
        model = tab.connections
        state = model.data(model.index(1, 2))
        assert state == "open · backed up (the client reads slowly)"
        shown = [r for r in entry_records(tab, 1) if r.fields.get("backed_up")]
        assert shown and shown[0].fields["leg"] == "client"
    qtbot.waitUntil(lambda: tab.relay.ended_count == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not tab.backed_up(1), timeout=WAIT_MS)


def test_wss_relay_to_a_tls_server_presents_its_certificate(
    qtbot: QtBot,
    window: MainWindow,
    wss_server: RunningServer,
    tls_ca_file: str,
    clients: Callable[..., WsClient],
    tmp_path: Path,
) -> None:
    """A browser-style setup: clients speak ws:// to the relay, the relay speaks wss://
    to the server (trusting the test CA); a wss:// listen side shows its certificate."""
    tab = _open(
        qtbot, window, RelaySettings("ws://127.0.0.1:0/", wss_server.url, cafile=tls_ca_file)
    )
    client = clients(tab.relay.url)
    run_coro(qtbot, client.ws.send("secure hello"))
    qtbot.waitUntil(lambda: "secure hello" in client.received, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any(r.kind is Kind.TLS for r in entry_records(tab, 1)), timeout=WAIT_MS)
    tls = next(r for r in entry_records(tab, 1) if r.kind is Kind.TLS)
    assert tls.fields["leg"] == "upstream"
    # Timing names each leg's phases.
    names = [p.name for p in phases_from(entry_records(tab, 1))]
    assert names[:1] == ["connect (client)"]
    assert {"resolve", "connect (server)", "tls (server)", "upgrade"} <= set(names)

    secure = _open(
        qtbot, window, RelaySettings("wss://127.0.0.1:0/", wss_server.url, cafile=tls_ca_file)
    )
    assert secure.listener_state == "listening", secure.failure
    assert "Certificate SHA-256" in secure.banner.text()
    assert secure.cert_button.isVisible()
    target = tmp_path / "relay-cert.pem"
    assert secure.export_certificate(target)
    assert target.read_text().startswith("-----BEGIN CERTIFICATE-----")


def _inject(tab: RelayTab, text: str, way: str) -> None:
    """Choose the direction, type ``text`` in the composer and press Send."""
    tab.direction.setCurrentIndex(tab.direction.findData(way))
    tab.composer.set_mode("text")
    tab.composer.set_text(text)
    tab.composer.send_button.click()


def _edit_in_editor(qtbot: QtBot, tab: RelayTab, new_text: str) -> str:
    """Press Edit…, replace the prefilled payload with ``new_text``, press Forward edited;
    returns what the editor was prefilled with."""
    seen: dict[str, str] = {}

    def fill() -> None:
        editor = QApplication.activeModalWidget()
        if not isinstance(editor, HeldEditor):
            QTimer.singleShot(10, fill)
            return
        seen["prefilled"] = editor.editor.toPlainText()
        editor.editor.setPlainText(new_text)
        editor.ok_button.click()

    QTimer.singleShot(0, fill)
    tab.intercept_panel.edit_button.click()
    return seen["prefilled"]


def test_inject_both_ways_and_intercept_forward_edit_drop_on_websocket(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, clients: Callable[..., WsClient]
) -> None:
    tab = _open(qtbot, window, RelaySettings("ws://127.0.0.1:0/", ws_server.url))
    client = clients(tab.relay.url)
    qtbot.waitUntil(lambda: tab.interceptor.connections() == [1], timeout=WAIT_MS)
    panel = tab.intercept_panel

    # Inject: to the client directly; to the server, whose echo comes back to the client.
    qtbot.waitUntil(lambda: len(tab.connections.entries) == 1, timeout=WAIT_MS)
    tab.select_connection(1)
    assert tab.selected_entry() is tab.entry(1)
    qtbot.waitUntil(tab.composer.send_button.isEnabled, timeout=WAIT_MS)
    _inject(tab, "from the relay", "s2c")
    qtbot.waitUntil(lambda: "from the relay" in client.received, timeout=WAIT_MS)
    _inject(tab, "echo me", "c2s")
    qtbot.waitUntil(lambda: "echo me" in client.received, timeout=WAIT_MS)
    assert tab.composer.error_text is None
    qtbot.waitUntil(
        lambda: (
            {("relay → client", b"from the relay"), ("relay → server", b"echo me")}
            <= {(text, r.payload) for text, r in _shown(tab)}
        ),
        timeout=WAIT_MS,
    )

    # Intercept client → server: a message is held until forwarded.
    panel.set_mode("c2s")
    run_coro(qtbot, client.ws.send("hold me"))
    qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
    assert panel.count.text() == "1 held"
    assert window.tabs.tabText(window.tabs.indexOf(tab)).endswith("· 1 held")
    assert tab.connections.index(1, 2).data() == "open · 1 held"
    held = panel.model.messages[0]
    assert (held.conn, held.way.arrow, held.payload) == (1, "client → server", b"hold me")
    assert panel.model.index(0, 5).data() == "hold me"
    assert "hold me" not in client.received
    panel.forward_button.click()
    qtbot.waitUntil(lambda: "hold me" in client.received, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.held_count == 0, timeout=WAIT_MS)
    assert not window.tabs.tabText(window.tabs.indexOf(tab)).endswith("held")

    # Edit: the editor is prefilled with the payload; what it says goes on.
    run_coro(qtbot, client.ws.send("edit me"))
    qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
    assert _edit_in_editor(qtbot, tab, "edited!") == "edit me"
    qtbot.waitUntil(lambda: "edited!" in client.received, timeout=WAIT_MS)
    assert "edit me" not in client.received

    # Drop: the server never sees it; Forward all and Drop all take the whole queue.
    run_coro(qtbot, client.ws.send("drop me"))
    qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
    panel.drop_button.click()
    qtbot.waitUntil(lambda: panel.held_count == 0, timeout=WAIT_MS)
    run_coro(qtbot, client.ws.send("first"))
    run_coro(qtbot, client.ws.send("second"))
    qtbot.waitUntil(lambda: panel.held_count == 2, timeout=WAIT_MS)
    panel.forward_all_button.click()
    qtbot.waitUntil(lambda: client.received[-2:] == ["first", "second"], timeout=WAIT_MS)
    run_coro(qtbot, client.ws.send("gone one"))
    run_coro(qtbot, client.ws.send("gone two"))
    qtbot.waitUntil(lambda: panel.held_count == 2, timeout=WAIT_MS)
    panel.drop_all_button.click()
    qtbot.waitUntil(lambda: panel.held_count == 0, timeout=WAIT_MS)

    # A filter holds only what it picks; a bad one is one line and the old one stays.
    panel.filter.setText("secret")
    run_coro(qtbot, client.ws.send("plain"))
    qtbot.waitUntil(lambda: "plain" in client.received, timeout=WAIT_MS)
    run_coro(qtbot, client.ws.send("a secret"))
    qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
    panel.regex.setChecked(True)
    panel.filter.setText("(unclosed")
    assert panel.error.isVisibleTo(panel) and "\n" not in panel.error.text()
    assert "filter" in panel.error.text()

    # Switched off, nothing more is held; what is held stays until resolved.
    panel.set_mode("off")
    run_coro(qtbot, client.ws.send("free"))
    qtbot.waitUntil(lambda: "free" in client.received, timeout=WAIT_MS)
    assert panel.held_count == 1
    panel.forward_button.click()
    qtbot.waitUntil(lambda: "a secret" in client.received, timeout=WAIT_MS)
    for text in ("drop me", "gone one", "gone two"):
        assert text not in client.received


def test_inject_and_intercept_on_tcp_and_held_messages_go_with_their_pair(
    qtbot: QtBot, window: MainWindow, tcp_echo_server: RunningServer
) -> None:
    tab = _open(qtbot, window, RelaySettings("tcp://127.0.0.1:0", tcp_echo_server.url))
    panel = tab.intercept_panel
    with socket.create_connection(("127.0.0.1", tab.relay.port), timeout=5) as sock:
        qtbot.waitUntil(lambda: tab.interceptor.connections() == [1], timeout=WAIT_MS)
        # With one pair open and "All connections" shown, the composer sends into it.
        _inject(tab, "to you", "s2c")
        _receive(qtbot, sock, b"to you")
        _inject(tab, "round trip", "c2s")
        _receive(qtbot, sock, b"round trip")  # the echo server answered the injection

        panel.set_mode("s2c")
        sock.sendall(b"ping")
        qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
        assert panel.model.messages[0].way.arrow == "server → client"
        assert _edit_in_editor(qtbot, tab, "pong") == "ping"
        _receive(qtbot, sock, b"pong")

        sock.sendall(b"never")
        qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
    # The client left: its held message is dropped, and the panel says why in a line.
    qtbot.waitUntil(lambda: panel.held_count == 0, timeout=WAIT_MS)
    note = panel.note.text()
    assert note.startswith("#2 (server → client, connection 1) dropped: the connection ended")
    assert "\n" not in note and panel.note.isVisibleTo(panel)
    held = [r for r in entry_records(tab, 1) if r.fields.get("intercept") == 2]
    assert [(r.direction, r.payload) for r in held] == [(Direction.IN, b"never")]
    assert tab.composer.send_button.isEnabled() is False  # no open pair to send into


def test_rules_and_faults_from_the_dialog_reach_the_relay(
    qtbot: QtBot, window: MainWindow, tcp_echo_server: RunningServer
) -> None:
    """The dialog's rules answer from the relay; its faults show in the banner and records."""
    rule = Rule(MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}")
    dialog = RelayDialog(RelaySettings("tcp://127.0.0.1:0", tcp_echo_server.url), [], window)
    try:
        dialog.set_rules([rule])
        assert dialog.rules_label.text() == "1 rule"
        dialog.s2c.delay.setValue(30)
        dialog.accept()
        assert dialog.result() == 1, dialog.error.text()
        tab = window.open_relay(dialog.settings(), dialog.rules())
    finally:
        dialog.deleteLater()
    qtbot.waitUntil(lambda: tab.listener_state == "listening", timeout=WAIT_MS)
    assert "Faults server → client: delay 30 ms" in tab.banner.text()
    with socket.create_connection(("127.0.0.1", tab.relay.port), timeout=5) as sock:
        sock.sendall(b"PING 7")
        _receive(qtbot, sock, b"PONG 7")  # answered by the relay, not echoed by the server
        sock.sendall(b"hello")
        _receive(qtbot, sock, b"hello")  # no rule: through the server and back, delayed
    records = entry_records(tab, 1)
    assert any(r.fields.get("faults") == "server → client" for r in records)
    ruled = [r for r in records if r.payload == b"PING 7"]
    assert ruled and ruled[0].fields.get("forwarded") is False
    echoed = [r for r in records if r.direction is Direction.IN and r.payload == b"hello"]
    assert echoed and echoed[0].fields.get("held_ms") is not None


def test_udp_relay_injects_and_intercepts_datagrams(
    qtbot: QtBot, window: MainWindow, udp_echo_server: RunningServer
) -> None:
    tab = _open(qtbot, window, RelaySettings("udp://127.0.0.1:0", udp_echo_server.url))
    panel = tab.intercept_panel
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.sendto(b"first", ("127.0.0.1", tab.relay.port))
        got: list[bytes] = []

        def datagram(expected: bytes) -> Callable[[], bool]:
            def arrived() -> bool:
                with contextlib.suppress(BlockingIOError):
                    got.append(sock.recv(65536))
                return expected in got

            return arrived

        qtbot.waitUntil(datagram(b"first"), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: tab.interceptor.connections() == [1], timeout=WAIT_MS)
        _inject(tab, "from the relay", "s2c")
        qtbot.waitUntil(datagram(b"from the relay"), timeout=WAIT_MS)
        _inject(tab, "echo this", "c2s")
        qtbot.waitUntil(datagram(b"echo this"), timeout=WAIT_MS)
        panel.set_mode("c2s")
        sock.sendto(b"held", ("127.0.0.1", tab.relay.port))
        qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
        assert panel.model.messages[0].kind is MessageKind.DATAGRAM
        panel.drop_button.click()
        qtbot.waitUntil(lambda: panel.held_count == 0, timeout=WAIT_MS)
        sock.sendto(b"kept", ("127.0.0.1", tab.relay.port))
        qtbot.waitUntil(lambda: panel.held_count == 1, timeout=WAIT_MS)
        panel.forward_button.click()
        qtbot.waitUntil(datagram(b"kept"), timeout=WAIT_MS)
        assert b"held" not in got


def test_upgrade_refused_and_tls_failing_upstreams_are_one_line_each(
    qtbot: QtBot, window: MainWindow, ws_server: RunningServer, wss_server: RunningServer
) -> None:
    refusing = _open(qtbot, window, RelaySettings("ws://127.0.0.1:0/", ws_server.url))

    async def refused(url: str) -> int | None:
        try:
            async with ws_connect(url):
                return None
        except InvalidStatus as exc:
            return exc.response.status_code

    # The client sees the server's own refusal; the tab says it in one line.
    assert run_coro(qtbot, refused(refusing.relay.url + "forbidden")) == 403
    line = "upstream refused the upgrade: 403 Forbidden"
    qtbot.waitUntil(lambda: refusing.last_problem is not None, timeout=WAIT_MS)
    assert refusing.last_problem.endswith(line)
    qtbot.waitUntil(lambda: line in refusing.banner.text(), timeout=WAIT_MS)

    # A server whose certificate is not trusted: the client gets 502, the tab one line.
    untrusted = _open(qtbot, window, RelaySettings("ws://127.0.0.1:0/", wss_server.url))
    assert run_coro(qtbot, refused(untrusted.relay.url)) == 502
    qtbot.waitUntil(lambda: untrusted.last_problem is not None, timeout=WAIT_MS)
    problem = untrusted.last_problem
    assert "TLS with upstream failed" in problem and "\n" not in problem
    assert "certificate" in problem
    model = untrusted.connections
    qtbot.waitUntil(lambda: "TLS with upstream failed" in model.index(1, 8).data(), timeout=WAIT_MS)


def test_disconnect_closes_the_selected_pair_and_ctrl_d_does_too(
    qtbot: QtBot, window: MainWindow, tcp_echo_server: RunningServer
) -> None:
    tab = _open(qtbot, window, RelaySettings("tcp://127.0.0.1:0", tcp_echo_server.url))
    first = socket.create_connection(("127.0.0.1", tab.relay.port), timeout=5)
    second = socket.create_connection(("127.0.0.1", tab.relay.port), timeout=5)
    try:
        qtbot.waitUntil(lambda: tab.interceptor.connections() == [1, 2], timeout=WAIT_MS)
        qtbot.waitUntil(lambda: len(tab.connections.entries) == 2, timeout=WAIT_MS)
        tab.select_connection(1)
        qtbot.waitUntil(tab.disconnect_button.isEnabled, timeout=WAIT_MS)
        tab.disconnect_button.click()
        _receive(qtbot, first, b"", eof=True)
        qtbot.waitUntil(lambda: tab.relay.ended_count == 1, timeout=WAIT_MS)
        tab.select_connection(2)
        window.disconnect_action.trigger()
        _receive(qtbot, second, b"", eof=True)
        qtbot.waitUntil(lambda: tab.relay.ended_count == 2, timeout=WAIT_MS)
        model = tab.connections
        qtbot.waitUntil(
            lambda: [model.index(row, 2).data() for row in (1, 2)] == ["closed", "closed"],
            timeout=WAIT_MS,
        )
        assert "the relay closed first" in model.index(1, 8).data()
        assert tab.listener_state == "listening"
    finally:
        first.close()
        second.close()


def test_the_held_editor_shows_text_or_hex_and_refuses_bad_hex_in_one_line(
    qtbot: QtBot,
) -> None:
    held = HeldMessage(4, 2, Way.S2C, b"caf\xc3\xa9", MessageKind.TEXT, 0)
    editor = HeldEditor(held)
    qtbot.addWidget(editor)
    assert editor.editor.toPlainText() == "café"
    editor.mode.setCurrentIndex(editor.mode.findData("hex"))
    assert editor.editor.toPlainText() == "63 61 66 c3 a9"
    editor.editor.setPlainText("63 61 66 zz")
    editor.accept()
    assert editor.result() == 0 and "not a hex digit 'z'" in editor.error.text()
    editor.editor.setPlainText("00 ff")
    editor.accept()
    assert editor.result() == 1 and editor.payload() == b"\x00\xff"
    binary = HeldEditor(HeldMessage(5, 2, Way.C2S, b"\x00\x01", MessageKind.BINARY, 0))
    qtbot.addWidget(binary)
    assert binary.mode.currentData() == "hex" and binary.editor.toPlainText() == "00 01"


def test_relay_settings_survive_a_round_trip_and_damage_gives_the_defaults(
    qtbot: QtBot,
) -> None:
    relay = RelaySettings(
        "udp://127.0.0.1:0",
        "udp://127.0.0.1:53",
        c2s=Faults(loss=5, cut_mode=CutMode.CLOSE),
        s2c=Faults(delay_ms=40, jitter_ms=5, rate_kbps=64),
        verify=False,
        max_connections=3,
        rules_on="both",
    )
    assert RelaySettings.from_json(relay.to_json()) == relay
    damaged = (
        "",
        "{",
        "[1, 2]",
        '{"c2s": {"loss": "x", "delay_ms": -3, "cut_mode": "melt"}}',
        '{"listen": 5, "verify": "yes", "connect_timeout": true, "c2s": 3}',
        '{"max_connections": 2.5, "rules_on": "sideways", "s2c": {"rate_kbps": [1]}}',
    )
    for text in damaged:
        restored = RelaySettings.from_json(text)
        assert restored == RelaySettings(), text  # every damaged value back to its default
        dialog = RelayDialog(restored, [])  # and the dialog shows it
        qtbot.addWidget(dialog)
        assert dialog.settings().c2s == Faults()
