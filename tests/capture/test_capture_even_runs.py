"""Even runs (runs of messages of one shape) read and rendered whole: every line, JSON
line and packet is exactly what the run's records give one by one."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from inspector.capture import CaptureStore
from inspector.capture.formats.common import ImportedSession
from inspector.capture.formats.jsonl import (
    even_jsonl,
    even_jsonl_block,
    export_jsonl,
    jsonl_lines,
)
from inspector.capture.formats.packets import ACK_EVERY
from inspector.capture.formats.pcapng import export_pcapng
from inspector.core.errors import CaptureError
from inspector.core.evenruns import EvenRun, Item, even_run, expanded, item_count
from inspector.core.records import Direction, Kind, Record
from inspector.core.render import (
    even_json_lines,
    even_lines,
    json_lines,
    json_tail,
    record_lines,
)
from inspector.core.runs import LEN16, LEN32, LINES, WS_FRAMES, MessageRun
from inspector.protocols import wsruns

#: Payloads that take each way through the renderers: plain ASCII, quotes and
#: backslashes, other UTF-8, control characters, bytes that are not UTF-8, empty,
#: longer than the preview.
PAYLOADS = [
    b"0123456789abcdef" * 4,
    b'say "hi"',
    b"back\\slash",
    "gr\u00fc\u00dfe \u2603".encode(),
    b"tab\there\r\n",
    b"\x00\x01\xfe\xff",
    b"",
    b"x" * 65,
    b"y" * 300,
    b"\x7f",
]


TEXT_AB = Frame(Opcode.TEXT, b"ab").serialize(mask=False)


def frames_run(payload: bytes, count: int, text: bool = True, seq: int = 5) -> MessageRun:
    opcode = Opcode.TEXT if text else Opcode.BINARY
    wire = Frame(opcode, payload).serialize(mask=False) * count
    return MessageRun(seq, 1234567, Direction.IN, Kind.FRAME, wire, count, WS_FRAMES)


def as_records(run: MessageRun) -> list[Record]:
    return run.records()


def check_jsonl_block(even: EvenRun, records: list[Record]) -> None:
    """The JSON Lines block of a run is its records' lines as the export writes them, or
    None for payloads that are not plain JSON text."""
    block = even_jsonl_block(even)
    lines = "".join(line + "\n" for line in jsonl_lines(records))
    if block is not None:
        assert block == lines.encode("utf-8", "surrogatepass")
    else:
        printable = bytes(range(0x20, 0x7F))
        payloads = [r.payload or b"" for r in records]
        assert any(p.translate(None, printable) or b'"' in p or b"\\" in p for p in payloads)


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("text", [True, False])
def test_an_even_frames_run_renders_as_its_records(payload: bytes, text: bool) -> None:
    run = frames_run(payload, 7, text)
    even = even_run(run)
    assert isinstance(even, EvenRun)
    records = as_records(run)
    assert even.records() == records
    assert [dict(r.fields) for r in even.records()] == [dict(r.fields) for r in records]
    assert even_lines(even) == "\n".join(record_lines(records))
    around = [records[0], even, records[-1]]
    assert record_lines(around) == [
        *record_lines([records[0]]),
        even_lines(even),
        *record_lines([records[-1]]),
    ]
    assert "\n".join(json_lines([even])) == "\n".join(json_lines(records))
    assert even_json_lines(even, json_tail(even.fields)) == json_lines(records)
    assert even_jsonl(even) == jsonl_lines(records)
    check_jsonl_block(even, records)
    if payload in (b"0123456789abcdef" * 4, b"", b"x" * 65, b"y" * 300):
        assert even_jsonl_block(even) is not None


@pytest.mark.parametrize(
    ("framing", "wire", "count"),
    [
        (LINES, b"abc\n" * 5, 5),
        (LINES, b"ab\r\n" * 5, 5),
        (LINES, b"\n" * 3, 3),
        (LINES, b"\r\n" * 3, 3),
        (LEN16, b"\x00\x03abc" * 4, 4),
        (LEN32, b"\x00\x00\x00\x02\xff\x00" * 4, 4),
        (LEN16, b"\x00\x00" * 4, 4),
    ],
)
def test_even_stream_runs_make_the_framers_records(framing: str, wire: bytes, count: int) -> None:
    run = MessageRun(0, 10, Direction.IN, Kind.MESSAGE, wire, count, framing)
    even = even_run(run)
    assert even is not None
    assert even.records() == run.records()
    assert even_lines(even) == "\n".join(record_lines(run.records()))
    assert json_lines([even]) == json_lines(run.records())
    check_jsonl_block(even, run.records())


@pytest.mark.parametrize(
    ("framing", "wire", "count"),
    [
        (LINES, b"abc\nabd\nab\n", 3),
        (LINES, b"ab\r\nabc\n", 2),  # same length, one with "\r"
        (LINES, b"a\nb\nc\n\n", 2),  # not the count it claims
        (LEN16, b"\x00\x02ab\x00\x01abc", 2),
        (WS_FRAMES, TEXT_AB + Frame(Opcode.BINARY, b"ab").serialize(mask=False), 2),
        (WS_FRAMES, Frame(Opcode.TEXT, b"abcd").serialize(mask=False), 2),
        (WS_FRAMES, Frame(Opcode.TEXT, b"ab").serialize(mask=True) * 2, 2),
        (WS_FRAMES, Frame(Opcode.PING, b"ab").serialize(mask=False) * 2, 2),
    ],
)
def test_runs_of_mixed_shapes_are_not_even(framing: str, wire: bytes, count: int) -> None:
    kind = Kind.FRAME if framing == WS_FRAMES else Kind.MESSAGE
    assert even_run(MessageRun(0, 10, Direction.IN, kind, wire, count, framing)) is None


def test_sixteen_bit_frames_and_outgoing_runs() -> None:
    assert wsruns.even_frames(frames_run(b"z" * 1000, 3)) is not None
    run = frames_run(b"z" * 1000, 3)
    out = MessageRun(0, 1, Direction.OUT, Kind.FRAME, run.wire, 3, WS_FRAMES)
    assert even_run(out) is None


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200), st.integers(1, 20), st.booleans())
def test_any_even_frames_run_renders_as_its_records(payload: bytes, count: int, text: bool) -> None:
    if text:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            text = False
    run = frames_run(payload, count, text)
    even = even_run(run)
    assert even is not None
    records = as_records(run)
    assert even.records() == records
    assert even_lines(even) == "\n".join(record_lines(records))
    assert json_lines([even]) == json_lines(records)
    assert even_jsonl(even) == jsonl_lines(records)
    check_jsonl_block(even, records)


def record_capture(path: Path, reads: list[bytes]) -> None:
    """A ws:// capture: connect, handshake-less frame runs, closed."""
    from inspector.core.clock import SessionClock
    from inspector.core.recorder import Recorder
    from inspector.protocols.wsfast import take_plain_frames

    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint="ws://127.0.0.1:1/", scheme="ws", options={}, clock=clock, overwrite=True
    )
    recorder = Recorder(sink=store, clock=clock, consumed=False)
    recorder.record(Direction.META, Kind.CONNECT, 1,
                    fields={"peer": "127.0.0.1:1", "local": "127.0.0.1:2"})  # fmt: skip
    for t_ns, read in enumerate(reads, start=2):
        take = take_plain_frames(read, None, None, False, True)
        recorder.record_run(Direction.IN, Kind.FRAME, t_ns, read, take.count, WS_FRAMES)
    recorder.record(Direction.META, Kind.CLOSED, 10**9, fields={"clean": True})
    store.close()


