"""``inspector listen`` whose output cannot be written (a full disk): one line, exit 1,
every connection closed and the capture finished, whether the first line or a later
one fails."""

from __future__ import annotations

import errno
import io
import socket
import threading
from pathlib import Path

from inspector.capture.store import CaptureStore
from inspector.cli import run_command
from inspector.core.records import Kind

BOUND = 60.0  # seconds: the longest the command may run (a bound, never asserted)


class FullAfter(io.StringIO):
    """A stdout that takes ``lines`` writes, then fails as a full disk does."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines
        self.first = threading.Event()

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.left -= 1
        written = super().write(text)
        self.first.set()
        return written


def _listener_records(path: Path) -> list[Kind]:
    store = CaptureStore.open(path)
    try:
        return [r.kind for r in store.records(0, store.count())]
    finally:
        store.close()


def test_a_first_line_that_cannot_be_written_stops_with_the_capture_finished(
    tmp_path: Path,
) -> None:
    capture, err = tmp_path / "l.sockcap", io.StringIO()
    argv = ["listen", "tcp://127.0.0.1:0", "-o", str(capture), "--duration", str(BOUND)]
    status = run_command(argv, FullAfter(0), err)
    assert status == 1
    assert err.getvalue() == (
        "inspector listen: cannot write the output: No space left on device "
        "(stopped; the capture was finished)\n"
    )
    assert _listener_records(capture)[-1] is Kind.CLOSED


def test_output_that_fills_up_mid_run_stops_the_listener(tmp_path: Path) -> None:
    capture, out, err = tmp_path / "l.sockcap", FullAfter(1), io.StringIO()
    argv = ["listen", "tcp://127.0.0.1:0", "-o", str(capture), "--duration", str(BOUND)]
    statuses: list[int] = []
    runner = threading.Thread(target=lambda: statuses.append(run_command(argv, out, err)))
    runner.start()
    try:
        assert out.first.wait(BOUND)
        port = int(out.getvalue().split()[-1].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as client:
            client.sendall(b"hello")
    finally:
        runner.join(BOUND)
    assert statuses == [1]
    assert "cannot write the output: No space left on device" in err.getvalue()
    assert _listener_records(capture)[-1] is Kind.CLOSED
