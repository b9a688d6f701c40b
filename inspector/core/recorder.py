"""The Recorder numbers records, hands them to a sink and applies backpressure.

Producers (the protocol objects and the net layer) call :meth:`Recorder.record`.
Records are written to the sink (usually a capture Store) at once and kept in a
pending list until a consumer (the printer of ``inspector probe``, the GUI bridge)
takes them with :meth:`Recorder.drain`. When more than ``high_watermark`` records are
pending, the recorder calls its ``pause`` callback (the transport stops reading); the
next drain takes the whole queue and calls ``resume``. No callback, task or signal is
issued per record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inspector.core.clock import SessionClock
from inspector.core.records import Direction, Kind, Record, make_record
from inspector.core.runs import LINES, MessageRun


class RecordSink(ABC):
    """Where records are kept for good (a capture Store, a list in memory).

    These four methods are all the Recorder calls. A sink implements ``write``; the
    others have defaults that a sink overrides where it can do better (the capture
    store keeps a run as one row and commits on ``flush``).
    """

    @abstractmethod
    def write(self, record: Record) -> None:
        """Take one record; may buffer it."""

    def write_many(self, records: list[Record]) -> None:
        """Take the records of one read, in order (by default one ``write`` each)."""
        write = self.write
        for record in records:
            write(record)

    def write_run(self, run: MessageRun) -> None:
        """Take the framed messages of one read as one run (see core.runs); by default
        as the records the run stands for."""
        self.write_many(run.records())

    def flush(self) -> None:
        """Commit what is buffered (the Recorder asks every ``flush_bytes``); by
        default there is nothing to commit."""
        return


@dataclass(frozen=True, slots=True)
class CaptureLimit:
    """How much traffic a session keeps: at most ``records`` traffic records and/or
    ``bytes`` of their wire bytes (None: no bound). Past it, traffic is counted, not
    kept; meta records, errors and the end of the session are always kept."""

    records: int | None = None
    bytes: int | None = None

    def describe(self) -> str:
        """The limit as words, e.g. "1000 records" or "1048576 bytes"."""
        parts = []
        if self.records is not None:
            parts.append(f"{self.records} records")
        if self.bytes is not None:
            parts.append(f"{self.bytes} bytes")
        return " or ".join(parts) or "no limit"


_ALWAYS_KEPT = frozenset({Kind.ERROR, Kind.CLOSED, Kind.INFO})


class Recorder:
    """Creates records in sequence for one session."""

    def __init__(
        self,
        sink: RecordSink | None = None,
        *,
        clock: SessionClock | None = None,
        consumed: bool = True,
        high_watermark: int = 20_000,
        capture_limit: CaptureLimit | None = None,
        high_watermark_bytes: int = 8 << 20,
        flush_bytes: int = 8 << 20,
    ) -> None:
        self.clock = clock or SessionClock()
        self.sink = sink
        self._consumed = consumed
        #: What the consumer has not taken: records, and runs whose records are made
        #: only when it takes them (``_pending_count`` counts their records).
        self._pending: list[Record | MessageRun] = []
        self._pending_count = 0
        self._seq = 0
        self.high_watermark = high_watermark
        #: Also pause once the queued records hold this many bytes (wire and decoded
        #: payload; a flood of large reads reaches it long before the record count).
        self.high_watermark_bytes = high_watermark_bytes
        #: Ask the sink to commit (its ``flush()``) every so many bytes
        #: written, so a time-based commit does not buffer a whole flood in memory.
        self.flush_bytes = flush_bytes
        self._pending_bytes = 0
        self._unflushed = 0
        self._paused = False
        self._pause: Callable[[], None] | None = None
        self._resume: Callable[[], None] | None = None
        self.count_in = 0
        self.count_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.capture_limit = capture_limit
        self._kept_traffic = 0
        self._kept_bytes = 0
        self.not_kept = 0
        self.not_kept_bytes = 0
        #: While gathering (:meth:`start_gathering`): the run's direction, kind and
        #: framing, the messages' bytes so far and the time of the first.
        self._gathering: tuple[Direction, Kind, str] | None = None
        self._gathered: list[bytes] = []
        self._gathered_t = 0

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
        """Create the next record, write it to the sink and queue it for the consumer.

        Past the capture limit a traffic record is only counted: it is returned but
        neither numbered, written nor queued (the capture keeps no holes)."""
        if self._gathered:
            self._settle()
        kept = True
        if self.capture_limit is not None and direction is not Direction.META:
            if kind not in _ALWAYS_KEPT and not self._within_limit(len(wire)):
                self._not_kept(direction, t_ns, len(wire))
                kept = False
        elif kind is Kind.CLOSED and self.not_kept:
            self._report_not_kept()
        record = make_record(
            self._seq,
            self.clock.now() if t_ns is None else t_ns,
            direction,
            kind,
            wire,
            payload,
            fields if fields is not None else {},
        )
        if not kept:
            return record
        self._seq += 1
        size = len(wire)
        self._count(direction, 1, size)
        if payload is not None and payload is not wire:
            size += len(payload)  # memory held, not traffic: the decoded copy counts too
        self._hand_over([record], size)
        return record

    def record_many(
        self,
        direction: Direction,
        kind: Kind,
        t_ns: int,
        items: list[tuple[bytes, bytes | None, Mapping[str, Any]]],
    ) -> None:
        """Record several traffic records of one read at once: (wire, payload, fields) each.

        The same records as one :meth:`record` call per item, made in one loop and
        handed to the sink in one call: the receive path of a flood of small messages.
        """
        if self._gathered:
            self._settle()
        if self.capture_limit is not None:
            for wire, payload, fields in items:
                self.record(direction, kind, t_ns, wire, payload, fields)
            return
        seq = self._seq
        records = []
        append = records.append
        size = 0
        held = 0
        for wire, payload, fields in items:
            append(make_record(seq, t_ns, direction, kind, wire, payload, fields))
            seq += 1
            size += len(wire)
            if payload is not None and payload is not wire:
                held += len(payload)
        self._count(direction, seq - self._seq, size)
        self._seq = seq
        self._hand_over(records, held + size)

    def record_run(
        self,
        direction: Direction,
        kind: Kind,
        t_ns: int,
        wire: bytes,
        count: int,
        framing: str = LINES,
    ) -> None:
        """Record the ``count`` whole messages of one read (``wire``: their bytes back
        to back, cut by ``framing``) as a run.

        The same records as :meth:`record_many` with one item per message, but the sink
        takes them as one run (``write_run``: the capture store keeps one row), and the
        records are only made when a consumer will take them. Under a capture limit
        the messages are counted against it one by one (:meth:`record_many`).
        """
        if self._gathered:
            self._settle()
        run = MessageRun(self._seq, t_ns, direction, kind, wire, count, framing)
        if self.capture_limit is not None:
            items = [(r.wire, r.payload, r.fields) for r in run.records()]
            self.record_many(direction, kind, t_ns, items)
            return
        self._seq += count
        self._count(direction, count, len(wire))
        # Queued as the run: the consumer makes its records (the messages and their
        # bodies) when it takes them, or renders the run whole.
        self._hand_over([], 2 * len(wire) if self._consumed else len(wire), run)

    def start_gathering(self, direction: Direction, kind: Kind, framing: str) -> None:
        """Let :meth:`gather` collect the whole messages sent from now on into one run
        of ``framing`` (the answers to one read, written together).

        Any other record made meanwhile first records what was gathered, so sequence
        numbers stay in the order things happened; :meth:`stop_gathering` ends it.
        """
        self._settle()
        self._gathering = (direction, kind, framing)

    def gather(self, wire: bytes) -> bool:
        """Add one whole message's bytes (cut back out by the framing) to the run being
        gathered; False when nothing is gathered (record the message as usual)."""
        if self._gathering is None:
            return False
        if not self._gathered:
            self._gathered_t = self.clock.now()
        self._gathered.append(wire)
        return True

    def stop_gathering(self) -> None:
        """Record what was gathered as one run, stamped with its first message's time."""
        self._settle()
        self._gathering = None

    def _settle(self) -> None:
        parts, self._gathered = self._gathered, []
        if parts and self._gathering is not None:
            direction, kind, framing = self._gathering
            wire = parts[0] if len(parts) == 1 else b"".join(parts)
            self.record_run(direction, kind, self._gathered_t, wire, len(parts), framing)

    def _hand_over(self, records: list[Record], held: int, run: MessageRun | None = None) -> None:
        """Write new records (holding ``held`` bytes; or ``run``, whose records they
        are) to the sink, queue them for the consumer, commit every ``flush_bytes``
        and pause past the high watermarks."""
        sink = self.sink
        if sink is not None:
            if run is not None:
                sink.write_run(run)
            elif len(records) > 1:
                sink.write_many(records)
            elif records:
                sink.write(records[0])
            self._unflushed += held
            if self._unflushed >= self.flush_bytes:
                self._unflushed = 0
                sink.flush()
        if self._consumed and (records or run is not None):
            if run is not None:
                self._pending.append(run)
                self._pending_count += run.count
            else:
                self._pending.extend(records)
                self._pending_count += len(records)
            self._pending_bytes += held
            if not self._paused and (
                self._pending_count > self.high_watermark
                or self._pending_bytes > self.high_watermark_bytes
            ):
                self._paused = True
                if self._pause is not None:
                    self._pause()

    def _count(self, direction: Direction, count: int, size: int) -> None:
        """Add ``count`` traffic records of ``size`` wire bytes to the running totals."""
        if direction is Direction.IN:
            self.count_in += count
            self.bytes_in += size
        elif direction is Direction.OUT:
            self.count_out += count
            self.bytes_out += size

    def _within_limit(self, size: int) -> bool:
        """Count a traffic record against the limit; False once it no longer fits."""
        limit = self.capture_limit
        assert limit is not None
        if self.not_kept or (limit.records is not None and self._kept_traffic >= limit.records):
            return False
        if limit.bytes is not None and self._kept_bytes + size > limit.bytes:
            return False
        self._kept_traffic += 1
        self._kept_bytes += size
        return True

    def _not_kept(self, direction: Direction, t_ns: int | None, size: int) -> None:
        """Count a traffic record of ``size`` wire bytes past the capture limit; the
        first one is preceded by an INFO record saying the limit was reached."""
        if not self.not_kept:
            assert self.capture_limit is not None
            self.record(
                Direction.META,
                Kind.INFO,
                t_ns,
                fields={
                    "message": f"capture limit of {self.capture_limit.describe()} reached: "
                    "later traffic is counted, not kept"
                },
            )
        self.not_kept += 1
        self.not_kept_bytes += size
        self._count(direction, 1, size)

    def _report_not_kept(self) -> None:
        """Say, before the session's end, exactly how much traffic was not kept."""
        assert self.capture_limit is not None
        self.record(
            Direction.META,
            Kind.INFO,
            fields={
                "message": f"{self.not_kept} records ({self.not_kept_bytes} bytes) were not "
                f"kept: capture limit of {self.capture_limit.describe()}",
                "not_kept": self.not_kept,
                "not_kept_bytes": self.not_kept_bytes,
            },
        )

    @property
    def next_seq(self) -> int:
        """The sequence number the next record will get (= records so far)."""
        if self._gathered:
            self._settle()
        return self._seq

    # -- consuming ---------------------------------------------------------------

    def drain(self) -> list[Record]:
        """Take every record not yet consumed, oldest first, and end a pause.

        The queue is empty after a drain, so there is no second, lower mark to wait
        for: the consumer has caught up, and reading goes on.
        """
        items = self.drain_items()
        if not any(type(item) is MessageRun for item in items):
            return items  # type: ignore[return-value]
        records: list[Record] = []
        for item in items:
            if type(item) is MessageRun:
                records.extend(item.records())
            else:
                records.append(item)  # type: ignore[arg-type]
        return records

    def drain_items(self) -> list[Record | MessageRun]:
        """:meth:`drain`, but the messages of one read recorded as a run come as that
        :class:`MessageRun` (a consumer that shows runs whole makes no record each)."""
        if self._gathered:
            self._settle()
        pending, self._pending = self._pending, []
        self._pending_count = 0
        self._pending_bytes = 0
        if self._paused:
            self._paused = False
            if self._resume is not None:
                self._resume()
        return pending

    @property
    def pending(self) -> int:
        """How many records wait for the consumer."""
        return self._pending_count

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
