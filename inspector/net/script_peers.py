"""The other side of a script's conversation: a client session it opened, or a client
that connected to its listener. The runner talks to both the same way."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from inspector.core.endpoints import Endpoint
from inspector.core.recorder import RecordSink
from inspector.core.records import Kind, Record
from inspector.net.connection import Connection
from inspector.net.factory import content_action, send_message
from inspector.net.session import Session


class ClosedWatch(RecordSink):
    """A sink in front of the capture that remembers the CLOSED record's close code."""

    def __init__(self, store: RecordSink | None) -> None:
        self.store = store
        self.close_code: int | None = None

    def _see(self, record: Record) -> None:
        if record.kind is Kind.CLOSED:
            self.close_code = record.fields.get("close_code")

    def write(self, record: Record) -> None:
        self._see(record)
        if self.store is not None:
            self.store.write(record)

    def write_many(self, records: list[Record]) -> None:
        for record in records:
            self._see(record)
        if self.store is not None:
            self.store.write_many(records)

    def write_run(self, run: object) -> None:
        if self.store is not None:
            self.store.write_run(run)  # type: ignore[arg-type]

    def flush(self) -> None:
        if self.store is not None:
            self.store.flush()


class _Ends(Protocol):
    """What a client session and an accepted connection both tell of their end."""

    failure: str | None

    @property
    def ended(self) -> bool: ...

    async def wait_closed(self) -> None: ...


class Peer:
    """What a script step needs of the other side."""

    def __init__(self, other: _Ends, endpoint: Endpoint, watch: ClosedWatch) -> None:
        self._other = other
        self.endpoint = endpoint
        self.watch = watch

    @property
    def ended(self) -> bool:
        """True once the conversation ended."""
        return self._other.ended

    @property
    def failure(self) -> str | None:
        """How it failed, if it did."""
        return self._other.failure

    async def wait_closed(self) -> None:
        """Until the conversation ended."""
        await self._other.wait_closed()

    def take(self) -> list[bytes]:
        """Inbound messages since the last call."""
        raise NotImplementedError

    def send(self, data: bytes, text: bool) -> None:
        """One message (text or binary on WebSocket, the session's message elsewhere)."""
        raise NotImplementedError

    async def close(self, code: int | None, reason: str, timeout: float) -> None:
        """End gracefully (with a close code on WebSocket), at most ``timeout`` seconds."""
        raise NotImplementedError


class ClientPeer(Peer):
    """A session the script opened."""

    def __init__(self, session: Session, watch: ClosedWatch, arrived: Callable[[], None]) -> None:
        super().__init__(session, session.endpoint, watch)
        self.session = session
        session.on_data = arrived

    def take(self) -> list[bytes]:
        return [body for _, body in self.session.take_messages()]

    def send(self, data: bytes, text: bool) -> None:
        send_message(self.session, content_action(self.endpoint, text), data)

    async def close(self, code: int | None, reason: str, timeout: float) -> None:
        session = self.session
        if session.ended:
            return
        if self.endpoint.is_websocket and code is not None:
            send_message(session, "close", code=code, reason=reason)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await session.wait_closed()
            if not session.ended:
                session.abort()
        else:
            await session.close(timeout)


class ServerPeer(Peer):
    """A client that connected to the script's listener."""

    def __init__(
        self, conn: Connection, endpoint: Endpoint, watch: ClosedWatch, arrived: Callable[[], None]
    ) -> None:
        super().__init__(conn, endpoint, watch)
        self.conn = conn
        self._arrived = arrived
        self._inbox: list[bytes] = []
        conn.on_messages = self._got

    def _got(self, conn: Connection, bodies: list[bytes]) -> None:
        self._inbox.extend(bodies)
        self._arrived()

    def take(self) -> list[bytes]:
        taken, self._inbox = self._inbox, []
        return taken

    def send(self, data: bytes, text: bool) -> None:
        self.conn.send_message(data, text)

    async def close(self, code: int | None, reason: str, timeout: float) -> None:
        if self.conn.ended:
            return
        await self.conn.close_with(code, reason, timeout)
        if not self.conn.ended:
            self.conn.abort()
