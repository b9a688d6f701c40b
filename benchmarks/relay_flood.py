"""Relay throughput and latency: `inspector relay -o FILE` against direct, socat and mitmproxy.

1. WebSocket: a server process writes 200,000 pre-built 64-byte text frames; a bare
   ``websockets.asyncio.client`` takes them directly, then through ``inspector relay
   ws://… ws://… -o FILE --quiet`` (recording both directions). The client's rate is
   what counts (target: ≥ 0.5x direct). With mitmproxy installed (``--mitmdump PATH``,
   default: ``mitmdump`` on PATH), the same flood through ``mitmdump --mode
   reverse:http://…`` (writing its flows to a file with ``-w``, as the relay records;
   ``--mitm-messages`` of them, as it is slow), target: the relay ≥ 10x its rate.
2. TCP: a 128 MiB stream read by a bare Python client directly, through ``socat
   TCP-LISTEN … TCP:…`` and through ``inspector relay tcp://… tcp://… -o FILE``
   (target: ≥ 0.5x socat's byte rate).
3. Latency: 10,000 WebSocket ping-pongs (a 32-byte text message echoed), a direct one
   and one through the relay taken in turn (so both see the same load); the added
   round trip at p50 and p99 (targets ≤ 200 µs, ≤ 2 ms).

Each table also gives the CPU seconds the relay process (or socat, mitmdump) used while
the client ran (Linux: /proc), the number to trust on a shared machine.

Run: ``.venv/bin/python benchmarks/relay_flood.py [--messages N] [--megabytes M]
[--rounds N] [--pings N] [--skip-socat] [--mitmdump PATH] [--mitm-messages N]
[--only ws,tcp,latency]``.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class Middle:
    """A process in the middle: the port clients use, its pid, CPU seconds it used."""

    port: int
    pid: int | None = None
    cpu: float | None = None
    #: Seconds each of its threads ran (and of them user, system) while the client ran,
    #: by thread name (the main thread first): where the time went.
    threads: dict[str, tuple[float, float, float]] | None = None


def process_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (None where /proc has none)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int | None) -> dict[str, tuple[float, float, float]]:
    """Each thread of process ``pid``: seconds it ran (schedstat, in ns), and its user and
    system seconds (in clock ticks), by "NAME TID", the main thread's first (empty where
    /proc has none)."""
    found: dict[str, tuple[float, float, float]] = {}
    if pid is None:
        return found
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tids = sorted(os.listdir(f"/proc/{pid}/task"), key=lambda t: (int(t) != pid, int(t)))
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, fields = f.read().rsplit(")", 1)
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ran = int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
        name = head.split("(", 1)[1]
        values = fields.split()
        found[f"{name} {tid}"] = (ran, int(values[11]) / tick, int(values[12]) / tick)
    return found


def timed(name: str, argv: list[str], amount: int, middle: Middle | None) -> ClientRun:
    """:func:`time_client`, noting in ``middle`` the CPU its process (and each of its
    threads) used meanwhile."""
    before = process_cpu(middle.pid) if middle is not None else None
    threads_before = thread_cpu(middle.pid) if middle is not None else {}
    run = time_client(name, argv, amount)
    if middle is not None:
        after = process_cpu(middle.pid)
        if before is not None and after is not None:
            middle.cpu = after - before
        threads = {}
        for key, now in thread_cpu(middle.pid).items():
            was = threads_before.get(key, (0.0, 0.0, 0.0))
            threads[key] = (now[0] - was[0], now[1] - was[1], now[2] - was[2])
        middle.threads = threads
    return run


@contextmanager
def relay(listen: str, upstream: str, capture: str) -> Iterator[Middle]:
    """A running ``inspector relay`` (quiet, recording to ``capture``)."""
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
        yield Middle(port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, limit: float = 30.0) -> None:
    """Return once ``port`` is listening: it can no longer be bound (a test connection
    would be relayed upstream and take the flood server's turn); RuntimeError if
    ``proc`` ends first or it takes longer than ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} ended with status {proc.returncode}")
        with socket.socket() as check:
            try:
                check.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {limit:g} s")


