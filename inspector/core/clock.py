"""The two clocks of a session: a monotonic one for spacing, a wall clock for dates."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SessionClock:
    """Timestamps as nanoseconds since the session started, anchored to the wall clock.

    Intervals come from ``time.monotonic_ns`` so they never jump; ``started_wall_ns``
    (Unix epoch, ns) lets a viewer turn a relative time into an absolute one.
    """

    started_mono_ns: int = field(default_factory=time.monotonic_ns)
    started_wall_ns: int = field(default_factory=time.time_ns)

    def now(self) -> int:
        """Nanoseconds since the session started."""
        return time.monotonic_ns() - self.started_mono_ns

    def wall_ns(self, t_ns: int) -> int:
        """The Unix time (ns) of a relative timestamp."""
        return self.started_wall_ns + t_ns
