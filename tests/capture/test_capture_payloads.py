"""The narrow read of statistics (``CaptureStore.payloads``) gives, for every record,
what ``payload_of`` gives for the record the full reader makes (handshakes whole),
whatever the rows are: single records of every kind, WebSocket frame runs (even or
not), runs of lines and of length-prefixed messages, field-set references; from any
start; while buffered and once committed; and damage as one CaptureError."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.errors import CaptureError
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.core.runs import LEN16, LINES
from inspector.protocols.decoders.session import payload_of
from inspector.protocols.wsruns import WS_FRAMES, WS_SENT_FRAMES
from tests.capture.conftest import record_every_kind


def frames(items: list[tuple[bool, bytes]]) -> bytes:
    return b"".join(
        Frame(Opcode.TEXT if text else Opcode.BINARY, data).serialize(mask=False)
        for text, data in items
    )


def wanted(store: CaptureStore, start: int = 0) -> list:
    """What the narrow read must give, from the full reader's records."""
    out: list = []
    for page in store.pages(start, 7):
        for record in page:
            if record.kind is Kind.HANDSHAKE:
                out.append(("handshake", record.seq, record.t_ns, dict(record.fields)))
                continue
            payload = payload_of(record)
            if payload is not None:
                out.append((record.seq, record.t_ns, record.direction is Direction.OUT, payload))
    return out


def got(store: CaptureStore, start: int = 0, page: int = 5) -> list:
    out: list = []
    for items in store.payloads(start, page):
        for item in items:
            if not isinstance(item, Record):
                out.append(item)
            elif item.kind is Kind.HANDSHAKE:
                out.append(("handshake", item.seq, item.t_ns, dict(item.fields)))
            else:  # a record still in memory comes whole
                assert not store.committed or item.seq >= store.committed
                payload = payload_of(item)
                if payload is not None:
                    out.append((item.seq, item.t_ns, item.direction is Direction.OUT, payload))
    return out


STEP = st.one_of(
    st.tuples(st.just("frames"), st.lists(st.tuples(st.booleans(), st.binary(max_size=140)),
                                          min_size=1, max_size=6)),
    st.tuples(st.just("even"), st.tuples(st.integers(1, 6), st.binary(max_size=20))),
    st.tuples(st.just("sent"), st.lists(st.tuples(st.booleans(), st.binary(max_size=20)),
                                        min_size=1, max_size=3)),
    st.tuples(st.just("lines"), st.lists(st.binary(max_size=12).map(
        lambda b: b.replace(b"\n", b"")), min_size=1, max_size=5)),
    st.tuples(st.just("len16"), st.lists(st.binary(max_size=12), min_size=1, max_size=5)),
    st.tuples(st.just("every kind"), st.none()),
    st.tuples(st.just("single"), st.tuples(st.sampled_from(["text", "binary", "ping", "close"]),
                                           st.booleans(), st.binary(max_size=20))),
)  # fmt: skip


def record(recorder: Recorder, steps: list) -> None:
    for t_ns, (what, arg) in enumerate(steps, start=1):
        if what == "frames":
            recorder.record_run(Direction.IN, Kind.FRAME, t_ns, frames(arg), len(arg), WS_FRAMES)
        elif what == "even":
            count, data = arg
            run = frames([(False, data)] * count)
            recorder.record_run(Direction.IN, Kind.FRAME, t_ns, run, count, WS_FRAMES)
        elif what == "sent":
            recorder.record_run(Direction.OUT, Kind.FRAME, t_ns, frames(arg), len(arg),
                                WS_SENT_FRAMES)  # fmt: skip
        elif what == "lines":
            wire = b"".join(line + b"\n" for line in arg)
            recorder.record_run(Direction.IN, Kind.MESSAGE, t_ns, wire, len(arg), LINES)
        elif what == "len16":
            wire = b"".join(len(m).to_bytes(2, "big") + m for m in arg)
            recorder.record_run(Direction.OUT, Kind.MESSAGE, t_ns, wire, len(arg), LEN16)
        elif what == "every kind":
            record_every_kind(recorder)
        else:
            opcode, out, data = arg
            direction = Direction.OUT if out else Direction.IN
            fields = {"opcode": opcode, "fin": True, "masked": out, "mask_key": "01020304"}
            recorder.record(direction, Kind.FRAME, t_ns, b"\x81" + data, data, fields)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(STEP, min_size=1, max_size=8), st.integers(0, 40))
