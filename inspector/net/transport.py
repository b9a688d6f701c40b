"""The connection under tcp://, tls://, ws:// and wss://: connect, TLS, flow control.

:class:`TransportSession` is what a stream session and a WebSocket session share: it
resolves, connects (recorded as CONNECT), upgrades to TLS (recorded as TLS, or a refused
certificate read again for the user), lets the recorder pause reading, and owns the
asyncio transport. What a read means — framed messages or WebSocket frames — and how
the session ends are left to the subclass, through the ``_after_connect``,
``_data_received``, ``_eof_received`` and ``_connection_lost`` hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import ssl
from asyncio import staggered
from typing import Any

from inspector import __version__
from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.clientcert import CertificateRequestWatch, use_client_certificate
from inspector.net.proxy import Proxy, ProxyError, negotiate, proxy_for
from inspector.net.resolve import (
    Address,
    bind_address,
    connect_fields,
    family_name,
    format_address,
    parse_bind,
    resolve,
)
from inspector.net.session import Session, SessionNotOpenError
from inspector.net.tlsinfo import (
    client_context,
    describe_ssl_error,
    describe_tls,
    fetch_certificate,
)

INSECURE_MESSAGE = "certificate not verified (--insecure)"

#: Seconds allowed for the unverified second handshake that reads a refused certificate.
CERT_FETCH_TIMEOUT = 3.0

#: Bytes asked of the socket per read. asyncio reads up to 256 KiB, about 4,000 small
#: WebSocket frames parsed, recorded and stored in one callback: tens of milliseconds in
#: which the GUI's event loop (qasync runs asyncio on it) cannot paint. 64 KiB bounds one
#: callback to about a thousand frames; throughput is the same, only calls are smaller.
READ_SIZE = 64 * 1024

#: Seconds between starting two connection attempts (RFC 8305 §5 recommends 250 ms).
HAPPY_EYEBALLS_DELAY = 0.25

USER_AGENT = f"socket-inspector/{__version__}"


class _TransportProtocol(asyncio.Protocol):
    """Hands every transport event to its session; one timestamp per read."""

    def __init__(self, session: TransportSession) -> None:
        self.session = session

    def data_received(self, data: bytes) -> None:
        session = self.session
        session._data_received(data, session.recorder.now())
        speaking = session.speaking
        if speaking is not None:
            speaking.heard()
        if session.on_data is not None:
            session.on_data()

    def eof_received(self) -> bool:
        self.session._eof_received(self.session.recorder.now())
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.session._connection_lost(exc)


class TransportSession(Session):
    """A session over one TCP connection, with TLS for tls:// and wss://."""

    #: ALPN protocols offered in the TLS handshake (WebSocket offers "http/1.1").
    alpn: list[str] | None = None

    def __init__(self, endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> None:
        super().__init__(endpoint, options, recorder)
        self._transport: asyncio.Transport | None = None
        self._peer_eof = False
        self._proxied = False

    # -- opening -----------------------------------------------------------------

    async def _open(self) -> None:
        proxy = proxy_for(self.options.proxy, self.endpoint)
        if proxy is None:
            addresses, self.phases["resolve_ns"] = await resolve(
                self.endpoint, self.recorder, socket.SOCK_STREAM, family=self.options.family
            )
            await self._connect(addresses)
        else:
            self._proxied = True
            await self._connect_via(proxy)
        if self.endpoint.secure:
            await self._start_tls()
        self._install_flow_control()
        await self._after_connect()

    async def _connect(self, addresses: list[Address]) -> None:
        """Connect to the first address that answers (recorded as CONNECT)."""
        sock = await self._connect_socket(addresses, self.endpoint.netloc)
        await self._adopt(sock)

    async def _adopt(self, sock: socket.socket) -> None:
        """Make the connected ``sock`` the session's transport."""
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_connection(lambda: _TransportProtocol(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        self._transport = transport
        _limit_read_size(transport)

    async def _connect_socket(self, addresses: list[Address], where: str) -> socket.socket:
        """A socket connected to one of ``addresses``: tried in order, each next one
        started HAPPY_EYEBALLS_DELAY after the one before unless that failed sooner
        (RFC 8305 §5); the first to connect wins. Records CONNECT with every attempt."""
        self._phase = "connect"
        bind = parse_bind(self.options.bind) if self.options.bind else None
        attempts: list[dict[str, Any]] = [
            {"address": format_address(sockaddr), "result": "not tried"}
            for _family, sockaddr in addresses
        ]
        start = self.recorder.now()

        async def attempt(index: int) -> socket.socket:
            family, sockaddr = addresses[index]
            attempts[index]["result"] = "trying"
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                if bind is not None:
                    sock.bind(bind_address(bind, family))
                await asyncio.get_running_loop().sock_connect(sock, sockaddr)
            except asyncio.CancelledError:
                sock.close()
                attempts[index]["result"] = "cancelled: another address connected first"
                raise
            except OSError as exc:
                sock.close()
                attempts[index]["result"] = exc.strerror or str(exc) or type(exc).__name__
                raise
            attempts[index]["result"] = "connected"
            return sock

        if len(addresses) == 1:
            winner: socket.socket | None = await attempt(0)
        else:
            winner, _index, errors = await staggered.staggered_race(
                [functools.partial(attempt, i) for i in range(len(addresses))],
                HAPPY_EYEBALLS_DELAY,
            )
            if winner is None:
                raise next((e for e in reversed(errors) if isinstance(e, OSError)), None) or (
                    OSError(f"no address of {where} answered")
                )
        assert winner is not None
        duration = self.recorder.now() - start
        self.phases["connect_ns"] = duration
        fields = connect_fields(
            winner.getsockname(), winner.getpeername(), family_name(winner.family), duration
        )
        if len(addresses) > 1:
            fields["attempts"] = attempts
        if bind is not None:
            fields["bind"] = self.options.bind
        self.recorder.record(Direction.META, Kind.CONNECT, fields=fields)
        return winner

    async def _connect_via(self, proxy: Proxy) -> None:
        """Connect to ``proxy`` and have it open the tunnel to the endpoint (recorded:
        the proxy's RESOLVE and CONNECT, then its own exchange as INFO records)."""
        host = self.endpoint.host
        if not proxy.remote_names and not _is_address(host):
            addresses, _ = await resolve(
                self.endpoint, self.recorder, socket.SOCK_STREAM, family=self.options.family
            )
            host = str(addresses[0][1][0])
        self._phase = "resolve"
        try:
            addresses, self.phases["resolve_ns"] = await resolve(
                self.endpoint,
                self.recorder,
                socket.SOCK_STREAM,
                proxy=(proxy.host, proxy.port),
            )
        except socket.gaierror as exc:
            raise ProxyError(
                f"cannot resolve the proxy {proxy.host!r}: {exc.strerror or exc}"
            ) from None
        try:
            sock = await self._connect_socket(addresses, proxy.netloc)
        except OSError as exc:
            reason = (
                "nothing listens there"
                if isinstance(exc, ConnectionRefusedError)
                else (exc.strerror or str(exc))
            )
            raise ProxyError(f"cannot reach the proxy {proxy.netloc}: {reason}") from None
        self._phase = "proxy"
        start = self.recorder.now()
        try:
            await negotiate(proxy, sock, host, self.endpoint.port, self.recorder, USER_AGENT)
        except BaseException:
            sock.close()
            raise
        self.phases["proxy_ns"] = self.recorder.now() - start
        await self._adopt(sock)

    async def _start_tls(self) -> None:
        """Upgrade the connection to TLS and record what the handshake showed."""
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._phase = "tls"
        context = client_context(self.options, self.alpn)
        sent_cert = (
            use_client_certificate(context, self.options) if self.options.client_cert else None
        )
        watch = CertificateRequestWatch(context)
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
        finally:
            watch.done()
        duration = self.recorder.now() - start
        if transport is None:
            raise ConnectionAbortedError("the connection closed during the TLS handshake")
        self._transport = transport  # type: ignore[assignment]
        self.phases["tls_ns"] = duration
        verified = self.options.verify
        fields = describe_tls(transport.get_extra_info("ssl_object"), verified, self.endpoint.host)
        # Whether the server asked for a client certificate (None: not known). A server
        # that refuses the one sent says so by an alert (TLS 1.3: on the first read).
        fields["client_cert_requested"] = watch.asked
        if sent_cert is not None:
            fields["client_cert"] = sent_cert
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
        if peer and not self._proxied:
            # Through a proxy the peer address is the proxy's: the certificate cannot be
            # read again without a second tunnel, so the refusal is recorded without it.
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
        """Protocol specific: bring the connected session to OPEN (or raise OSError)."""
        raise NotImplementedError

    # -- transport events (protocol specific) ------------------------------------

    def _data_received(self, data: bytes, t_ns: int) -> None:
        """One read from the peer; every record it makes shares ``t_ns``."""
        raise NotImplementedError

    def _eof_received(self, t_ns: int) -> None:
        """The peer finished sending."""
        raise NotImplementedError

    def _connection_lost(self, exc: Exception | None) -> None:
        """The transport closed (``exc`` None: closed normally)."""
        raise NotImplementedError

    # -- writing -----------------------------------------------------------------

    def _writable(self) -> asyncio.Transport:
        """The transport, once the session is open and the connection is not closing."""
        self._check_open()
        transport = self._transport
        if transport is None or transport.is_closing():
            raise SessionNotOpenError("cannot send: the connection is closing")
        return transport

    # -- ending ------------------------------------------------------------------

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


def _limit_read_size(transport: asyncio.BaseTransport) -> None:
    """Make the selector transport read at most READ_SIZE bytes per callback."""
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = READ_SIZE  # type: ignore[attr-defined]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
