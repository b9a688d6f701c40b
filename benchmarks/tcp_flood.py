"""TCP receive throughput: `inspector probe --framing lines` against bare asyncio Protocols.

A server process writes 200,000 lines of 64 bytes in 1 MiB writes, then half-closes.
Seven clients take the same stream in turn, each in its own process: a bare asyncio
Protocol counting newlines (the floor: it never makes a line), one cutting the stream
into lines (what a line client does at the least), one appending every read to an
SQLite table (the least any client recording the stream to SQLite does), one storing
every line as a row (a hand-written line recorder), ``inspector probe tcp://…
--framing lines --count N --quiet -o FILE``, the same without ``-o``, and the probe
recording each read (``--framing raw -o FILE``) like the SQLite client of reads.
Run: ``.venv/bin/python benchmarks/tcp_flood.py [--messages N] [--size BYTES]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _flood import CLIENT_TIMEOUT, PYTHON, line_stream, report, run_all

#: A bare asyncio Protocol that counts newlines until it has seen N lines. The clients
#: below differ only in what they keep of each read (KEEP), with SETUP before and
#: FINISH after the run.
CLIENT = """
import asyncio, sys, time
#SETUP

class Client(asyncio.Protocol):
    seq = unflushed = 0
    held = b""
    def __init__(self, count, done):
        self.left, self.done = count, done
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        t_ns = time.monotonic_ns()
        #KEEP
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
    await loop.create_connection(lambda: Client(count, done), "127.0.0.1", port)
    await done

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
#FINISH
"""


def client(keep: str = "", setup: str = "", finish: str = "") -> str:
    """CLIENT keeping ``keep`` (statements, indented for data_received) of each read."""
    return CLIENT.replace("#SETUP", setup).replace("        #KEEP", keep).replace("#FINISH", finish)


#: Keeps nothing: the floor, it never makes a line.
BARE_CLIENT = client()

#: Takes every line as a bytes object (one split per read).
SPLITTING_CLIENT = client(
    """        lines = (self.held + data).split(b"\\n")
        self.held = lines.pop()"""
)

#: Records into an SQLite table (WAL, synchronous=NORMAL, a commit per MiB received).
_SQLITE_SETUP = """
import sqlite3
db = sqlite3.connect(sys.argv[3], isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = NORMAL")
db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, t_ns INTEGER, wire BLOB)")
db.execute("BEGIN")
INSERT = "INSERT INTO records VALUES (?, ?, ?)"
"""
_SQLITE_COMMIT = """
        self.unflushed += len(data)
        if self.unflushed >= 1 << 20:
            db.execute("COMMIT")
            db.execute("BEGIN")
            self.unflushed = 0"""

#: The least any client recording the stream to SQLite does: a row per read.
READS_TO_SQLITE_CLIENT = client(
    """        db.execute(INSERT, (self.seq, t_ns, data))
        self.seq += 1"""
    + _SQLITE_COMMIT,
    _SQLITE_SETUP,
    'db.execute("COMMIT")',
)

#: A hand-written line recorder: a row per line (seq, the read's time, the line).
LINES_TO_SQLITE_CLIENT = client(
    """        lines = (self.held + data).split(b"\\n")
        self.held = lines.pop()
        db.executemany(INSERT, [(self.seq + i, t_ns, line) for i, line in enumerate(lines)])
        self.seq += len(lines)"""
    + _SQLITE_COMMIT,
    _SQLITE_SETUP,
    'db.execute("COMMIT")',
)


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
            ("bare Protocol, each read into SQLite",
             lambda port: [PYTHON, "-c", READS_TO_SQLITE_CLIENT, str(port), str(n),
                           str(Path(tmp) / "reads.sqlite")]),
            ("bare Protocol, each line into SQLite",
             lambda port: [PYTHON, "-c", LINES_TO_SQLITE_CLIENT, str(port), str(n),
                           str(Path(tmp) / "lines.sqlite")]),
            ("inspector probe -o FILE", probe("-o", capture)),
            ("inspector probe", probe()),
            # Raw framing records each read (as the SQLite client above does); it ends
            # when the server closes, as --count counts reads here.
            ("inspector probe --framing raw -o FILE",
             lambda port: [PYTHON, "-m", "inspector", "probe", f"tcp://127.0.0.1:{port}",
                           "--framing", "raw", "--wait", str(CLIENT_TIMEOUT), "--quiet",
                           "-o", str(Path(tmp) / "raw.sqlite")]),
        ]  # fmt: skip
        runs = run_all("tcp", line_stream(n, args.size), clients, n)
    also = [("reads→SQLite", clients[2][0]), ("lines→SQLite", clients[3][0])]
    print(report(f"TCP: {n:,} lines of {args.size} bytes", runs, clients[0][0], also))
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
