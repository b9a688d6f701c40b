"""``inspector show FILE --stats`` over a capture of N Socket.IO events with acks.

Writes a capture holding N outbound events ``42<id>["chat",{…}]`` each answered by an
inbound ack ``43<id>[…]`` (2·N frame records, written through the capture store as the
engine writes them), then measures, each in a bounded child process: ``show --stats``
(read every record, get the ack ids from the Socket.IO decoder's fast path, pair and
sort), and ``core.matching`` alone over the same ids already in memory. Run:

    .venv/bin/python benchmarks/show_stats.py [pairs] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inspector.capture.store import CaptureStore  # noqa: E402
from inspector.core.clock import SessionClock  # noqa: E402
from inspector.core.records import Direction, Kind, make_record  # noqa: E402

CHILD_TIMEOUT = 900.0  # seconds: every child run is bounded
TEXT = {"opcode": "text", "fin": True}

_MATCH_ONLY = """
import random, sys, time
from inspector.core.matching import match, statistics
n = int(sys.argv[1])
rng = random.Random(1)
messages = []
for i in range(n):
    messages.append((2 * i, i * 1000, True, (("request", f"socket.io / {i}"),)))
    messages.append((2 * i + 1, i * 1000 + rng.randint(10**5, 10**7), False,
                     (("response", f"socket.io / {i}"),)))
start = time.perf_counter()
stats = statistics(match(messages))
print(f"{time.perf_counter() - start:.3f} {stats.count}")
"""


def write_capture(path: Path, pairs: int) -> None:
    """A Socket.IO session: N events with ack ids, each answered by its ack."""
    rng = random.Random(1)
    clock = SessionClock()
    url = "ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket"
    store = CaptureStore.create(path, endpoint=url, scheme="ws", options={}, clock=clock)
    batch = []
    t = 0
    for i in range(pairs):
        event = b'42%d["chat",{"text":"hello","n":%d}]' % (i, i)
        ack = b'43%d[{"ok":true}]' % i
        t += rng.randint(10**4, 10**6)
        batch.append(make_record(2 * i, t, Direction.OUT, Kind.FRAME, event, event, TEXT))
        batch.append(make_record(2 * i + 1, t + rng.randint(10**5, 10**7), Direction.IN,
                                 Kind.FRAME, ack, ack, TEXT))  # fmt: skip
        if len(batch) >= 20_000:
            store.write_many(batch)
            batch = []
    store.write_many(batch)
    store.finish("closed", {})
    store.close()


def child(argv: list[str]) -> tuple[float, str]:
    """Wall seconds and stdout of ``python ARGV`` in the repository."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=CHILD_TIMEOUT, check=True)  # fmt: skip
    return time.perf_counter() - start, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--keep", metavar="DIR", help="write the capture here and keep it")
    args = parser.parse_args()
    directory = Path(args.keep or tempfile.mkdtemp(prefix="show-stats-"))
    directory.mkdir(parents=True, exist_ok=True)
    capture = directory / "socketio.sockcap"
    if not capture.exists():
        start = time.perf_counter()
        write_capture(capture, args.pairs)
        print(f"wrote {2 * args.pairs:,} records in {time.perf_counter() - start:.1f} s")
    wall, out = child(["-m", "inspector", "show", str(capture), "--stats", "--json"])
    print(f"show --stats: {wall:.2f} s wall for {args.pairs:,} pairs -> {out.strip()[:160]}")
    wall, out = child(["-m", "inspector", "show", str(capture)])
    print(f"show (no decoding, for comparison): {wall:.2f} s wall")
    _, out = child(["-c", _MATCH_ONLY, str(args.pairs)])
    seconds, count = out.split()
    print(f"core.matching alone: {float(seconds):.2f} s for {int(count):,} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
