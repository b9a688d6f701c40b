"""Desktop app under a WebSocket flood: responsiveness, receive rate, memory, startup.

With the real MainWindow open (offscreen platform) this measures: (1) how late a 10 ms
repeating QTimer fires while 200,000 x 64-byte messages arrive; (2) the window's
receive rate against a bare ``websockets`` client taking the same stream from the same
server in the same run; (3) the RSS of the whole process after a session of 1,000,000
records; (4) startup of ``python -m inspector`` to an exposed window (through the
INSPECTOR_STARTUP_PROBE hook of inspector/app.py). Every wait is bounded in time.
``--decoders none,socketio --rounds R``: floods of Socket.IO events received with each
session's "Decode as" set to each name in turn (alternated), their rates side by side.
Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_flood.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _flood import CLIENT_TIMEOUT, PYTHON, REPO, socketio_stream, start_server, ws_stream

sys.path.insert(0, str(REPO))

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from inspector.ui.event_loop import freeze_startup_objects, new_event_loop
from inspector.ui.main_window import MainWindow
from inspector.ui.settings import Settings
from inspector.ui.tabs.session import SessionTab

TICK_MS = 10
FLOOD_TIMEOUT = 300.0  # seconds for one flood to be shown in full
STARTUP_RUNS = 3

#: Prints the seconds from connecting to the last message (interpreter start excluded).
BARE_CLIENT = """
import asyncio, sys, time
from websockets.asyncio.client import connect

