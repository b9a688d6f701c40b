"""A listen capture opened again shows every record in "All connections", however many:
the interleaving comes from the sessions' row times, the records are read when shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, make_record
from inspector.core.runs import MessageRun
from inspector.ui.main_window import MainWindow
from inspector.ui.tabs.server import ServerTab

#: More than the 200,000 records the read-only tab once read at most.
FLOOD = 250_000
WALL = 1_700_000_000_000_000_000


def listen_capture(path: Path) -> None:
    """A listener and two connections: connection 1 sends a flood as one run (one row),
    connection 2 (whose clock starts 1 µs later) talks in between."""
    owner = CaptureStore.create(
        path, endpoint="tcp://127.0.0.1:9000", scheme="tcp",
        options={"role": "listener"}, clock=SessionClock(0, WALL),
    )  # fmt: skip
    one = owner.add_session(
        endpoint="tcp://127.0.0.1:9000", scheme="tcp",
        options={"conn": 1, "peer": "127.0.0.1:5001"}, clock=SessionClock(0, WALL),
    )  # fmt: skip
    two = owner.add_session(
        endpoint="tcp://127.0.0.1:9000", scheme="tcp",
        options={"conn": 2, "peer": "127.0.0.1:5002"}, clock=SessionClock(0, WALL + 1000),
    )  # fmt: skip
    owner.write(make_record(0, 0, Direction.META, Kind.INFO, b"", None, {"listening": 1}))
    one.write(make_record(0, 500, Direction.IN, Kind.DATA, b"hello\n", b"hello\n", {}))
    one.write_run(MessageRun(1, 3000, Direction.IN, Kind.MESSAGE, b"tick\n" * FLOOD, FLOOD))
    one.write(make_record(FLOOD + 1, 9000, Direction.IN, Kind.DATA, b"last\n", b"last\n", {}))
    for seq, t_ns in enumerate((1000, 5000)):  # 2000 and 6000 on the listener's clock
        text = b"two %d\n" % seq
        two.write(make_record(seq, t_ns, Direction.OUT, Kind.DATA, text, text, {}))
    owner.close()


def test_a_big_listen_capture_opens_whole_and_in_time_order(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "big.sockcap"
    listen_capture(path)
    opened = window.captures.open_path(path)
    assert len(opened) == 1
    tab = opened[0]
    assert isinstance(tab, ServerTab) and tab.read_only
    total = 1 + FLOOD + 2 + 2
    assert tab.all_records.count() == total
    assert len(tab.all_records._starts) == 6  # runs of places, not a place per record
    model = tab.all_view.model
    assert model is not None and model.total == total
    head = tab.all_records.records(0, 4)
    assert [(tab.all_records.conn_of(r.seq), r.payload) for r in head] == [
        (None, None),
        (1, b"hello\n"),
        (2, b"two 0\n"),
        (1, b"tick"),
    ]
    assert head[2].t_ns == 2000  # moved onto the listener's clock
    # Connection 2's second message (6000) comes after the flood (3000), before "last".
    tail = tab.all_records.records(total - 2, 2)
    assert [(tab.all_records.conn_of(r.seq), r.payload) for r in tail] == [
        (2, b"two 1\n"),
        (1, b"last\n"),
    ]
    place = tab.all_records.place_of(1, FLOOD + 1)
    assert place == total - 1
    tab.all_view.select_seq(place)
    shown = model.record_at(tab.all_view.table.currentIndex().row())
    assert shown is not None and shown.payload == b"last\n"
    assert tab.all_records.place_of(2, 7) is None
    assert tab.connections.index(0, 0).data(0) == "*"


def test_a_gap_in_a_session_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "gap.sockcap"
    store = CaptureStore.create(
        path, endpoint="tcp://127.0.0.1:1", scheme="tcp", options={}, clock=SessionClock()
    )
    for seq in (0, 1, 3):
        store.write(make_record(seq, seq, Direction.IN, Kind.DATA, b"x", b"x", {}))
    store.close()
    with CaptureStore.open(path) as again, pytest.raises(CaptureError, match="record 2"):
        [row for page in again.timeline() for row in page]


def test_a_listen_capture_with_a_gap_is_refused_in_one_line(
    window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "gap.sockcap"
    owner = CaptureStore.create(
        path, endpoint="tcp://127.0.0.1:9000", scheme="tcp",
        options={"role": "listener"}, clock=SessionClock(0, WALL),
    )  # fmt: skip
    conn = owner.add_session(
        endpoint="tcp://127.0.0.1:9000", scheme="tcp",
        options={"conn": 1, "peer": "127.0.0.1:5001"}, clock=SessionClock(0, WALL),
    )  # fmt: skip
    for seq in (0, 2):  # record 1 is missing
        conn.write(make_record(seq, seq, Direction.IN, Kind.DATA, b"x", b"x", {}))
    owner.close()
    before = window.tabs.count()
    assert window.captures.open_path(path) == []
    assert window.tabs.count() == before
    line = window.statusBar().currentMessage()
    assert "record 1" in line and "\n" not in line
