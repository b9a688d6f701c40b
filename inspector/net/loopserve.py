"""What the comparison's loopback servers share: their connections, ended all at once on stop.

The built-in HTTP server (:mod:`inspector.net.compare_http`) and the delaying forwarder
(:mod:`inspector.net.compare_delay`) serve each connection in a handler task of
asyncio's stream server. Stopping aborts every connection (which ends the handlers'
reads) rather than cancelling the tasks: asyncio's stream server reports a cancelled
handler as an unhandled error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

#: Seconds stop() waits for each handler after aborting its connection.
HANDLER_GRACE = 2.0


class Handlers:
    """The handler tasks and connections of one server."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @contextlib.contextmanager
    def serving(self, writer: asyncio.StreamWriter) -> Iterator[None]:
        """Around a handler's body: its task and ``writer`` are tracked, and the writer
        (and any added with :meth:`add`) closed when it returns."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            yield
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    def add(self, writer: asyncio.StreamWriter) -> None:
        """Another connection a handler opened (an upstream); the handler closes it."""
        self._writers.add(writer)

    def discard(self, writer: asyncio.StreamWriter) -> None:
        """A connection the handler closed itself."""
        self._writers.discard(writer)

    def track(self, task: asyncio.Task[None]) -> None:
        """A task stop() waits for, forgotten once done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def abort(self) -> None:
        """Abort every connection, then wait a little for each handler to return."""
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), HANDLER_GRACE)
