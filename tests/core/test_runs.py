"""Message runs: the lines of a read recorded as one run make the records a line framer
makes, whoever takes them (a consumer, a sink that stores runs, a sink that does not)."""

from __future__ import annotations

import pytest

from inspector.core.options import Framing
from inspector.core.recorder import CaptureLimit, Recorder, RecordSink
from inspector.core.records import Direction, Kind, Record
from inspector.core.runs import MessageRun, cut_lines
from inspector.protocols.framing import make_framer

READ = b"one\r\ntwo\n\n" + b"x" * 70 + b"\n"


class ListSink(RecordSink):
    """A sink that keeps single records only (RecordSink's default write_run)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)


class RunSink(ListSink):
    """A sink that also takes runs, as the capture store does."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[MessageRun] = []

    def write_run(self, run: MessageRun) -> None:
        self.runs.append(run)


def framed_records(first_seq: int, t_ns: int, data: bytes) -> list[Record]:
    """What recording each line the framer cuts from ``data`` as its own record gives."""
    recorder = Recorder()
    for _ in range(first_seq):
        recorder.record(Direction.META, Kind.INFO, 0)
    recorder.drain()
    messages = make_framer(Framing.LINES).feed(data)
    items = [(w, b, {"framing": "lines", "ranges": r}) for w, b, r in messages]
    recorder.record_many(Direction.IN, Kind.MESSAGE, t_ns, items)
    return recorder.drain()


def test_a_run_makes_the_records_a_line_framer_makes() -> None:
    run = MessageRun(5, 42, Direction.IN, Kind.MESSAGE, READ, 4)
    records = run.records()
    assert records == framed_records(5, 42, READ)
    assert [r.seq for r in records] == [5, 6, 7, 8] and run.end == 9
    assert [r.payload for r in records] == [b"one", b"two", b"", b"x" * 70]
    assert records[0].fields == {
        "framing": "lines",
        "ranges": [["payload", 0, 3], ["terminator", 3, 5]],
    }
    assert records[2].fields["ranges"] == [["terminator", 0, 1]]
    assert run.bodies() == [r.payload for r in records]
    assert cut_lines(b"") == []


@pytest.mark.parametrize(("framing", "width"), [(Framing.LEN16, 2), (Framing.LEN32, 4)])
def test_a_length_prefixed_run_makes_the_records_the_framer_makes(
    framing: Framing, width: int
) -> None:
    bodies = [b"", b"a", b"\x00\n" * 40, b"z" * 300]
    data = b"".join(len(body).to_bytes(width, "big") + body for body in bodies)
    run = MessageRun(3, 9, Direction.IN, Kind.MESSAGE, data, 4, str(framing))
    framer = make_framer(framing)
    expected = [
        Record(3 + i, 9, Direction.IN, Kind.MESSAGE, wire, body,
               {"framing": str(framing), "ranges": ranges})
        for i, (wire, body, ranges) in enumerate(framer.feed(data))
    ]  # fmt: skip
    assert run.records() == expected and run.bodies() == bodies
    assert expected[3].fields["ranges"] == [["length", 0, width], ["payload", width, width + 300]]
    unfinished = MessageRun(0, 0, Direction.IN, Kind.MESSAGE, data[:-1], 4, str(framing))
    assert len(unfinished.records()) == 3  # a cut-short last message is not a message
    with pytest.raises(ValueError, match="no run of 'raw'"):
        MessageRun(0, 0, Direction.IN, Kind.MESSAGE, data, 4, "raw").records()


def test_record_run_stores_one_run_and_makes_no_record_nobody_takes() -> None:
    sink = RunSink()
    recorder = Recorder(sink, consumed=False)
    recorder.record(Direction.META, Kind.INFO, 0)
    recorder.record_run(Direction.IN, Kind.MESSAGE, 7, READ, 4)
    recorder.record(Direction.META, Kind.INFO, 8)
    (run,) = sink.runs
    assert (run.seq, run.count, run.t_ns, run.wire) == (1, 4, 7, READ)
    assert [r.seq for r in sink.records] == [0, 5]  # numbering continues after the run
    assert recorder.pending == 0
    assert (recorder.count_in, recorder.bytes_in, recorder.next_seq) == (4, len(READ), 6)


def test_record_run_gives_a_consumer_the_records() -> None:
    sink = RunSink()
    recorder = Recorder(sink)
    recorder.record_run(Direction.IN, Kind.MESSAGE, 7, READ, 4)
    assert recorder.drain() == framed_records(0, 7, READ) == sink.runs[0].records()


def test_record_run_without_a_run_sink_or_under_a_limit_records_each_line() -> None:
    sink = ListSink()
    Recorder(sink, consumed=False).record_run(Direction.IN, Kind.MESSAGE, 7, READ, 4)
    assert sink.records == framed_records(0, 7, READ)

    limited = RunSink()
    recorder = Recorder(limited, capture_limit=CaptureLimit(records=2))
    recorder.record_run(Direction.IN, Kind.MESSAGE, 7, READ, 4)
    assert limited.runs == []
    kept = [r for r in limited.records if r.kind is Kind.MESSAGE]
    assert [r.payload for r in kept] == [b"one", b"two"]
    assert recorder.not_kept == 2 and recorder.count_in == 4
