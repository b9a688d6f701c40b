"""``inspector show FILE --stats`` over a recorded request/response capture.

Records a session of N request/response pairs (2·N frame records) through the real
engine parts: our :class:`~inspector.protocols.ws.WebSocketConnection` (client role,
compression off) writes each request as a masked frame and reads the server's answers,
several per read, on its receive fast path; the :class:`~inspector.core.recorder.Recorder`
hands them to the :class:`~inspector.capture.store.CaptureStore`, so the file holds what
``probe -o`` writes: a row per request, a frame run per read of answers. The server's
side is played in memory (its frames built by hand; no sockets), with a session clock
the benchmark advances, so latencies are known and the run is repeatable.

Protocols: ``socketio`` (events ``42<id>["chat",{…}]`` answered by acks ``43<id>[…]``,
Engine.IO pings and pongs and server pushes between them) and ``jsonrpc`` (requests
and responses by ``id``, the ``jsonrpc`` subprotocol negotiated).

Then, each in a bounded child process: ``show --stats`` (CPU and wall), plain ``show``,
and ``core.matching`` alone over the same ids already in memory. Run:

    .venv/bin/python benchmarks/show_stats.py [pairs] [--protocol socketio|jsonrpc]
        [--keep DIR] [--rounds R] [--compare OLD_TREE]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from websockets.server import ServerProtocol  # noqa: E402

from inspector.capture.store import CaptureStore  # noqa: E402
from inspector.core.endpoints import parse_endpoint  # noqa: E402
from inspector.core.options import SessionOptions  # noqa: E402
from inspector.core.recorder import Recorder  # noqa: E402
from inspector.protocols.ws import WebSocketConnection  # noqa: E402

CHILD_TIMEOUT = 900.0  # seconds: every child run is bounded

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

#: Measures a child's CPU (user + system) apart from the benchmark's own.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
out = child.stdout.read()
_, status, usage = os.wait4(child.pid, 0)
sys.stdout.buffer.write(out)
print(f"{os.waitstatus_to_exitcode(status)} {usage.ru_utime} {usage.ru_stime}", file=sys.stderr)
"""


class BenchClock:
    """A session clock the benchmark moves: the times of requests and answers."""

    started_wall_ns = 1_780_000_000_000_000_000

    def __init__(self) -> None:
        self.t = 0

    def now(self) -> int:
        """Nanoseconds since the session started."""
        return self.t

    def wall_ns(self, t_ns: int) -> int:
        """The Unix time of a relative timestamp."""
        return self.started_wall_ns + t_ns


def frame(payload: bytes) -> bytes:
    """An unmasked FIN text frame, as a server writes it."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload


def messages(protocol: str, i: int) -> tuple[str, bytes]:
    """Request ``i`` (text to send) and its answer (payload the server writes)."""
    if protocol == "jsonrpc":
        request = f'{{"jsonrpc":"2.0","method":"sum","params":[{i},1],"id":{i}}}'
        return request, b'{"jsonrpc":"2.0","result":%d,"id":%d}' % (i + 1, i)
    return f'42{i}["chat",{{"text":"hello","n":{i}}}]', b'43%d[{"ok":true}]' % i


def record_capture(path: Path, pairs: int, protocol: str) -> None:
    """Record ``pairs`` exchanges through the connection, recorder and capture store."""
    rng = random.Random(1)
    clock = BenchClock()
    if protocol == "jsonrpc":
        url, subprotocols = "ws://127.0.0.1:9/rpc", ("jsonrpc",)
    else:
        url, subprotocols = "ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket", ()
    store = CaptureStore.create(path, endpoint=url, scheme="ws", options={}, clock=clock)
    recorder = Recorder(store, clock=clock, consumed=False)
    options = SessionOptions(compression=False, subprotocols=subprotocols)
    client = WebSocketConnection(parse_endpoint(url), options, recorder)
    server = ServerProtocol(subprotocols=list(subprotocols) or None, max_size=None)  # type: ignore[arg-type]
    server.receive_data(client.start(0))
    server.send_response(server.accept(server.events_received()[0]))
    clock.t = 200_000
    client.receive_data(b"".join(server.data_to_send()), clock.t)
    if protocol == "socketio":
        opening = b'0{"sid":"bench","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'
        client.receive_data(frame(opening), clock.t)
        clock.t += 50_000
        client.send_text("40")
        clock.t += 300_000
        client.receive_data(frame(b'40{"sid":"bench-ns"}'), clock.t)
    done = 0
    while done < pairs:
        window = min(rng.randint(1, 8), pairs - done)  # requests in flight together
        answers = []
        for i in range(done, done + window):
            clock.t += rng.randint(2_000, 20_000)
            request, answer = messages(protocol, i)
            client.send_text(request)
            answers.append(frame(answer))
        done += window
        if protocol == "socketio" and rng.random() < 0.02:  # a push and a ping between
            answers.insert(rng.randint(0, len(answers)), frame(b'42["news",{"n":%d}]' % done))
            answers.append(frame(b"2"))
        clock.t += rng.randint(100_000, 3_000_000)
        client.receive_data(b"".join(answers), clock.t)
        if answers[-1] == b"\x81\x012":
            clock.t += 20_000
            client.send_text("3")
    store.finish("closed", {})
    store.close()


def child(argv: list[str], tree: Path = REPO) -> tuple[float, float, float, str]:
    """Wall, user and system seconds and stdout of ``python ARGV`` in a source tree."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-S", "-c", _MEASURE, sys.executable, *argv],
                            cwd=tree, env=env, capture_output=True, text=True,
                            timeout=CHILD_TIMEOUT, check=True)  # fmt: skip
    wall = time.perf_counter() - start
    code, user, system = result.stderr.splitlines()[-1].split()
    if code != "0":
        raise SystemExit(f"{argv}: exit {code}: {result.stderr[-500:]}")
    return wall, float(user), float(system), result.stdout


