"""WebSocket echo server throughput: `inspector listen --echo -o FILE` against a bare
``websockets.asyncio.server`` echo server.

One client process (raw sockets, pre-built masked frames, never the bottleneck) opens
``--clients`` connections, sends ``--messages`` 64-byte text messages on each as fast as
the server reads them and reads every echo. Each server runs in its own process; its
CPU seconds are read from /proc before the first upgrade and after the last echo (start
and stop are left out), the wall time is the client's, from the first upgrade to the
last echo. Compression is off on both. Run: ``.venv/bin/python
benchmarks/listen_flood.py [--messages N] [--clients C] [--size BYTES]``; the defaults
are the two cases of BENCHMARKS.md: 200,000 x 1 and ``--clients 100 --messages 1000``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 600.0  # seconds: every run is bounded
TICK = os.sysconf("SC_CLK_TCK")

BARE_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None, max_size=None,
                     ping_interval=None) as server:
        print(f"listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/", flush=True)
        await asyncio.Future()

asyncio.run(main())
"""


@dataclass(frozen=True, slots=True)
class Run:
    """One server's result: echoes the client got, wall and server CPU seconds."""

    name: str
    echoed: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.echoed / self.wall if self.wall else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def masked_frames(count: int, size: int) -> bytes:
    """``count`` masked client text frames of ``size`` ASCII bytes (one mask key)."""
    key = b"\x37\xfa\x21\x3d"
    text = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    body = bytes(b ^ key[i % 4] for i, b in enumerate(text))
    return (bytes([0x81, 0x80 | size]) + key + body) * count


async def upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"upgrade refused: {head[:40]!r}")
    return reader, writer


async def one_client(
    port: int, count: int, size: int, upgraded: list[int], started: asyncio.Event
) -> int:
    """Send ``count`` messages, read every echo (unmasked frames of size + 2 bytes)."""
    reader, writer = await upgrade(port)
    upgraded.append(1)
    await started.wait()
    payload = masked_frames(count, size)
    expected = count * (size + 2)

    async def send() -> None:
        for start in range(0, len(payload), 1 << 16):
            writer.write(payload[start : start + (1 << 16)])
            await writer.drain()

    sender = asyncio.ensure_future(send())
    got = 0
    while got < expected:
        chunk = await reader.read(1 << 18)
        if not chunk:
            break
        got += len(chunk)
    await sender
    writer.write(b"\x88\x82\x00\x00\x00\x00\x03\xe8")  # close 1000, masked with zeros
    await writer.drain()
    await reader.read()  # the server's close frame, then EOF
    writer.close()
    return got // (size + 2)


async def drive(
    port: int, pid: int, clients: int, count: int, size: int
) -> tuple[int, float, float]:
    started = asyncio.Event()
    upgraded: list[int] = []
    tasks = [
        asyncio.ensure_future(one_client(port, count, size, upgraded, started))
        for _ in range(clients)
    ]
    deadline = time.monotonic() + TIMEOUT
    while len(upgraded) < clients and time.monotonic() < deadline:  # every upgrade first
        await asyncio.sleep(0.01)
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    started.set()
    echoed = sum(await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT))
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    return echoed, wall, cpu


def run_server(name: str, argv: list[str], clients: int, count: int, size: int) -> Run:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        port = int(first.split()[-1].rstrip("/").rsplit(":", 1)[1])
        echoed, wall, cpu = asyncio.run(drive(port, proc.pid, clients, count, size))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return Run(name, echoed, wall, cpu)


def recorded(capture: Path) -> tuple[int, int, int]:
    """(connection sessions, frames in, frames out) in a listen capture (a run row,
    payload_is_wire -N, holds N frames)."""
    with sqlite3.connect(capture) as db:
        sessions = db.execute("SELECT count(*) FROM sessions").fetchone()[0] - 1
        rows = dict(
            db.execute(
                "SELECT dir, sum(CASE WHEN payload_is_wire < 0 THEN -payload_is_wire ELSE 1 END)"
                " FROM records WHERE kind = 'frame' GROUP BY dir"
            ).fetchall()
        )
    return sessions, rows.get("in", 0), rows.get("out", 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="messages per client")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    if args.size > 125:
        parser.error("--size stays in the 7-bit length form (at most 125)")
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "listen.sockcap"
        listen = [PYTHON, "-m", "inspector", "listen", "ws://127.0.0.1:0/", "--echo",
                  "--no-compress", "--quiet", "--max-connections", str(args.clients + 10),
                  "-o", str(capture)]  # fmt: skip
        runs = [
            run_server("bare websockets.asyncio.server echo", [PYTHON, "-c", BARE_SERVER],
                       args.clients, args.messages, args.size),
            run_server("inspector listen --echo -o FILE", listen,
                       args.clients, args.messages, args.size),
        ]  # fmt: skip
        sessions, frames_in, frames_out = recorded(capture)
    total = args.clients * args.messages
    print(f"WebSocket echo: {args.clients} client(s) x {args.messages:,} messages "
          f"of {args.size} bytes")  # fmt: skip
    print("| server | echoed | msgs/s | wall s | server CPU s | rate vs bare | CPU vs bare |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    bare = runs[0]
    for run in runs:
        print(
            f"| {run.name} | {run.echoed:,} | {run.rate:,.0f} | {run.wall:.2f} | {run.cpu:.2f} "
            f"| {run.rate / bare.rate:.2f}x | {run.cpu / bare.cpu:.2f}x |"
        )
    print(f"capture: {sessions} connection sessions, {frames_in:,} frames in, "
          f"{frames_out:,} frames out (expected {total:,} each way)")  # fmt: skip
    ok = all(run.echoed == total for run in runs) and frames_in >= total and frames_out >= total
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
