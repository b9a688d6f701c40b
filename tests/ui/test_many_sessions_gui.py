"""Fifty sessions in the real window at once, some failing in different ways (refused,
403, a masked server frame, an untrusted certificate), the rest echoing; the window
stays usable: tabs switch, the filter works, the echo sessions close cleanly."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot
from servers import Close, HostileScript, HostileServer, ReadUntil, RunningServer, Upgrade, Write
from ui_helpers import compose, find_row

from inspector.core.records import Direction, Kind
from inspector.ui.main_window import MainWindow
from inspector.ui.tabs.session import SessionTab

SETTLE_MS = 60_000
MASK = b"\x01\x02\x03\x04"
# RFC 6455 §5.1: a server must not mask frames; this one does.
MASKED_TEXT = b"\x81\x82" + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(b"hi"))


def _bad_reason(tab: SessionTab) -> str:
    return (tab.session.failure or "") if tab.session is not None else ""


def test_fifty_sessions_some_failing(
    qtbot: QtBot,
    window: MainWindow,
    ws_server: RunningServer,
    wss_server: RunningServer,
    tcp_echo_server: RunningServer,
    hostile_server_factory: Callable[[HostileScript], HostileServer],
    unused_port: int,
) -> None:
    masked = hostile_server_factory(
        HostileScript((Upgrade(), Write(MASKED_TEXT), ReadUntil(b"\x88"), Close()))
    )
    plan: list[tuple[str, str]] = (
        [("refused", f"ws://127.0.0.1:{unused_port}/")] * 4
        + [("forbidden", ws_server.url_for("/forbidden"))] * 4
        + [("masked", masked.ws_url)] * 4
        + [("certificate", wss_server.url)] * 4
        + [("ws echo", ws_server.url)] * 24
        + [("tcp echo", tcp_echo_server.url)] * 10
    )
    assert len(plan) == 50
    tabs: list[tuple[str, SessionTab]] = []
    for what, url in plan:
        tab = window.open_url(url)
        assert tab is not None, url
        tabs.append((what, tab))
    assert window.tabs.count() == 50

    failing = [(what, tab) for what, tab in tabs if "echo" not in what]
    echoing = [tab for what, tab in tabs if "echo" in what]
    qtbot.waitUntil(
        lambda: (
            all(tab.state == "failed" for _, tab in failing)
            and all(tab.state == "open" for tab in echoing)
        ),
        timeout=SETTLE_MS,
    )
    # The refused certificate reaches the panel with the bridge's next flush.
    qtbot.waitUntil(
        lambda: all(tab.faults.certificate is not None for w, tab in failing if w == "certificate"),
        timeout=SETTLE_MS,
    )
    for what, tab in failing:
        reason = _bad_reason(tab).lower()
        assert reason, what
        if what == "refused":
            assert "refused" in reason
        elif what == "forbidden":
            assert "403" in reason
        elif what == "certificate":
            assert tab.faults.certificate is not None
            assert tab.faults.cert_box.isVisibleTo(tab)
        elif what == "masked":
            assert "mask" in reason

    for index, tab in enumerate(echoing):
        compose(tab, f"echo {index}")
    qtbot.waitUntil(
        lambda: all(
            find_row(tab, lambda r: r.direction is Direction.IN and r.kind is not Kind.CONNECT)
            is not None
            for tab in echoing
        ),
        timeout=SETTLE_MS,
    )

    # Still usable: switching tabs updates the status bar, the filter narrows a table.
    for step in range(0, 50, 7):
        window.tabs.setCurrentIndex(step)
        tab = window.current_tab()
        assert tab is not None
        assert tab.state in window.status_panel.state.text()
    sample = echoing[0]
    window.tabs.setCurrentWidget(sample)
    window.find_action.trigger()
    assert sample.filter_bar.edit.hasFocus()
    model = sample.model
    assert model is not None
    total = model.rowCount()
    sample.filter_bar.edit.setText("echo 0")
    qtbot.waitUntil(lambda: 0 < model.rowCount() < total, timeout=SETTLE_MS)
    sample.filter_bar.edit.clear()
    qtbot.waitUntil(lambda: model.rowCount() == total, timeout=SETTLE_MS)

    closing = echoing[:12]
    for tab in closing:
        tab.disconnect()
    qtbot.waitUntil(lambda: all(tab.state == "closed" for tab in closing), timeout=SETTLE_MS)
    for tab in closing:
        assert tab.session is not None and tab.session.ok, _bad_reason(tab)
    assert all(tab.state == "open" for tab in echoing[12:])
