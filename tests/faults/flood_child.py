"""A flood through one session in a process of its own, so its peak memory is its own.

Usage: flood_child.py SCHEME BYTES CAPTURE_PATH. Starts a loopback server that writes
BYTES as fast as they are read, records the session into a capture file while a
consumer drains the recorder slowly, checks every byte, and prints one JSON line:
records and bytes seen by the consumer and kept in the capture, peak memory before
and after (ru_maxrss, KiB), and how the session ended.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from servers import (
    Close,
    Flood,
    HostileScript,
    ReadUntil,
    ServerLoop,
    Upgrade,
    Write,
    flood_bytes,
    start_hostile_server,
)

from inspector.capture.store import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.net.factory import create_session

CLOSE_1000 = b"\x88\x02\x03\xe8"  # the server's answer to the client's close frame
CONSUMER_PAUSE = 0.02  # seconds the consumer sleeps between two drains


def _is_flood(record: Record) -> bool:
    """An inbound record of the flood (raw data, or a binary frame)."""
    if record.direction is not Direction.IN:
        return False
    return record.kind is Kind.DATA or (
        record.kind is Kind.FRAME and record.fields.get("opcode") == "binary"
    )


async def consume(scheme: str, port: int, total: int, path: str) -> dict:
    clock = SessionClock()
    url = f"ws://127.0.0.1:{port}/" if scheme == "ws" else f"tcp://127.0.0.1:{port}"
    options = SessionOptions(compression=False, max_size=None)
    store = CaptureStore.create(
        path,
        endpoint=url,
        scheme=scheme,
        options=options,
        clock=clock,
        commit_interval=float(sys.argv[4]) if len(sys.argv) > 4 else 0.25,
    )
    recorder = Recorder(store, clock=clock)
    session = create_session(parse_endpoint(url), options, recorder)
    seen = {"records": 0, "bytes": 0, "pauses": 0, "mismatch": 0, "messages": 0}
    offset = 0
    assert await session.open()
    while True:
        await asyncio.sleep(CONSUMER_PAUSE)
        seen["pauses"] += 0 if session.reading else 1
        seen["messages"] += len(session.take_messages())
        for record in recorder.drain():
            if not _is_flood(record):
                continue
            data = record.payload or b""
            seen["records"] += 1
            seen["bytes"] += len(data)
            if data != flood_bytes(offset, len(data)):
                seen["mismatch"] += 1
            offset += len(data)
        if session.ended and recorder.pending == 0:
            break
        if scheme == "ws" and offset >= total and session.state == "open":
            session.send_close(1000, "")
    store.finish(str(session.state), session.summary())
    seen["kept_records"] = seen["kept_bytes"] = 0
    for start in range(0, store.count(), 8):  # page through, as the GUI does
        for record in store.records(start, 8):
            if _is_flood(record):
                seen["kept_records"] += 1
                seen["kept_bytes"] += len(record.payload or b"")
    store.close()
    seen["state"] = str(session.state)
    seen["failure"] = session.failure
    seen["recorder_in"] = recorder.count_in
    return seen


def main() -> None:
    scheme, total, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    loop = ServerLoop()
    if scheme == "ws":
        script = HostileScript(
            (Upgrade(), Flood(total, frames=True), ReadUntil(b"\x88"), Write(CLOSE_1000), Close())
        )
    else:
        script = HostileScript((Flood(total), Close()))
    server = start_hostile_server(loop, script)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = asyncio.run(consume(scheme, server.port, total, path))
    result["maxrss_before_kib"] = before
    result["maxrss_after_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    server.stop()
    loop.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
