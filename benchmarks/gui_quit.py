"""Quitting the desktop app, or closing a tab, during a 1,000,000-message WebSocket flood.

The real app (``inspector.app.run``, offscreen) runs in a child process with a session
to a loopback flood server (``_flood.py``: 1,000,000 text frames of 64 bytes). Once
50,000 records have arrived the child presses Ctrl+Q (the Quit action) or closes the
session's tab, and prints, on the system-wide monotonic clock: when it did, when the
window was hidden (or the tab gone), and for a tab when the session had ended and its
capture was finished. The parent notes when the child process ended, then opens the
capture: finished (not "running"), the client's close frame recorded as sent, and the
last record the session's end. ``--runs R`` alternates quit and tab-close runs.
Run: ``.venv/bin/python benchmarks/gui_quit.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _flood import CLIENT_TIMEOUT, PYTHON, REPO, start_server, ws_stream

sys.path.insert(0, str(REPO))

from inspector.capture.files import STATE_RUNNING
from inspector.capture.store import CaptureStore
from inspector.core.records import Kind

MESSAGES = 1_000_000
AFTER = 50_000  # records shown before quitting: the flood is in full swing

#: The app with a hook: after AFTER records, quit (or close the tab) and report times.
CHILD = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from inspector.app import run
from inspector.ui.main_window import MainWindow

url, capture_dir, mode, after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
now = time.monotonic
state = {}

def say(what):
    print(what, now(), flush=True)

def watch():
    app = QApplication.instance()
    windows = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow)]
    window = windows[0] if windows else None
    tab = window.current_tab() if window is not None else None
    if "asked" not in state:
        if tab is not None and tab.counters.records_in >= after and tab.state == "open":
            state["asked"], state["tab"] = True, tab
            print("capture", tab.capture_path, flush=True)
            say("asked")
            if mode == "quit":
                window.quit_action.trigger()
            else:
                window.close_tab(window.tabs.indexOf(tab))
        QTimer.singleShot(1, watch)
        return
    if "gone" not in state:
        gone = not window.isVisible() if mode == "quit" else window.tabs.count() == 0
        if gone:
            state["gone"] = True
            say("gone")
    tab = state["tab"]
    if mode == "tab" and "finished" not in state and tab._finished and tab.store._closed:
        state["finished"] = True
        say("finished")
        window.close()
        return
    if not window.closed:
        QTimer.singleShot(1, watch)

QTimer.singleShot(0, watch)
code = run([url, "--capture-dir", capture_dir])
say("returned")
sys.exit(code)
"""


def one_run(port: int, mode: str, capture_dir: Path) -> dict[str, float | str]:
    """One child run; the times (s) from the request to each event, and the checks."""
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [PYTHON, "-c", CHILD, f"ws://127.0.0.1:{port}/", str(capture_dir), mode, str(AFTER)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, err = child.communicate(timeout=CLIENT_TIMEOUT)
    ended = time.monotonic()
    times: dict[str, float] = {}
    capture = ""
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        if name == "capture":
            capture = value
        elif value:
            times[name] = float(value)
    if "asked" not in times or child.returncode != 0:
        raise SystemExit(f"{mode} run failed (exit {child.returncode}): {err[-800:]}")
    asked = times["asked"]
    result: dict[str, float | str] = {
        name: value - asked for name, value in times.items() if name != "asked"
    }
    result["exit"] = ended - asked
    with CaptureStore.open(capture) as store:
        count = store.count()
        last = store.record(count - 1)
        sent = [store.record(seq) for seq in store.matching({"out"}, {"frame"}, None, None, True)]
        sent_close = any(r.fields.get("opcode") == "close" for r in sent)
        result["check"] = (
            f"{store.session.state}, {count:,} records, close sent: {sent_close}, "
            f"last: {last.kind} {last.fields.get('message', '')}"
        )
        result["ok"] = str(
            store.session.state != STATE_RUNNING and sent_close and last.kind is Kind.CLOSED
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each mode")
    args = parser.parse_args()
    modes = [mode for _ in range(args.runs) for mode in ("quit", "tab")]
    server, port = start_server("ws", ws_stream(MESSAGES, 64), len(modes))
    results: dict[str, list[dict[str, float | str]]] = {"quit": [], "tab": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for number, mode in enumerate(modes):
                directory = Path(tmp) / str(number)
                results[mode].append(one_run(port, mode, directory))
    finally:
        server.terminate()
        server.join(timeout=5)
    for mode, runs in results.items():
        print(f"### {'Ctrl+Q' if mode == 'quit' else 'closing the tab'} during the flood\n")
        for run in runs:
            print(f"- {run}")
        for key in ("gone", "finished", "returned", "exit"):
            values = [float(run[key]) for run in runs if key in run]
            if values:
                print(
                    f"- {key}: median {statistics.median(values):.3f} s "
                    f"[{min(values):.3f}-{max(values):.3f}]"
                )
        print()
    ok = all(run["ok"] == "True" for runs in results.values() for run in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
