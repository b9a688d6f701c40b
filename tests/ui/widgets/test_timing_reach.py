"""Timing: the proxy phase, and the round-trip chart with min, median and p99."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from websockets.frames import Opcode

from inspector.core.records import Direction, Kind, Record
from inspector.ui.widgets.roundtrip import round_trips
from inspector.ui.widgets.timing import TimingView, phases_from, ready_ns


def meta(kind: Kind, t_ns: int, **fields: object) -> Record:
    return Record(0, t_ns, Direction.META, kind, b"", None, fields)


def proxied(status: int = 200) -> list[Record]:
    return [
        meta(Kind.RESOLVE, 1_000_000, host="127.0.0.1", role="proxy", duration_ns=1_000_000),
        meta(Kind.CONNECT, 2_000_000, duration_ns=1_000_000),
        meta(Kind.INFO, 2_100_000, proxy="http", proxy_step="request", message="CONNECT"),
        meta(Kind.INFO, 5_000_000, proxy="http", status=status, duration_ns=2_900_000),
    ]


def test_the_proxy_is_a_phase_and_ready_waits_for_it() -> None:
    records = proxied()
    phases = {p.name: p for p in phases_from(records)}
    assert list(phases) == ["resolve", "connect", "proxy"]
    assert phases["proxy"].duration_ns == 2_900_000
    assert ready_ns(records, "tcp") == 5_000_000
    assert ready_ns(proxied(407), "tcp") is None


def test_view_shows_the_proxy_phase_and_its_failure(qtbot: QtBot) -> None:
    view = TimingView()
    qtbot.addWidget(view)
    view.set_phases(proxied(), "tcp")
    assert "proxy: 2.90 ms" in view.phase_labels()
    assert view.total.text() == "Ready after 5.00 ms"
    view.clear()
    view.set_phases(proxied(407), "tcp")
    view.add_traffic([meta(Kind.ERROR, 5_000_001, phase="proxy", message="refused")])
    assert view.total.text() == "Never ready: the session failed during the proxy's exchange"


def test_round_trip_spread() -> None:
    stats = round_trips([5, 1, 3, 2, 4] * 20 + [100])
    assert stats is not None
    assert (stats.minimum, stats.median, stats.maximum, stats.count) == (1, 3, 100, 101)
    assert stats.p99 == 5 and stats.last == 100
    assert round_trips([]) is None
    assert round_trips([4, 2]).median == 3  # type: ignore[union-attr]


def frame(
    opcode: Opcode, payload: bytes, direction: Direction, t_ns: int, **extra: object
) -> Record:
    wire = bytes([0x80 | opcode, len(payload)]) + payload
    fields = {"opcode": opcode.name.lower(), **extra}
    return Record(0, t_ns, direction, Kind.FRAME, wire, payload, fields)


def test_round_trip_chart_uses_the_engine_measure(qtbot: QtBot) -> None:
    view = TimingView()
    qtbot.addWidget(view)
    view.resize(640, 720)
    view.show()
    qtbot.waitExposed(view)
    batch = []
    for i in range(1, 6):
        t = i * 1_000_000_000
        batch.append(frame(Opcode.PING, str(i).encode(), Direction.OUT, t, automatic=True))
        batch.append(
            frame(Opcode.PONG, str(i).encode(), Direction.IN, t + 9_000_000, rtt_ns=i * 1_000_000)
        )
    view.add_traffic(batch)
    qtbot.waitUntil(lambda: view.rtt_chart.isVisible(), timeout=3000)
    text = view.rtt.text()
    assert "min 1.00 ms" in text and "median 3.00 ms" in text and "p99 5.00 ms" in text
    assert "(5 pings)" in text
    image = view.rtt_chart.grab().toImage()
    assert (
        len({image.pixel(x, y) for x in range(0, image.width(), 4) for y in range(20, 100, 4)}) > 2
    )
    view.clear()
    assert view.rtt_chart.isHidden()


def test_tls_box_names_the_client_certificate(qtbot: QtBot) -> None:
    view = TimingView()
    qtbot.addWidget(view)
    tls = meta(
        Kind.TLS,
        3_000_000,
        version="TLSv1.3",
        verified=True,
        duration_ns=1_000_000,
        client_cert_requested=True,
        client_cert={"subject": "CN=me", "sha256": "ab" * 32},
    )
    view.set_phases([meta(Kind.CONNECT, 2_000_000, duration_ns=1), tls], "tls")
    assert view.tls_labels["Client certificate"].text().startswith("sent CN=me (SHA-256 abab")
    asked = meta(Kind.TLS, 3_000_000, verified=True, client_cert_requested=True)
    view.set_phases([asked], "tls")
    assert view.tls_labels["Client certificate"].text() == "asked for by the server; none sent"
