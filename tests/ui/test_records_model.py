"""RecordTableModel and SessionBridge: paging, batches, filter, backpressure, Qt rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.ui.bridge import SessionBridge
from inspector.ui.models.filter import FilterError, RecordFilter
from inspector.ui.models.records import COL_KIND, COL_PREVIEW, COL_TIME, RecordTableModel
from inspector.ui.models.source import MemoryRecords


def _record(recorder: Recorder, i: int) -> Record:
    direction = Direction.OUT if i % 2 else Direction.IN
    body = f"message {i}".encode()
    return recorder.record(
        direction,
        Kind.FRAME,
        wire=b"\x81" + bytes([len(body)]) + body,
        payload=body,
        fields={"opcode": "text"},
    )


class CountingSource(MemoryRecords):
    """MemoryRecords that counts page reads (to prove the model pages)."""

    def __init__(self) -> None:
        super().__init__()
        self.pages = 0

    def records(self, start: int, limit: int) -> list[Record]:
        self.pages += 1
        return super().records(start, limit)


def test_model_passes_qt_model_tester_while_rows_arrive(qtmodeltester, qtbot: QtBot) -> None:
    source = MemoryRecords()
    recorder = Recorder(source)
    model = RecordTableModel(source)
    bridge = SessionBridge(recorder, model)
    _record(recorder, 0)
    bridge.flush()
    # The tester stays connected and checks every insert and reset that follows.
    qtmodeltester.check(model, force_py=True)
    for batch in range(5):
        for i in range(1 + batch * 7, 1 + batch * 7 + 7):
            _record(recorder, i)
        bridge.flush()
    assert model.rowCount() == 36
    model.set_filter(RecordFilter.build({Direction.IN}, None, "", False))
    for i in range(36, 40):
        _record(recorder, i)
    bridge.flush()
    model.set_filter(RecordFilter())
    assert model.rowCount() == 40


def test_one_insert_notification_per_flush(qtbot: QtBot) -> None:
    source = MemoryRecords()
    recorder = Recorder(source)
    model = RecordTableModel(source)
    bridge = SessionBridge(recorder, model)
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserts.append((first, last)))
    batches: list[int] = []
    bridge.flushed.connect(lambda batch, _counters: batches.append(len(batch)))
    for i in range(500):
        _record(recorder, i)
    bridge.flush()
    for i in range(500, 503):
        _record(recorder, i)
    bridge.flush()
    assert inserts == [(0, 499), (500, 502)]
    assert batches == [500, 3]
    assert bridge.counters.records_in == 252 and bridge.counters.records_out == 251


def test_drain_releases_backpressure(qtbot: QtBot) -> None:
    source = MemoryRecords()
    recorder = Recorder(source, high_watermark=10)
    calls: list[str] = []
    recorder.set_flow_control(lambda: calls.append("pause"), lambda: calls.append("resume"))
    model = RecordTableModel(source)
    bridge = SessionBridge(recorder, model)
    for i in range(11):
        _record(recorder, i)
    assert calls == ["pause"] and recorder.paused
    bridge.flush()
    assert calls == ["pause", "resume"] and not recorder.paused
    assert model.rowCount() == 11


def test_timer_drains_without_being_asked(qtbot: QtBot) -> None:
    source = MemoryRecords()
    recorder = Recorder(source)
    model = RecordTableModel(source)
    bridge = SessionBridge(recorder, model)
    bridge.start()
    _record(recorder, 0)
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    bridge.stop()


def test_model_pages_from_the_store_with_a_bounded_cache(qtbot: QtBot) -> None:
    source = CountingSource()
    recorder = Recorder(source)
    model = RecordTableModel(source)
    bridge = SessionBridge(recorder, model)
    for i in range(10_000):
        _record(recorder, i)
    bridge.flush()
    assert model.rowCount() == 10_000
    # The newest batch is cached; the oldest rows were evicted and are read back a page
    # at a time from the source.
    assert source.pages == 0
    assert model.index(0, COL_PREVIEW).data() == '"message 0"'
    assert model.index(1, COL_PREVIEW).data() == '"message 1"'
    assert source.pages == 1
    assert len(model._cache) <= 4096


def test_time_formats(qtbot: QtBot) -> None:
    clock = SessionClock(started_mono_ns=0, started_wall_ns=1_700_000_000 * 10**9)
    source = MemoryRecords()
    recorder = Recorder(source, clock=clock)
    recorder.record(Direction.OUT, Kind.DATA, t_ns=1_500_000_000, wire=b"a", payload=b"a")
    recorder.record(Direction.IN, Kind.DATA, t_ns=1_750_000_000, wire=b"b", payload=b"b")
    model = RecordTableModel(source, clock.started_wall_ns)
    model.append(recorder.drain())
    assert model.index(1, COL_TIME).data() == "1.750000"
    model.set_time_format("delta")
    assert model.index(1, COL_TIME).data() == "+0.250000"
    assert model.headerData(COL_TIME, Qt.Orientation.Horizontal) == "Δ Time"
    model.set_time_format("absolute")
    assert model.index(1, COL_TIME).data().endswith(":21.750000")


def test_categories_are_drawn_apart(qtbot: QtBot) -> None:
    source = MemoryRecords()
    recorder = Recorder(source)
    recorder.record(Direction.META, Kind.ERROR, fields={"message": "connection refused"})
    recorder.record(
        Direction.OUT,
        Kind.FRAME,
        wire=b"\x8a\x80abcd",
        payload=b"",
        fields={"opcode": "pong", "automatic": True},
    )
    recorder.record(
        Direction.IN, Kind.FRAME, wire=b"\x89\x00", payload=b"", fields={"opcode": "ping"}
    )
    model = RecordTableModel(source)
    model.append(recorder.drain())
    font = Qt.ItemDataRole.FontRole
    assert model.index(0, COL_PREVIEW).data() == "connection refused"
    assert model.index(0, 0).data(font).bold()
    assert model.index(1, COL_KIND).data() == "pong auto"
    assert model.index(1, 0).data(font).italic()
    colours = {
        model.index(row, COL_KIND).data(Qt.ItemDataRole.ForegroundRole).name() for row in range(3)
    }
    assert len(colours) == 3


def test_filter_agrees_with_the_capture_store(tmp_path: Path) -> None:
    clock = SessionClock()
    store = CaptureStore.create(
        tmp_path / "c.sockcap", endpoint="ws://h/", scheme="ws", options={}, clock=clock
    )
    recorder = Recorder(store, clock=clock)
    texts = ["Alpha", "beta", "ALPHABET", "gamma \xff".encode("latin-1").decode("latin-1")]
    for i, text in enumerate(texts):
        body = text.encode("utf-8")
        recorder.record(
            Direction.IN if i % 2 else Direction.OUT, Kind.FRAME, wire=body, payload=body
        )
    recorder.record(Direction.META, Kind.ERROR, fields={"message": "alpha"})
    store.flush()
    batch = recorder.drain()
    for text, regex in (("alpha", False), ("^b", True), ("a$", True), ("", False)):
        for directions in (None, {Direction.OUT}):
            wanted = RecordFilter.build(directions, None, text, regex)
            expected = store.matching(
                directions, None, None if regex else text or None, text if regex else None
            )
            assert [r.seq for r in batch if wanted.matches(r)] == expected
    store.close()


def test_bad_regex_is_one_line() -> None:
    with pytest.raises(FilterError, match="invalid regular expression at position"):
        RecordFilter.build(None, None, "a(b", True)
