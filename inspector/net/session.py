"""The session: one connection to one endpoint, its states, its timing and its end.

Every session class shares :class:`Session`, which owns the state machine, the phase
timings, the one-line failure and the final CLOSED record (``net.factory`` picks the
class for an endpoint's scheme; this module imports none of them). Network faults
never raise out of :meth:`open`, :meth:`close` or the transport callbacks: they become
ERROR records.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net import heartbeat
from inspector.net.resolve import Address, connect_fields, family_name
from inspector.net.tlsinfo import describe_ssl_error
from inspector.protocols.ending import Ending, Initiator
from inspector.protocols.messages import MessageQueue

if TYPE_CHECKING:
    from inspector.net.speaking import Speaking

#: Seconds a graceful close waits for the peer (closing handshake, EOF) before aborting.
CLOSE_TIMEOUT = 5.0


class SessionState(StrEnum):
    """Where a session is in its life."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"


class SessionError(InspectorError):
    """A session was asked for something it cannot do (one line for the user)."""


class NotWebSocketError(SessionError):
    """A WebSocket-only operation (binary, ping, pong, close frame) on another scheme."""


class SessionNotOpenError(SessionError):
    """Sending on a session that is not open."""


def describe_os_error(exc: BaseException, endpoint: Endpoint, phase: str) -> str:
    """One line for a network fault during ``phase``."""
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {endpoint.host!r}: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLError):
        return describe_ssl_error(exc)
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {endpoint.netloc}: nothing listens there"
    if isinstance(exc, ConnectionResetError):
        return f"connection reset by {endpoint.netloc} during {phase}"
    if isinstance(exc, ConnectionAbortedError):
        return f"connection aborted during {phase}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{phase} to {endpoint.netloc} failed: {exc.strerror}"
    return f"{phase} to {endpoint.netloc} failed: {exc or type(exc).__name__}"


