"""The files ``show`` and ``export`` read: native captures, HAR and JSON Lines, told
apart by their content, each seen as numbered sessions whose records are read a page
at a time.

Every input is hostile: whatever is wrong with it (missing, a directory, empty,
random bytes, truncated, damaged, written by a newer version) becomes one
:class:`CaptureError` line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from inspector.capture.formats import ImportedSession, import_har, records_of
from inspector.capture.formats.common import MAX_INPUT_BYTES
from inspector.capture.formats.detect import InputKind, detect_format
from inspector.capture.formats.jsonl import line_to_record
from inspector.capture.payloads import Payload
from inspector.capture.search import make_predicate
from inspector.capture.store import CaptureStore
from inspector.core.errors import CaptureError
from inspector.core.evenruns import Item
from inspector.core.records import Direction, Kind, Record

#: Records read (and printed or exported) per page.
PAGE = 4096


class Records(Protocol):
    """The records of one session: how many, and all of them in order."""

    def count(self) -> int: ...

    def __iter__(self) -> Iterator[Record]: ...


class StoreRecords:
    """A native capture's session, read a page at a time."""

    def __init__(self, store: CaptureStore) -> None:
        self.store = store

    def count(self) -> int:
        """How many records the session has."""
        return self.store.count()

    def __iter__(self) -> Iterator[Record]:
        return records_of(self.store, PAGE)

    def head(self, count: int) -> list[Record]:
        """The first ``count`` records (no more read than they need)."""
        return self.store.records(0, count)

    def pages(self) -> Iterator[list[Record]]:
        """All records, a page (list) at a time: the bulk read, for printing unfiltered."""
        return self.store.pages(0, PAGE)

    def items(self) -> Iterator[list[Item]]:
        """:meth:`pages` with runs of equal messages as even runs, rendered whole."""
        return self.store.items(0, PAGE)

    def payloads(self) -> Iterator[list[Payload | Record]]:
        """The application payloads as (seq, t_ns, outbound, payload), handshakes as
        records: the narrow read of statistics."""
        return self.store.payloads(0, PAGE)


class RecordList:
    """Records already in memory (a HAR import)."""

    def __init__(self, records: list[Record]) -> None:
        self._records = records

    def count(self) -> int:
        """How many records there are."""
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)


class JsonlFile:
    """A JSON Lines export read one line at a time, so its size does not matter.

    The file is read again on each pass; a line that is not a record stops the pass
    with a CaptureError naming its line number.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._count: int | None = None

    def count(self) -> int:
        """How many records (non-blank lines) there are; one pass, counted once."""
        if self._count is None:
            self._count = sum(1 for _ in self._lines())
        return self._count

    def __iter__(self) -> Iterator[Record]:
        where = repr(str(self.path))
        for number, line in self._lines():
            yield line_to_record(line, f"{where} line {number}")

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, line) of every non-blank line, each at most MAX_INPUT_BYTES."""
        try:
            with self.path.open("rb") as handle:
                for number, line in enumerate(
                    iter(lambda: handle.readline(MAX_INPUT_BYTES + 1), b""), 1
                ):
                    if len(line) > MAX_INPUT_BYTES:
                        raise CaptureError(
                            f"{str(self.path)!r} line {number} is longer than "
                            f"{MAX_INPUT_BYTES >> 20} MiB"
                        )
                    if line.strip():
                        yield number, line
        except OSError as exc:
            raise CaptureError(f"cannot read {self.path}: {exc.strerror or exc}") from None


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """One session of an input: its number (for ``--session``), facts and records.

    ``open()`` gives a context manager yielding the session's records, so a
    native capture's sessions hold no connection until they are read.
    """

    number: int
    session: Any  # CaptureSession or ImportedSession: endpoint, scheme, started_wall_ns, …
    open: Callable[[], AbstractContextManager[Records]]


@dataclass(frozen=True, slots=True)
class Input:
    """An opened input file: its kind and its sessions, in file order."""

    path: Path
    kind: InputKind
    sessions: list[SessionEntry]

    def select(self, number: int | None) -> list[SessionEntry]:
        """The session numbered ``number``, or all of them when None."""
        if number is None:
            return self.sessions
        for entry in self.sessions:
            if entry.number == number:
                return [entry]
        numbers = ", ".join(str(entry.number) for entry in self.sessions[:20])
        more = ", …" if len(self.sessions) > 20 else ""
        raise CaptureError(f"{self.path} has no session {number} (its sessions: {numbers}{more})")


def sniff(path: Path) -> InputKind:
    """Tell a native capture, a HAR file and JSON Lines apart by their first bytes."""
    return detect_format(path)


def open_input(path: str | os.PathLike[str]) -> Input:
    """Open any supported input; CaptureError with one line when it cannot be read."""
    path = Path(path)
    kind = sniff(path)
    if kind is InputKind.CAPTURE:
        return _open_capture(path)
    if kind is InputKind.HAR:
        imported = import_har(path)
        if not imported:
            raise CaptureError(f"{path} holds no WebSocket session")
        entries = [
            SessionEntry(number, session, _memory(records))
            for number, (session, records) in enumerate(imported, start=1)
        ]
        return Input(path, kind, entries)
    lines = JsonlFile(path)
    first = list(islice(lines, 1000))  # checks the start of the file and tells the scheme
    if not first:
        raise CaptureError(f"{path} holds no records")
    session = ImportedSession(endpoint="", scheme=_guess_scheme(first), started_wall_ns=0)
    return Input(path, kind, [SessionEntry(1, session, _given(lines))])


