"""ws:// and wss:// sessions: a TCP/TLS connection driving the Sans-I/O WebSocketConnection.

Every read goes to :meth:`WebSocketConnection.receive_data` with the read's one
timestamp; whatever it returns (automatic pong, close echo) is written at once. The
protocol layer records frames, handshake and protocol errors, and once the transport
ended reports how (its ``ending``), from which the session writes CLOSED; this layer
adds resolve/connect/TLS, timeouts and the transport's end.
"""

from __future__ import annotations

import asyncio
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.net.session import CLOSE_TIMEOUT, SessionNotOpenError, SessionState
from inspector.net.transport import TransportSession
from inspector.protocols.ending import Ending, Initiator
from inspector.protocols.ws import WebSocketConnection

#: Seconds the client waits for the server to close TCP after the closing handshake
#: before closing it itself (RFC 6455 §7.1.1: the server should close first).
CLOSE_GRACE = 2.0


class WebSocketSession(TransportSession):
    """A WebSocket client session over TCP (ws://) or TLS with ALPN http/1.1 (wss://)."""

    alpn = ["http/1.1"]

    def __init__(self, endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> None:
        super().__init__(endpoint, options, recorder)
        self.ws: WebSocketConnection | None = None
        self._handshake_waiter: asyncio.Future[None] | None = None
        self._handshake_start = 0
        self._eof_fed = False
        self._close_timer: asyncio.TimerHandle | None = None

    # -- opening -----------------------------------------------------------------

    async def _after_connect(self) -> None:
        """Send the upgrade request and wait for the server's answer (RFC 6455 §4.1)."""
        assert self._transport is not None
        self._phase = "handshake"
        ws = self.ws = WebSocketConnection(self.endpoint, self.options, self.recorder)
        # A protocol client reads the messages that come with the handshake's answer.
        ws.keep_messages = self.keep_messages or bool(self.options.speak)
        self._handshake_waiter = asyncio.get_running_loop().create_future()
        self._handshake_start = self.recorder.now()
        self._transport.write(ws.start(self._handshake_start))
        await self._handshake_waiter
        if not ws.handshake_done and not self.ended:
            self._fail(ws.failure or "the WebSocket handshake failed", "handshake", record=False)

    def _wake_opener(self) -> None:
        waiter = self._handshake_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading -----------------------------------------------------------------

    def _data_received(self, data: bytes, t_ns: int) -> None:
        """Hand one read to the protocol; write its answer; follow its state."""
        ws = self.ws
        if ws is None or self.ended:
            return
        was_done = ws.handshake_done
        out = ws.receive_data(data, t_ns)
        if out:
            self._write(out)
        if ws.handshake_done and not was_done:
            self.phases["handshake_ns"] = t_ns - self._handshake_start
            self._mark_open()
        self._follow(ws)

    def _follow(self, ws: WebSocketConnection) -> None:
        """React to the protocol's state after it took bytes or sent something."""
        if ws.handshake_done or ws.failure is not None or ws.closed:
            self._wake_opener()
        if self._state is SessionState.OPEN and not ws.open:
            self._initiated_by = self._initiated_by.known_or(Initiator.SERVER)
            self._set_state(SessionState.CLOSING)
        if ws.closed:
            self._close_transport()
        elif ws.close_expected():
            if ws.eof_requested:
                self._half_close()
            elif self._close_timer is None:
                loop = asyncio.get_running_loop()
                self._close_timer = loop.call_later(CLOSE_GRACE, self._close_transport)

    def _eof_received(self, t_ns: int) -> None:
        """The server closed its side: let the protocol record how the connection ended."""
        self._peer_eof = True
        self._feed_eof(t_ns)

    def _feed_eof(self, t_ns: int, reason: str | None = None) -> None:
        """Tell the protocol the transport ended (``reason`` None: the peer closed it)."""
        ws = self.ws
        if ws is None or self._eof_fed:
            return
        self._eof_fed = True
        if self._state is SessionState.OPEN:
            self._initiated_by = self._initiated_by.known_or(Initiator.SERVER)
        out = ws.receive_eof(t_ns, reason)
        if out:
            self._write(out)
        self._wake_opener()

    def _connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self.ended:
            return
        t_ns = self.recorder.now()
        ws = self.ws
        reason: str | None = None
        if exc is not None:
            if isinstance(exc, ConnectionResetError):
                reason = f"connection reset by {self.endpoint.netloc}"
            else:
                reason = f"connection lost: {' '.join(str(exc).split()) or type(exc).__name__}"
        if ws is None and self._opening_in_progress:
            return  # lost during connect or TLS: open() reports the fault
        if ws is None and reason is not None:
            self._fail(reason, self._phase)
            return
        self._feed_eof(t_ns, reason)
        self._wake_opener()
        if ws is None or not ws.handshake_done:
            self._fail(
                (ws.failure if ws else None)
                or f"{self.endpoint.netloc} closed the connection during {self._phase}",
                self._phase,
                record=ws is None or ws.failure is None,
            )
            return
        clean = ws.clean_close and ws.failure is None
        self._finish(ws.failure or "closed", clean=clean)

    def _on_close_timeout(self, timeout: float) -> None:
        """The server did not finish the closing handshake in time: say so, then end."""
        self._feed_eof(
            self.recorder.now(), f"the server did not finish closing within {timeout:g} s"
        )

    # -- writing -----------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def _protocol(self) -> WebSocketConnection:
        if self.ws is None or not self.ws.handshake_done:
            raise SessionNotOpenError(f"cannot send: the session is {self._state}")
        return self.ws

    def send(self, data: bytes) -> bool:
        """Send a binary message (an empty one is still a frame on the wire)."""
        self.send_binary(data)
        return True

    def send_text(self, text: str, automatic: bool = False) -> None:
        """Send a text message; ``automatic``: a protocol client's own."""
        ws = self._protocol()
        self._write(ws.send_text(text, automatic))
        self._follow(ws)

    def send_binary(self, data: bytes, automatic: bool = False) -> None:
        """Send a binary message; ``automatic``: a protocol client's own."""
        ws = self._protocol()
        self._write(ws.send_binary(data, automatic))
        self._follow(ws)

    def send_ping(self, payload: bytes = b"", automatic: bool = False) -> None:
        """Send a ping frame (at most 125 bytes); ``automatic``: a heartbeat's."""
        ws = self._protocol()
        self._write(ws.send_ping(payload, automatic))
        self._follow(ws)

    def awaiting_pong(self, payload: bytes) -> bool:
        """True while the ping with ``payload`` has had no pong."""
        return self.ws is not None and self.ws.awaiting_pong(payload)

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, once the handshake is done."""
        return self.ws.subprotocol if self.ws is not None else None

    @property
    def round_trips(self) -> list[int]:
        """Every ping round trip measured so far (ns)."""
        return self.ws.round_trips if self.ws is not None else []

    def send_pong(self, payload: bytes = b"") -> None:
        """Send a pong frame (at most 125 bytes)."""
        ws = self._protocol()
        self._write(ws.send_pong(payload))
        self._follow(ws)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; the session ends when the server answers."""
        ws = self._protocol()
        data = ws.send_close(code, reason)
        self._initiated_by = self._initiated_by.known_or(Initiator.CLIENT)
        self._write(data)
        self._follow(ws)

    # -- messages ----------------------------------------------------------------

    def partial_inbound(self) -> bytes:
        """The bytes of the inbound frame still arriving (RFC 6455 §5.2 header first)."""
        return self.ws.partial_frame() if self.ws is not None else b""

    def partial_inbound_size(self) -> int | None:
        """The arriving frame's size on the wire once its header is whole."""
        return self.ws.partial_frame_size() if self.ws is not None else None

    def _queued_messages(self) -> list[tuple[str, bytes]]:
        """Inbound text/binary messages completed since the last call."""
        return self.ws.take_messages() if self.ws is not None else []

    @property
    def messages_in(self) -> int:
        """Inbound text/binary messages so far."""
        return self.ws.messages_in if self.ws is not None else 0

    # -- ending ------------------------------------------------------------------

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Closing handshake (1000), then wait for the server to close TCP (with timeouts)."""
        if self.ended:
            return
        ws = self.ws
        if self._state is SessionState.OPEN and ws is not None and ws.open:
            self.send_close(1000, "")
        elif self._state is SessionState.CONNECTING:
            self.abort()
            return
        await self._wait_end(timeout)

    def _half_close(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    def _close_transport(self) -> None:
        self._close_timer = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.close()

    def _cancel_timer(self) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None

    def _abort_transport(self) -> None:
        self._cancel_timer()
        self._wake_opener()
        super()._abort_transport()

    def _finish(self, message: str, clean: bool) -> None:
        """Stop the closing timer, then end the session."""
        self._cancel_timer()
        super()._finish(message, clean)

    def _ending(self, message: str, clean: bool) -> Ending:
        """The protocol's account once the transport ended; before that (an abort, a
        timeout, a failed upgrade), the session's, with the protocol's close details."""
        ws = self.ws
        if ws is None:
            return super()._ending(message, clean)
        if ws.ending is not None:
            return ws.ending
        return Ending(
            message,
            clean,
            self.failure or ws.failure,
            ws.close_code,
            ws.close_reason,
            self._initiated_by,
        )

    def summary(self) -> dict[str, Any]:
        """The base summary plus the WebSocket close and negotiation details."""
        out = super().summary()
        ws = self.ws
        if ws is not None:
            out["websocket"] = {
                "handshake_done": ws.handshake_done,
                "subprotocol": ws.subprotocol,
                "close_code": ws.close_code,
                "close_reason": ws.close_reason,
                "clean_close": ws.clean_close,
            }
        return out
