"""Timing: Ready is when the session could first send, not when the peer first spoke;
the first byte says whether the peer spoke unprompted; a failed session is never ready;
the pane scrolls down only, with nothing clipped at a narrow width."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from websockets.frames import Opcode

from inspector.core.records import Direction, Kind, Record
from inspector.ui.widgets.timing import TimingView, phases_from, ready_ns

SECONDS = 1_000_000_000


def _view(qtbot: QtBot, width: int = 640) -> TimingView:
    view = TimingView()
    qtbot.addWidget(view)
    view.resize(width, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_ready_is_when_the_session_could_send_not_the_first_reply(
    qtbot, make_phases, make_frame
) -> None:
    view = _view(qtbot)
    view.set_phases(make_phases(), "wss")
    assert view.total.text() == "Ready after 5.50 ms"
    # The user waits five seconds, sends, and the echo comes back: Ready does not move.
    sent = make_frame(Opcode.TEXT, b"hi", direction=Direction.OUT, t_ns=5 * SECONDS)
    echo = make_frame(Opcode.TEXT, b"hi", direction=Direction.IN, t_ns=5 * SECONDS + 80_000_000)
    view.add_traffic([sent, echo])
    assert view.total.text() == "Ready after 5.50 ms"
    assert view.phase_labels()[-1] == "first byte: 80.0 ms (after the first send)"


def test_a_peer_that_speaks_first_is_labelled_unprompted(make_phases, make_frame) -> None:
    hello = make_frame(Opcode.TEXT, b"welcome", direction=Direction.IN, t_ns=7_000_000)
    later = make_frame(Opcode.TEXT, b"hi", direction=Direction.OUT, t_ns=9_000_000)
    phases = phases_from([*make_phases(), hello, later])
    assert (phases[-1].name, phases[-1].note, phases[-1].duration_ns) == (
        "first byte",
        "unprompted",
        1_500_000,
    )
    # An automatic pong is not the user's send: a ping the peer sent first is unprompted.
    ping = make_frame(Opcode.PING, b"", direction=Direction.IN, t_ns=8_000_000)
    pong = Record(9, 7_000_000, Direction.OUT, Kind.FRAME, b"\x8a\x80", b"", {"automatic": True})
    assert phases_from([*make_phases(), pong, ping])[-1].note == "unprompted"


def test_a_session_that_failed_before_it_could_send_is_never_ready(
    qtbot, make_phases, make_handshake, wire_samples
) -> None:
    resolve, connect, tls, request, _ = make_phases()
    # A refused certificate: resolve and connect, then an error, no TLS record.
    assert ready_ns([resolve, connect], "wss") is None
    view = _view(qtbot)
    view.set_phases([resolve, connect], "wss")
    error = Record(
        3,
        43_300_000,
        Direction.META,
        Kind.ERROR,
        fields={"message": "certificate verify failed", "phase": "tls", "verified": False},
    )
    view.add_traffic([error])
    assert "Ready" not in view.total.text()
    assert view.total.text() == "Never ready: the session failed during the TLS handshake"
    # An upgrade the server refused: connected, but never able to send.
    _, refused = make_handshake(wire_samples.forbidden)
    assert ready_ns([resolve, connect, tls, request, refused], "wss") is None
    # Plain TCP is ready once connected; ws:// needs the upgrade.
    assert ready_ns([resolve, connect], "tcp") == connect.t_ns
    assert ready_ns([resolve, connect], "ws") is None


def test_narrow_pane_scrolls_down_only_and_keeps_durations_whole(
    qtbot, make_phases, make_frame
) -> None:
    view = _view(qtbot, width=300)
    view.set_phases(make_phases(), "wss")
    view.add_traffic([make_frame(Opcode.TEXT, b"x", direction=Direction.IN, t_ns=16_500_000)])
    qtbot.waitUntil(lambda: view.waterfall.width() > 0)
    assert not view.scroll.horizontalScrollBar().isVisible()
    waterfall = view.waterfall
    assert waterfall.width() >= waterfall.minimumSizeHint().width()
    fm = waterfall.fontMetrics()
    assert waterfall.minimumSizeHint().width() >= fm.horizontalAdvance(
        "first byte"
    ) + fm.horizontalAdvance("11.0 ms")
    inner = view.scroll.widget()
    # Nothing is cut off on the right once the layout settles.
    qtbot.waitUntil(lambda: inner.width() <= view.scroll.viewport().width())
    lines = view.tls_labels["SHA-256"].text().splitlines()
    assert len(lines) == 4 and max(len(line) for line in lines) == 23  # eight pairs a line
