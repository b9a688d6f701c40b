"""HeadersView: ordered request/response headers, raw text, refused upgrades."""

from __future__ import annotations

from types import SimpleNamespace

from pytestqt.qtbot import QtBot

from inspector.core.records import Direction, Kind, Record
from inspector.ui.widgets.context import RecordContext
from inspector.ui.widgets.headers import HeadersView


def _view(qtbot: QtBot) -> HeadersView:
    view = HeadersView()
    qtbot.addWidget(view)
    view.resize(640, 560)
    return view


def test_accepted_upgrade_shows_ordered_headers_and_raw(qtbot, make_handshake, wire_samples):
    request, response = make_handshake()
    view = _view(qtbot)
    view.show_handshake(request, response)
    assert view.request_line.text() == "GET /chat?room=1 HTTP/1.1"
    assert view.status_line.text() == "HTTP/1.1 101 Switching Protocols"
    assert not view.failed
    rows = view.header_rows("request")
    assert [name for name, _ in rows] == [
        "Host",
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "X-Trace",
        "X-Trace",
    ]
    assert rows[-2:] == [("X-Trace", "one"), ("X-Trace", "two")]
    assert ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") in view.header_rows()
    raw = view.raw.toPlainText()
    sent, received = (
        w.decode().replace("\r\n", "\n") for w in (wire_samples.request, wire_samples.ok)
    )
    assert raw == sent + "\n" + received
    assert view.body.isHidden()


def test_refused_upgrade_shows_status_headers_and_body(qtbot, make_handshake, wire_samples):
    request, response = make_handshake(wire_samples.forbidden)
    view = _view(qtbot)
    view.show_handshake(request, response)
    assert view.failed
    assert view.status_line.text().startswith("HTTP/1.1 403 Forbidden")
    assert "refused" in view.status_line.text()
    assert "background" in view.status_line.styleSheet()
    assert view.header_rows()[0] == ("Content-Type", "text/plain")
    assert not view.body.isHidden()
    assert view.body.toPlainText() == wire_samples.forbidden_body.decode()
    assert "Forbidden: no chat for you" in view.raw.toPlainText()


def test_binary_refusal_body_is_shown_as_hex(qtbot) -> None:
    body = bytes([0, 1, 2, 0xFF]) * 8
    wire = b"HTTP/1.1 500 Oops\r\nContent-Length: 32\r\n\r\n" + body
    response = Record(
        2,
        1,
        Direction.IN,
        Kind.HANDSHAKE,
        wire,
        body,
        {"status": 500, "reason": "Oops", "accepted": False},
    )
    view = _view(qtbot)
    view.show_handshake(None, response)
    assert view.header_rows() == [("Content-Length", "32")]  # parsed from the wire
    assert view.body.toPlainText().startswith("00000000  00 01 02 ff")
    assert view.request_line.text() == "(no request recorded)"


def test_placeholder_for_sessions_without_handshake(qtbot, make_handshake) -> None:
    view = _view(qtbot)
    view.show_record(None, RecordContext(scheme="tcp"))
    assert view.placeholder.text() == "TCP session: no handshake"
    assert view._stack.currentWidget() is view.placeholder
    request, response = make_handshake()
    view.show_record(None, SimpleNamespace(request=request, response=response, scheme="ws"))
    assert view._stack.currentWidget() is view.tabs
    view.clear()
    assert view.header_rows() == []


def test_tables_show_every_row_and_the_pane_scrolls_as_one(qtbot, make_handshake) -> None:
    from inspector.ui.details import DetailPanes

    panes = DetailPanes()
    qtbot.addWidget(panes.tabs)
    panes.tabs.resize(420, 260)  # the top-right corner of a 900x600 window
    panes.tabs.show()
    qtbot.waitExposed(panes.tabs)
    request, response = make_handshake()
    panes.show_context(RecordContext("ws", request, response, ()))
    panes.show_headers_tab()
    view = panes.headers
    for table, rows in ((view.request_table, 7), (view.response_table, 3)):
        assert table.rowCount() == rows
        qtbot.waitUntil(lambda t=table: t.viewport().height() > 0)
        assert table.verticalScrollBar().maximum() == 0  # no scroll bar inside the pane
        last = table.visualRect(table.model().index(rows - 1, 0))
        assert last.bottom() < table.viewport().height()  # the last row is whole
    outer = panes.headers_scroll.verticalScrollBar()
    assert outer.maximum() > 0  # the pane itself scrolls to the rest