async def main(url, count):
    start = time.perf_counter()
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        for _ in range(count):
            await ws.recv()
        print(time.perf_counter() - start, flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@dataclass(frozen=True, slots=True)
class Flood:
    """One flood shown by the window: messages, seconds, timer lateness samples (s)."""

    messages: int
    seconds: float
    lateness: list[float]
    #: CPU seconds the GUI thread spent between two ticks: its own share of lateness,
    #: which other processes' load on the machine does not change.
    busy: list[float]
    rss_mib: float
    peak_mib: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def _status_mib(field: str) -> float:
    """VmRSS or VmHWM of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def bare_rate(port: int, messages: int) -> float:
    """Messages per second of a bare websockets client (its own process)."""
    result = subprocess.run(
        [PYTHON, "-c", BARE_CLIENT, f"ws://127.0.0.1:{port}/", str(messages)],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=True,
    )
    return messages / float(result.stdout.strip())


def _drained(tab: SessionTab) -> bool:
    """The session ended and every record it made reached the table."""
    recorder = tab.recorder
    return (
        tab.state in ("closed", "failed")
        and recorder is not None
        and tab.counters.records_in == recorder.count_in
        and tab.counters.records_out == recorder.count_out
    )


async def _wait(tab: SessionTab, deadline: float) -> None:
    while not _drained(tab):
        if time.monotonic() > deadline:
            raise TimeoutError(f"flood not shown within {FLOOD_TIMEOUT:.0f} s (state {tab.state})")
        await asyncio.sleep(0.02)


def flood(
    window: MainWindow,
    loop: asyncio.AbstractEventLoop,
    port: int,
    messages: int,
    path: str = "/",
    decoder: str | None = None,
) -> Flood:
    """Open a session on the flood server in the window, decoding as ``decoder`` (the
    tab's "Decode as", set before the first record) or automatically; time it and the
    10 ms timer."""
    lateness: list[float] = []
    busy: list[float] = []
    last: list[float] = []

    def tick() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if last:
            lateness.append(max(0.0, now - last[0] - TICK_MS / 1000))
            busy.append(cpu - last[1])
            last[:] = now, cpu
        else:
            last.extend((now, cpu))

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    timer.start()
    start = time.perf_counter()
    tab = window.open_url(f"ws://127.0.0.1:{port}{path}")
    assert tab is not None
    if decoder is not None:
        tab.view.set_decoder(decoder)
    loop.run_until_complete(_wait(tab, time.monotonic() + FLOOD_TIMEOUT))
    seconds = time.perf_counter() - start
    timer.stop()
    return Flood(messages, seconds, lateness, busy, _status_mib("VmRSS"), _status_mib("VmHWM"))


def _busy(flood: Flood) -> str:
    """The GUI thread's CPU between two ticks of ``flood``, p99 / max, in ms."""
    busy_ms = [x * 1000 for x in flood.busy]
    return f"{_percentile(busy_ms, 0.99):.1f} / {max(busy_ms, default=0.0):.1f}"


def startup_seconds(capture_dir: Path) -> list[float]:
    """Seconds from starting ``python -m inspector`` to its "shown" line, per run."""
    env = dict(os.environ, INSPECTOR_STARTUP_PROBE="1", INSPECTOR_CAPTURE_DIR=str(capture_dir))
    env["PYTHONPATH"] = str(REPO)
    times = []
    for _ in range(STARTUP_RUNS):
        start = time.perf_counter()
        with subprocess.Popen(
            [PYTHON, "-m", "inspector"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            elapsed = time.perf_counter() - start
            proc.wait(timeout=30)
        if line != "shown":
            raise RuntimeError(f"startup probe said {line!r}")
        times.append(elapsed)
    return times


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    ram = _meminfo_gib()
    return f"{os.cpu_count()} CPUs ({cpu}), {ram:.0f} GiB RAM, Python {platform.python_version()}"


def _meminfo_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _finish(
    app: QApplication,
    loop: asyncio.AbstractEventLoop,
    window: MainWindow,
    server: multiprocessing.Process,
) -> float:
    """Wait for the flood's server process (at most 10 s), then close the window (10 s
    of events at most) and its loop; the load average (1 min) when the flood ended."""
    server.join(timeout=10)
    if server.is_alive():
        server.terminate()
    load_after = os.getloadavg()[0]
    window.close()
    deadline = time.monotonic() + 10
    while not window.closed and time.monotonic() < deadline:
        app.processEvents()
    loop.close()
    return load_after


def _window(tmp: str) -> tuple[QApplication, asyncio.AbstractEventLoop, MainWindow]:
    """The real MainWindow shown offscreen, with its qasync loop current."""
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, Path(tmp) / "captures")
    window.show()
    freeze_startup_objects()  # as inspector.app.run does
    return app, loop, window


def flood_only(messages: int, size: int) -> int:
    """One flood in the window: its timer lateness, rate and the load average."""
    with tempfile.TemporaryDirectory() as tmp:
        app, loop, window = _window(tmp)
        load_before = os.getloadavg()[0]
        server, port = start_server("ws", ws_stream(messages, size), 1)
        try:
            big = flood(window, loop, port, messages)
        finally:
            load_after = _finish(app, loop, window, server)
    late_ms = [x * 1000 for x in big.lateness]
    busy_ms = [x * 1000 for x in big.busy]
    print(
        f"{messages:,} msgs: {big.rate:,.0f} msg/s ({big.seconds:.2f} s); timer p50 / p99 / max "
        f"{statistics.median(late_ms):.1f} / {_percentile(late_ms, 0.99):.1f} / "
        f"{max(late_ms):.1f} ms ({len(late_ms):,} ticks); GUI thread CPU between ticks "
        f"p99 / max {_percentile(busy_ms, 0.99):.1f} / {max(busy_ms):.1f} ms, "
        f"{sum(busy_ms) / 1000:.2f} s in all; "
        f"load {load_before:.1f} -> {load_after:.1f}"
    )
    return 0


def _last_summary(tab: SessionTab) -> str | None:
    """The decoder's summary of the last message shown (the close frame comes after it)."""
    model = tab.model
    rows = model.rowCount() if model is not None else 0
    for row in range(rows - 1, max(rows - 10, 0), -1):
        record = model.record_at(row) if model is not None else None
        if record is not None and (record.payload or b"").startswith(b"42"):
            return tab.view.decoding.summary(record)
    return None


async def _paired(tab: SessionTab, deadline: float) -> None:
    while not tab.view.pairing.done:
        if time.monotonic() > deadline:
            raise TimeoutError(f"pairing not done within {FLOOD_TIMEOUT:.0f} s")
        await asyncio.sleep(0.01)


def compare_decoders(names: list[str], messages: int, size: int, rounds: int) -> int:
    """Floods of Socket.IO events with each session decoded as each of ``names``, the
    order turned round every round; the rates and their same-round ratios."""
    rates: dict[str, list[float]] = {name: [] for name in names}
    seen: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app, loop, window = _window(tmp)
        load_before = os.getloadavg()[0]
        server, port = start_server("ws", socketio_stream(messages, size), rounds * len(names))
        try:
            for round_ in range(rounds):
                for name in names if round_ % 2 == 0 else names[::-1]:
                    url = "/socket.io/?EIO=4&transport=websocket"
                    shown = flood(window, loop, port, messages, url, name)
                    rates[name].append(shown.rate)
                    tab = window.tabs.currentWidget()
                    assert isinstance(tab, SessionTab)
                    view = tab.view
                    seen[name] = f"chose {view.decoding.chosen}: {_last_summary(tab)!r}"
                    paired = ""
                    if view.pairing.started:  # the flood's records read for pairing after it
                        during, start = view.pairing.read, time.perf_counter()
                        loop.run_until_complete(_paired(tab, time.monotonic() + FLOOD_TIMEOUT))
                        after = time.perf_counter() - start
                        paired = (
                            f"; pairing read {during:,} records during the flood, all "
                            f"{view.pairing.read:,} {after:.2f} s after"
                        )
                    took = f"{shown.rate:,.0f} msg/s ({shown.seconds:.2f} s){paired}"
                    print(f"round {round_ + 1} {name}: {took}", flush=True)
        finally:
            load_after = _finish(app, loop, window, server)
    base = names[0]
    print(f"Machine: {machine()}; load average (1 min) {load_before:.1f} -> {load_after:.1f}")
    print(f"{rounds} rounds of {messages:,} Socket.IO events of {size} B, order alternated\n")
    print("| decode as | msg/s per round | median | median of ratios to " + base + " |")
    print("|---|---|---:|---:|")
    for name in names:
        ratios = [a / b for a, b in zip(rates[name], rates[base], strict=True)]
        print(
            f"| {name} ({seen[name]}) | "
            + ", ".join(f"{r:,.0f}" for r in rates[name])
            + f" | {statistics.median(rates[name]):,.0f} | {statistics.median(ratios):.3f} |"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--memory-records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument(
        "--flood-only",
        action="store_true",
        help="only the --memory-records flood and its timer (no startup, no bare client)",
    )
    parser.add_argument(
        "--decoders",
        help='comma-separated "Decode as" choices (e.g. none,socketio): alternated floods '
        "of --messages Socket.IO events, one per choice per round (no startup, no bare client)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --decoders")
    args = parser.parse_args()
    if args.decoders:
        return compare_decoders(args.decoders.split(","), args.messages, args.size, args.rounds)
    if args.flood_only:
        return flood_only(args.memory_records, args.size)

    with tempfile.TemporaryDirectory() as tmp:
        captures = Path(tmp) / "captures"
        startup = startup_seconds(captures)
        load_before = os.getloadavg()[0]

        app = QApplication([sys.argv[0]])
        loop = new_event_loop(app)
        asyncio.set_event_loop(loop)
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings, captures)
        window.show()
        freeze_startup_objects()  # as inspector.app.run does
        rss_start = _status_mib("VmRSS")

        server, port = start_server("ws", ws_stream(args.messages, args.size), 2)
        try:
            bare = bare_rate(port, args.messages)
            shown = flood(window, loop, port, args.messages)
        finally:
            server.join(timeout=10)
            if server.is_alive():
                server.terminate()
        server, port = start_server("ws", ws_stream(args.memory_records, args.size), 1)
        try:
            big = flood(window, loop, port, args.memory_records)
        finally:
            server.join(timeout=10)
            if server.is_alive():
                server.terminate()
        window.close()
        deadline = time.monotonic() + 10
        while not window.closed and time.monotonic() < deadline:
            app.processEvents()
        loop.close()

    late_ms = [x * 1000 for x in shown.lateness]
    big_ms = [x * 1000 for x in big.lateness]
    lines = [
        f"Machine: {machine()}; Qt platform {os.environ['QT_QPA_PLATFORM']}",
        "",
        "| measure | result | target |",
        "|---|---:|---:|",
        f"| 10 ms timer lateness during {args.messages:,} msgs: p50 / p99 / max | "
        f"{statistics.median(late_ms):.1f} / {_percentile(late_ms, 0.99):.1f} / "
        f"{max(late_ms):.1f} ms ({len(late_ms):,} ticks) | p99 ≤ 50, max ≤ 200 ms |",
        f"| window receive rate ({args.messages:,} x {args.size} B) | {shown.rate:,.0f} msg/s "
        f"({shown.seconds:.2f} s) | |",
        f"| bare websockets client, same stream | {bare:,.0f} msg/s | |",
        f"| window / bare | {shown.rate / bare:.2f}x | ≥ 0.6x |",
        f"| {args.memory_records:,}-record session: time, rate | {big.seconds:.1f} s, "
        f"{big.rate:,.0f} msg/s | |",
        f"| … its timer lateness p99 / max | {_percentile(big_ms, 0.99):.1f} / "
        f"{max(big_ms):.1f} ms | |",
        f"| GUI thread CPU between ticks p99 / max, {args.messages:,} / "
        f"{args.memory_records:,} msgs | {_busy(shown)} / {_busy(big)} ms | |",
        f"| load average (1 min) before / after | {load_before:.1f} / {os.getloadavg()[0]:.1f} | |",
        f"| RSS: window shown / after {args.messages:,} / after {args.memory_records:,} "
        f"(peak) | {rss_start:.0f} / {shown.rss_mib:.0f} / {big.rss_mib:.0f} "
        f"({big.peak_mib:.0f}) MiB | ≤ 400 MB |",
        f"| startup to exposed window ({STARTUP_RUNS} runs) | "
        + " / ".join(f"{s:.2f}" for s in startup)
        + " s | ≤ 1.5 s |",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
