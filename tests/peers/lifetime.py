"""How a peer server in its own venv tells the test its port and is stopped.

The server prints ``listening PORT`` once it accepts connections, then runs until SIGTERM
or until its standard input (a pipe held by the test process) closes, so a peer never
outlives a test run that was killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys


class _EndOfInput(asyncio.Protocol):
    """Sets ``stop`` when the pipe on standard input closes."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop.set()


async def serve_until_stopped(port: int) -> None:
    """Say ``listening PORT`` and wait for SIGTERM or the end of standard input."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        await loop.connect_read_pipe(lambda: _EndOfInput(stop), sys.stdin)
    print(f"listening {port}", flush=True)
    await stop.wait()
