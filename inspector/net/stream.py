"""TCP and TLS sessions: an asyncio Protocol per connection, framing on the reads."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.options import Framing, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.core.runs import cutter, message_fields
from inspector.net.resolve import Address, resolve
from inspector.net.session import (
    CLOSE_TIMEOUT,
    Session,
    SessionNotOpenError,
    SessionState,
    describe_os_error,
)
from inspector.net.tlsinfo import (
    client_context,
    describe_ssl_error,
    describe_tls,
    fetch_certificate,
)
from inspector.protocols.framing import FramingError, make_framer

INSECURE_MESSAGE = "certificate not verified (--insecure)"

#: Seconds allowed for the unverified second handshake that reads a refused certificate.
CERT_FETCH_TIMEOUT = 3.0

#: The fields of a raw read: none (one shared read-only mapping).
_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


class _StreamProtocol(asyncio.Protocol):
    """Hands every transport event to its session; one timestamp per read."""

    def __init__(self, session: StreamSession) -> None:
        self.session = session

    def data_received(self, data: bytes) -> None:
        session = self.session
        session._data_received(data, session.recorder.now())
        if session.on_data is not None:
            session.on_data()

    def eof_received(self) -> bool:
        self.session._eof_received(self.session.recorder.now())
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.session._connection_lost(exc)


class StreamSession(Session):
    """A tcp:// or tls:// session; also the connection under ws:// and wss://."""

    #: ALPN protocols offered in the TLS handshake (WebSocket offers "http/1.1").
    alpn: list[str] | None = None

    def __init__(self, endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> None:
        super().__init__(endpoint, options, recorder)
        self._transport: asyncio.Transport | None = None
        self._framer = make_framer(options.framing, options.max_size)
        #: Lines and length prefixes record the messages of a read as one run
        #: (Recorder.record_run); raw framing is a record per read anyway.
        self._runs = options.framing is not Framing.RAW
        self._peer_eof = False

    # -- opening -----------------------------------------------------------------

    async def _open(self) -> None:
        addresses, self.phases["resolve_ns"] = await resolve(
            self.endpoint, self.recorder, socket.SOCK_STREAM
        )
        await self._connect(addresses)
        if self.endpoint.secure:
            await self._start_tls()
        self._install_flow_control()
        await self._after_connect()

    async def _connect(self, addresses: list[Address]) -> None:
        """Connect to the first address that answers (recorded as CONNECT)."""
        loop = asyncio.get_running_loop()

        async def open_on(sock: socket.socket, sockaddr: Any) -> Any:
            await loop.sock_connect(sock, sockaddr)
            transport, _ = await loop.create_connection(lambda: _StreamProtocol(self), sock=sock)
            return transport

        transport, _sock = await self._connect_first(addresses, socket.SOCK_STREAM, open_on)
        self._transport = transport
        _limit_read_size(transport)

    async def _start_tls(self) -> None:
        """Upgrade the connection to TLS and record what the handshake showed."""
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._phase = "tls"
        context = client_context(self.options, self.alpn)
        start = self.recorder.now()
        protocol = self._transport.get_protocol()
        peer = self._transport.get_extra_info("peername")
        try:
            transport = await loop.start_tls(
                self._transport, protocol, context, server_hostname=self.endpoint.host
            )
        except ssl.SSLCertVerificationError as exc:
            await self._certificate_rejected(exc, peer)
            raise
        duration = self.recorder.now() - start
        if transport is None:
            raise ConnectionAbortedError("the connection closed during the TLS handshake")
        self._transport = transport  # type: ignore[assignment]
        self.phases["tls_ns"] = duration
        verified = self.options.verify
        fields = describe_tls(transport.get_extra_info("ssl_object"), verified, self.endpoint.host)
        self.tls = dict(fields)
        fields["duration_ns"] = duration
        self.recorder.record(Direction.META, Kind.TLS, fields=fields)
        if not verified:
            self.recorder.record(Direction.META, Kind.INFO, fields={"message": INSECURE_MESSAGE})

    async def _certificate_rejected(
        self, exc: ssl.SSLCertVerificationError, peer: tuple[Any, ...] | None
    ) -> None:
        """Record the refused certificate (read again without verification) with the
        reason, so the user sees what was rejected and may choose to connect anyway."""
        self._abort_transport()
        cert = None
        if peer:
            cert = await fetch_certificate(peer, self.endpoint.host, CERT_FETCH_TIMEOUT)
        message = describe_ssl_error(exc, cert)
        self.tls = {"verified": False, "server_hostname": self.endpoint.host, "cert": cert}
        self._fail(
            message,
            "tls",
            fields={
                "verified": False,
                "verify_code": exc.verify_code,
                "server_hostname": self.endpoint.host,
                "cert": cert,
            },
        )

    def _install_flow_control(self) -> None:
        """Let the recorder pause reading while its consumer lags (backpressure)."""
        self.recorder.set_flow_control(self._pause_reading, self._resume_reading)

    def _pause_reading(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.pause_reading()

    def _resume_reading(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    @property
    def reading(self) -> bool:
        """True while the transport reads (False when backpressure paused it)."""
        transport = self._transport
        return transport is not None and transport.is_reading()

    async def _after_connect(self) -> None:
        """tcp:// and tls:// are open once connected (WebSocket upgrades here)."""
        self._mark_open()

    # -- reading -----------------------------------------------------------------

    def _data_received(self, data: bytes, t_ns: int) -> None:
        """Frame one read; every record it makes shares ``t_ns``."""
        if self.ended:
            return
        if self._runs:
            done = self._framer.feed_run(data)  # type: ignore[attr-defined]
            if done is not None:  # None: the size limit may break; feed() says where
                if done[1]:
                    self._record_run(*done, t_ns)
                return
        error: FramingError | None = None
        try:
            messages = self._framer.feed(data)
        except FramingError as exc:
            error, messages = exc, exc.messages
        self._record_messages(messages, t_ns)
        if error is not None:
            self._fail(str(error), "session", wire=error.offending, direction=Direction.IN)

    def _record_messages(self, messages: list, t_ns: int) -> None:
        """One record per framed message (DATA for raw reads), all stamped ``t_ns``."""
        if not messages:
            return
        framing = self.options.framing
        if framing is Framing.RAW:
            items = [(wire, wire, _NO_FIELDS) for wire, _body, _ranges in messages]
            kind = Kind.DATA
        else:
            name = str(framing)
            # Messages of one shape share one read-only fields dict, so the capture
            # store encodes it once.
            items = [
                (wire, body, message_fields(name, len(body), len(wire)))
                for wire, body, _ranges in messages
            ]
            kind = Kind.MESSAGE
        self.recorder.record_many(Direction.IN, kind, t_ns, items)
        self._many_messages_in("data", [item[1] for item in items])

    def _record_run(self, done: bytes, count: int, t_ns: int) -> None:
        """The whole messages of one read, recorded as one run (see core.runs)."""
        framing = str(self.options.framing)
        self.recorder.record_run(Direction.IN, Kind.MESSAGE, t_ns, done, count, framing)
        if self.keep_messages:
            bodies = [body for _wire, body, _ranges in cutter(framing)(done)]  # type: ignore[misc]
            self._many_messages_in("data", bodies)
        else:
            self._count_in += count

    def _flush_leftover(self, t_ns: int) -> None:
        """At the end of the stream, record bytes that never became a whole message."""
        rest = self._framer.leftover()
        if rest:
            self.recorder.record(
                Direction.IN,
                Kind.DATA,
                t_ns,
                rest,
                rest,
                {"incomplete": True, "framing": str(self.options.framing)},
            )

    def partial_inbound(self) -> bytes:
        """The incomplete line or length-prefixed message (raw framing keeps none)."""
        return self._framer.leftover()

    def partial_inbound_size(self) -> int | None:
        """For a length prefix, the size of the whole message once the prefix arrived."""
        width = {Framing.LEN16: 2, Framing.LEN32: 4}.get(self.options.framing)
        rest = self._framer.leftover()
        if width is None or len(rest) < width:
            return None
        return width + int.from_bytes(rest[:width], "big")

    def _eof_received(self, t_ns: int) -> None:
        """The peer finished sending: keep what is left, then let the transport close.

        Half-open streams are not kept: once the peer sends FIN the session ends, which
        is what the request/response servers an inspector meets expect.
        """
        self._peer_eof = True
        if self._initiated_by == "none" and self._state is SessionState.OPEN:
            self._initiated_by = "server"
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
        if self._initiated_by == "none":
            self._initiated_by = "server"
        by = "peer" if self._initiated_by == "server" else "client"
        self._finish(f"connection closed by {by}", clean=True)

    # -- writing -----------------------------------------------------------------

    def _writable(self) -> asyncio.Transport:
        self._check_open()
        transport = self._transport
        if transport is None or transport.is_closing():
            raise SessionNotOpenError("cannot send: the connection is closing")
        return transport

    def send(self, data: bytes) -> None:
        """Send one message, framed as the session frames (a length prefix, a newline)."""
        transport = self._writable()
        wire, body, ranges = self._framer.frame(data)
        transport.write(wire)
        if self.options.framing is Framing.RAW:
            self.recorder.record(Direction.OUT, Kind.DATA, wire=wire, payload=wire)
        else:
            self.recorder.record(
                Direction.OUT,
                Kind.MESSAGE,
                wire=wire,
                payload=body,
                fields={"framing": str(self.options.framing), "ranges": ranges},
            )

    def send_raw(self, data: bytes) -> None:
        """Write exactly these bytes, without framing."""
        transport = self._writable()
        data = bytes(data)
        transport.write(data)
        self.recorder.record(Direction.OUT, Kind.DATA, wire=data, payload=data)

    # -- ending ------------------------------------------------------------------

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Half-close (TCP FIN, or TLS close_notify) and wait for the peer to finish."""
        if self.ended:
            return
        if self._state is not SessionState.OPEN or self._transport is None:
            self.abort()
            return
        self._set_state(SessionState.CLOSING)
        if self._initiated_by == "none":
            self._initiated_by = "client"
        transport = self._transport
        if self._peer_eof or not transport.can_write_eof():
            transport.close()
        else:
            transport.write_eof()
        await self._wait_end(timeout)

    async def _wait_end(self, timeout: float) -> None:
        """Wait for the end; past ``timeout``, abort and record why."""
        try:
            async with asyncio.timeout(timeout):
                await self._ended.wait()
        except TimeoutError:
            self._on_close_timeout(timeout)
            self._abort_transport()
            self._finish(f"aborted after waiting {timeout:g} s for the peer", clean=False)

    def _on_close_timeout(self, timeout: float) -> None:
        """Record that the peer did not finish closing in time."""
        self.recorder.record(
            Direction.META,
            Kind.INFO,
            fields={"message": f"the peer did not close within {timeout:g} s: aborting"},
        )

    def _abort_transport(self) -> None:
        transport = self._transport
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.abort()

    def summary(self) -> dict[str, Any]:
        """The base summary plus the framing in use."""
        out = super().summary()
        out["framing"] = str(self.options.framing)
        return out


#: Bytes asked of the socket per read. asyncio reads up to 256 KiB, about 4,000 small
#: WebSocket frames parsed, recorded and stored in one callback: tens of milliseconds in
#: which the GUI's event loop (qasync runs asyncio on it) cannot paint. 64 KiB bounds one
#: callback to about a thousand frames; throughput is the same, only calls are smaller.
READ_SIZE = 64 * 1024


def _limit_read_size(transport: asyncio.BaseTransport) -> None:
    """Make the selector transport read at most READ_SIZE bytes per callback."""
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = READ_SIZE  # type: ignore[attr-defined]
