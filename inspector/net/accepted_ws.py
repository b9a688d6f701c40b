"""The server side of one ws:// or wss:// client: the connection engine in its server role.

Every read goes to ``WebSocketConnection.receive_data`` (server role: the upgrade
request is read and answered, then masked frames); whatever it returns (the upgrade
response, automatic pong, close echo) is written at once. The connection is *ready*
(greetings, timers, broadcasts) once the upgrade succeeded. When the transport ends,
the engine's ``ending`` says how, and this connection writes the one CLOSED record.

The server role lives in ``protocols.ws`` (``role=Role.SERVER``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.options import ServerOptions, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.accepted import AcceptedStream
from inspector.net.connection import Connection
from inspector.net.session import CLOSE_TIMEOUT, SessionError, SessionNotOpenError, SessionState
from inspector.protocols.ending import Initiator
from inspector.protocols.wshandshake import Answer
from inspector.protocols.wsruns import WS_SENT_FRAMES

#: Seconds the server waits for the client's TCP close after the closing handshake
#: before closing itself (RFC 6455 §7.1.1: the server closes first, at once).
CLOSE_GRACE = 2.0


class AcceptedWebSocket(AcceptedStream):
    """One ws:// or wss:// client, upgraded by the engine's server role."""

    def __init__(
        self,
        number: int,
        transport: asyncio.Transport,
        options: SessionOptions,
        recorder: Recorder,
        endpoint: Endpoint,
        server: ServerOptions | None = None,
        answer: Answer | None = None,
    ) -> None:
        super().__init__(number, transport, options, recorder)
        from inspector.protocols.ws import WebSocketConnection
        from inspector.protocols.wsstate import Role

        self.ws: Any = WebSocketConnection(
            endpoint, options, recorder, role=Role.SERVER, server=server, answer=answer
        )
        #: Called once, when the upgrade succeeded (the listener then greets it).
        self.on_ready: Callable[[Connection], None] | None = None
        self._upgraded = False
        self._eof_fed = False
        self._close_timer: asyncio.TimerHandle | None = None
        #: While the rules answer one read: what they send, written at once afterwards.
        self._cork: list[bytes] | None = None

    @property
    def upgraded(self) -> bool:
        """True once the WebSocket handshake succeeded."""
        return self._upgraded

    # -- reading ----------------------------------------------------------------

    def _read(self, data: bytes, t_ns: int) -> None:
        ws = self.ws
        out = ws.receive_data(data, t_ns)
        if out:
            self._write(out)
        if ws.handshake_done and not self._upgraded:
            self._upgraded = True
            if self.on_ready is not None:
                self.on_ready(self)
        self.messages_in = ws.messages_in
        messages = ws.take_messages()
        if messages and self.on_messages is not None and not self.ended:
            self.message_types = tuple(kind == "text" for kind, _body in messages)
            # The answers to one read leave in one write (one system call, not one each)
            # and are recorded as one run of frames (one capture row, not one each).
            self._cork = []
            recorder = self.recorder
            recorder.start_gathering(Direction.OUT, Kind.FRAME, WS_SENT_FRAMES)
            try:
                self.on_messages(self, [body for _kind, body in messages])
            finally:
                recorder.stop_gathering()
                corked, self._cork = self._cork, None
                if corked:
                    self._write(b"".join(corked))
        self._follow()

    def _follow(self) -> None:
        """Close or half-close the transport when the engine says so."""
        ws = self.ws
        if self.ended:
            return
        if self._state is SessionState.OPEN and self._upgraded and not ws.open:
            self.initiated_by = self.initiated_by.known_or(Initiator.CLIENT)
            self._state = SessionState.CLOSING
        if ws.closed:
            self._close_transport()
        elif ws.close_expected():
            if ws.eof_requested:
                transport = self._transport
                if transport.can_write_eof() and not transport.is_closing():
                    transport.write_eof()
                else:
                    self._close_transport()
            elif self._close_timer is None:
                loop = asyncio.get_running_loop()
                self._close_timer = loop.call_later(CLOSE_GRACE, self._close_transport)

    def _eof_received(self) -> bool:
        self._peer_eof = True
        self._feed_eof(self.recorder.now(), None)
        return False

    def _feed_eof(self, t_ns: int, reason: str | None) -> None:
        if self._eof_fed:
            return
        self._eof_fed = True
        out = self.ws.receive_eof(t_ns, reason)
        if out:
            self._write(out)

    def _connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self.ended or self._handshaking:
            return
        reason = None
        if isinstance(exc, ConnectionResetError):
            reason = f"connection reset by {self.peer}"
        elif exc is not None:
            reason = f"connection lost: {' '.join(str(exc).split()) or type(exc).__name__}"
        self._feed_eof(self.recorder.now(), reason)
        self._finish_from_engine()

    def _finish_from_engine(self, message: str | None = None) -> None:
        """The CLOSED record from the engine's account of the end (or ``message``)."""
        ws = self.ws
        ending = ws.ending
        if ending is not None and message is None:
            self.failure = self.failure or ending.failure
            self.initiated_by = ending.initiated_by.known_or(self.initiated_by)
            self._finish(ending.message, ending.clean, ending.close_code, ending.close_reason)
            return
        self.failure = self.failure or ws.failure
        text = message or ws.failure or "closed"
        self._finish(text, False, ws.close_code, ws.close_reason)

    # -- writing ----------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._cork is not None:
            self._cork.append(data)
            return
        transport = self._transport
        if not transport.is_closing():
            transport.write(data)

    def _engine(self) -> Any:
        self._check_open()
        if not self._upgraded:
            raise SessionNotOpenError(f"cannot send to connection {self.number}: not upgraded")
        self._writable()
        return self.ws

    def send(self, data: bytes) -> None:
        """Send a text message when the bytes are UTF-8, else a binary one."""
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            self.send_binary(data)
            return
        self.send_text(text)

    def send_message(self, data: bytes, text: bool) -> None:
        """Send what a rule asked for: text when it says so and the bytes are UTF-8."""
        data = bytes(data)
        if text and not data.isascii():
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                text = False
        self._send_with(lambda ws: ws.send_message(data, text))

    def send_text(self, text: str) -> None:
        """Send a text message."""
        self._send_with(lambda ws: ws.send_text(text))

    def send_binary(self, data: bytes) -> None:
        """Send a binary message."""
        self._send_with(lambda ws: ws.send_binary(bytes(data)))

    def send_ping(self, payload: bytes = b"") -> None:
        """Send a ping frame."""
        self._send_with(lambda ws: ws.send_ping(payload))

    def send_pong(self, payload: bytes = b"") -> None:
        """Send a pong frame (unsolicited, or answering a ping by hand)."""
        self._send_with(lambda ws: ws.send_pong(payload))

    def _send_with(self, make: Callable[[Any], bytes]) -> None:
        ws = self._engine()
        try:
            self._write(make(ws))
        except SessionError:
            raise
        except Exception as exc:  # the engine's refusal (closing, bad payload): one line
            raise SessionNotOpenError(str(exc) or type(exc).__name__) from None
        if self._cork is None:
            self._follow()  # else once the read's answers are written

    def send_raw(self, data: bytes) -> None:
        """Not offered: bytes outside frames would corrupt the stream."""
        raise SessionNotOpenError("raw bytes cannot be sent inside a WebSocket connection")

    # -- ending -----------------------------------------------------------------

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Closing handshake (1000), then wait for the end."""
        await self.close_with(1000, "", timeout)

    async def close_with(
        self, code: int | None, reason: str, timeout: float = CLOSE_TIMEOUT
    ) -> None:
        """Send a close frame with ``code`` and ``reason``, then wait for the end."""
        if self.ended:
            return
        ws = self.ws
        self.initiated_by = self.initiated_by.known_or(Initiator.SERVER)
        if not self._upgraded or not ws.open:
            if not ws.closed and not ws.close_expected():
                self.abort()
                return
        else:
            self._state = SessionState.CLOSING
            with contextlib.suppress(Exception):
                self._write(ws.send_close(1000 if code is None else code, reason))
            self._follow()
        try:
            async with asyncio.timeout(timeout):
                await self._ended.wait()
        except TimeoutError:
            self._feed_eof(self.recorder.now(), f"the client did not close within {timeout:g} s")
            self._abort_transport()
            self._finish_from_engine()

    def abort(self) -> None:
        """Drop the connection now (recorded as aborted by the server)."""
        self._cancel_timer()
        super().abort()

    def _close_transport(self) -> None:
        self._close_timer = None
        if not self._transport.is_closing():
            self._transport.close()

    def _cancel_timer(self) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None

    def summary(self) -> dict[str, Any]:
        """The connection's summary plus the WebSocket details."""
        out = super().summary()
        out.pop("framing", None)
        ws = self.ws
        out["websocket"] = {
            "upgraded": self._upgraded,
            "subprotocol": ws.subprotocol,
            "close_code": ws.close_code,
            "close_reason": ws.close_reason,
        }
        return out
