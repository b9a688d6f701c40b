"""What every export and import format shares: the session it describes, progress, and
safe reading of files that may be hostile."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from inspector.core.endpoints import Endpoint, parse_endpoint
from inspector.core.errors import CaptureError, EndpointError
from inspector.core.evenruns import EvenRun, Item
from inspector.core.records import Record
from inspector.core.userfiles import read_bounded

#: Progress is reported once per this many records (and once at the end).
PROGRESS_EVERY = 1024

#: An input file larger than this is refused before it is read (JSON has to be parsed whole).
MAX_INPUT_BYTES = 1 << 30

#: A progress callback: gets the number of records done, returns False to cancel.
Progress = Callable[[int], bool]


class SessionLike(Protocol):
    """The session facts an exporter needs; the capture store's session info fits this."""

    @property
    def endpoint(self) -> str: ...

    @property
    def scheme(self) -> str: ...

    @property
    def started_wall_ns(self) -> int: ...

    @property
    def summary(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class ImportedSession:
    """A session read back from a file made elsewhere (HAR): what a store session says."""

    endpoint: str
    scheme: str
    started_wall_ns: int
    ended_wall_ns: int | None = None
    state: str = "closed"
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    summary: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class PagedRecords(Protocol):
    """What :func:`records_of` reads: the capture store's paging methods."""

    def count(self) -> int: ...

    def records(self, start: int, limit: int) -> list[Record]: ...


def records_of(store: PagedRecords, page: int = 4096) -> Iterator[Record]:
    """Every record of a store, fetched a page at a time (a million never sit in memory)."""
    pages = getattr(store, "pages", None)
    if pages is not None:  # the capture store's bulk read
        for batch in pages(0, page):
            yield from batch
        return
    total = store.count()
    start = 0
    while start < total:
        batch = store.records(start, min(page, total - start))
        if not batch:
            return
        yield from batch
        start = batch[-1].seq + 1


class ExportCancelled(CaptureError):
    """The progress callback asked to stop; the output is incomplete."""


def session_endpoint(session: SessionLike) -> Endpoint | None:
    """The parsed endpoint of a session, or None when its text is not a valid URL."""
    text = str(getattr(session, "endpoint", "") or "")
    if "://" not in text:
        scheme = str(getattr(session, "scheme", "") or "")
        text = f"{scheme}://{text}"
    try:
        return parse_endpoint(text)
    except EndpointError:
        return None


def session_scheme(session: SessionLike) -> str:
    """The session's scheme in lower case ("ws", "tcp", …), from its fields or its URL."""
    scheme = str(getattr(session, "scheme", "") or "").lower()
    if scheme:
        return scheme
    endpoint = session_endpoint(session)
    return str(endpoint.scheme) if endpoint is not None else ""


def started_ns(session: SessionLike) -> int:
    """The session's wall-clock start in ns since the epoch, 0 when it is not an int."""
    value = getattr(session, "started_wall_ns", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def with_progress(records: Iterable[Item], progress: Progress | None) -> Iterator[Item]:
    """Yield the records (and even runs), calling ``progress`` every
    :data:`PROGRESS_EVERY` records and at the end; raise :class:`ExportCancelled` when
    it returns False."""
    if progress is None:
        yield from records
        return
    done = 0
    for record in records:
        yield record
        before = done
        done += record.run.count if type(record) is EvenRun else 1
        if done // PROGRESS_EVERY != before // PROGRESS_EVERY and progress(done) is False:
            raise ExportCancelled(f"export cancelled after {done} records")
    if progress(done) is False:
        raise ExportCancelled(f"export cancelled after {done} records")


def read_input(path: str | Path, what: str) -> bytes:
    """The bytes of an input file, or :class:`CaptureError` saying why it cannot be read."""
    return read_bounded(Path(path), MAX_INPUT_BYTES, CaptureError, label=f"{what} ")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_json(text: str | bytes, where: str) -> Any:
    """Parse JSON strictly (no NaN/Infinity), turning every failure into one line."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise CaptureError(f"{where}: JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise CaptureError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise CaptureError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:
        raise CaptureError(f"{where}: not valid JSON ({exc})") from None


def json_default(value: Any) -> Any:
    """Make a stray non-JSON field value writable: bytes as hex, anything else as text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