def test_a_capture_reads_and_exports_its_even_runs_as_their_records(tmp_path: Path) -> None:
    big = ACK_EVERY // 66 + 100  # one run crossing a pure ACK of the pcapng export
    reads = [
        frames_run(b"0123456789abcdef" * 4, big).wire,
        frames_run(b"odd", 9).wire,  # an odd segment length
        frames_run(b"a", 1).wire + frames_run(b"bb", 1).wire,  # not even
        frames_run("\u2603".encode(), 300).wire,
    ]
    path = tmp_path / "even.sockcap"
    record_capture(path, reads)
    with CaptureStore.open(path) as store:
        items: list[Item] = [item for page in store.items(0, 50) for item in page]
        records = [record for page in store.pages(0, 50) for record in page]
        assert sum(type(item) is EvenRun for item in items) == 3
        assert list(expanded(items)) == records
        assert item_count(items) == store.count() == len(records)
        assert "\n".join(record_lines(items)) == "\n".join(record_lines(records))
        assert "\n".join(json_lines(items)) == "\n".join(json_lines(records))
        for export in (export_jsonl, export_pcapng):
            whole, each = io.BytesIO(), io.BytesIO()
            done = []
            assert export(whole, store.session, items, progress=done.append) == export(
                each, store.session, records
            )
            assert whole.getvalue() == each.getvalue()
            assert done[-1] == len(records)


