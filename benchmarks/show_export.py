"""Reading a big capture back: ``show`` (text and ``--json``) and ``export`` (JSON Lines,
pcapng) of a capture of N WebSocket frames, in records per second.

The capture is recorded as ``capture_million.py`` records it (a loopback flood of 64-byte
text frames taken by ``inspector probe --quiet -o FILE``), or given with ``--capture``.
Each command runs ``--rounds`` times, the commands alternating within a round, every run
in its own process with stdout to /dev/null; the table gives the median records/s by
wall time, by CPU time (user + system of the child) and by user CPU time alone (the
kernel's share of writing a big export varies with the machine's page cache), with the
lowest and highest wall rate. Run:

    .venv/bin/python benchmarks/show_export.py [count] [--capture FILE] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _flood import PYTHON, start_server, time_client, ws_stream

from inspector.capture.store import CaptureStore

SIZE = 64  # payload bytes per frame


def record(count: int, capture: Path) -> None:
    """Record ``count`` flood frames into ``capture`` with the probe."""
    server, port = start_server("ws", ws_stream(count, SIZE), 1)
    try:
        run = time_client(
            "probe",
            [PYTHON, "-m", "inspector", "probe", f"ws://127.0.0.1:{port}/", "--no-compress",
             "--count", str(count), "--quiet", "-o", str(capture)],
            count,
        )  # fmt: skip
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    if run.returncode != 0:
        raise SystemExit("recording the capture failed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--capture", type=Path, help="an existing capture to read instead")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        capture = args.capture or Path(tmp) / "flood.sockcap"
        if args.capture is None:
            record(args.count, capture)
        with CaptureStore.open(capture) as store:
            records = store.count()
        out = Path(tmp)
        commands = {
            "show > /dev/null": ["show", str(capture)],
            "show --json > /dev/null": ["show", str(capture), "--json"],
            "export --format jsonl": ["export", str(capture), "-o", str(out / "o.jsonl")],
            "export --format pcapng": ["export", str(capture), "-o", str(out / "o.pcapng")],
        }
        runs: dict[str, list] = {name: [] for name in commands}
        for round_no in range(args.rounds):
            names = list(commands) if round_no % 2 == 0 else list(commands)[::-1]
            for name in names:
                argv = [PYTHON, "-m", "inspector", *commands[name]]
                runs[name].append(time_client(name, argv, records, stdout_to_null=True))
    print(f"### {records:,} records, {args.rounds} rounds (median [min-max])\n")
    print("| command | records/s (wall) | records/s (CPU) | records/s (user CPU) | wall s |"
          " CPU s |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name, done in runs.items():
        rates = [run.rate for run in done]
        cpu_rates = [records / run.cpu for run in done if run.cpu]
        user_rates = [records / run.user for run in done if run.user]
        print(
            f"| {name} | {statistics.median(rates):,.0f} [{min(rates):,.0f}-{max(rates):,.0f}]"
            f" | {statistics.median(cpu_rates):,.0f} | {statistics.median(user_rates):,.0f} | "
            f"{statistics.median(run.wall for run in done):.2f} | "
            f"{statistics.median(run.cpu for run in done):.2f} |"
        )
    return 0 if all(run.returncode == 0 for done in runs.values() for run in done) else 1


if __name__ == "__main__":
    sys.exit(main())
