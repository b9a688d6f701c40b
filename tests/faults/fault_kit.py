"""Helpers of the fault tests: run a bounded coroutine, open a session, wait, run a case."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fault_matrix import FaultCase, Target

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Kind, Record
from inspector.net.session import Session, create_session

T = TypeVar("T")

#: Upper bound for one case, far above what a healthy run needs (a hang fails, not waits).
CASE_BOUND = 15.0


class ListSink:
    """A record sink that keeps everything in a list."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)

    def of(self, kind: Kind) -> list[Record]:
        """The records of one kind, in order."""
        return [r for r in self.records if r.kind is kind]


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
    """A session for ``url`` recording into a ListSink."""
    sink = ListSink()
    if recorder is None:
        recorder = Recorder(sink, consumed=False)
    else:
        recorder.sink = sink
    return create_session(parse_endpoint(url), SessionOptions(**options), recorder), sink


async def play(case: FaultCase, target: Target) -> tuple[Session, ListSink]:
    """Open a session on the case's target, send what it asks for, wait for its end."""
    session, sink = make_session(target.url, **target.options)
    async with asyncio.timeout(CASE_BOUND):
        if await session.open():
            if target.send is not None:
                await wait_until(lambda: session.messages_in >= 1 or session.ended)
                if not session.ended:
                    session.send(target.send)
            await session.wait_closed()
    return session, sink
