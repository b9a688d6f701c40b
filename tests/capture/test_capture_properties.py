"""Property tests: any record the Recorder can make reads back equal; odd ones never raise."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.records import Direction, Kind, Record

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
records_strategy = st.lists(
    st.tuples(
        st.sampled_from(list(Direction)),
        st.sampled_from(list(Kind)),
        st.integers(min_value=0, max_value=2**63 - 1),
        st.binary(max_size=300),
        st.one_of(st.none(), st.just("wire"), st.binary(max_size=300)),
        st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    ),
    max_size=30,
)


def _fresh_store(directory: Path) -> CaptureStore:
    return CaptureStore.create(
        directory / "p.sockcap",
        endpoint="udp://127.0.0.1:9",
        scheme="udp",
        options={},
        clock=SessionClock(),
        commit_interval=3600,
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=records_strategy, flush_at=st.integers(min_value=0, max_value=30))
def test_any_records_round_trip(specs: list[tuple[Any, ...]], flush_at: int) -> None:
    directory = Path(tempfile.mkdtemp())
    try:
        store = _fresh_store(directory)
        written = []
        for seq, (direction, kind, t_ns, wire, payload, fields) in enumerate(specs):
            if payload == "wire":
                payload = wire
            record = Record(seq, t_ns, direction, kind, wire, payload, fields)
            store.write(record)
            written.append(record)
            if seq == flush_at:
                store.flush()
        assert store.records(0, 100) == written  # partly committed, partly buffered
        store.close()
        assert store.error is None
        with CaptureStore.open(directory / "p.sockcap") as reopened:
            assert reopened.count() == len(written)
            assert reopened.records(0, 100) == written
    finally:
        shutil.rmtree(directory)


def test_values_sqlite_cannot_bind_are_made_storable(tmp_path: Path) -> None:
    store = _fresh_store(tmp_path)
    store.write(Record(0, 2**70, Direction.IN, Kind.DATA, b"a", b"a"))
    store.write(Record(1, 5, "out", "data", bytearray(b"b"), b"b", {"s": "\udc80"}))  # type: ignore[arg-type]
    store.write(Record(2, 6, Direction.META, Kind.INFO, b"", None, {"big": 2**80}))
    store.flush()
    assert store.error is None and store.committed == 3
    store.close()
    with CaptureStore.open(tmp_path / "p.sockcap") as reopened:
        first, second, third = reopened.records(0, 10)
    assert first.t_ns == 2**63 - 1  # clamped to what SQLite holds
    assert (second.direction, second.kind, second.wire) == (Direction.OUT, Kind.DATA, b"b")
    assert second.fields == {"s": "\udc80"}  # JSON escapes the lone surrogate
    assert third.fields == {"big": 2**80}
