"""Crash safety: a writer killed mid-flood leaves every committed record readable."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from capture_flood_writer import body

from inspector.capture import CaptureStore
from inspector.core.records import Direction

WRITER = Path(__file__).with_name("capture_flood_writer.py")
ROOT = Path(__file__).resolve().parents[2]


class LineReader:
    """Lines from a child's stdout pipe, each waited for at most 30 s (no buffering lag)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self._fd = process.stdout.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._buffer = b""

    def line(self) -> str:
        deadline = time.monotonic() + 30
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(timeout=remaining):
                raise AssertionError("the writer reported nothing for 30 s")
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise AssertionError("the writer stopped before it was killed")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def close(self) -> None:
        self._selector.close()


def _committed(line: str) -> int:
    """The count in a "committed N" line."""
    assert line.startswith("committed "), line
    return int(line.split()[1])


@pytest.mark.parametrize("mode", ["", "thread"], ids=["recording-thread", "commit-thread"])
def test_sigkilled_writer_keeps_every_reported_commit(tmp_path: Path, mode: str) -> None:
    """Also with a commit thread, whose checkpoints wait while the flood goes on: the
    commits are in the WAL, which the next open reads."""
    path = tmp_path / "crash.sockcap"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), "3000000", *([mode] if mode else [])],
        stdout=subprocess.PIPE,
        env=env,
    )
    reader = LineReader(process)
    live_checked = False
    try:
        reported = 0
        for _ in range(2):
            reported = _committed(reader.line())
        # Another process reads the live file (WAL) while it is being written.
        with CaptureStore.open(path) as live:
            first_seen = live.count()
            assert first_seen >= reported
            assert [r.seq for r in live.records(0, 20)] == list(range(20))
            assert live.session.state == "running"
            for _ in range(200):  # bounded: the writer commits every 0.1 s
                reported = _committed(reader.line())
                if reported > first_seen:
                    break
            assert reported > first_seen
            assert live.refresh() >= reported  # a reader can follow the growing file
            assert live.record(reported - 1).wire == body(reported - 1)
            live_checked = True
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        reader.close()
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
