"""A session's totals summed by SQLite over the rows equal those counted over its
records: run rows (WebSocket frames of a read, lines) count their messages, and their
wire bytes are the messages' back to back."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_capture_ws_runs import FRAMES, plain_frames, record_both

from inspector.capture import CaptureStore
from inspector.capture.totals import Totals, read_totals
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record


def counted(records: list[Record]) -> Totals:
    ins = [r for r in records if r.direction is Direction.IN]
    outs = [r for r in records if r.direction is Direction.OUT]
    return Totals(
        len(ins), len(outs), sum(len(r.wire) for r in ins), sum(len(r.wire) for r in outs)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(FRAMES, min_size=1, max_size=4))
def test_frame_runs_sum_to_what_their_records_count(tmp_path: Path, reads: list) -> None:
    items, runs = record_both(tmp_path, [plain_frames(read) for read in reads])
    try:
        for store in (items, runs):
            store.flush()
            job = store.totals_job()
            assert job() == counted(store.records(0, store.count()))
        assert runs.totals_job()() == items.totals_job()()
    finally:
        items.close()
        runs.close()


def test_line_runs_and_both_directions(tmp_path: Path) -> None:
    clock = SessionClock()
    path = tmp_path / "lines.sockcap"
    store = CaptureStore.create(
        path, endpoint="tcp://127.0.0.1:1", scheme="tcp", options={}, clock=clock
    )
    recorder = Recorder(sink=store, clock=clock, consumed=False)
    recorder.record(Direction.META, Kind.CONNECT, 1, fields={"peer": "127.0.0.1:1"})
    recorder.record(Direction.OUT, Kind.MESSAGE, 2, b"hello\n", payload=b"hello")
    recorder.record_run(Direction.IN, Kind.MESSAGE, 3, b"a\nbb\nccc\n", 3)
    recorder.record(Direction.META, Kind.CLOSED, 4, fields={"clean": True})
    store.close()
    reopened = CaptureStore.open(path)
    try:
        want = counted(reopened.records(0, reopened.count()))
        assert want == Totals(3, 1, 9, 6)
        assert reopened.totals_job()() == want
    finally:
        reopened.close()


def test_a_file_gone_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"^cannot .*gone\.sockcap") as caught:
        read_totals(tmp_path / "gone.sockcap", 1, runs=True)
    assert "\n" not in str(caught.value)