@contextmanager
def mitmdump(path: str, upstream_port: int, flows: str) -> Iterator[Middle]:
    """``mitmdump --mode reverse:http://127.0.0.1:UPSTREAM -q -w FLOWS`` on a free port."""
    port = free_port()
    argv = [path, "--mode", f"reverse:http://127.0.0.1:{upstream_port}", "--listen-host",
            "127.0.0.1", "--listen-port", str(port), "-q", "-w", flows]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        yield Middle(port, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def socat(upstream_port: int) -> Iterator[Middle]:
    """``socat TCP-LISTEN:PORT,reuseaddr TCP:127.0.0.1:UPSTREAM`` on a free port."""
    port = free_port()
    proc = subprocess.Popen(
        ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", f"TCP:127.0.0.1:{upstream_port}"]
    )
    wait_listening(port, proc)
    try:
        yield Middle(port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def table(
    title: str,
    runs: list[tuple[ClientRun, Middle | None]],
    unit: str,
    scale: float,
    base: str,
    also: str | None = None,
) -> str:
    """A Markdown table of client runs: rate, wall, rate against ``base`` (and against
    ``also`` when that path ran), the CPU of the process in the middle."""
    by_name = {r.name: r for r, _m in runs}
    names = [base] + ([also] if also in by_name else [])
    heads = " | ".join(f"rate vs {n}" for n in names)
    lines = [f"### {title}", "", f"| path | {unit} | wall s | {heads} | middle CPU s | exit |"]
    lines.append("|---|---:|---:|" + "---:|" * len(names) + "---:|---:|")
    for r, middle in runs:
        ratios = " | ".join(
            f"{r.rate / by_name[n].rate:.2f}x" if by_name[n].rate else "-" for n in names
        )
        cpu = f"{middle.cpu:.2f}" if middle is not None and middle.cpu is not None else "-"
        lines.append(
            f"| {r.name} | {r.rate * scale:,.1f} | {r.wall:.2f} | {ratios} | {cpu} "
            f"| {r.returncode} |"
        )
    return "\n".join(lines)


RELAY = "inspector relay -o FILE"
MITM = "mitmdump --mode reverse"


def ws_flood(n: int, tmp: str, mitm: str | None = None, mitm_n: int = 0) -> str:
    """Direct vs through the relay (and mitmdump), one flood server serving both in turn."""
    server, port = start_server("ws", ws_stream(n, 64), 2)
    runs: list[tuple[ClientRun, Middle | None]] = []
    try:
        url = f"ws://127.0.0.1:{port}/"
        argv = [PYTHON, "-c", BARE_WS_CLIENT, url, str(n)]
        runs.append((timed("direct", argv, n, None), None))
        with relay("ws://127.0.0.1:0/", url, str(Path(tmp) / "ws.sockcap")) as middle:
            through = f"ws://127.0.0.1:{middle.port}/"
            argv = [PYTHON, "-c", BARE_WS_CLIENT, through, str(n)]
            runs.append((timed(RELAY, argv, n, middle), middle))
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    if mitm is not None:
        mserver, mport = start_server("ws", ws_stream(mitm_n, 64), 1)
        try:
            with mitmdump(mitm, mport, str(Path(tmp) / "ws.flows")) as middle:
                through = f"ws://127.0.0.1:{middle.port}/"
                argv = [PYTHON, "-c", BARE_WS_CLIENT, through, str(mitm_n)]
                runs.append((timed(f"{MITM} ({mitm_n:,})", argv, mitm_n, middle), middle))
        finally:
            mserver.join(timeout=10)
            if mserver.is_alive():
                mserver.terminate()
    title = f"WebSocket: {n:,} messages of 64 bytes, server → client"
    text = table(title, runs, "msgs/s", 1, "direct")
    if mitm is not None:
        relay_rate, mitm_rate = runs[1][0].rate, runs[2][0].rate
        ratio = relay_rate / mitm_rate if mitm_rate else 0.0
        text += f"\n\nrelay vs mitmdump (message rate): {ratio:.1f}x"
    return text


SOCAT = "socat TCP-LISTEN … TCP:…"


def tcp_stream(megabytes: int, tmp: str, with_socat: bool, rounds: int = 1) -> str:
    """Direct once, then ``rounds`` times socat and the relay in turn (each a fresh
    process), one flood server serving every client; a table per round, a summary of
    the rounds when there are several."""
    size = megabytes << 20
    paths: list[tuple[str, Callable[[int], Any]]] = [("direct", _nullctx)]
    for _ in range(rounds):
        if with_socat:
            paths.append((SOCAT, socat))
        paths.append(
            (
                RELAY,
                lambda p: relay(
                    "tcp://127.0.0.1:0", f"tcp://127.0.0.1:{p}", str(Path(tmp) / "tcp.sockcap")
                ),
            )
        )
    server, port = start_server("tcp", b"x" * size, len(paths))
    runs: list[tuple[ClientRun, Middle | None]] = []
    try:
        for name, make in paths:
            with make(port) as middle:
                argv = [PYTHON, "-c", BARE_TCP_CLIENT, str(middle.port), str(size)]
                pid_known = middle.pid is not None
                runs.append((timed(name, argv, size, middle), middle if pid_known else None))
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    base = SOCAT if with_socat else "direct"
    per_round = 2 if with_socat else 1
    texts = []
    for i in range(rounds):
        these = [runs[0], *runs[1 + i * per_round : 1 + (i + 1) * per_round]]
        title = f"TCP: a {megabytes} MiB stream" + (f", round {i + 1}" if rounds > 1 else "")
        texts.append(table(title, these, "MB/s", 1e-6, base) + "".join(thread_lines(these)))
    if rounds > 1 and with_socat:
        texts.append(tcp_summary(runs[1:]))
    return "\n\n".join(texts)


def tcp_summary(runs: list[tuple[ClientRun, Middle | None]]) -> str:
    """Over the rounds (socat, relay in turn): the relay's rate against the socat run
    just before it, and both processes' CPU; median [lowest, highest]."""
    pairs = list(zip(runs[0::2], runs[1::2], strict=True))
    ratios = [r.rate / s.rate for (s, _), (r, _) in pairs if s.rate]

    def spread(values: list[float], fmt: str) -> str:
        if not values:
            return "-"
        return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}, {max(values):{fmt}}]"

    def cpu(middles: list[Middle | None]) -> list[float]:
        return [m.cpu for m in middles if m is not None and m.cpu is not None]

    def ran(middles: list[Middle | None], index: int) -> list[float]:
        values = []
        for m in middles:
            if m is not None and m.threads and len(m.threads) > index:
                values.append(list(m.threads.values())[index][0])
        return values

    relays = [m for _, (_, m) in pairs]
    others = [
        sum(values[0] for values in list(m.threads.values())[1:])
        for m in relays
        if m is not None and m.threads
    ]
    socats = [m for (_, m), _ in pairs]
    met = sum(ratio >= 0.5 for ratio in ratios)
    lines = [
        f"### TCP: {len(pairs)} rounds, socat and the relay in turn",
        "",
        "| measure | median [lowest, highest] |",
        "|---|---:|",
        f"| relay rate vs socat's just before | {spread(ratios, '.2f')} (>= 0.5x in {met} of "
        f"{len(ratios)}) |",
        f"| socat MB/s | {spread([s.rate * 1e-6 for (s, _), _ in pairs], ',.0f')} |",
        f"| relay MB/s | {spread([r.rate * 1e-6 for _, (r, _) in pairs], ',.0f')} |",
        f"| socat CPU s | {spread(cpu(socats), '.2f')} |",
        f"| relay CPU s | {spread(cpu(relays), '.2f')} |",
        f"| relay main thread ran s | {spread(ran(relays, 0), '.3f')} |",
        f"| relay other threads ran s | {spread(others, '.3f')} |",
    ]
    return "\n".join(lines)


