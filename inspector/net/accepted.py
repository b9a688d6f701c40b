"""Accepted connections: the server side of one TCP or TLS client, recorded like a session.

A listener (:mod:`inspector.net.listener`) makes one :class:`AcceptedStream` per
client it accepts. Each has its own Recorder (its own session in the capture) and
makes the records a client session makes, seen from the server: CONNECT (with
``accepted: true``; ``local`` is the listening address, ``peer`` the client), TLS for
tls://, DATA or MESSAGE records both ways cut by the session's framing, errors, and
one CLOSED record. ``initiated_by`` names the role that ended it: "client" (the peer)
or "server" (this side).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Callable

from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.certs import ServerTLS
from inspector.net.connection import Connection
from inspector.net.framed import record_leftover, record_read, record_sent
from inspector.net.resolve import family_name, format_address
from inspector.net.session import CLOSE_TIMEOUT, SessionError, SessionNotOpenError, SessionState
from inspector.net.tlsinfo import describe_certificate, describe_ssl_error
from inspector.protocols.ending import Initiator
from inspector.protocols.framing import make_framer

#: Bytes that may wait in a connection's write buffer; past it sends are refused
#: (one line each) and broadcasts skip the connection, so a client that never reads
#: cannot make the listener's memory grow without bound.
MAX_BACKLOG = 4 << 20
#: Seconds a TLS handshake with a new client may take.
TLS_HANDSHAKE_TIMEOUT = 10.0


class BackedUpError(SessionError):
    """A send refused because the client does not read what it was sent."""


class ServerStreamProtocol(asyncio.Protocol):
    """Hands a client's transport events to its AcceptedStream; one timestamp per read."""

    def __init__(self, accept: Callable[[asyncio.Transport, ServerStreamProtocol], None]) -> None:
        self._accept = accept
        self.conn: AcceptedStream | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._accept(transport, self)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        if conn is not None:
            conn._data_received(data, conn.recorder.now())

    def eof_received(self) -> bool:
        conn = self.conn
        return conn._eof_received() if conn is not None else False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.conn._connection_lost(exc)

    def pause_writing(self) -> None:
        if self.conn is not None:
            self.conn._writing_paused(True)

    def resume_writing(self) -> None:
        if self.conn is not None:
            self.conn._writing_paused(False)


