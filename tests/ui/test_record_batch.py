"""A flush's RecordBatch: runs kept whole, the same records as draining them one by one."""

from __future__ import annotations

from websockets.frames import Frame, Opcode

from inspector.core.clock import SessionClock
from inspector.core.evenruns import first_record
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.core.runs import LEN16, LINES, WS_FRAMES, MessageRun
from inspector.protocols import wsruns  # noqa: F401  (registers the ws-frames framing)
from inspector.ui.models.batch import RecordBatch
from inspector.ui.widgets.traffic import TrafficCounter


def frames(*payloads: bytes) -> bytes:
    return b"".join(Frame(Opcode.TEXT, p).serialize(mask=False) for p in payloads)


def recorded() -> Recorder:
    """A recorder holding single records and runs of each framing, even and not."""
    recorder = Recorder(clock=SessionClock())
    recorder.record(Direction.META, Kind.CONNECT, 1, fields={"peer": "127.0.0.1:1"})
    recorder.record_run(Direction.IN, Kind.FRAME, 2_000_000_000, frames(b"ab", b"cd"), 2,
                        WS_FRAMES)  # fmt: skip
    recorder.record_run(Direction.IN, Kind.FRAME, 3_000_000_000, frames(b"a", b"bcd", b""), 3,
                        WS_FRAMES)  # fmt: skip
    recorder.record(Direction.OUT, Kind.FRAME, 4, b"\x89\x80abcd", b"", {"opcode": "ping"})
    recorder.record_run(Direction.IN, Kind.MESSAGE, 5, b"one\ntwo\nthree\n", 3, LINES)
    recorder.record_run(Direction.IN, Kind.MESSAGE, 6, b"\x00\x01a\x00\x02bc", 2, LEN16)
    recorder.record_run(Direction.IN, Kind.FRAME, 7, frames(*[b"x" * 10] * 300), 300, WS_FRAMES)
    return recorder


def test_a_batch_is_the_records_drain_gives() -> None:
    want = recorded().drain()
    recorder = recorded()
    assert recorder.pending == len(want)
    batch = RecordBatch(recorder.drain_items())
    assert recorder.pending == 0
    assert len(batch) == len(want) and bool(batch)
    assert list(batch) == want and batch[3] == want[3] and batch[-2:] == want[-2:]
    assert batch.end == want[-1].seq + 1
    for count in (1, 5, 300, 301, 400, len(want) + 5):
        assert batch.newest(count) == want[-count:]
    firsts = {item.seq for item in batch.items}
    assert batch.heads == [r for r in want if r.seq in firsts]
    assert all(first_record(run) == run.records()[0] for run in batch.items
               if isinstance(run, MessageRun))  # fmt: skip
    empty = RecordBatch([])
    assert not empty and len(empty) == 0 and empty.end == 0 and empty.newest(3) == []


def test_traffic_counts_a_batch_as_its_records() -> None:
    by_items, by_records = TrafficCounter(), TrafficCounter()
    recorder = recorded()
    batch = RecordBatch(recorder.drain_items())
    by_items.add(batch)
    by_records.add(batch.records())
    assert by_items.buckets == by_records.buckets
    assert by_items.latest_s == by_records.latest_s == 3