def _given(records: Records) -> Callable[[], AbstractContextManager[Records]]:
    @contextmanager
    def opened() -> Iterator[Records]:
        yield records

    return opened


def _memory(records: list[Record]) -> Callable[[], AbstractContextManager[Records]]:
    return _given(RecordList(records))


def _open_capture(path: Path) -> Input:
    """A native capture: each session is opened read-only when it is read."""
    with CaptureStore.open(path) as first:
        sessions = first.sessions()

    def opener(session_id: int) -> Callable[[], AbstractContextManager[Records]]:
        @contextmanager
        def opened() -> Iterator[Records]:
            with CaptureStore.open(path, session_id=session_id) as store:
                yield StoreRecords(store)

        return opened

    entries = [SessionEntry(s.id, s, opener(s.id)) for s in sessions]
    return Input(path, InputKind.CAPTURE, entries)


def _guess_scheme(records: Iterable[Record]) -> str:
    """The scheme of a session known only by its records (JSON Lines have no header)."""
    kinds = {record.kind for record in records}
    if kinds & {Kind.HANDSHAKE, Kind.FRAME}:
        return "ws"
    if Kind.DATAGRAM in kinds:
        return "udp"
    return "tcp"


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """What ``show`` keeps: directions, kinds and a text or regex search on the payload."""

    directions: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    text: str | None = None
    regex: str | None = None
    case_sensitive: bool = True

    @property
    def empty(self) -> bool:
        """True when every record passes."""
        return not (self.directions or self.kinds or self.text or self.regex)

    def check(self) -> None:
        """Raise CaptureError for an invalid regular expression, before any file is read."""
        make_predicate(self.text, self.regex, self.case_sensitive)


def filtered(source: Records, keep: RecordFilter, page: int = PAGE) -> Iterator[Record]:
    """The records of ``source`` that ``keep`` lets through, read a page at a time.

    A native capture is searched inside SQLite (``CaptureStore.matching``, the search
    the GUI runs) and only the matching records are read; records in memory are tested
    here with the same predicate.
    """
    if keep.empty:
        yield from source
        return
    if isinstance(source, StoreRecords):
        store = source.store
        seqs = store.matching(
            keep.directions, keep.kinds, keep.text, keep.regex, keep.case_sensitive
        )
        yield from _read_seqs(store, seqs, page)
        return
    predicate = make_predicate(keep.text, keep.regex, keep.case_sensitive)
    for record in source:
        if keep.directions is not None and str(record.direction) not in keep.directions:
            continue
        if keep.kinds is not None and str(record.kind) not in keep.kinds:
            continue
        data = record.payload if record.payload is not None else record.wire
        if predicate is not None and not predicate(bytes(data)):
            continue
        yield record


def _read_seqs(store: CaptureStore, seqs: list[int], page: int) -> Iterator[Record]:
    """The records numbered ``seqs`` (ascending): a range read where they are dense,
    one lookup each where they are sparse."""
    index = 0
    while index < len(seqs):
        first = seqs[index]
        end = index
        while end < len(seqs) and seqs[end] - first < page:
            end += 1
        wanted = seqs[index:end]
        span = wanted[-1] - first + 1
        if len(wanted) * 8 >= span:
            chosen = set(wanted)
            yield from (r for r in store.records(first, span) if r.seq in chosen)
        else:
            for seq in wanted:
                yield store.record(seq)
        index = end


def describe(entry: SessionEntry, count: int, total: int) -> dict[str, Any]:
    """The facts of a session for a header line: number, endpoint, start, state, count."""
    session = entry.session
    started = getattr(session, "started_wall_ns", 0)
    summary = getattr(session, "summary", None)
    return {
        "session": entry.number,
        "sessions": total,
        "endpoint": str(getattr(session, "endpoint", "") or ""),
        "scheme": str(getattr(session, "scheme", "") or ""),
        "started": iso_time(started) if isinstance(started, int) and started > 0 else None,
        "state": str(getattr(session, "state", "") or ""),
        "records": count,
        "summary": dict(summary) if isinstance(summary, Mapping) else {},
    }


def iso_time(ns: int) -> str | None:
    """ns since the epoch as ISO 8601 UTC with milliseconds, None when out of range."""
    try:
        stamp = datetime.fromtimestamp(ns / 1e9, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


DIRECTIONS = tuple(str(d) for d in Direction)
KINDS = tuple(str(k) for k in Kind)


def header_line(facts: dict[str, object], as_json: bool) -> str:
    """The line printed before each session of a file holding several."""
    if as_json:
        return json.dumps(facts, ensure_ascii=False, default=str)
    parts = [f"# session {facts['session']} of {facts['sessions']}", str(facts["endpoint"])]
    if facts["started"]:
        parts.append(f"started {facts['started']}")
    if facts["state"]:
        parts.append(str(facts["state"]))
    parts.append(f"{facts['records']:,} records")
    return " · ".join(parts)
