"""TCP and TLS sessions: the reads cut into messages as the session's framing says."""

from __future__ import annotations

from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.options import Framing, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import FIELD_AUTOMATIC, Direction, Kind
from inspector.net.framed import record_leftover, record_read, record_sent
from inspector.net.session import CLOSE_TIMEOUT, SessionState, describe_os_error
from inspector.net.transport import TransportSession
from inspector.protocols.ending import Initiator
from inspector.protocols.framing import make_framer, mqtt_packet_size


class StreamSession(TransportSession):
    """A tcp:// or tls:// session: every read framed into messages (or raw reads)."""

    def __init__(self, endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> None:
        super().__init__(endpoint, options, recorder)
        self._framer = make_framer(options.framing, options.max_size)

    # -- opening -----------------------------------------------------------------

    async def _after_connect(self) -> None:
        """tcp:// and tls:// are open once connected."""
        self._mark_open()

    # -- reading -----------------------------------------------------------------

    def _data_received(self, data: bytes, t_ns: int) -> None:
        """Frame one read; every record it makes shares ``t_ns``."""
        if self.ended:
            return
        keep = self.keep_messages
        read = record_read(
            self._framer, self.options.framing, self.recorder, data, t_ns, bodies=keep
        )
        if read.bodies is not None:
            self._many_messages_in("data", read.bodies)
        else:
            self._count_in += read.count
        if read.error is not None:
            error = read.error
            self._fail(str(error), "session", wire=error.offending, direction=Direction.IN)

    def _flush_leftover(self, t_ns: int) -> None:
        """At the end of the stream, record bytes that never became a whole message."""
        record_leftover(self._framer, self.options.framing, self.recorder, t_ns)

    def partial_inbound(self) -> bytes:
        """The incomplete line, length-prefixed message or MQTT packet (raw framing keeps
        none)."""
        return self._framer.leftover()

    def partial_inbound_size(self) -> int | None:
        """For a length prefix (or an MQTT remaining length), the size of the whole
        message once the prefix arrived."""
        width = {Framing.LEN16: 2, Framing.LEN32: 4}.get(self.options.framing)
        rest = self._framer.leftover()
        if self.options.framing is Framing.MQTT and rest:
            try:
                return mqtt_packet_size(rest)
            except ValueError:
                return None
        if width is None or len(rest) < width:
            return None
        return width + int.from_bytes(rest[:width], "big")

    def _eof_received(self, t_ns: int) -> None:
        """The peer finished sending: keep what is left, then let the transport close.

        Half-open streams are not kept: once the peer sends FIN the session ends, which
        is what the request/response servers an inspector meets expect.
        """
        self._peer_eof = True
        if self._state is SessionState.OPEN:
            self._initiated_by = self._initiated_by.known_or(Initiator.SERVER)
        self._flush_leftover(t_ns)

    def _connection_lost(self, exc: Exception | None) -> None:
        if self.ended or (self._state is SessionState.CONNECTING and self._opening_in_progress):
            return
        if exc is not None:
            if not self._peer_eof:
                self._flush_leftover(self.recorder.now())
            if isinstance(exc, ConnectionResetError):
                message = f"connection reset by {self.endpoint.netloc}"
            else:
                message = describe_os_error(exc, self.endpoint, "session")
            self._fail(message, "session")
            return
        if self._state is SessionState.CONNECTING:
            self._fail(
                f"{self.endpoint.netloc} closed the connection during {self._phase}", self._phase
            )
            return
        self._initiated_by = self._initiated_by.known_or(Initiator.SERVER)
        by = "peer" if self._initiated_by is Initiator.SERVER else "client"
        self._finish(f"connection closed by {by}", clean=True)

    # -- writing -----------------------------------------------------------------

    def send(self, data: bytes, automatic: bool = False) -> bool:
        """Send one message, framed as the session frames (a length prefix, a newline);
        ``automatic`` marks a protocol client's own message (an opening, a keep-alive).

        False when the message frames to no bytes at all (an empty raw message): a stream
        has no empty message, so nothing is written and nothing is recorded.
        """
        transport = self._writable()
        wire, body, ranges = self._framer.frame(data)
        if not wire:
            return False
        transport.write(wire)
        record_sent(self.recorder, self.options.framing, wire, body, ranges, automatic)
        return True

    def send_raw(self, data: bytes, automatic: bool = False) -> bool:
        """Write exactly these bytes, without framing (False for none: nothing written)."""
        transport = self._writable()
        data = bytes(data)
        if not data:
            return False
        transport.write(data)
        marked = {FIELD_AUTOMATIC: True} if automatic else None
        self.recorder.record(Direction.OUT, Kind.DATA, wire=data, payload=data, fields=marked)
        return True

    # -- ending ------------------------------------------------------------------

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Half-close (TCP FIN, or TLS close_notify) and wait for the peer to finish."""
        transport = self._transport
        if self._nothing_to_close(transport) or transport is None:
            return
        self._set_state(SessionState.CLOSING)
        self._initiated_by = self._initiated_by.known_or(Initiator.CLIENT)
        if self._peer_eof or not transport.can_write_eof():
            transport.close()
        else:
            transport.write_eof()
        await self._wait_end(timeout)

    def summary(self) -> dict[str, Any]:
        """The base summary plus the framing in use."""
        out = super().summary()
        out["framing"] = str(self.options.framing)
        return out
