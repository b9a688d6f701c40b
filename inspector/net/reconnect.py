"""When and how soon to open a session again after it ended abnormally.

Shared by ``inspector probe --reconnect`` and the window: exponential back-off from
``reconnect_delay`` (1 s by default), doubling per attempt up to :data:`MAX_DELAY`,
for at most ``reconnect_max`` attempts. A session that ended normally, or that the
person stopped, is not opened again.
"""

from __future__ import annotations

from inspector.core.options import SessionOptions

#: The longest wait between two attempts (seconds).
MAX_DELAY = 30.0


def backoff_delay(attempt: int, first: float = 1.0) -> float:
    """Seconds to wait before attempt ``attempt`` (1, 2, …): first, twice that, four times, …"""
    return min(MAX_DELAY, first * (2 ** max(0, attempt - 1)))


def should_reconnect(options: SessionOptions, ended_ok: bool, attempts_made: int) -> bool:
    """True when a session that ended (``ended_ok`` False: abnormally) is to be opened
    again, ``attempts_made`` reconnections after the first session."""
    if not options.reconnect or ended_ok:
        return False
    return options.reconnect_max is None or attempts_made < options.reconnect_max


def reconnect_line(attempt: int, delay: float) -> str:
    """What the tab and the probe say while waiting: "reconnecting in 4 s (attempt 3)"."""
    return f"reconnecting in {delay:g} s (attempt {attempt})"