def thread_lines(runs: list[tuple[ClientRun, Middle | None]]) -> Iterator[str]:
    """For each process in the middle, its threads' CPU while the client ran."""
    for run, middle in runs:
        if middle is not None and middle.threads:
            parts = ", ".join(
                f"{key} {ran:.3f} ({user:.2f}+{system:.2f})"
                for key, (ran, user, system) in middle.threads.items()
                if ran > 0.0005
            )
            yield f"\n\n{run.name}: seconds each thread ran (user+system): {parts or '-'}"


@contextmanager
def _nullctx(port: int) -> Iterator[Middle]:
    yield Middle(port)


def round_trips(direct_url: str, relayed_url: str, count: int) -> tuple[list[float], list[float]]:
    """Round trips of a 32-byte text message, a direct one and a relayed one in turn
    (after 200 of each to warm up); each list in seconds."""
    from websockets.sync.client import connect

    direct: list[float] = []
    relayed: list[float] = []
    with connect(direct_url, compression=None) as a, connect(relayed_url, compression=None) as b:
        for _ in range(200):
            for ws in (a, b):
                ws.send("w" * 32)
                ws.recv()
        for _ in range(count):
            for ws, times in ((a, direct), (b, relayed)):
                start = time.perf_counter()
                ws.send("p" * 32)
                ws.recv()
                times.append(time.perf_counter() - start)
    return direct, relayed


