"""Hostile servers and failing networks as the window shows them: a refused certificate
with Connect anyway, unverified sessions marked everywhere, a frame still arriving, a
capture directory that cannot be written (Save As), and a capture limit."""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import servers
import trustme
from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot
from servers import HostileScript, HostileServer, RunningServer, ServerLoop, Trickle, Upgrade
from ui_helpers import WAIT_MS, compose, records, wait_row

from inspector.capture.store import CaptureStore
from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Kind
from inspector.ui.faults import CONNECT_ANYWAY_TEXT, UNVERIFIED_TEXT
from inspector.ui.main_window import MainWindow
from inspector.ui.preferences import capture_limit, set_capture_limit
from inspector.ui.settings import Settings
from inspector.ui.tabs.session import SessionTab

OpenSession = Callable[..., SessionTab]


def _form_values(tab: SessionTab) -> dict[str, str]:
    form = tab.faults.cert_form
    values: dict[str, str] = {}
    for row in range(form.rowCount()):
        label = form.itemAt(row, form.ItemRole.LabelRole).widget()
        field = form.itemAt(row, form.ItemRole.FieldRole).widget()
        values[label.text().rstrip(":")] = field.text()
    return values


def _assert_marked_unverified(window: MainWindow, tab: SessionTab) -> None:
    index = window.tabs.indexOf(tab)
    assert window.tabs.tabText(index).startswith("⚠")
    assert UNVERIFIED_TEXT in window.tabs.tabToolTip(index)
    assert UNVERIFIED_TEXT in tab.banner.text()
    assert tab.faults.unverified_label.isVisible()
    window.tabs.setCurrentWidget(tab)
    assert window.unverified_status.isVisible()


def test_refused_certificate_shows_it_and_connects_anyway(
    qtbot: QtBot, window: MainWindow, connect: OpenSession, wss_server: RunningServer
) -> None:
    failed = connect(wss_server.url, state="failed")
    faults = failed.faults
    qtbot.waitUntil(faults.cert_box.isVisible, timeout=WAIT_MS)
    assert "certificate" in faults.cert_title.text().lower()
    values = _form_values(failed)
    assert {"Subject", "Issuer", "Valid from", "Valid until", "SHA-256"} <= values.keys()
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", values["SHA-256"])
    assert "127.0.0.1" in values["Names"]
    button = faults.connect_anyway_button
    assert button.text() == CONNECT_ANYWAY_TEXT and button.isVisible()
    index = window.tabs.indexOf(failed)
    assert not window.tabs.tabText(index).startswith("⚠")
    assert not window.unverified_status.isVisible()

    button.click()
    qtbot.waitUntil(lambda: window.tabs.count() == 2, timeout=WAIT_MS)
    anyway = window.current_tab()
    assert anyway is not None and anyway is not failed
    qtbot.waitUntil(lambda: anyway.state == "open", timeout=WAIT_MS)
    assert anyway.endpoint == failed.endpoint and not anyway.options.verify
    _assert_marked_unverified(window, anyway)
    wait_row(qtbot, anyway, lambda r: r.kind is Kind.INFO and "not verified" in str(r.fields))
    compose(anyway, "over unverified TLS")
    wait_row(qtbot, anyway, lambda r: r.direction is Direction.IN and r.kind is Kind.FRAME)
    window.tabs.setCurrentWidget(failed)
    assert not window.unverified_status.isVisible()


def test_verify_off_in_the_options_is_marked(
    qtbot: QtBot, window: MainWindow, wss_server: RunningServer
) -> None:
    endpoint = parse_endpoint(wss_server.url)
    tab = window.open_session(endpoint, SessionOptions(verify=False))
    assert tab is not None
    qtbot.waitUntil(lambda: tab.state == "open", timeout=WAIT_MS)
    _assert_marked_unverified(window, tab)
    assert not tab.faults.cert_box.isVisible()


def test_verify_off_from_the_connect_bar_is_visible_there_and_per_session(
    qtbot: QtBot, window: MainWindow, connect: OpenSession, wss_server: RunningServer
) -> None:
    bar = window.connect_bar
    bar.set_options(dataclasses.replace(bar.options, verify=False))
    assert "verify off" in bar.options_button.text()
    unverified = connect(wss_server.url)
    _assert_marked_unverified(window, unverified)
    bar.set_options(dataclasses.replace(bar.options, verify=True))
    assert bar.options_button.text() == "Options…"
    verified = connect(wss_server.url, state="failed")  # the test CA is not trusted
    assert not unverified.options.verify and verified.options.verify
    index = window.tabs.indexOf(verified)
    assert not window.tabs.tabText(index).startswith("⚠")
    assert UNVERIFIED_TEXT not in verified.banner.text()
    assert not window.unverified_status.isVisible()


