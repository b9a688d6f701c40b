"""The Recorder and its sink: the four calls a sink is given, the running totals, the
commits it asks for, and the pause it asks of the transport while a consumer lags."""

from __future__ import annotations

import pytest

from inspector.core.recorder import CaptureLimit, Recorder, RecordSink
from inspector.core.records import Direction, Kind, Record
from inspector.core.runs import MessageRun

READ = b"one\ntwo\n"


class CallLog(RecordSink):
    """A sink that logs which of its calls the Recorder made, and with what."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def write(self, record: Record) -> None:
        self.calls.append(("write", record.seq))

    def write_many(self, records: list[Record]) -> None:
        self.calls.append(("write_many", [r.seq for r in records]))

    def write_run(self, run: MessageRun) -> None:
        self.calls.append(("write_run", (run.seq, run.count)))

    def flush(self) -> None:
        self.calls.append(("flush", None))


class WriteOnly(RecordSink):
    """A sink that implements ``write`` only: the others are RecordSink's defaults."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)


def test_a_sink_must_write_and_gets_the_other_calls_by_default() -> None:
    class Nothing(RecordSink):
        pass

    with pytest.raises(TypeError, match="write"):
        Nothing()  # type: ignore[abstract]
    sink = WriteOnly()
    recorder = Recorder(sink, consumed=False, flush_bytes=1)
    recorder.record(Direction.OUT, Kind.DATA, 1, b"x", b"x")
    recorder.record_many(Direction.IN, Kind.DATA, 2, [(b"a", b"a", {}), (b"b", b"b", {})])
    recorder.record_run(Direction.IN, Kind.MESSAGE, 3, READ, 2)
    assert [(r.seq, r.wire) for r in sink.records] == [
        (0, b"x"), (1, b"a"), (2, b"b"), (3, b"one\n"), (4, b"two\n"),
    ]  # fmt: skip
    assert sink.records[3:] == MessageRun(3, 3, Direction.IN, Kind.MESSAGE, READ, 2).records()


def test_the_recorder_makes_the_calls_a_sink_declares() -> None:
    sink = CallLog()
    recorder = Recorder(sink, consumed=False, flush_bytes=10)
    recorder.record(Direction.OUT, Kind.DATA, 1, b"12345")
    recorder.record_many(Direction.IN, Kind.DATA, 2, [(b"abc", None, {})])
    recorder.record_many(Direction.IN, Kind.DATA, 3, [(b"d", None, {}), (b"e", None, {})])
    recorder.record_run(Direction.IN, Kind.MESSAGE, 4, READ, 2)
    assert sink.calls == [
        ("write", 0),
        ("write", 1),  # a read of one record is written as one
        ("write_many", [2, 3]),
        ("flush", None),  # 5 + 3 + 2 bytes written: time to commit
        ("write_run", (4, 2)),
    ]


def test_in_and_out_totals_count_every_way_of_recording() -> None:
    recorder = Recorder(consumed=False)
    recorder.record(Direction.META, Kind.INFO, 0, fields={"message": "hello"})
    recorder.record(Direction.OUT, Kind.DATA, 1, b"abc", b"abc")
    recorder.record(Direction.IN, Kind.DATA, 2, b"de")
    recorder.record_many(Direction.IN, Kind.DATA, 3, [(b"f", None, {}), (b"gh", None, {})])
    recorder.record_run(Direction.IN, Kind.MESSAGE, 4, READ, 2)
    assert (recorder.count_out, recorder.bytes_out) == (1, 3)
    assert (recorder.count_in, recorder.bytes_in) == (5, 2 + 3 + len(READ))
    assert recorder.next_seq == 7

    limited = Recorder(consumed=False, capture_limit=CaptureLimit(records=1))
    limited.record(Direction.OUT, Kind.DATA, 1, b"abc")
    limited.record(Direction.OUT, Kind.DATA, 2, b"defg")  # counted, not kept
    limited.record_run(Direction.IN, Kind.MESSAGE, 3, READ, 2)
    assert (limited.count_out, limited.bytes_out) == (2, 7)
    assert (limited.count_in, limited.bytes_in) == (2, len(READ))
    assert (limited.not_kept, limited.not_kept_bytes) == (3, 4 + len(READ))


def test_a_lagging_consumer_pauses_reading_until_it_drains() -> None:
    recorder = Recorder(high_watermark=3)
    calls: list[str] = []
    recorder.set_flow_control(lambda: calls.append("pause"), lambda: calls.append("resume"))
    for i in range(3):
        recorder.record(Direction.IN, Kind.DATA, i, b"x")
    assert calls == [] and not recorder.paused  # at the mark, not above it
    recorder.record_many(Direction.IN, Kind.DATA, 3, [(b"y", None, {}), (b"z", None, {})])
    assert calls == ["pause"] and recorder.paused and recorder.pending == 5
    recorder.record(Direction.IN, Kind.DATA, 4, b"w")
    assert calls == ["pause"]  # paused once, not once per record
    assert len(recorder.drain()) == 6
    assert calls == ["pause", "resume"] and not recorder.paused and recorder.pending == 0
    assert recorder.drain() == [] and calls == ["pause", "resume"]


def test_queued_bytes_pause_too_and_a_drain_resumes() -> None:
    recorder = Recorder(high_watermark=1000, high_watermark_bytes=100)
    calls: list[str] = []
    recorder.set_flow_control(lambda: calls.append("pause"), lambda: calls.append("resume"))
    recorder.record_run(Direction.IN, Kind.MESSAGE, 0, b"x" * 40 + b"\n", 1)
    assert calls == []  # 82 bytes held: the message and its body
    recorder.record(Direction.IN, Kind.DATA, 1, b"y" * 20)
    assert calls == ["pause"]
    recorder.drain()
    assert calls == ["pause", "resume"]


def test_flow_control_installed_while_paused_pauses_at_once() -> None:
    recorder = Recorder(high_watermark=0)
    recorder.record(Direction.IN, Kind.DATA, 0, b"x")
    calls: list[str] = []
    recorder.set_flow_control(lambda: calls.append("pause"), lambda: calls.append("resume"))
    assert calls == ["pause"]
    recorder.drain()
    assert calls == ["pause", "resume"]


def test_a_recorder_nobody_drains_never_pauses() -> None:
    recorder = Recorder(WriteOnly(), consumed=False, high_watermark=0, high_watermark_bytes=0)
    recorder.record_many(Direction.IN, Kind.DATA, 0, [(b"a", None, {}), (b"b", None, {})])
    recorder.record_run(Direction.IN, Kind.MESSAGE, 1, READ, 2)
    assert not recorder.paused and recorder.pending == 0
