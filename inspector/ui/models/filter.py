"""The records filter: direction, kind, and text or a regular expression over payloads.

Text and regex ignore case and search the payload (the wire bytes when there is no
payload) decoded as UTF-8, as ``capture.search`` does.

The same filter runs in two places: the capture store answers it for every record
already written (``store.matching``), and :meth:`RecordFilter.matches` tests each new
batch the bridge appends, so the filtered table stays live without re-querying.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from inspector.core.records import Direction, Kind, Record
from inspector.protocols.decoders.where import Condition


class FilterError(ValueError):
    """The filter text is not a valid regular expression; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records the table shows; an empty filter shows all."""

    directions: frozenset[Direction] | None = None
    kinds: frozenset[Kind] | None = None
    text: str = ""
    regex: bool = False
    pattern: re.Pattern[str] | None = None
    #: Tests on decoded fields (``event == "chat"``); the records model applies them.
    conditions: tuple[Condition, ...] = ()

    @classmethod
    def build(
        cls,
        directions: Iterable[Direction] | None,
        kinds: Iterable[Kind] | None,
        text: str,
        regex: bool,
        conditions: Iterable[Condition] = (),
    ) -> RecordFilter:
        """Make a filter, compiling ``text`` when it is a regex; raise FilterError if bad."""
        pattern = None
        if regex and text:
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error as exc:
                position = f" at position {exc.pos}" if exc.pos is not None else ""
                raise FilterError(f"invalid regular expression{position}: {exc.msg}") from None
        return cls(
            frozenset(directions) if directions is not None else None,
            frozenset(kinds) if kinds is not None else None,
            text,
            regex,
            pattern,
            tuple(conditions),
        )

    @property
    def empty(self) -> bool:
        return (
            self.directions is None and self.kinds is None and not self.text
            and not self.conditions
        )  # fmt: skip

    def matches(self, record: Record) -> bool:
        """True when the record passes every part of the filter."""
        if self.directions is not None and record.direction not in self.directions:
            return False
        if self.kinds is not None and record.kind not in self.kinds:
            return False
        if not self.text:
            return True
        data = record.payload if record.payload is not None else record.wire
        haystack = data.decode("utf-8", errors="replace") if data else ""
        if self.pattern is not None:
            return self.pattern.search(haystack) is not None
        return self.text.casefold() in haystack.casefold()
