"""TimingView: phases waterfall, TLS form, traffic counters and ping round trips."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from websockets.frames import Opcode

from inspector.core.records import Direction, Kind, Record
from inspector.ui.widgets.fieldtext import format_duration
from inspector.ui.widgets.timing import TimingView, phases_from
from inspector.ui.widgets.traffic import WINDOW_S, TrafficCounter


def _view(qtbot: QtBot) -> TimingView:
    view = TimingView()
    qtbot.addWidget(view)
    view.resize(640, 720)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_format_duration_has_three_significant_digits() -> None:
    assert format_duration(1_234_567) == "1.23 ms"
    assert format_duration(12_345_678) == "12.3 ms"
    assert format_duration(123_456_789) == "123 ms"
    assert format_duration(999_600_000) == "1.00 s"
    assert format_duration(45_600) == "0.0456 ms"
    assert format_duration(0) == "0 ms"


def test_phases_from_meta_records(make_phases, make_frame) -> None:
    records = [
        *make_phases(),
        make_frame(Opcode.TEXT, b"hi", direction=Direction.IN, t_ns=7_000_000),
    ]
    phases = {p.name: p for p in phases_from(records)}
    assert list(phases) == ["resolve", "connect", "tls", "upgrade", "first byte"]
    assert (phases["resolve"].start_ns, phases["resolve"].end_ns) == (0, 1_200_000)
    assert phases["connect"].duration_ns == 800_000
    assert phases["upgrade"].start_ns == 3_000_000
    assert phases["first byte"].duration_ns == 1_500_000


def test_view_shows_phases_tls_and_renders(qtbot, make_phases) -> None:
    view = _view(qtbot)
    view.set_phases(make_phases())
    assert view.phase_labels() == [
        "resolve: 1.20 ms",
        "connect: 0.800 ms",
        "tls: 0.900 ms",
        "upgrade: 2.50 ms",
    ]
    assert view.total.text() == "Ready after 5.50 ms"
    assert not view.tls_box.isHidden()
    assert view.tls_labels["Version"].text() == "TLSv1.3"
    assert view.tls_labels["Verified"].text() == "yes"
    assert view.tls_labels["Subject"].text() == "CN=example.test"
    assert view.tls_labels["SHA-256"].text().startswith("AB:AB:")
    image = view.waterfall.grab().toImage()
    assert not image.isNull()
    assert len({image.pixel(x, 12) for x in range(0, image.width(), 3)}) > 2  # bars drawn


def test_traffic_is_counted_per_second_and_repainted(qtbot, make_phases, make_frame) -> None:
    view = _view(qtbot)
    view.set_phases(make_phases())
    batch = []
    for i in range(30):
        t = 1_000_000_000 + i * 100_000_000  # ten per second, seconds 1..3
        batch.append(make_frame(Opcode.TEXT, b"x" * 10, direction=Direction.OUT, t_ns=t))
        batch.append(make_frame(Opcode.TEXT, b"y" * 3, direction=Direction.IN, t_ns=t + 1))
    batch.append(make_frame(Opcode.PING, b"p1", direction=Direction.OUT, t_ns=4_000_000_000))
    batch.append(make_frame(Opcode.PONG, b"p1", direction=Direction.IN, t_ns=4_012_500_000))
    view.add_traffic(batch)
    counter = view.counter
    assert counter.buckets[1][:2] == [10, 10]
    assert counter.buckets[1][2:] == [10 * 5, 10 * 16]  # in: 2+3 bytes, out: 6+10 masked
    assert list(counter.rtts) == [(4_012_500_000, 12_500_000)]
    assert "first byte: " in view.phase_labels()[-1]
    qtbot.waitUntil(lambda: view.rtt.isVisible(), timeout=3000)
    assert "last 12.5 ms" in view.rtt.text()
    assert not view.plot.grab().toImage().isNull()
    view.clear()
    assert view.counter.buckets == {}
    assert view.phase_labels() == []


def test_counter_stays_bounded_over_a_long_session() -> None:
    counter = TrafficCounter()
    for second in range(0, 1000):
        counter.add([Record(second, second * 1_000_000_000, Direction.IN, Kind.DATA, b"ab", b"ab")])
    assert len(counter.buckets) <= 3 * WINDOW_S
    series = counter.series(2)
    assert len(series) == WINDOW_S and set(series) == {2}
    unanswered = [
        Record(i, i, Direction.OUT, Kind.FRAME, b"", str(i).encode(), {"opcode": "ping"})
        for i in range(1000)
    ]
    counter.add(unanswered)
    assert len(counter._pings) <= 256
