"""The Recorder numbers records, hands them to a sink and applies backpressure.

Producers (the protocol objects and the net layer) call :meth:`Recorder.record`.
Records are written to the sink (usually a capture Store) at once and kept in a
pending list until a consumer (the printer of ``inspector probe``, the GUI bridge)
takes them with :meth:`Recorder.drain`. When more than ``high_watermark`` records are
pending, the recorder calls its ``pause`` callback (the transport stops reading);
when a drain brings the count to ``low_watermark`` or below, it calls ``resume``.
No callback, task or signal is issued per record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from inspector.core.clock import SessionClock
from inspector.core.records import Direction, Kind, Record, make_record


class RecordSink(Protocol):
    """Where records are kept for good (a capture Store)."""

    def write(self, record: Record) -> None:
        """Take one record; may buffer it."""


class Recorder:
    """Creates records in sequence for one session."""

    def __init__(
        self,
        sink: RecordSink | None = None,
        *,
        clock: SessionClock | None = None,
        consumed: bool = True,
        high_watermark: int = 20_000,
        low_watermark: int = 5_000,
    ) -> None:
        self.clock = clock or SessionClock()
        self.sink = sink
        self._consumed = consumed
        self._pending: list[Record] = []
        self._seq = 0
        self.high_watermark = high_watermark
        self.low_watermark = low_watermark
        self._paused = False
        self._pause: Callable[[], None] | None = None
        self._resume: Callable[[], None] | None = None
        self.count_in = 0
        self.count_out = 0
        self.bytes_in = 0
        self.bytes_out = 0

    # -- producing ---------------------------------------------------------------

    def now(self) -> int:
        """Nanoseconds since the session started."""
        return self.clock.now()

    def record(
        self,
        direction: Direction,
        kind: Kind,
        t_ns: int | None = None,
        wire: bytes = b"",
        payload: bytes | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> Record:
        """Create the next record, write it to the sink and queue it for the consumer."""
        record = make_record(
            self._seq,
            self.clock.now() if t_ns is None else t_ns,
            direction,
            kind,
            wire,
            payload,
            fields if fields is not None else {},
        )
        self._seq += 1
        if direction is Direction.IN:
            self.count_in += 1
            self.bytes_in += len(wire)
        elif direction is Direction.OUT:
            self.count_out += 1
            self.bytes_out += len(wire)
        if self.sink is not None:
            self.sink.write(record)
        if self._consumed:
            self._pending.append(record)
            if not self._paused and len(self._pending) > self.high_watermark:
                self._paused = True
                if self._pause is not None:
                    self._pause()
        return record

    @property
    def next_seq(self) -> int:
        """The sequence number the next record will get (= records so far)."""
        return self._seq

    # -- consuming ---------------------------------------------------------------

    def drain(self) -> list[Record]:
        """Take every record not yet consumed, oldest first."""
        pending, self._pending = self._pending, []
        if self._paused and len(self._pending) <= self.low_watermark:
            self._paused = False
            if self._resume is not None:
                self._resume()
        return pending

    @property
    def pending(self) -> int:
        """How many records wait for the consumer."""
        return len(self._pending)

    # -- flow control ------------------------------------------------------------

    def set_flow_control(
        self, pause: Callable[[], None] | None, resume: Callable[[], None] | None
    ) -> None:
        """Install the transport's pause/resume reading callbacks."""
        self._pause, self._resume = pause, resume
        if self._paused and pause is not None:
            pause()

    @property
    def paused(self) -> bool:
        """True while the producer is asked to stop reading."""
        return self._paused
