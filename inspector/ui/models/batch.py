"""What one flush of the bridge hands to the window: records, and runs kept whole.

A flood's reads arrive as runs (:class:`~inspector.core.runs.MessageRun`: the messages
of one read, one piece of bytes). Nothing the window does per flush needs a record per
message of a run: the table needs the last seq and the newest rows, the timing pane the
first record of each read and the bytes per second. :class:`RecordBatch` is a sequence
of every record (made on first use, for a consumer that wants them all) that also
offers ``heads`` (each single record and each run's first record, in order) and
``items`` (records and runs) for those that do not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from inspector.core.evenruns import even_run, first_record
from inspector.core.records import Record
from inspector.core.runs import MessageRun


class RecordBatch(Sequence[Record]):
    """The records of one flush, runs made into records only when asked."""

    __slots__ = ("_count", "_records", "heads", "items")

    def __init__(self, items: list[Record | MessageRun]) -> None:
        self.items = items
        #: Each single record and the first record of each run, in order.
        self.heads: list[Record] = [
            first_record(item) if type(item) is MessageRun else item  # type: ignore[misc]
            for item in items
        ]
        self._count = sum(item.count if type(item) is MessageRun else 1 for item in items)  # type: ignore[union-attr]
        self._records: list[Record] | None = None

    def records(self) -> list[Record]:
        """Every record, runs cut into theirs (made once)."""
        if self._records is None:
            records: list[Record] = []
            for item in self.items:
                if type(item) is MessageRun:
                    records.extend(item.records())
                else:
                    records.append(item)  # type: ignore[arg-type]
            self._records = records
        return self._records

    def newest(self, count: int) -> list[Record]:
        """The last ``count`` records (only the runs holding them are cut)."""
        out: list[Record] = []
        for item in reversed(self.items):
            if len(out) >= count:
                break
            if type(item) is MessageRun:
                even = even_run(item)
                wanted = count - len(out)
                out[:0] = even.last(wanted) if even is not None else item.records()[-wanted:]
            else:
                out.insert(0, item)  # type: ignore[arg-type]
        return out

    @property
    def end(self) -> int:
        """The seq after the batch's last record (0 for an empty batch)."""
        if not self.items:
            return 0
        last = self.items[-1]
        return last.end if type(last) is MessageRun else last.seq + 1  # type: ignore[union-attr]

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        return self.records()[index]
