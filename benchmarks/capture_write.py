"""Write throughput of the capture store: records/s and bytes per record on disk.

Writes 1,000,000 inbound 64-byte WebSocket frame records through Recorder ->
CaptureStore twice: once with the fields a real frame record carries (opcode, fin,
ranges, ...), once with no fields (the floor: SQLite itself). Run:

    .venv/bin/python benchmarks/capture_write.py [count]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind


def frame_fields(payload_len: int) -> dict[str, object]:
    """The fields of an unmasked inbound binary frame, as the protocol layer records them."""
    return {
        "opcode": "binary",
        "opcode_value": 2,
        "fin": True,
        "rsv1": False,
        "rsv2": False,
        "rsv3": False,
        "masked": False,
        "mask_key": None,
        "header_len": 2,
        "payload_len": payload_len,
        "compressed": False,
        "automatic": False,
        "ranges": [["header", 0, 2], ["payload", 2, 2 + payload_len]],
    }


def run(count: int, with_fields: bool, directory: Path) -> tuple[float, float, float, float]:
    """Write ``count`` frame records.

    Returns records per second (wall clock), the same in CPU time of this process,
    bytes per record on disk, and seconds to reopen the file and read two pages.
    """
    path = directory / f"bench-{int(with_fields)}.sockcap"
    clock = SessionClock()
    store = CaptureStore.create(
        path, endpoint="ws://127.0.0.1:9/", scheme="ws", options={}, clock=clock
    )
    recorder = Recorder(sink=store, clock=clock, consumed=False)
    payload = os.urandom(64)
    wire = b"\x82\x40" + payload
    started = time.perf_counter()
    started_cpu = time.process_time()
    for _ in range(count):
        fields = frame_fields(64) if with_fields else None
        recorder.record(Direction.IN, Kind.FRAME, None, wire, payload, fields)
    store.flush()
    elapsed = time.perf_counter() - started
    elapsed_cpu = time.process_time() - started_cpu
    store.finish("closed", {})
    store.close()
    opening = time.perf_counter()
    with CaptureStore.open(path) as reopened:
        assert reopened.count() == count
        assert len(reopened.records(0, 50)) == 50
        assert len(reopened.records(count - 50, 50)) == 50
    opened = time.perf_counter() - opening
    return count / elapsed, count / elapsed_cpu, path.stat().st_size / count, opened


def main() -> None:
    """Print the two measurements."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as directory:
        for with_fields in (True, False):
            rate, cpu_rate, size, opened = run(count, with_fields, Path(directory))
            label = "frame fields" if with_fields else "no fields   "
            print(
                f"{label}: {count:,} records, {rate:,.0f} records/s"
                f" ({cpu_rate:,.0f}/s of CPU time), {size:.0f} bytes/record,"
                f" reopen + 2 pages {opened * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
