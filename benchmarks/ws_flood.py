"""WebSocket receive throughput: `inspector probe` against a bare websockets client.

A server process writes 200,000 pre-built 64-byte text frames (compression off) in
1 MiB writes after the handshake. Three clients take the same stream in turn, each in
its own process: a bare ``websockets.asyncio.client`` loop, ``inspector probe --count
N --quiet -o FILE`` and the same without ``-o``. With ``--deflate`` the server accepts
permessage-deflate and every message is compressed (each on its own), and all clients
negotiate it. Run: ``.venv/bin/python benchmarks/ws_flood.py [--messages N] [--size
BYTES] [--deflate]``.

``--outputs`` times what a person watches instead: ``probe -o FILE`` printing records
as text, as ``--json`` and ``--quiet``, each with stdout to /dev/null and to a pipe
that a reader drains, against the bare client; ``--rounds R`` repeats the whole set
with the order of the probes reversed every other round, and reports each client's
median ratio to the bare client of its own round, with the lowest and highest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _flood import (
    PYTHON,
    ClientRun,
    report,
    run_all,
    start_server,
    time_client,
    ws_deflated_stream,
    ws_stream,
)

BARE_CLIENT = """
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url, count):
    compression = "deflate" if sys.argv[3] == "deflate" else None
    async with connect(url, compression=compression, max_size=None, ping_interval=None) as ws:
        for _ in range(count):
            await ws.recv()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


#: The probe's output modes of ``--outputs``: (label, options).
OUTPUTS = (("text", ()), ("--json", ("--json",)), ("--quiet", ("--quiet",)))


def outputs(n: int, size: int, rounds: int) -> int:
    """Time ``probe -o FILE`` in each output mode, stdout to /dev/null and to a pipe."""
    with tempfile.TemporaryDirectory() as tmp:
        capture = str(Path(tmp) / "flood.sqlite")
        probes = [
            (f"probe -o FILE {label} > {sink}", opts, sink == "/dev/null")
            for label, opts in OUTPUTS
            for sink in ("/dev/null", "pipe")
        ]
        server, port = start_server("ws", ws_stream(n, size), rounds * (len(probes) + 2))
        url = f"ws://127.0.0.1:{port}/"
        bare = [PYTHON, "-c", BARE_CLIENT, url, str(n), "plain"]
        ratios: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in probes}
        table: list[ClientRun] = []
        try:
            for round_no in range(rounds):
                order = probes if round_no % 2 == 0 else probes[::-1]
                first = time_client("bare websockets client", bare, n)
                probe = [PYTHON, "-m", "inspector", "probe", url, "--no-compress", "--count"]
                runs = [
                    time_client(name, [*probe, str(n), "-o", capture, *o], n, stdout_to_null=null)
                    for name, o, null in order
                ]
                last = time_client("bare websockets client", bare, n)
                base_rate = (first.rate + last.rate) / 2
                base_cpu = (first.cpu + last.cpu) / 2
                for run in runs:
                    ratios[run.name].append((run.rate / base_rate, run.cpu / base_cpu))
                table += [first, *runs, last]
                print(report(f"round {round_no + 1}", [first, *runs, last], first.name))
                print()
        finally:
            server.join(timeout=10)
            if server.is_alive():
                server.terminate()
    print(f"### probe -o FILE vs the bare client of the same round: {n:,} x {size} B, "
          f"{rounds} rounds (median [min-max])\n")  # fmt: skip
    print("| client | rate vs bare | CPU vs bare |\n|---|---:|---:|")
    for name, _, _ in probes:
        rates = [r for r, _ in ratios[name]]
        cpus = [c for _, c in ratios[name]]
        print(
            f"| {name} | {statistics.median(rates):.2f}x [{min(rates):.2f}-{max(rates):.2f}] "
            f"| {statistics.median(cpus):.2f}x [{min(cpus):.2f}-{max(cpus):.2f}] |"
        )
    return 0 if all(run.returncode == 0 for run in table) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--deflate", action="store_true", help="compressed messages")
    parser.add_argument("--outputs", action="store_true", help="probe's output modes")
    parser.add_argument("--rounds", type=int, default=3, help="with --outputs")
    args = parser.parse_args()
    if args.outputs:
        return outputs(args.messages, args.size, args.rounds)
    n = args.messages
    mode = "deflate" if args.deflate else "plain"
    compress = [] if args.deflate else ["--no-compress"]
    with tempfile.TemporaryDirectory() as tmp:
        capture = str(Path(tmp) / "flood.sqlite")

        def probe(*extra: str):
            return lambda port: [
                PYTHON, "-m", "inspector", "probe", f"ws://127.0.0.1:{port}/",
                *compress, "--count", str(n), "--quiet", *extra,
            ]  # fmt: skip

        clients = [
            ("bare websockets client",
             lambda port: [PYTHON, "-c", BARE_CLIENT, f"ws://127.0.0.1:{port}/", str(n), mode]),
            ("inspector probe -o FILE", probe("-o", capture)),
            ("inspector probe", probe()),
        ]  # fmt: skip
        if args.deflate:
            runs = run_all("wsz", ws_deflated_stream(n, args.size), clients, n)
        else:
            runs = run_all("ws", ws_stream(n, args.size), clients, n)
    title = f"WebSocket: {n:,} messages of {args.size} bytes" + (
        ", deflated" if args.deflate else ""
    )
    print(report(title, runs, clients[0][0]))
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
