"""Several sessions' records interleaved in one numbering, read from their own stores.

A server tab's "All connections" shows the listener's records and every connection's
in the order they arrived. The records themselves stay where they are kept (each
connection's capture session, or memory when there is no capture); this index holds
only which session's record stands at each place, as runs of consecutive records of one
session: a flood from one client is one entry, however many records it has. Reading
renumbers the records (``seq`` is the place in the interleaving) and moves their time
onto the listener's clock.
"""

from __future__ import annotations

import bisect
import dataclasses
from array import array
from collections.abc import Callable, Iterable, Sequence

from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record
from inspector.ui.models.source import RecordSource

#: The session of the listener's own records (connections are numbered from 1).
LISTENER = 0

#: Where a session's records are read from (None: not known, or gone).
SourceOf = Callable[[int | None], RecordSource | None]


class MergedRecords:
    """A RecordSource over other sources: place ``n`` is some session's record ``seq``."""

    def __init__(self, source_of: SourceOf) -> None:
        self._source_of = source_of
        #: One entry per run of consecutive records of one session: where it starts here,
        #: the session (LISTENER or a connection number), its first seq there.
        self._starts = array("q")
        self._sessions = array("q")
        self._firsts = array("q")
        self._count = 0
        #: Each session's offset onto the listener's clock (ns).
        self._offsets: dict[int, int] = {}

    # -- building -----------------------------------------------------------------

    def take(self, batch: Iterable[Record], conn: int | None, offset_ns: int) -> list[Record]:
        """Add a batch of one session's records (``conn`` None: the listener's), whose
        clock starts ``offset_ns`` after the listener's; the records as this numbering
        shows them (not kept: they are read back from the session's store)."""
        session = LISTENER if conn is None else conn
        self._offsets[session] = offset_ns
        added: list[Record] = []
        for record in batch:
            place = self._count
            if not self._continues(session, record.seq):
                self._starts.append(place)
                self._sessions.append(session)
                self._firsts.append(record.seq)
            self._count += 1
            added.append(dataclasses.replace(record, seq=place, t_ns=record.t_ns + offset_ns))
        return added

    def take_span(self, conn: int | None, first: int, count: int, offset_ns: int) -> None:
        """Add ``count`` records of one session from its ``first`` without reading them
        (a capture opened again: its rows' times give the order)."""
        session = LISTENER if conn is None else conn
        self._offsets[session] = offset_ns
        if not self._continues(session, first):
            self._starts.append(self._count)
            self._sessions.append(session)
            self._firsts.append(first)
        self._count += count

    def place_of(self, conn: int | None, seq: int) -> int | None:
        """Where record ``seq`` of connection ``conn`` (None: the listener) stands here."""
        session = LISTENER if conn is None else conn
        for run, start in enumerate(self._starts):
            if self._sessions[run] != session:
                continue
            run_end = self._starts[run + 1] if run + 1 < len(self._starts) else self._count
            first = self._firsts[run]
            if first <= seq < first + run_end - start:
                return start + seq - first
        return None

    def _continues(self, session: int, seq: int) -> bool:
        """True when ``seq`` of ``session`` follows the last run's last record."""
        if not self._starts:
            return False
        last = len(self._starts) - 1
        length = self._count - self._starts[last]
        return self._sessions[last] == session and self._firsts[last] + length == seq

    # -- reading (RecordSource) ---------------------------------------------------

    def count(self) -> int:
        return self._count

    def conn_of(self, place: int) -> int | None:
        """The connection number of the record at ``place`` (None: the listener's)."""
        if not 0 <= place < self._count:
            return None
        session = self._sessions[bisect.bisect_right(self._starts, place) - 1]
        return None if session == LISTENER else session

    def records(self, start: int, limit: int) -> list[Record]:
        start = max(0, start)
        stop = min(self._count, start + max(0, limit))
        out: list[Record] = []
        place = start
        while place < stop:
            run = bisect.bisect_right(self._starts, place) - 1
            run_end = self._starts[run + 1] if run + 1 < len(self._starts) else self._count
            take = min(stop, run_end) - place
            session = self._sessions[run]
            first = self._firsts[run] + place - self._starts[run]
            out += self._read(session, first, take, place)
            place += take
        return out

    def record(self, seq: int) -> Record:
        found = self.records(seq, 1)
        if not found:
            raise CaptureError(f"no record {seq}")
        return found[0]

    def _read(self, session: int, first: int, count: int, place: int) -> list[Record]:
        """``count`` records of ``session`` from its ``first``, renumbered from ``place``."""
        source = self._source_of(None if session == LISTENER else session)
        if source is None:
            raise CaptureError(f"the records of connection {session} are no longer readable")
        read = source.records(first, count)
        if len(read) != count:
            raise CaptureError(f"connection {session} has fewer records than were shown")
        offset = self._offsets.get(session, 0)
        return [
            dataclasses.replace(r, seq=place + i, t_ns=r.t_ns + offset) for i, r in enumerate(read)
        ]

    def matching(
        self,
        directions: Iterable[Direction] | None = None,
        kinds: Iterable[Kind] | None = None,
        text: str | None = None,
        regex: str | None = None,
    ) -> Sequence[int]:
        """The places of the records that pass the filter: each session's store searched
        once, its matches mapped to their places here."""
        wanted_dirs = list(directions) if directions is not None else None
        wanted_kinds = list(kinds) if kinds is not None else None
        found: dict[int, list[int]] = {}
        for session in set(self._sessions):
            source = self._source_of(None if session == LISTENER else session)
            if source is None:
                continue
            seqs = source.matching(wanted_dirs, wanted_kinds, text, regex)
            found[session] = sorted(seqs)
        places: list[int] = []
        for run, start in enumerate(self._starts):
            run_end = self._starts[run + 1] if run + 1 < len(self._starts) else self._count
            seqs = found.get(self._sessions[run])
            if not seqs:
                continue
            first = self._firsts[run]
            last = first + run_end - start
            low = bisect.bisect_left(seqs, first)
            high = bisect.bisect_left(seqs, last)
            places += [start + seq - first for seq in seqs[low:high]]
        return places