def compare(capture: Path, old: Path, rounds: int) -> None:
    """``show --stats`` from the old tree and this one, alternating (old, new, new, old
    per round): each run's CPU, wall and load, the medians, and whether the outputs
    (text and ``--json``) are the same."""
    times: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    for _ in range(rounds):
        for name in ("old", "new", "new", "old"):
            load = os.getloadavg()[0]
            wall, user, system, _ = child(["-m", "inspector", "show", str(capture), "--stats"],
                                          old if name == "old" else REPO)  # fmt: skip
            times[name].append((user + system, wall))
            print(f"{name}: {user + system:.2f} s CPU, {wall:.2f} s wall, load {load:.2f}")
    for name, runs in times.items():
        cpu, wall = statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)
        print(f"{name} median of {len(runs)}: {cpu:.2f} s CPU, {wall:.2f} s wall")
    for extra in ([], ["--json"], ["--match-next"]):
        argv = ["-m", "inspector", "show", str(capture), "--stats", *extra]
        same = child(argv, old)[3] == child(argv)[3]
        print(f"output {' '.join(['--stats', *extra])}: {'the same' if same else 'DIFFERENT'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="?", type=int, default=500_000)
    parser.add_argument("--protocol", choices=("socketio", "jsonrpc"), default="socketio")
    parser.add_argument("--keep", metavar="DIR", help="write the capture here and keep it")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--compare", metavar="TREE",
                        help="also time show --stats from this source tree (e.g. a git worktree "
                             "of an older commit), alternating with this one, and check "
                             "that both print the same")  # fmt: skip
    args = parser.parse_args()
    directory = Path(args.keep or tempfile.mkdtemp(prefix="show-stats-"))
    directory.mkdir(parents=True, exist_ok=True)
    capture = directory / f"{args.protocol}-{args.pairs}.sockcap"
    if not capture.exists():
        start = time.perf_counter()
        record_capture(capture, args.pairs, args.protocol)
        size = capture.stat().st_size / 2**20
        print(f"recorded {args.pairs:,} pairs in {time.perf_counter() - start:.1f} s "
              f"({size:.0f} MiB)")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.compare:
        compare(capture, Path(args.compare).resolve(), args.rounds)
    for _ in range(args.rounds):
        wall, user, system, out = child(["-m", "inspector", "show", str(capture), "--stats"])
        print(f"show --stats: {wall:.2f} s wall, {user + system:.2f} s CPU "
              f"({user:.2f} user) -> {' / '.join(out.strip().splitlines()[:2])}")  # fmt: skip
    wall, user, system, _ = child(["-m", "inspector", "show", str(capture)])
    print(f"show (no decoding, for comparison): {wall:.2f} s wall, {user + system:.2f} s CPU")
    _, _, _, out = child(["-c", _MATCH_ONLY, str(args.pairs)])
    seconds, count = out.split()
    print(f"core.matching alone: {float(seconds):.2f} s for {int(count):,} pairs")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
