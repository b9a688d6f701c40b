"""Relay throughput and latency: `inspector relay -o FILE` against direct and socat.

1. WebSocket: a server process writes 200,000 pre-built 64-byte text frames; a bare
   ``websockets.asyncio.client`` takes them directly, then through ``inspector relay
   ws://… ws://… -o FILE --quiet`` (recording both directions). The client's rate is
   what counts (target: ≥ 0.5x direct).
2. TCP: a 128 MiB stream read by a bare Python client directly, through ``socat
   TCP-LISTEN … TCP:…`` and through ``inspector relay tcp://… tcp://… -o FILE``
   (target: ≥ 0.5x socat's byte rate).
3. Latency: 10,000 WebSocket ping-pongs (a 32-byte text message echoed) directly and
   through the relay; the added round trip at p50 and p99 (targets ≤ 200 µs, ≤ 2 ms).

Run: ``.venv/bin/python benchmarks/relay_flood.py [--messages N] [--megabytes M]
[--pings N] [--skip-socat]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _flood import (
    PYTHON,
    REPO,
    ClientRun,
    start_server,
    time_client,
    ws_stream,
)

BARE_WS_CLIENT = """
import asyncio, sys
from websockets.asyncio.client import connect

async def main(url, count):
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        for _ in range(count):
            await ws.recv()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""

BARE_TCP_CLIENT = """
import socket, sys
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
total = 0
while chunk := sock.recv(1 << 20):
    total += len(chunk)
sock.close()
sys.exit(0 if total == int(sys.argv[2]) else 3)
"""

ECHO_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO))


@contextmanager
def relay(listen: str, upstream: str, capture: str) -> Iterator[int]:
    """A running ``inspector relay`` (quiet, recording to ``capture``); yields its port."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "inspector", "relay", listen, upstream, "-o", capture, "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=REPO,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    port = int(first.split()[1].rsplit(":", 1)[1].rstrip("/"))
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def socat(upstream_port: int) -> Iterator[int]:
    """``socat TCP-LISTEN:PORT,reuseaddr TCP:127.0.0.1:UPSTREAM`` on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", f"TCP:127.0.0.1:{upstream_port}"]
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # listening once the port cannot be bound again
        with socket.socket() as check:
            try:
                check.bind(("127.0.0.1", port))
            except OSError:
                break
        time.sleep(0.02)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def table(title: str, runs: list[ClientRun], unit: str, scale: float, base: str) -> str:
    by_name = {r.name: r for r in runs}
    lines = [f"### {title}", "", f"| path | {unit} | wall s | rate vs {base} | exit |"]
    lines.append("|---|---:|---:|---:|---:|")
    for r in runs:
        ratio = r.rate / by_name[base].rate if by_name[base].rate else 0.0
        lines.append(
            f"| {r.name} | {r.rate * scale:,.1f} | {r.wall:.2f} | {ratio:.2f}x | {r.returncode} |"
        )
    return "\n".join(lines)


def ws_flood(n: int, tmp: str) -> str:
    """Direct vs through the relay, one flood server serving both in turn."""
    server, port = start_server("ws", ws_stream(n, 64), 2)
    runs = []
    try:
        url = f"ws://127.0.0.1:{port}/"
        runs.append(time_client("direct", [PYTHON, "-c", BARE_WS_CLIENT, url, str(n)], n))
        with relay("ws://127.0.0.1:0/", url, str(Path(tmp) / "ws.sockcap")) as rport:
            through = f"ws://127.0.0.1:{rport}/"
            runs.append(
                time_client(
                    "inspector relay -o FILE", [PYTHON, "-c", BARE_WS_CLIENT, through, str(n)], n
                )
            )
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    return table(
        f"WebSocket: {n:,} messages of 64 bytes, server → client", runs, "msgs/s", 1, "direct"
    )


def tcp_stream(megabytes: int, tmp: str, with_socat: bool) -> str:
    size = megabytes << 20
    paths: list[tuple[str, Callable[[int], object]]] = [("direct", lambda p: _nullctx(p))]
    if with_socat:
        paths.append(("socat TCP-LISTEN … TCP:…", socat))
    paths.append(
        (
            "inspector relay -o FILE",
            lambda p: relay(
                "tcp://127.0.0.1:0", f"tcp://127.0.0.1:{p}", str(Path(tmp) / "tcp.sockcap")
            ),
        )
    )
    server, port = start_server("tcp", b"x" * size, len(paths))
    runs = []
    try:
        for name, make in paths:
            with make(port) as through:  # type: ignore[attr-defined]
                argv = [PYTHON, "-c", BARE_TCP_CLIENT, str(through), str(size)]
                runs.append(time_client(name, argv, size))
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    base = "socat TCP-LISTEN … TCP:…" if with_socat else "direct"
    return table(f"TCP: a {megabytes} MiB stream", runs, "MB/s", 1e-6, base)


@contextmanager
def _nullctx(port: int) -> Iterator[int]:
    yield port


def round_trips(url: str, count: int) -> list[float]:
    from websockets.sync.client import connect

    times = []
    with connect(url, compression=None) as ws:
        for _ in range(200):
            ws.send("w" * 32)
            ws.recv()
        for _ in range(count):
            start = time.perf_counter()
            ws.send("p" * 32)
            ws.recv()
            times.append(time.perf_counter() - start)
    return times


def latency(count: int, tmp: str) -> str:
    proc = subprocess.Popen(
        [PYTHON, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True, env=env(), cwd=REPO
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    try:
        direct = round_trips(f"ws://127.0.0.1:{port}/", count)
        with relay(
            "ws://127.0.0.1:0/", f"ws://127.0.0.1:{port}/", str(Path(tmp) / "l.sockcap")
        ) as r:
            relayed = round_trips(f"ws://127.0.0.1:{r}/", count)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1e6

    lines = [
        f"### Latency: {count:,} WebSocket ping-pongs (32-byte text, echoed)",
        "",
        "| path | p50 µs | p99 µs |",
        "|---|---:|---:|",
        f"| direct | {pct(direct, 50):.0f} | {pct(direct, 99):.0f} |",
        f"| through the relay | {pct(relayed, 50):.0f} | {pct(relayed, 99):.0f} |",
        f"| added | {pct(relayed, 50) - pct(direct, 50):.0f} | "
        f"{pct(relayed, 99) - pct(direct, 99):.0f} |",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--megabytes", type=int, default=128)
    parser.add_argument("--pings", type=int, default=10_000)
    parser.add_argument("--skip-socat", action="store_true")
    args = parser.parse_args()
    with_socat = not args.skip_socat and shutil.which("socat") is not None
    with tempfile.TemporaryDirectory() as tmp:
        print(ws_flood(args.messages, tmp), end="\n\n", flush=True)
        print(tcp_stream(args.megabytes, tmp, with_socat), end="\n\n", flush=True)
        print(latency(args.pings, tmp), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
