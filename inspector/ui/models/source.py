"""Where the records table reads records from: a capture store, or memory as a fallback.

Reads that fail raise ``CaptureError`` (one line), as the store does.

The table model only needs the reading half of ``capture.store.CaptureStore``;
:class:`MemoryRecords` offers the same calls over a list, for a session whose capture
file could not be created or written (the session goes on, in memory only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from inspector.core.errors import CaptureError
from inspector.core.recorder import RecordSink
from inspector.core.records import Direction, Kind, Record
from inspector.ui.models.filter import RecordFilter


class RecordSource(Protocol):
    """The reading half of a capture store."""

    def count(self) -> int: ...

    def records(self, start: int, limit: int) -> Sequence[Record]: ...

    def record(self, seq: int) -> Record: ...

    def matching(
        self,
        directions: Iterable[Direction] | None = None,
        kinds: Iterable[Kind] | None = None,
        text: str | None = None,
        regex: str | None = None,
    ) -> Sequence[int]: ...


class MemoryRecords(RecordSink):
    """Records kept in a list: a RecordSink and a RecordSource in one."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._records: list[Record] = list(records)

    def write(self, record: Record) -> None:
        self._records.append(record)

    def count(self) -> int:
        return len(self._records)

    def records(self, start: int, limit: int) -> list[Record]:
        return self._records[max(0, start) : max(0, start) + max(0, limit)]

    def record(self, seq: int) -> Record:
        if 0 <= seq < len(self._records) and self._records[seq].seq == seq:
            return self._records[seq]
        found = next((r for r in self._records if r.seq == seq), None)
        if found is None:
            raise CaptureError(f"no record {seq}")
        return found

    def matching(
        self,
        directions: Iterable[Direction] | None = None,
        kinds: Iterable[Kind] | None = None,
        text: str | None = None,
        regex: str | None = None,
    ) -> list[int]:
        wanted = RecordFilter.build(directions, kinds, regex or text or "", bool(regex))
        return [r.seq for r in self._records if wanted.matches(r)]
