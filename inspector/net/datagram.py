"""UDP sessions: one connected datagram socket; each datagram is one record."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.proxy import UDP_PROXY_REFUSAL, ProxyError, proxy_for
from inspector.net.resolve import Address, bind_address, format_address, parse_bind, resolve
from inspector.net.session import (
    CLOSE_TIMEOUT,
    Session,
    SessionNotOpenError,
    SessionState,
    describe_os_error,
)
from inspector.protocols.ending import Initiator


class _DatagramProtocol(asyncio.DatagramProtocol):
    """Hands every datagram and socket error to its session."""

    def __init__(self, session: DatagramSession) -> None:
        self.session = session

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        session = self.session
        session._datagram_received(data, addr, session.recorder.now())
        if session.on_data is not None:
            session.on_data()

    def error_received(self, exc: Exception) -> None:
        self.session._error_received(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.session._connection_lost(exc)


class DatagramSession(Session):
    """A udp:// session: send datagrams to one peer, record what comes back."""

    def __init__(self, endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> None:
        super().__init__(endpoint, options, recorder)
        self._transport: asyncio.DatagramTransport | None = None
        self._sock: socket.socket | None = None
        self.unreachable = 0

    async def _open(self) -> None:
        if proxy_for(self.options.proxy, self.endpoint) is not None:
            self._phase = "proxy"
            raise ProxyError(UDP_PROXY_REFUSAL)
        addresses, self.phases["resolve_ns"] = await resolve(
            self.endpoint, self.recorder, socket.SOCK_DGRAM, family=self.options.family
        )
        await self._connect(addresses)
        self.recorder.set_flow_control(self._pause_reading, self._resume_reading)
        self._mark_open()

    async def _connect(self, addresses: list[Address]) -> None:
        """Open a socket connected to the first usable address (no packet is sent)."""
        loop = asyncio.get_running_loop()
        bind = parse_bind(self.options.bind) if self.options.bind else None

        async def open_on(sock: socket.socket, sockaddr: Any) -> Any:
            if bind is not None:
                sock.bind(bind_address(bind, sock.family))
            sock.connect(sockaddr)  # a UDP connect sends nothing; it fixes the peer
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DatagramProtocol(self), sock=sock
            )
            return transport

        self._transport, self._sock = await self._connect_first(
            addresses, socket.SOCK_DGRAM, open_on
        )

    def _pause_reading(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            with contextlib.suppress(AttributeError, RuntimeError):
                transport.pause_reading()  # type: ignore[attr-defined]

    def _resume_reading(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            with contextlib.suppress(AttributeError, RuntimeError):
                transport.resume_reading()  # type: ignore[attr-defined]

    def _datagram_received(self, data: bytes, addr: tuple, t_ns: int) -> None:
        if self.ended:
            return
        self.recorder.record(
            Direction.IN, Kind.DATAGRAM, t_ns, data, data, {"peer": format_address(addr)}
        )
        self._message_in("datagram", data)

    def _error_received(self, exc: Exception) -> None:
        """ICMP errors arrive here; the session stays open (UDP has no connection)."""
        if self.ended:
            return
        if isinstance(exc, ConnectionRefusedError):
            self.unreachable += 1
            message = f"port unreachable: no one listens on {self.endpoint.netloc}"
        else:
            message = describe_os_error(exc, self.endpoint, "session")
        self.recorder.record(
            Direction.META, Kind.ERROR, fields={"message": message, "phase": "session"}
        )

    def _connection_lost(self, exc: Exception | None) -> None:
        if self.ended:
            return
        if exc is not None:
            self._fail(describe_os_error(exc, self.endpoint, "session"), "session")
        else:
            self._finish("socket closed", clean=True)

    def send(self, data: bytes) -> bool:
        """Send one datagram; one of size 0 too (a real datagram on the wire). False
        when the socket refused an empty one (the reason is recorded)."""
        self._check_open()
        transport = self._transport
        if transport is None or transport.is_closing():
            raise SessionNotOpenError("cannot send: the socket is closing")
        data = bytes(data)
        if data:
            transport.sendto(data)
        else:
            if not self._send_empty():
                return False
        self.recorder.record(
            Direction.OUT,
            Kind.DATAGRAM,
            wire=data,
            payload=data,
            fields={"peer": format_address(transport.get_extra_info("peername"))},
        )
        return True

    def _send_empty(self) -> bool:
        """Send a datagram of size 0 (asyncio's sendto silently drops empty ones before
        Python 3.12; UDP allows them, RFC 768); False, with the reason recorded, if the
        socket refused it."""
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.send(b"")
        except BlockingIOError:
            self.recorder.record(
                Direction.META,
                Kind.INFO,
                fields={"message": "empty datagram not sent: the socket buffer is full"},
            )
            return False
        except OSError as exc:
            self._error_received(exc)
            return False
        return True

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Close the socket (UDP says no goodbye)."""
        transport = self._transport
        if self._nothing_to_close(transport) or transport is None:
            return
        self._initiated_by = Initiator.CLIENT
        self._set_state(SessionState.CLOSING)
        transport.close()
        await self._ended.wait()

    def _abort_transport(self) -> None:
        transport = self._transport
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.abort()
