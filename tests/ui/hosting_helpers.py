"""What the server-tab and relay-tab tests share: a websockets client kept open in the
background, a fixture that makes them (and closes them after the test), running a
coroutine on the window's loop, and keeping made certificates out of the user's folder.

The fixtures ``clients`` and ``private_cert_dir`` are in tests/ui/conftest.py; a test
module takes the second with ``pytestmark = pytest.mark.usefixtures("private_cert_dir")``."""

from __future__ import annotations

import asyncio
from typing import Any

from pytestqt.qtbot import QtBot
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from inspector.core.records import Record

WAIT_MS = 10_000


def run_coro(qtbot: QtBot, coro: Any) -> Any:
    """Run a coroutine on the qasync loop while Qt spins; return its result."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


def entry_records(tab: Any, number: int) -> list[Record]:
    """Every record of connection (or pair) ``number`` of a server or relay tab."""
    entry = tab.entry(number)
    assert entry is not None and entry.store is not None
    return list(entry.store.records(0, entry.store.count()))


class WsClient:
    """A websockets client kept open across a test's steps, reading in the background."""

    def __init__(self, url: str, compression: str | None = "deflate") -> None:
        self.url = url
        self.compression = compression
        self.received: list[str | bytes] = []
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.closed = False
        self.close_code: int | None = None
        self.close_reason: str | None = None

    async def open(self) -> None:
        self.ws = await ws_connect(self.url, compression=self.compression)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.received.append(message)
        except ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        self.close_reason = self.ws.close_reason
        self.closed = True

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await self.reader
