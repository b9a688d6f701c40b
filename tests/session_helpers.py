"""Helpers for the engine tests (net, faults): run a coroutine, open a session, wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder, RecordSink
from inspector.core.records import Kind, Record
from inspector.net.factory import create_session
from inspector.net.session import Session

T = TypeVar("T")


class ListSink(RecordSink):
    """A record sink that keeps everything in a list."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)

    def of(self, kind: Kind) -> list[Record]:
        """The records of one kind, in order."""
        return [r for r in self.records if r.kind is kind]

    def bytes_in(self) -> int:
        """Bytes of inbound DATA and MESSAGE records."""
        return sum(
            len(r.wire)
            for r in self.records
            if r.direction == "in" and r.kind in (Kind.DATA, Kind.MESSAGE)
        )


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run ``coro`` on a fresh event loop, bounded by ``timeout`` seconds."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the loop run until ``condition()`` holds; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)


def make_session(
    url: str, recorder: Recorder | None = None, **options: Any
) -> tuple[Session, ListSink]:
    """A session for ``url`` recording into a ListSink (and the recorder, if given)."""
    sink = ListSink()
    if recorder is None:
        recorder = Recorder(sink, consumed=False)
    else:
        recorder.sink = sink
    return create_session(parse_endpoint(url), SessionOptions(**options), recorder), sink


def no_errors(sink: ListSink) -> None:
    """Assert that nothing went wrong, showing the error records if something did."""
    errors = [r.fields for r in sink.of(Kind.ERROR)]
    assert errors == []