class AcceptedStream(Connection):
    """The server side of one tcp:// or tls:// client."""

    def __init__(
        self, number: int, transport: asyncio.Transport, options: SessionOptions, recorder: Recorder
    ) -> None:
        peer = format_address(transport.get_extra_info("peername"))
        local = format_address(transport.get_extra_info("sockname"))
        super().__init__(number, peer, local, options, recorder)
        self._transport: asyncio.Transport = transport
        self._framer = make_framer(options.framing, options.max_size)
        self._peer_eof = False
        self._consumer_lag = False  # the recorder's consumer is behind
        self._backed_up = False  # the client does not read what we write
        self._secure = False
        self._handshaking = False  # start_tls reports its own faults
        #: Reads that came before start_tls returned (the client spoke first): kept
        #: until :meth:`release`, so nothing is answered on the plain transport.
        self._held: list[tuple[bytes, int]] | None = None
        sock = transport.get_extra_info("socket")
        recorder.record(
            Direction.META,
            Kind.CONNECT,
            fields={
                "local": local,
                "peer": peer,
                "family": family_name(sock.family) if sock is not None else "?",
                "duration_ns": 0,
                "accepted": True,
            },
        )
        recorder.set_flow_control(self._lag_pause, self._lag_resume)

    # -- TLS --------------------------------------------------------------------

    async def start_tls(self, tls: ServerTLS, protocol: asyncio.Protocol) -> bool:
        """Do the server side of the TLS handshake; record TLS, or the failure. True when done."""
        loop = asyncio.get_running_loop()
        context = tls.context
        start = self.recorder.now()
        self._handshaking = True
        self._held = []
        try:
            async with asyncio.timeout(TLS_HANDSHAKE_TIMEOUT):
                transport = await loop.start_tls(
                    self._transport, protocol, context, server_side=True
                )
        except TimeoutError:
            self._fail(
                f"TLS handshake with {self.peer} timed out after {TLS_HANDSHAKE_TIMEOUT:g} s", "tls"
            )
            return False
        except ssl.SSLError as exc:
            self._fail(f"TLS handshake with {self.peer} failed: {describe_ssl_error(exc)}", "tls")
            return False
        except (OSError, RuntimeError) as exc:
            if not self.ended:
                self._fail(
                    f"TLS handshake with {self.peer} failed: {exc or type(exc).__name__}", "tls"
                )
            return False
        finally:
            self._handshaking = False
        if transport is None or self.ended:
            self._fail(f"{self.peer} closed the connection during the TLS handshake", "tls")
            return False
        self._transport = transport  # type: ignore[assignment]
        self._secure = True
        ssl_object = transport.get_extra_info("ssl_object")
        cipher = ssl_object.cipher() if ssl_object is not None else None
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.recorder.record(
            Direction.META,
            Kind.TLS,
            fields={
                "version": ssl_object.version() if ssl_object is not None else None,
                "cipher": cipher[0] if cipher else None,
                "alpn": ssl_object.selected_alpn_protocol() if ssl_object is not None else None,
                "server_hostname": tls.server_name(ssl_object),
                "cert": describe_certificate(tls.cert_der),
                "client_cert": describe_certificate(der) if der else None,
                "duration_ns": self.recorder.now() - start,
            },
        )
        return True

    # -- reading ----------------------------------------------------------------

    def release(self) -> None:
        """Handle the reads held during the TLS handshake (after the greeting)."""
        held, self._held = self._held or [], None
        for data, t_ns in held:
            self._data_received(data, t_ns)

    def _data_received(self, data: bytes, t_ns: int) -> None:
        if self.ended:
            return
        if self._held is not None:
            self._held.append((data, t_ns))
            return
        self._read(data, t_ns)

    def _read(self, data: bytes, t_ns: int) -> None:
        """One read of an open connection, all its records stamped ``t_ns``."""
        want = self.on_messages is not None
        read = record_read(
            self._framer, self.options.framing, self.recorder, data, t_ns, bodies=want
        )
        self.messages_in += read.count
        if read.bodies and self.on_messages is not None and not self.ended:
            self.on_messages(self, read.bodies)
        if read.error is not None:
            error = read.error
            self._fail(str(error), "session", wire=error.offending, direction=Direction.IN)

    def _flush_leftover(self) -> None:
        record_leftover(self._framer, self.options.framing, self.recorder, None)

    def _eof_received(self) -> bool:
        """The client half-closed: record it, let pending replies go, then close our side."""
        self._peer_eof = True
        self.initiated_by = self.initiated_by.known_or(Initiator.CLIENT)
        self._flush_leftover()
        if self._state is SessionState.OPEN:
            self.recorder.record(
                Direction.META,
                Kind.INFO,
                fields={
                    "message": f"{self.peer} finished sending (half-close)",
                    "half_close": True,
                },
            )
        if self._secure:
            return False  # TLS transports close themselves on EOF
        return bool(self._timers)  # True: close after the delayed replies (see after_step)

    def after_step(self) -> None:
        """Called after a delayed step: close once a half-closed client has its replies."""
        if self._peer_eof and not self._timers and not self.ended:
            self._transport.close()

    def _connection_lost(self, exc: Exception | None) -> None:
        if self.ended or self._handshaking:
            return
        if exc is not None:
            if not self._peer_eof:
                self._flush_leftover()
            if isinstance(exc, ConnectionResetError):
                self.initiated_by = self.initiated_by.known_or(Initiator.CLIENT)
                self._fail(f"connection reset by {self.peer}", "session")
            else:
                self._fail(
                    f"connection to {self.peer} failed: {getattr(exc, 'strerror', None) or exc}",
                    "session",
                )
            return
        self.initiated_by = self.initiated_by.known_or(Initiator.CLIENT)
        who = "client" if self.initiated_by is Initiator.CLIENT else "server"
        self._finish(f"connection closed by {who}", clean=True)

    # -- flow control -----------------------------------------------------------

    def _lag_pause(self) -> None:
        self._consumer_lag = True
        self._apply_reading()

    def _lag_resume(self) -> None:
        self._consumer_lag = False
        self._apply_reading()

    @property
    def backed_up(self) -> bool:
        """True while the client does not read what it is sent."""
        return self._backed_up

    def _writing_paused(self, paused: bool) -> None:
        """The transport's write buffer passed its high (or fell to its low) water mark."""
        if paused == self._backed_up or self.ended:
            return
        self._backed_up = paused
        size = self._transport.get_write_buffer_size()
        message = (
            f"backed up: {self.peer} is not reading ({size} bytes wait); reading paused"
            if paused
            else f"{self.peer} reads again; reading resumed"
        )
        self.recorder.record(
            Direction.META, Kind.INFO, fields={"message": message, "backed_up": paused}
        )
        self._apply_reading()

    def _apply_reading(self) -> None:
        transport = self._transport
        if transport.is_closing():
            return
        with contextlib.suppress(RuntimeError):
            if self._consumer_lag or self._backed_up:
                transport.pause_reading()
            else:
                transport.resume_reading()

    @property
    def reading(self) -> bool:
        """True while the transport reads (False when paused)."""
        return self._transport.is_reading()

    # -- writing ----------------------------------------------------------------

    def _writable(self) -> asyncio.Transport:
        self._check_open()
        transport = self._transport
        if transport.is_closing():
            raise SessionNotOpenError(f"cannot send to connection {self.number}: it is closing")
        waiting = transport.get_write_buffer_size()
        if waiting > MAX_BACKLOG:
            self.not_sent += 1
            raise BackedUpError(
                f"not sent to connection {self.number}: {self.peer} is not reading "
                f"({waiting} bytes wait)"
            )
        return transport

    def send(self, data: bytes) -> None:
        """Send one message, framed as the session frames."""
        transport = self._writable()
        wire, body, ranges = self._framer.frame(bytes(data))
        transport.write(wire)
        record_sent(self.recorder, self.options.framing, wire, body, ranges)

    def send_raw(self, data: bytes) -> None:
        """Write exactly these bytes, without framing."""
        transport = self._writable()
        data = bytes(data)
        transport.write(data)
        self.recorder.record(Direction.OUT, Kind.DATA, wire=data, payload=data)

    # -- ending -----------------------------------------------------------------

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Half-close (FIN, or TLS close_notify) after what is buffered, then wait for
        the client to finish; abort past ``timeout``."""
        if self.ended:
            return
        self.initiated_by = self.initiated_by.known_or(Initiator.SERVER)
        self._state = SessionState.CLOSING
        transport = self._transport
        if self._peer_eof or not transport.can_write_eof():
            transport.close()
        else:
            transport.write_eof()
        try:
            async with asyncio.timeout(timeout):
                await self._ended.wait()
        except TimeoutError:
            self.recorder.record(
                Direction.META,
                Kind.INFO,
                fields={"message": f"{self.peer} did not close within {timeout:g} s: aborting"},
            )
            self._abort_transport()
            self._finish(f"aborted after waiting {timeout:g} s for the client", clean=False)

    def abort(self) -> None:
        """Drop the connection now (recorded as aborted by the server)."""
        if self.ended:
            return
        self.initiated_by = self.initiated_by.known_or(Initiator.SERVER)
        self._abort_transport()
        self._finish("aborted by the server", clean=False)

    def drop(self) -> None:
        """Reset the connection (SO_LINGER 0: the client sees ECONNRESET)."""
        if self.ended:
            return
        self.initiated_by = self.initiated_by.known_or(Initiator.SERVER)
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._abort_transport()
        self._finish("dropped by the server (reset)", clean=False)

    def _abort_transport(self) -> None:
        with contextlib.suppress(Exception):
            self._transport.abort()