def latency(count: int, tmp: str) -> str:
    proc = subprocess.Popen(
        [PYTHON, "-c", ECHO_SERVER], stdout=subprocess.PIPE, text=True, env=env(), cwd=REPO
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    try:
        upstream = f"ws://127.0.0.1:{port}/"
        with relay("ws://127.0.0.1:0/", upstream, str(Path(tmp) / "l.sockcap")) as r:
            before = process_cpu(r.pid)
            direct, relayed = round_trips(upstream, f"ws://127.0.0.1:{r.port}/", count)
            after = process_cpu(r.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1e6

    cpu = f"{after - before:.2f} s" if before is not None and after is not None else "-"
    lines = [
        f"### Latency: {count:,} WebSocket ping-pongs (32-byte text, echoed), "
        "direct and relayed in turn",
        "",
        "| path | p50 µs | p99 µs |",
        "|---|---:|---:|",
        f"| direct | {pct(direct, 50):.0f} | {pct(direct, 99):.0f} |",
        f"| through the relay | {pct(relayed, 50):.0f} | {pct(relayed, 99):.0f} |",
        f"| added | {pct(relayed, 50) - pct(direct, 50):.0f} | "
        f"{pct(relayed, 99) - pct(direct, 99):.0f} |",
        "",
        f"relay CPU during the ping-pongs: {cpu}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--megabytes", type=int, default=128)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="TCP: socat and the relay N times in turn, with a summary (default 1)",
    )
    parser.add_argument("--pings", type=int, default=10_000)
    parser.add_argument("--skip-socat", action="store_true")
    parser.add_argument(
        "--mitmdump",
        metavar="PATH",
        default=shutil.which("mitmdump"),
        help="mitmproxy's mitmdump for the WebSocket comparison (default: on PATH)",
    )
    parser.add_argument(
        "--mitm-messages",
        type=int,
        default=20_000,
        metavar="N",
        help="messages of the flood through mitmdump (default 20,000)",
    )
    parser.add_argument(
        "--only",
        default="ws,tcp,latency",
        help="which parts to run, comma-separated (default ws,tcp,latency)",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    with_socat = not args.skip_socat and shutil.which("socat") is not None
    mitm = args.mitmdump
    if "ws" in parts and (mitm is None or shutil.which(mitm) is None):
        print("mitmproxy comparison skipped: no mitmdump found (give --mitmdump PATH)")
        mitm = None
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if "ws" in parts:
            print(ws_flood(args.messages, tmp, mitm, args.mitm_messages), end="\n\n", flush=True)
        if "tcp" in parts:
            print(tcp_stream(args.megabytes, tmp, with_socat, args.rounds), end="\n\n", flush=True)
        if "latency" in parts:
            print(latency(args.pings, tmp), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