def test_payloads_are_what_payload_of_gives(tmp_path: Path, steps: list, start: int) -> None:
    clock = SessionClock()
    path = tmp_path / "p.sockcap"
    store = CaptureStore.create(path, endpoint="ws://127.0.0.1:1/", scheme="ws", options={},
                                clock=clock, overwrite=True)  # fmt: skip
    try:
        record(Recorder(sink=store, clock=clock, consumed=False), steps)
        assert got(store, start) == wanted(store, start)  # buffered
        store.flush()
        assert got(store, start) == wanted(store, start)  # committed
        assert got(store, 0, 1) == wanted(store)
    finally:
        store.close()
    with CaptureStore.open(path) as reopened:
        assert got(reopened, start, 3) == wanted(reopened, start)


def test_a_recorded_session_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "d.sockcap"
    clock = SessionClock()
    with CaptureStore.create(path, endpoint="ws://127.0.0.1:1/", scheme="ws", options={},
                             clock=clock) as store:  # fmt: skip
        record(Recorder(sink=store, clock=clock, consumed=False),
               [("every kind", None), ("frames", [(True, b"a"), (False, b"bc")])] * 3)  # fmt: skip
        store.finish("closed", {})
    with CaptureStore.open(path) as reopened:
        items = got(reopened)
        assert items == wanted(reopened) and any(i[0] == "handshake" for i in items)
        assert [i[3] for i in items if i[0] != "handshake"][-2:] == [b"a", b"bc"]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE records SET wire = x'8105' WHERE payload_is_wire < 0")
    conn.close()
    with CaptureStore.open(path) as damaged, pytest.raises(CaptureError, match="damaged"):
        got(damaged)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE records SET t_ns = 'soon' WHERE kind = 'frame'")
    conn.close()
    with CaptureStore.open(path) as damaged, pytest.raises(CaptureError, match="damaged"):
        got(damaged)


@pytest.mark.parametrize(
    "damage",
    [
        "wire = x'8105'",  # not its frames
        "wire = x'810161'",  # one frame where the run says two
        "wire = 'text'",
        "payload_is_wire = -1",  # fewer messages than its frames
        "payload_is_wire = -2.5",
        "t_ns = x'01'",
        "t_ns = 'soon'",
        "t_ns = 1.5",
        "dir = 'sideways'",
        'fields = \'{"framing":"lines"}\'',
        "fields = NULL",
        "kind = 'message'",
    ],
)
def test_damage_to_a_run_of_a_shape_read_before(tmp_path: Path, damage: str) -> None:
    """A run whose direction, kind and fields are those of a run checked before is cut
    at once: damage to it is still found, as the full reader finds it."""
    path = tmp_path / "r.sockcap"
    clock = SessionClock()
    with CaptureStore.create(path, endpoint="ws://127.0.0.1:1/", scheme="ws", options={},
                             clock=clock) as store:  # fmt: skip
        steps = [("frames", [(True, b"a%d" % i), (False, b"b")]) for i in range(40)]
        record(Recorder(sink=store, clock=clock, consumed=False), steps)
        store.finish("closed", {})
    with sqlite3.connect(path) as conn:
        (last,) = conn.execute("SELECT max(seq) FROM records WHERE payload_is_wire < 0").fetchone()
        conn.execute(f"UPDATE records SET {damage} WHERE seq = ?", (last,))
    conn.close()
    with CaptureStore.open(path) as damaged:
        try:
            expected: list | None = wanted(damaged)
        except CaptureError:
            expected = None
        for page in (5, 4096):
            if expected is None:
                with pytest.raises(CaptureError, match="damaged"):
                    got(damaged, 0, page)
            else:
                assert got(damaged, 0, page) == expected