def test_a_trickling_frame_is_shown_growing(
    qtbot: QtBot,
    window: MainWindow,
    connect: OpenSession,
    hostile_server_factory: Callable[[HostileScript], HostileServer],
) -> None:
    payload = bytes(range(40))
    frame = b"\x82" + bytes([len(payload)]) + payload
    server = hostile_server_factory(HostileScript((Upgrade(), Trickle(frame, 0.03))))
    tab = connect(server.ws_url)
    label = tab.faults.partial_label
    seen: list[tuple[int, int]] = []
    table_top = tab.table.mapTo(tab, QPoint(0, 0)).y()
    moved: list[int] = []

    def growing() -> bool:
        match = re.fullmatch(r"receiving: frame (\d+) of (\d+) bytes", label.text())
        if match and label.isVisible():
            pair = (int(match[1]), int(match[2]))
            if not seen or seen[-1] != pair:
                seen.append(pair)
            top = tab.table.mapTo(tab, QPoint(0, 0)).y()
            if top != table_top:
                moved.append(top)
        return len(seen) >= 3

    qtbot.waitUntil(growing, timeout=WAIT_MS)
    assert not moved, "the records table moved while the frame was arriving"
    assert all(total == len(frame) for _, total in seen)
    assert [have for have, _ in seen] == sorted(have for have, _ in seen)
    # The window stays usable while it arrives.
    model = tab.model
    assert model is not None
    tab.filter_bar.edit.setText("no record says this")
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=WAIT_MS)
    tab.filter_bar.edit.clear()
    wait_row(qtbot, tab, lambda r: r.kind is Kind.FRAME and r.payload == payload)
    qtbot.waitUntil(lambda: not label.isVisible(), timeout=WAIT_MS)


def test_unwritable_capture_dir_keeps_memory_and_saves_as(
    qtbot: QtBot,
    qloop: object,
    settings: Settings,
    tmp_path: Path,
    ws_server: RunningServer,
) -> None:
    not_a_dir = tmp_path / "occupied"
    not_a_dir.write_text("a file where the capture directory should be\n")
    win = MainWindow(settings, not_a_dir)
    win.show()
    qtbot.waitExposed(win)
    try:
        messages: list[str] = []
        win.statusBar().messageChanged.connect(lambda text: messages.append(text))
        tab = win.open_url(ws_server.url)
        assert tab is not None
        qtbot.waitUntil(lambda: tab.state == "open", timeout=WAIT_MS)
        compose(tab, "kept in memory")
        wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.kind is Kind.FRAME)
        faults = tab.faults
        assert faults.disk_row.isVisible()
        assert "kept in memory" in faults.disk_label.text()
        assert "Not recorded to a file" in tab.banner.text()
        told = [m for m in messages if "occupied" in m or "capture" in m.lower()]
        assert len(told) == 1, messages

        target = tmp_path / "saved.sockcap"
        asked: list[str] = []

        def dialog(_parent: object, caption: str, suggested: str) -> str:
            asked.append(caption)
            return str(target)

        faults.save_dialog = dialog
        faults.save_button.click()
        assert asked == ["Save capture as"]
        qtbot.waitUntil(lambda: str(target) in faults.disk_label.text(), timeout=WAIT_MS)
        saved = CaptureStore.open(target)
        try:
            assert saved.count() == len(records(tab))
            assert any(r.payload == b"kept in memory" for r in saved.records(0, saved.count()))
        finally:
            saved.close()
    finally:
        win.close()
        qtbot.waitUntil(lambda: win.closed, timeout=WAIT_MS)
        win.deleteLater()


def test_capture_limit_says_how_many_were_not_kept(
    qtbot: QtBot, window: MainWindow, settings: Settings, ws_server: RunningServer
) -> None:
    set_capture_limit(settings, 4, None)
    limit = capture_limit(settings)
    assert limit is not None and limit.records == 4 and limit.bytes is None
    tab = window.open_url(ws_server.url)
    assert tab is not None
    qtbot.waitUntil(lambda: tab.state == "open", timeout=WAIT_MS)
    sent = 6
    for n in range(sent):
        compose(tab, f"message {n}")
    recorder = tab.recorder
    assert recorder is not None
    qtbot.waitUntil(lambda: recorder.count_in >= sent, timeout=WAIT_MS)
    label = tab.faults.limit_label
    qtbot.waitUntil(label.isVisible, timeout=WAIT_MS)
    tab.disconnect()
    qtbot.waitUntil(lambda: tab.state == "closed", timeout=WAIT_MS)
    not_kept = recorder.not_kept
    assert not_kept >= 2 * sent - 4
    qtbot.waitUntil(lambda: label.text().startswith(f"{not_kept} records"), timeout=WAIT_MS)
    wait_row(
        qtbot,
        tab,
        lambda r: (
            r.kind is Kind.INFO
            and str(r.fields.get("message", "")).startswith(f"{not_kept} records")
        ),
    )
    traffic = [r for r in records(tab) if r.kind is Kind.FRAME and not r.fields.get("automatic")]
    assert len(traffic) <= 4


