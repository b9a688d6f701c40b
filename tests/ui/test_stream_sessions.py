"""TCP, TLS and UDP sessions in the real window, several tabs side by side."""

from __future__ import annotations

import dataclasses

from pytestqt.qtbot import QtBot
from ui_helpers import compose, records, wait_row

from inspector.core.records import Direction, Kind
from inspector.ui.main_window import MainWindow


def test_tcp_line_ending_and_echo(
    qtbot: QtBot, window: MainWindow, connect, tcp_echo_server
) -> None:
    tab = connect(tcp_echo_server.url)
    assert tab.details.tabs.currentWidget() is tab.details.timing  # no handshake to show
    assert not tab.composer.action.isVisible()
    assert tab.composer.line_ending.isVisible()
    tab.composer.set_line_ending("\\r\\n")
    compose(tab, "HELLO")
    row = wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.kind is Kind.DATA)
    echo = records(tab)[row]
    assert echo.payload == b"HELLO\r\n"
    tab.select_row(row)
    assert tab.details.hex.data() == b"HELLO\r\n"
    assert "no handshake" in tab.details.headers.placeholder.text()
    assert tab.model.index(row, 5).data() == '"HELLO\\r\\n"'


def test_tls_session_with_the_test_ca(
    qtbot: QtBot, window: MainWindow, connect, tls_echo_server, tls_ca_file
) -> None:
    window.connect_bar.options = dataclasses.replace(window.connect_bar.options, cafile=tls_ca_file)
    tab = connect(tls_echo_server.url)
    compose(tab, "secret")
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"secret")
    tls = next(r for r in records(tab) if r.kind is Kind.TLS)
    assert tls.fields["verified"] is True
    labels = " ".join(tab.details.timing.phase_labels())
    assert "tls" in labels


def test_udp_hex_datagram(qtbot: QtBot, window: MainWindow, connect, udp_echo_server) -> None:
    tab = connect(udp_echo_server.url)
    assert not tab.composer.line_ending.isVisible()
    compose(tab, "00 ff 10", mode="hex")
    row = wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.kind is Kind.DATAGRAM)
    assert records(tab)[row].payload == b"\x00\xff\x10"
    assert tab.model.index(row, 5).data() == "00 ff 10"


def test_sessions_side_by_side_keep_their_own_state(
    qtbot: QtBot, window: MainWindow, connect, tcp_echo_server, udp_echo_server, ws_server
) -> None:
    tcp = connect(tcp_echo_server.url)
    udp = connect(udp_echo_server.url)
    ws = connect(ws_server.url)
    assert ws.details.tabs.currentWidget() is ws.details.headers_scroll
    assert window.tabs.count() == 3
    assert [window.tabs.tabText(i) for i in range(3)] == [tcp.title, udp.title, ws.title]
    assert window.tabs.tabText(2).startswith("WS 127.0.0.1:")

    compose(udp, "one datagram")
    wait_row(qtbot, udp, lambda r: r.direction is Direction.IN and r.kind is Kind.DATAGRAM)
    assert not any(r.kind is Kind.DATAGRAM for r in records(tcp))

    window.tabs.setCurrentWidget(udp)
    qtbot.waitUntil(lambda: "↓ 1" in window.status_panel.records.text())
    assert "open" in window.status_panel.state.text()

    tcp.disconnect_button.click()
    qtbot.waitUntil(lambda: tcp.state == "closed")
    assert "closed" in window.tabs.tabToolTip(0)
    assert ws.state == "open" and udp.state == "open"

    window.close_tab(window.tabs.indexOf(ws))
    assert window.tabs.count() == 2
    qtbot.waitUntil(lambda: ws.session is not None and ws.session.ended)


def test_a_defect_in_the_engine_fails_the_tab_not_the_app(
    qtbot: QtBot, window: MainWindow, monkeypatch, tcp_echo_server
) -> None:
    import inspector.ui.tabs.session as session_tab

    def broken(*_args: object) -> None:
        raise RuntimeError("engine defect")

    monkeypatch.setattr(session_tab, "create_session", broken)
    tab = window.open_url(tcp_echo_server.url)
    assert tab is not None and tab.state == "failed"
    assert "engine defect" in tab.banner.text()
    assert "engine defect" in window.statusBar().currentMessage()
    assert not tab.composer.send_button.isEnabled()
    assert tab.reconnect_button.isEnabled()
