"""Large captures open lazily: count and any page without reading everything."""

from __future__ import annotations

from inspector.capture import CaptureStore
from inspector.core.records import Direction, Kind

TOTAL = 200_000


def test_two_hundred_thousand_records_open_lazily(new_store) -> None:
    store, recorder = new_store(commit_interval=3600)
    for i in range(TOTAL):
        data = b"%08d" % i
        recorder.record(
            Direction.IN if i % 2 else Direction.OUT, Kind.DATA, wire=data, payload=data
        )
    store.finish("closed", {})
    store.close()

    with CaptureStore.open(store.path) as reopened:
        assert reopened.count() == TOTAL
        assert reopened.unsaved == 0  # nothing was loaded into memory
        first = reopened.records(0, 50)
        assert len(first) == 50 and [r.seq for r in first] == list(range(50))
        middle = reopened.records(123_456, 50)
        assert [int(r.wire) for r in middle] == list(range(123_456, 123_506))
        assert len(reopened.records(TOTAL - 10, 50)) == 10
        assert reopened.record(TOTAL - 1).wire == b"00199999"
        assert reopened.matching(text="00099999") == [99_999]
