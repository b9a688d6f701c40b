"""TCP receive throughput: `inspector probe --framing lines` against a bare asyncio Protocol.

A server process writes 200,000 lines of 64 bytes in 1 MiB writes, then half-closes.
Four clients take the same stream in turn, each in its own process: a bare asyncio
Protocol counting newlines (the floor: it never makes a line), a bare asyncio Protocol
cutting the stream into lines (what a line client does at the least), ``inspector probe
tcp://… --framing lines --count N --quiet -o FILE`` and the same without ``-o``.
Run: ``.venv/bin/python benchmarks/tcp_flood.py [--messages N] [--size BYTES]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _flood import PYTHON, line_stream, report, run_all

BARE_CLIENT = """
import asyncio, sys

class Counter(asyncio.Protocol):
    def __init__(self, count, done):
        self.left, self.done = count, done
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.left -= data.count(b"\\n")
        if self.left <= 0 and not self.done.done():
            self.done.set_result(None)
            self.transport.close()
    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_exception(ConnectionError("closed early"))

async def main(port, count):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    await loop.create_connection(lambda: Counter(count, done), "127.0.0.1", port)
    await done

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""

#: The same client, but taking every line as a bytes object (one split per read).
SPLITTING_CLIENT = BARE_CLIENT.replace(
    """    def data_received(self, data):
        self.left -= data.count(b"\\n")""",
    """    held = b""
    def data_received(self, data):
        lines = (self.held + data).split(b"\\n")
        self.held = lines.pop()
        self.left -= len(lines)""",
)
assert SPLITTING_CLIENT != BARE_CLIENT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        capture = str(Path(tmp) / "flood.sqlite")

        def probe(*extra: str):
            return lambda port: [
                PYTHON, "-m", "inspector", "probe", f"tcp://127.0.0.1:{port}",
                "--framing", "lines", "--count", str(n), "--quiet", *extra,
            ]  # fmt: skip

        clients = [
            ("bare asyncio Protocol", lambda port: [PYTHON, "-c", BARE_CLIENT, str(port), str(n)]),
            ("bare asyncio Protocol, lines split",
             lambda port: [PYTHON, "-c", SPLITTING_CLIENT, str(port), str(n)]),
            ("inspector probe -o FILE", probe("-o", capture)),
            ("inspector probe", probe()),
        ]  # fmt: skip
        runs = run_all("tcp", line_stream(n, args.size), clients, n)
    print(report(f"TCP: {n:,} lines of {args.size} bytes", runs, clients[0][0]))
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
