"""What every accepted connection of a listener shares: number, peer, recorder, state, end.

A listener (:mod:`inspector.net.listener`) holds one :class:`Connection` per client:
:class:`~inspector.net.accepted.AcceptedStream` for tcp:// and tls://,
:class:`~inspector.net.udplisten.AcceptedDatagram` per udp:// client address,
:class:`~inspector.net.accepted_ws.AcceptedWebSocket` for ws:// and wss://. The base
ends it with :func:`~inspector.net.session.record_closed`, the one writer of CLOSED
records (``initiated_by`` names the role: "client" is the peer), runs delayed rule
steps and sums the connection up for the capture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.session import CLOSE_TIMEOUT, SessionNotOpenError, SessionState, record_closed
from inspector.protocols.ending import Ending, Initiator


class Connection:
    """What every accepted connection shares: number, peer, recorder, state and end."""

    def __init__(
        self, number: int, peer: str, local: str, options: SessionOptions, recorder: Recorder
    ) -> None:
        self.number = number
        self.peer = peer
        self.local = local
        self.options = options
        self.recorder = recorder
        self.failure: str | None = None
        self.end_message: str | None = None
        self.clean: bool | None = None
        self.initiated_by = Initiator.NONE
        self.messages_in = 0
        self.not_sent = 0
        #: Called once per read with the messages it completed (the rules use it).
        self.on_messages: Callable[[Connection, list[bytes]], None] | None = None
        #: WebSocket only: whether each message last passed to ``on_messages`` is text
        #: (False: binary); None where the transport has no message types.
        self.message_types: tuple[bool, ...] | None = None
        #: Called once, after the CLOSED record.
        self.on_end: Callable[[Connection], None] | None = None
        self._state = SessionState.OPEN
        self._ended = asyncio.Event()
        self._accepted_at = recorder.now()
        self._timers: set[asyncio.TimerHandle] = set()

    @property
    def state(self) -> SessionState:
        """OPEN, CLOSING, then CLOSED or FAILED."""
        return self._state

    @property
    def ended(self) -> bool:
        """True once the CLOSED record is written."""
        return self._ended.is_set()

    @property
    def is_open(self) -> bool:
        """True while messages may be sent."""
        return self._state is SessionState.OPEN

    @property
    def pending_steps(self) -> int:
        """Delayed rule steps not yet performed."""
        return len(self._timers)

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` after ``delay`` seconds unless the connection ends first."""
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def run() -> None:
            assert handle is not None
            self._timers.discard(handle)
            if not self.ended:
                callback()

        handle = loop.call_later(delay, run)
        self._timers.add(handle)

    async def wait_closed(self) -> None:
        """Wait for the end of the connection."""
        await self._ended.wait()

    def send(self, data: bytes) -> None:
        """Send one message (framed as the session frames)."""
        raise NotImplementedError

    def send_message(self, data: bytes, text: bool) -> None:
        """Send what a rule asked for (``text`` matters to WebSocket only)."""
        del text
        self.send(data)

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """End the connection gracefully."""
        raise NotImplementedError

    async def close_with(
        self, code: int | None, reason: str, timeout: float = CLOSE_TIMEOUT
    ) -> None:
        """End gracefully with a close code and reason (WebSocket; others just close)."""
        del code, reason
        await self.close(timeout)

    def abort(self) -> None:
        """End the connection at once."""
        raise NotImplementedError

    def drop(self) -> None:
        """End the connection the rude way (TCP: a reset)."""
        self.abort()

    def _check_open(self) -> None:
        if self._state is not SessionState.OPEN:
            raise SessionNotOpenError(
                f"cannot send to connection {self.number}: it is {self._state}"
            )

    def _finish(
        self,
        message: str,
        clean: bool,
        close_code: int | None = None,
        close_reason: str | None = None,
    ) -> None:
        """Write the CLOSED record once and move to CLOSED (FAILED after a failure)."""
        if self.ended:
            return
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self.end_message, self.clean = message, clean
        ending = Ending(message, clean, self.failure, close_code, close_reason, self.initiated_by)
        record_closed(self.recorder, ending, self.recorder.now(), self._accepted_at)
        self.recorder.set_flow_control(None, None)
        self._state = SessionState.FAILED if self.failure else SessionState.CLOSED
        self._ended.set()
        if self.on_end is not None:
            self.on_end(self)

    def _fail(
        self, message: str, phase: str, wire: bytes = b"", direction: Direction = Direction.META
    ) -> None:
        """Record an ERROR, drop the transport, end FAILED."""
        if self.ended:
            return
        self.failure = self.failure or message
        self.recorder.record(
            direction, Kind.ERROR, wire=wire, fields={"message": message, "phase": phase}
        )
        self._abort_transport()
        self._finish(message, clean=False)

    def _abort_transport(self) -> None:
        """Transport specific: drop the connection now."""

    def summary(self) -> dict[str, Any]:
        """A JSON-compatible account of the connection for the capture."""
        rec = self.recorder
        return {
            "conn": self.number,
            "peer": self.peer,
            "local": self.local,
            "role": "server",
            "state": str(self._state),
            "failure": self.failure,
            "message": self.end_message,
            "clean": self.clean,
            "initiated_by": str(self.initiated_by),
            "messages_in": rec.count_in,
            "messages_out": rec.count_out,
            "bytes_in": rec.bytes_in,
            "bytes_out": rec.bytes_out,
            "not_sent": self.not_sent,
            "framing": str(self.options.framing),
        }
