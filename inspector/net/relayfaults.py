"""Bad network on purpose: delay, jitter, loss, a rate limit and cuts, per relay direction.

A :class:`Shaper` sits between the read of one leg and the write to the other. It is told
each chunk (a TCP read, a WebSocket frame, a datagram) as it arrives and decides, at
once, what becomes of it: forwarded now, held until a time (delay ± jitter, then the rate
limit; order is kept, as toxiproxy's latency does), lost (messages only) or cut (the
connection ends after N bytes or messages). The decision is returned so the tap can put
it in the chunk's record: every effect is visible.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

#: Bytes a shaper may hold before the leg it reads from is paused (backpressure).
HOLD_HIGH = 1 << 20
#: Held bytes below which that leg reads again.
HOLD_LOW = 256 << 10


class CutMode(StrEnum):
    """How a cut ends the pair: a reset (RST both ways) or a close (FIN both ways)."""

    RESET = "reset"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Faults:
    """What one direction suffers. All zero/None: nothing (the fast path)."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0  # percent of messages (datagrams, WebSocket frames) dropped
    rate_kbps: float | None = None  # kilobits per second
    cut_after_bytes: int | None = None
    cut_after_messages: int | None = None
    cut_mode: CutMode = CutMode.RESET

    @property
    def active(self) -> bool:
        """True when anything is asked for."""
        return bool(
            self.delay_ms
            or self.jitter_ms
            or self.loss
            or self.rate_kbps
            or self.cut_after_bytes is not None
            or self.cut_after_messages is not None
        )

    @property
    def per_message(self) -> bool:
        """True when the effects need message boundaries (loss, a cut after N messages)."""
        return bool(self.loss) or self.cut_after_messages is not None

    def describe(self) -> str:
        """One line: "delay 100 ms ± 20 ms, loss 5%, rate 64 kbit/s, cut after 1000 bytes"."""
        parts = []
        if self.delay_ms or self.jitter_ms:
            jitter = f" ± {self.jitter_ms:g} ms" if self.jitter_ms else ""
            parts.append(f"delay {self.delay_ms:g} ms{jitter}")
        if self.loss:
            parts.append(f"loss {self.loss:g}%")
        if self.rate_kbps:
            parts.append(f"rate {self.rate_kbps:g} kbit/s")
        if self.cut_after_bytes is not None:
            parts.append(f"cut after {self.cut_after_bytes} bytes ({self.cut_mode})")
        if self.cut_after_messages is not None:
            parts.append(f"cut after {self.cut_after_messages} messages ({self.cut_mode})")
        return ", ".join(parts) or "none"


class Fate(StrEnum):
    """What became of one chunk."""

    SENT = "sent"
    HELD = "held"
    LOST = "lost"
    CUT = "cut"


@dataclass(frozen=True, slots=True)
class Decision:
    """The shaper's answer for one chunk: its fate, how long it is held, the part sent
    before a cut (a cut after N bytes may fall inside a chunk)."""

    fate: Fate
    held_ms: float = 0.0
    sent_bytes: int = 0

    def fields(self) -> dict[str, Any] | None:
        """The fields the chunk's record gets (None when nothing happened to it)."""
        if self.fate is Fate.SENT:
            return None
        if self.fate is Fate.HELD:
            return {"held_ms": round(self.held_ms, 3)}
        if self.fate is Fate.LOST:
            return {"lost": True}
        return {"cut": True, "sent_bytes": self.sent_bytes}


class Shaper:
    """Applies :class:`Faults` to one direction; ``write`` sends to the other leg."""

    def __init__(
        self,
        faults: Faults,
        write: Callable[[bytes], None],
        pause: Callable[[bool], None],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.faults = faults
        self._write = write
        self._pause = pause
        self._rng = rng or random.Random()
        self._queue: deque[tuple[float, bytes]] = deque()
        self._held = 0
        self._paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._last_release = 0.0
        self._rate_free = 0.0
        self.bytes = 0
        self.messages = 0
        self.lost = 0
        self.cut = False
        #: Called once the queue is empty (a half-close waits for it).
        self.on_empty: Callable[[], None] | None = None

    @property
    def idle(self) -> bool:
        """True when nothing is held."""
        return not self._queue

    def push(self, data: bytes, message: bool) -> Decision:
        """Decide ``data``'s fate and act on it (send, hold, drop or cut)."""
        f = self.faults
        if self.cut:
            return Decision(Fate.LOST)
        if message:
            if f.loss and self._rng.random() * 100.0 < f.loss:
                self.lost += 1
                return Decision(Fate.LOST)
            self.messages += 1
        cut_at: int | None = None
        if f.cut_after_bytes is not None and self.bytes + len(data) >= f.cut_after_bytes:
            cut_at = f.cut_after_bytes - self.bytes
        if message and f.cut_after_messages is not None and self.messages > f.cut_after_messages:
            cut_at = 0
        if cut_at is not None:
            self.cut = True
            part = data[:cut_at]
            if part:
                self._schedule(part)
            self.bytes += len(part)
            return Decision(Fate.CUT, sent_bytes=len(part))
        self.bytes += len(data)
        held = self._schedule(data)
        return Decision(Fate.HELD, held_ms=held) if held > 0 else Decision(Fate.SENT)

    def _schedule(self, data: bytes) -> float:
        """Send ``data`` now or queue it; return how many ms it is held."""
        f = self.faults
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = f.delay_ms
        if f.jitter_ms:
            delay += self._rng.uniform(-f.jitter_ms, f.jitter_ms)
        release = max(now + max(delay, 0.0) / 1000.0, self._last_release)
        if f.rate_kbps:
            release = max(release, self._rate_free)
            self._rate_free = release + len(data) * 8 / (f.rate_kbps * 1000.0)
        self._last_release = release
        if release <= now and not self._queue:
            self._write(data)
            return 0.0
        self._queue.append((release, data))
        self._held += len(data)
        if self._held > HOLD_HIGH and not self._paused:
            self._paused = True
            self._pause(True)
        if self._timer is None:
            self._timer = loop.call_at(self._queue[0][0], self._release)
        return (release - now) * 1000.0

    def _release(self) -> None:
        """Send every chunk whose time has come; wait for the next."""
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        queue = self._queue
        while queue and queue[0][0] <= now:
            _at, data = queue.popleft()
            self._held -= len(data)
            self._write(data)
        if self._paused and self._held < HOLD_LOW:
            self._paused = False
            self._pause(False)
        if queue:
            self._timer = loop.call_at(queue[0][0], self._release)
        elif self.on_empty is not None:
            callback, self.on_empty = self.on_empty, None
            callback()

    def cancel(self) -> None:
        """Forget what is held (the pair ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
        self._held = 0