class Session:
    """The parts every transport shares: state, failure, timings, messages, the end."""

    def __init__(self, endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> None:
        self.endpoint = endpoint
        self.options = options
        self.recorder = recorder
        self.on_state_change: Callable[[SessionState], None] | None = None
        #: Called once per read from the peer (never per frame or message), after its
        #: records are made: for consumers that answer traffic at once (``--echo``).
        self.on_data: Callable[[], None] | None = None
        self.failure: str | None = None
        self.phases: dict[str, int] = {}
        self.tls: dict[str, Any] | None = None
        self._count_in = 0
        self._messages = MessageQueue()
        #: Queue inbound messages for :meth:`take_messages` (``--echo``); a consumer
        #: that shows records instead (the window) turns this off before opening.
        self.keep_messages = True
        self._state = SessionState.CONNECTING
        self._phase = "resolve"
        self._opened_at: int | None = None
        self._ended_at: int | None = None
        #: Who started the end, as far as the session saw it (the protocol object's
        #: Ending says it for WebSocket once the transport ended).
        self._initiated_by = Initiator.NONE
        self._reached_open = False
        self._opening: asyncio.Future[None] | None = None
        self._in_open = False
        self._ended = asyncio.Event()
        self._heartbeat: heartbeat.Heartbeat | None = None
        #: The application protocol's client this session acts as (``options.speak``).
        self.speaking: Speaking | None = None

    # -- state -------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The current state."""
        return self._state

    def _set_state(self, state: SessionState) -> None:
        if state is self._state:
            return
        self._state = state
        if self.on_state_change is not None:
            self.on_state_change(state)

    @property
    def ok(self) -> bool:
        """True when the session ended normally (closed, not failed)."""
        return self._state is SessionState.CLOSED and self.failure is None

    @property
    def ended(self) -> bool:
        """True once the CLOSED record is written."""
        return self._ended.is_set()

    # -- opening -----------------------------------------------------------------

    async def open(self) -> bool:
        """Resolve, connect (and TLS, upgrade); True once the session reached OPEN (a quick
        peer may already have begun closing it). Never raises for network faults: they
        are recorded and the session ends FAILED."""
        if self._state is not SessionState.CONNECTING or self._opened_at is not None:
            raise SessionError(f"session is {self._state}; open() runs once")
        self._opened_at = self.recorder.now()
        timeout = self.options.connect_timeout
        try:
            async with asyncio.timeout(timeout):
                self._in_open = True
                self._opening = asyncio.ensure_future(self._open())
                await self._opening
        except TimeoutError:
            self._fail(
                f"timed out after {timeout:g} s during {self._phase} to {self.endpoint.netloc}",
                self._phase,
            )
        except (OSError, ssl.SSLError) as exc:
            self._fail(describe_os_error(exc, self.endpoint, self._phase), self._phase)
        except InspectorError as exc:
            self._fail(str(exc), self._phase)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.ended and (task is None or not task.cancelling()):
                return False  # abort() stopped the opening; the session already ended
            self._initiated_by = Initiator.CLIENT
            self._abort_transport()
            self._finish("opening cancelled", clean=False)
            raise
        finally:
            self._opening = None
            self._in_open = False
        if self._reached_open:
            return True
        if not self.ended:
            self._fail(self.failure or f"{self._phase} failed", self._phase)
        return False

    async def _connect_first(
        self,
        addresses: list[Address],
        sock_type: int,
        open_on: Callable[[socket.socket, Any], Awaitable[Any]],
    ) -> tuple[Any, socket.socket]:
        """Try each address in turn: a non-blocking socket of ``sock_type`` handed to
        ``open_on(sock, sockaddr)``, which returns the transport. Record CONNECT (local
        and peer address, family, duration) for the first that works; raise the last
        error when none does."""
        self._phase = "connect"
        last_error: OSError | None = None
        for family, sockaddr in addresses:
            start = self.recorder.now()
            sock = socket.socket(family, sock_type)
            try:
                sock.setblocking(False)
                transport = await open_on(sock, sockaddr)
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            except BaseException:
                sock.close()
                raise
            duration = self.recorder.now() - start
            self.phases["connect_ns"] = duration
            fields = connect_fields(
                transport.get_extra_info("sockname"),
                transport.get_extra_info("peername"),
                family_name(family),
                duration,
            )
            self.recorder.record(Direction.META, Kind.CONNECT, fields=fields)
            return transport, sock
        assert last_error is not None
        raise last_error

    async def _open(self) -> None:
        """Transport specific: bring the session to OPEN or raise OSError."""
        raise NotImplementedError

    @property
    def _opening_in_progress(self) -> bool:
        """True while open() runs (its steps report their own faults)."""
        return self._in_open

    def _mark_open(self) -> None:
        """Switch to OPEN unless the session ended while opening."""
        if not self.ended and not self._reached_open:
            self._reached_open = True
            self._phase = "session"
            self._set_state(SessionState.OPEN)
            if heartbeat.wanted(self.options, self.endpoint.is_websocket):
                self._heartbeat = heartbeat.Heartbeat(self)
                self._heartbeat.start()
            if self.options.speak:
                from inspector.net.speaking import Speaking  # only sessions that speak

                self.speaking = Speaking.start_for(self)

    # -- sending -----------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state is not SessionState.OPEN:
            raise SessionNotOpenError(f"cannot send: the session is {self._state}")

    def send(self, data: bytes) -> bool:
        """Send one message (framed as the session frames); False when nothing went on
        the wire (and nothing was recorded), as for an empty message on a raw stream."""
        raise NotImplementedError

    def send_text(self, text: str) -> None:
        """Send text as UTF-8 (a text message for WebSocket)."""
        self.send(text.encode("utf-8"))

    def send_binary(self, data: bytes) -> None:
        """WebSocket only: send a binary message."""
        raise NotWebSocketError(f"{self.endpoint.scheme}:// has no binary messages")

    def send_ping(self, payload: bytes = b"") -> None:
        """WebSocket only: send a ping frame."""
        raise NotWebSocketError(f"{self.endpoint.scheme}:// has no ping frames")

    def send_pong(self, payload: bytes = b"") -> None:
        """WebSocket only: send a pong frame."""
        raise NotWebSocketError(f"{self.endpoint.scheme}:// has no pong frames")

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """WebSocket only: send a close frame."""
        raise NotWebSocketError(f"{self.endpoint.scheme}:// has no close frames; use close()")

    # -- messages ----------------------------------------------------------------

    def _message_in(self, kind: str, body: bytes) -> None:
        self._count_in += 1
        if self.keep_messages:
            self._messages.append(kind, body)

    def _many_messages_in(self, kind: str, bodies: list[bytes]) -> None:
        """Several inbound messages of one kind (one read's worth)."""
        self._count_in += len(bodies)
        if self.keep_messages:
            self._messages.extend([(kind, body) for body in bodies], sum(map(len, bodies)))

    @property
    def messages_in(self) -> int:
        """Inbound messages so far (WebSocket messages, framed TCP messages, datagrams)."""
        return self._count_in

    def take_messages(self) -> list[tuple[str, bytes]]:
        """Inbound messages completed since the last call: ("text"|"binary"|"data"|
        "datagram", body). For --count and --echo; a consumer that never takes them
        keeps only the latest (protocols.messages bounds the queue). A protocol client
        reads them first and passes them on."""
        if self.speaking is not None:
            return self.speaking.take_passed()
        return self._queued_messages()

    def _queued_messages(self) -> list[tuple[str, bytes]]:
        """The queued inbound messages (the transport's own queue)."""
        return self._messages.take()

    def partial_inbound(self) -> bytes:
        """Inbound bytes that are not yet a whole record (a WebSocket frame or framed
        message still arriving), so a trickling peer is visible before it finishes."""
        return b""

    def partial_inbound_size(self) -> int | None:
        """The size the partial inbound unit will have when whole, if already known."""
        return None

    # -- ending ------------------------------------------------------------------

    def _nothing_to_close(self, transport: object | None) -> bool:
        """Before a graceful close: True when there is none to make — the session has
        ended, or it is not open or has no ``transport`` (then it is aborted)."""
        if self.ended:
            return True
        if self._state is not SessionState.OPEN or transport is None:
            self.abort()
            return True
        return False

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """End the session gracefully (transport specific), then wait for its end."""
        raise NotImplementedError

    def abort(self) -> None:
        """End the session at once, without a goodbye."""
        if self.ended:
            return
        self._initiated_by = Initiator.CLIENT
        opening = self._opening
        if opening is not None and not opening.done():
            opening.cancel()
        self._abort_transport()
        self._finish("aborted", clean=False)

    async def wait_closed(self) -> None:
        """Wait until the session has ended (CLOSED or FAILED)."""
        await self._ended.wait()

    def _abort_transport(self) -> None:
        """Transport specific: drop the connection now."""

    def _fail(
        self,
        message: str,
        phase: str,
        wire: bytes = b"",
        direction: Direction = Direction.META,
        fields: dict[str, Any] | None = None,
        record: bool = True,
    ) -> None:
        """Record an ERROR (unless the protocol layer already did: ``record`` False),
        drop the transport, end FAILED."""
        if self.ended:
            return
        if self.failure is None:
            self.failure = message
        if record:
            error_fields: dict[str, Any] = {"message": message, "phase": phase}
            error_fields.update(fields or {})
            self.recorder.record(direction, Kind.ERROR, wire=wire, fields=error_fields)
        self._abort_transport()
        self._finish(message, clean=False)

    def _finish(self, message: str, clean: bool) -> None:
        """End the session once: write the CLOSED record from how it ended (the protocol
        object's account when it has one), then move to CLOSED, or FAILED after a
        failure."""
        if self.ended:
            return
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self.speaking is not None:
            self.speaking.stop()
        ending = self._ending(message, clean)
        if self.failure is None:
            self.failure = ending.failure
        now = self.recorder.now()
        self._ended_at = now
        start = self._opened_at if self._opened_at is not None else now
        record_closed(self.recorder, ending, now, start)
        self.recorder.set_flow_control(None, None)
        self._ended.set()
        self._set_state(SessionState.FAILED if self.failure else SessionState.CLOSED)

    def _ending(self, message: str, clean: bool) -> Ending:
        """How the session ended, as the session saw it (a protocol may know better)."""
        return Ending(message, clean, self.failure, initiated_by=self._initiated_by)

    # -- summary -----------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """A JSON-compatible account of the session for the capture's finish()."""
        rec = self.recorder
        duration = None
        if self._opened_at is not None:
            end = self._ended_at if self._ended_at is not None else rec.now()
            duration = end - self._opened_at
        return {
            "endpoint": self.endpoint.url,
            "state": str(self._state),
            "ok": self.ok,
            "failure": self.failure,
            "phases": dict(self.phases),
            "duration_ns": duration,
            "tls": self.tls,
            "counts": {
                "records_in": rec.count_in,
                "records_out": rec.count_out,
                "bytes_in": rec.bytes_in,
                "bytes_out": rec.bytes_out,
                "messages_in": self.messages_in,
            },
            "not_kept": {"records": rec.not_kept, "bytes": rec.not_kept_bytes},
        }


def record_closed(recorder: Recorder, ending: Ending, now: int, start: int) -> None:
    """Write the CLOSED record of ``ending``, at its own time and start when it has them
    (else at ``now`` for a duration since ``start``)."""
    t_ns = now if ending.t_ns is None else ending.t_ns
    started = start if ending.started_ns is None else ending.started_ns
    fields = ending.closed_fields(t_ns, started)
    recorder.record(Direction.META, Kind.CLOSED, t_ns=t_ns, fields=fields)
