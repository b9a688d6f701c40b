"""Crash safety: a writer killed mid-flood leaves every committed record readable."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

from capture_flood_writer import body

from inspector.capture import CaptureStore
from inspector.core.records import Direction

WRITER = Path(__file__).with_name("capture_flood_writer.py")
ROOT = Path(__file__).resolve().parents[2]


def _read_line(process: subprocess.Popen[str], selector: selectors.BaseSelector) -> str:
    """The writer's next line, waiting at most 30 s for it."""
    if not selector.select(timeout=30):
        raise AssertionError("the writer reported nothing for 30 s")
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        raise AssertionError(f"the writer stopped: {process.wait(10)}")
    return line.strip()


def test_sigkilled_writer_keeps_every_reported_commit(tmp_path: Path) -> None:
    path = tmp_path / "crash.sockcap"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), "3000000"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    selector = selectors.DefaultSelector()
    assert process.stdout is not None
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        reported = 0
        commits = 0
        live_checked = False
        while commits < 5:
            line = _read_line(process, selector)
            assert line.startswith("committed "), line
            reported = int(line.split()[1])
            commits += 1
            if commits == 2:
                # Another process reads the live file (WAL) while it is being written.
                with CaptureStore.open(path) as live:
                    seen = live.count()
                    assert seen >= reported
                    assert [r.seq for r in live.records(0, 20)] == list(range(20))
                    assert live.session.state == "running"
                live_checked = True
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        selector.close()
        if process.stdout:
            process.stdout.close()
    assert live_checked and process.returncode == -signal.SIGKILL

    with CaptureStore.open(path) as store:
        total = store.count()
        assert total >= reported
        assert store.session.state == "running"  # never finished: the writer died
        seq = 0
        while seq < total:
            page = store.records(seq, 5000)
            assert page, f"no records from {seq} of {total}"
            for record in page:
                assert record.seq == seq
                assert record.wire == body(seq) and record.payload == body(seq)
                assert record.direction is (Direction.IN if seq % 2 else Direction.OUT)
                assert record.fields == ({"n": seq} if seq % 5 == 0 else {})
                seq += 1
        assert seq == total
        assert store.matching(text="record 00000003 ") == [3]