@pytest.mark.parametrize("fault", ["expired", "other host"])
def test_expired_or_other_host_certificate_is_shown(
    qtbot: QtBot,
    window: MainWindow,
    server_loop: ServerLoop,
    tls_ca: trustme.CA,
    tls_ca_file: str,
    fault: str,
) -> None:
    if fault == "expired":
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
        context = servers.server_ssl_context(
            tls_ca, not_before=past, not_after=past + datetime.timedelta(days=1)
        )
    else:
        context = servers.server_ssl_context(tls_ca, "other.example")
    server = servers.start_ws_server(server_loop, ssl_context=context)
    try:
        endpoint = parse_endpoint(server.url)
        tab = window.open_session(endpoint, SessionOptions(cafile=tls_ca_file))
        assert tab is not None
        qtbot.waitUntil(lambda: tab.faults.cert_box.isVisible(), timeout=WAIT_MS)
        reason = (tab.session.failure or "").lower() if tab.session else ""
        values = _form_values(tab)
        if fault == "expired":
            assert "expired" in reason
            assert values["Valid until"].startswith("2020-01-02")
        else:
            assert "other.example" in values["Names"]
            assert "127.0.0.1" in reason or "hostname" in reason or "match" in reason
        tab.faults.connect_anyway_button.click()
        qtbot.waitUntil(lambda: window.tabs.count() == 2, timeout=WAIT_MS)
        anyway = window.current_tab()
        assert anyway is not None and anyway is not tab
        qtbot.waitUntil(lambda: anyway.state == "open", timeout=WAIT_MS)
        assert anyway.options.cafile == tls_ca_file and not anyway.options.verify
        _assert_marked_unverified(window, anyway)
        anyway.disconnect()  # websockets' server waits for its connections to end
        qtbot.waitUntil(lambda: anyway.state == "closed", timeout=WAIT_MS)
    finally:
        server.stop()


def _fill_disk(store: CaptureStore) -> None:
    """A full disk, as tests/capture does it: the file may not grow by a single page
    (for every connection that writes it: the store's and its commit thread's)."""
    writer = store._writer  # test-only reaches inside
    for conn in (store._conn, *([writer._conn] if writer is not None else [])):
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages}")


def test_disk_full_during_a_session_is_told_once_and_saves_as(
    qtbot: QtBot, window: MainWindow, connect: OpenSession, ws_server: RunningServer, tmp_path: Path
) -> None:
    messages: list[str] = []
    window.statusBar().messageChanged.connect(lambda text: messages.append(text))
    tab = connect(ws_server.url)
    store = tab.store
    assert isinstance(store, CaptureStore)
    compose(tab, "before the disk filled")
    wait_row(qtbot, tab, lambda r: r.direction is Direction.IN and r.kind is Kind.FRAME)
    store.flush()
    _fill_disk(store)
    # Incompressible text (permessage-deflate would shrink repeats to a few bytes), far
    # more than the free pages the file may still hold.
    bigs = [os.urandom(50_000).hex() for _ in range(5)]
    for big in bigs:
        compose(tab, big)
    qtbot.waitUntil(lambda: tab.faults.disk_row.isVisible(), timeout=WAIT_MS)
    compose(tab, "after the disk filled")
    wait_row(
        qtbot, tab, lambda r: r.direction is Direction.IN and r.payload == b"after the disk filled"
    )
    assert tab.session is not None and tab.state == "open"
    assert "disk full" in tab.faults.disk_label.text()
    assert "Not recorded to a file" in tab.banner.text()
    told = [m for m in messages if "disk full" in m]
    assert len(told) == 1, messages

    target = tmp_path / "rescued.sockcap"
    tab.faults.save_dialog = lambda *_: str(target)
    tab.faults.save_button.click()
    qtbot.waitUntil(lambda: str(target) in tab.faults.disk_label.text(), timeout=WAIT_MS)
    saved = CaptureStore.open(target)
    try:
        payloads = [r.payload for r in saved.records(0, saved.count())]
    finally:
        saved.close()
    assert b"before the disk filled" in payloads
    assert all(big.encode() in payloads for big in bigs)
    assert b"after the disk filled" in payloads


def test_refused_certificate_fits_a_900_by_600_window_without_cutting_text(
    qtbot: QtBot, window: MainWindow, connect: OpenSession, wss_server: RunningServer
) -> None:
    window.resize(900, 600)
    failed = connect(wss_server.url, state="failed")
    faults = failed.faults
    qtbot.waitUntil(faults.cert_box.isVisible, timeout=WAIT_MS)
    assert window.minimumSizeHint().height() <= 600
    qtbot.waitUntil(lambda: window.height() == 600, timeout=WAIT_MS)
    form = faults.cert_form
    fields = [form.itemAt(row, form.ItemRole.FieldRole).widget() for row in range(form.rowCount())]
    assert len(fields) >= 6
    for field in fields:  # each row keeps the height its (wrapped) text needs
        assert field.height() >= field.heightForWidth(field.width()), field.text()
    # What does not fit scrolls into view rather than being cut off.
    scroll = faults.cert_scroll
    content = scroll.widget()
    assert scroll.verticalScrollBar().maximum() + scroll.viewport().height() >= content.height()
    scroll.ensureWidgetVisible(fields[-1])
    bottom = fields[-1].mapTo(scroll.viewport(), fields[-1].rect().bottomLeft()).y()
    assert bottom < scroll.viewport().height()
