"""A capture of 1,000,000 records: writing it during a flood, opening it, reading its
last page, printing it and exporting it.

A loopback WebSocket server (benchmarks/_flood.py) floods N text frames of 64 bytes;
``inspector probe URL --count N --quiet -o FILE`` records them (the real engine and
capture store). Then, on that file: records/s written, bytes per record, time to open
(``CaptureStore.open`` + ``count()`` + the first page), time to read the last page,
and wall time and peak memory of ``inspector show`` and ``inspector export`` (pcapng,
JSON Lines). Every child is bounded in time. Run:

    .venv/bin/python benchmarks/capture_million.py [count] [--keep DIR] [--tshark]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _flood import PYTHON, REPO, start_server, ws_stream

from inspector.capture.store import CaptureStore

SIZE = 64  # payload bytes per frame
PAGE = 100  # rows in a "page" as a viewer shows them
CHILD_TIMEOUT = 600.0  # seconds: every child run is bounded


@dataclass(frozen=True, slots=True)
class ChildRun:
    """Wall seconds, CPU seconds and peak resident memory (MiB) of one child process."""

    wall: float
    cpu: float
    peak_mib: float
    returncode: int


#: Runs the command given as arguments and prints its own resource use on stderr's last
#: line. The benchmark's memory would otherwise count as the child's peak (ru_maxrss
#: includes what a forked child held before exec); this wrapper is small.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime} "
      f"{usage.ru_maxrss}", file=sys.stderr)
"""


def run_child(argv: list[str]) -> ChildRun:
    """Run ``python -m inspector ARGV`` (output discarded) and measure it alone."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "-S", "-c", _MEASURE, PYTHON, "-m", "inspector", *argv],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    wall = time.perf_counter() - start
    *messages, last = result.stderr.splitlines() or ["1 0 0"]
    code, cpu, peak_kib = last.split()
    if int(code) != 0:
        sys.stderr.write(f"{argv[0]}: exit {code}: {' '.join(messages)[-500:]}\n")
    return ChildRun(wall, float(cpu), int(peak_kib) / 1024, int(code))


def timed_open(path: Path) -> tuple[float, float, int]:
    """Seconds to open + count + read the first page, seconds to read the last page, count."""
    start = time.perf_counter()
    store = CaptureStore.open(path)
    count = store.count()
    first = store.records(0, PAGE)
    opened = time.perf_counter() - start
    assert len(first) == min(PAGE, count)
    start = time.perf_counter()
    last = store.records(max(0, count - PAGE), PAGE)
    last_page = time.perf_counter() - start
    assert last[-1].seq == count - 1
    store.close()
    return opened, last_page, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    parser.add_argument("--tshark", action="store_true", help="also count packets with tshark")
    args = parser.parse_args()
    directory = Path(args.keep or tempfile.mkdtemp(prefix="capture-million-"))
    directory.mkdir(parents=True, exist_ok=True)
    capture = directory / "flood.sockcap"

    server, port = start_server("ws", ws_stream(args.count, SIZE), 1)
    try:
        url = f"ws://127.0.0.1:{port}/"
        probe = run_child(
            ["probe", url, "--no-compress", "--count", str(args.count), "--quiet",
             "-o", str(capture)]
        )  # fmt: skip
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    opened, last_page, count = timed_open(capture)
    size = capture.stat().st_size
    show = run_child(["show", str(capture)])
    show_json = run_child(["show", str(capture), "--json"])
    show_grep = run_child(["show", str(capture), "--filter-dir", "out", "--grep", "x"])
    exports = {}
    for fmt in ("pcapng", "jsonl"):
        out = directory / f"flood.{fmt}"
        exports[fmt] = (run_child(["export", str(capture), "-o", str(out)]), out.stat().st_size)

    rows = [
        f"records in the capture: {count:,} ({args.count:,} frames asked, plus handshake,"
        " connect and close records)",
        f"write (probe --quiet -o, during the flood): {probe.wall:.1f} s wall, "
        f"{count / probe.wall:,.0f} records/s, {probe.cpu:.1f} s CPU, "
        f"peak {probe.peak_mib:.0f} MiB, exit {probe.returncode}",
        f"file: {size / 2**20:,.1f} MiB, {size / count:.0f} bytes/record ({SIZE}-byte payloads)",
        f"open (CaptureStore.open + count + first {PAGE} records): {opened * 1e3:.1f} ms",
        f"last page ({PAGE} records): {last_page * 1e3:.1f} ms",
    ]
    for name, run in (
        ("show > /dev/null", show),
        ("show --json > /dev/null", show_json),
        ("show --filter-dir out --grep x", show_grep),
    ):
        rows.append(
            f"{name}: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU, "
            f"{count / run.wall:,.0f} records/s, peak {run.peak_mib:.0f} MiB"
        )
    for fmt, (run, out_size) in exports.items():
        rows.append(
            f"export --format {fmt}: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU, "
            f"peak {run.peak_mib:.0f} MiB, output {out_size / 2**20:,.1f} MiB, "
            f"exit {run.returncode}"
        )
    if args.tshark:
        start = time.perf_counter()
        result = subprocess.run(
            ["tshark", "-r", str(directory / "flood.pcapng"), "-Y", "websocket", "-T", "fields",
             "-e", "frame.number"],
            capture_output=True, text=True, timeout=CHILD_TIMEOUT,
        )  # fmt: skip
        frames = len(result.stdout.splitlines())
        rows.append(
            f"tshark: {frames:,} WebSocket frames dissected in {time.perf_counter() - start:.0f} s"
        )
    print("\n".join(rows))
    if not args.keep:
        for leftover in directory.iterdir():
            leftover.unlink()
        directory.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