def test_pcapng_of_even_runs_over_ipv6_and_accepted(tmp_path: Path) -> None:
    run = frames_run(b"hello", 40, seq=2)
    even = even_run(run)
    assert even is not None
    for peer, local, accepted in (
        ("[::1]:80", "[::1]:5000", False),
        ("127.0.0.1:5000", "127.0.0.1:80", True),
    ):
        fields = {"peer": peer, "local": local, "accepted": accepted}
        head = [
            Record(0, 1, Direction.META, Kind.CONNECT, fields=fields),
            Record(1, 2, Direction.OUT, Kind.FRAME, b"\x81\x80abcd", b"", {"opcode": "text"}),
        ]
        session = ImportedSession(endpoint="ws://[::1]:80/", scheme="ws", started_wall_ns=0)
        whole, each = io.BytesIO(), io.BytesIO()
        export_pcapng(whole, session, [*head, even])
        export_pcapng(each, session, [*head, *run.records()])
        assert whole.getvalue() == each.getvalue()


def test_pcapng_and_jsonl_of_line_runs_of_a_tcp_session() -> None:
    run = MessageRun(1, 50, Direction.IN, Kind.MESSAGE, b"line of text\r\n" * 30, 30, LINES)
    even = even_run(run)
    assert even is not None
    session = ImportedSession(endpoint="tcp://127.0.0.1:7/", scheme="tcp", started_wall_ns=0)
    head = [Record(0, 1, Direction.META, Kind.CONNECT, fields={"peer": "127.0.0.1:7"})]
    for export in (export_pcapng, export_jsonl):
        whole, each = io.BytesIO(), io.BytesIO()
        export(whole, session, [*head, even, even])
        export(each, session, [*head, *run.records(), *run.records()])
        assert whole.getvalue() == each.getvalue()


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("UPDATE records SET payload_is_wire = -2 WHERE seq = 1", "not 2"),
        ("UPDATE records SET payload_is_wire = -8 WHERE seq = 1", "not 8"),
        ("UPDATE records SET wire = substr(wire, 1, 10) WHERE seq = 1", "not 4"),
        ("UPDATE records SET kind = 'message' WHERE seq = 1", "marks a run"),
        ("UPDATE records SET dir = 'out' WHERE seq = 1", "not 4"),
        ("UPDATE records SET t_ns = 'x' WHERE seq = 1", "damaged"),
    ],
)
def test_damaged_even_runs_read_in_bulk_give_one_line(tmp_path: Path, sql: str, match: str) -> None:
    path = tmp_path / "even.sockcap"
    record_capture(path, [frames_run(b"abc", 4).wire])
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
    conn.close()
    with pytest.raises(CaptureError, match=match) as info, CaptureStore.open(path) as store:
        for _page in store.items(0, 100):
            pass
    assert "\n" not in str(info.value)
