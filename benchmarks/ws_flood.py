"""WebSocket receive throughput: `inspector probe` against a bare websockets client.

A server process writes 200,000 pre-built 64-byte text frames (compression off) in
1 MiB writes after the handshake. Three clients take the same stream in turn, each in
its own process: a bare ``websockets.asyncio.client`` loop, ``inspector probe --count
N --quiet -o FILE`` and the same without ``-o``. With ``--deflate`` the server accepts
permessage-deflate and every message is compressed (each on its own), and all clients
negotiate it. Run: ``.venv/bin/python benchmarks/ws_flood.py [--messages N] [--size
BYTES] [--deflate]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _flood import PYTHON, report, run_all, ws_deflated_stream, ws_stream

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--deflate", action="store_true", help="compressed messages")
    args = parser.parse_args()
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
