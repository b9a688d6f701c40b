"""Listening on udp://: one bound socket; each distinct client address is one connection.

UDP has no connections, so a listener makes one per client address: the first
datagram from an address is accepted (an ACCEPTED record, a session of its own with a
CONNECT record, ``accepted: true``), later ones from it are that connection's
DATAGRAM records, and replies go back to that address. A connection ends when it is
disconnected, a rule closes or drops it, the listener stops, or the client sends
nothing for ``ServerOptions.udp_idle`` seconds (ended "idle"; its next datagram is a
new connection). UDP says no goodbye: the CLOSED record is all there is.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from inspector.core.options import UDP_IDLE, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.connection import Connection
from inspector.net.listenbase import DatagramHandoff, Listener, bind_datagram
from inspector.net.resolve import family_name, format_address
from inspector.net.session import CLOSE_TIMEOUT, SessionNotOpenError, describe_os_error
from inspector.protocols.ending import Initiator

#: Addresses whose refusal is remembered (one REFUSED record each, not one per datagram).
REFUSED_MEMORY = 1024


class AcceptedDatagram(Connection):
    """One client address of a udp:// listener."""

    def __init__(
        self,
        number: int,
        listener: DatagramListener,
        addr: Any,
        options: SessionOptions,
        recorder: Recorder,
    ) -> None:
        super().__init__(number, format_address(addr), listener.local, options, recorder)
        self._listener = listener
        self._addr = addr
        self._loop = asyncio.get_running_loop()
        #: When the client was last heard from (the loop's clock, seconds).
        self._heard = self._loop.time()
        self._idle: float | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        recorder.record(
            Direction.META,
            Kind.CONNECT,
            fields={
                "local": self.local,
                "peer": self.peer,
                "family": family_name(listener.family),
                "duration_ns": 0,
                "accepted": True,
            },
        )
        recorder.set_flow_control(
            lambda: listener._lagging(self, True), lambda: listener._lagging(self, False)
        )

    def watch_idle(self, seconds: float | None) -> None:
        """End the connection ("idle") once the client sends nothing for ``seconds``.

        One timer per connection, moved only when it fires early: a datagram costs a
        clock read, not a new timer; once the connection has ended it does nothing."""
        self._idle = seconds
        if seconds is not None and not self.ended:
            self._idle_timer = self._loop.call_at(self._heard + seconds, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        idle = self._idle
        if idle is None or self.ended:
            return
        due = self._heard + idle
        if self._loop.time() < due:
            self._idle_timer = self._loop.call_at(due, self._check_idle)
            return
        self.initiated_by = self.initiated_by.known_or(Initiator.SERVER)
        self._finish(f"idle: nothing from {self.peer} for {idle:g} s", clean=True)

    def _received(self, data: bytes) -> None:
        if self.ended:
            return
        self._heard = self._loop.time()
        self.recorder.record(Direction.IN, Kind.DATAGRAM, None, data, data, {"peer": self.peer})
        self.messages_in += 1
        if self.on_messages is not None:
            self.on_messages(self, [data])

    def send(self, data: bytes) -> None:
        """Send one datagram to this client."""
        self._check_open()
        transport = self._listener._transport
        if transport is None or transport.is_closing():
            raise SessionNotOpenError("cannot send: the listening socket is closed")
        data = bytes(data)
        transport.sendto(data, self._addr)
        self.recorder.record(
            Direction.OUT, Kind.DATAGRAM, wire=data, payload=data, fields={"peer": self.peer}
        )

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Forget the client (UDP has no goodbye to send)."""
        self.initiated_by = self.initiated_by.known_or(Initiator.SERVER)
        self._finish("closed by the server", clean=True)

    def abort(self) -> None:
        """Forget the client at once."""
        self.initiated_by = self.initiated_by.known_or(Initiator.SERVER)
        self._finish("aborted by the server", clean=False)


class DatagramListener(Listener):
    """Listens on udp://; one AcceptedDatagram per client address."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport: asyncio.DatagramTransport | None = None
        self._by_addr: dict[Any, AcceptedDatagram] = {}
        self._refused: set[Any] = set()
        self._lag: set[int] = set()
        self.family = socket.AF_INET

    async def _bind(self) -> tuple[Any, int]:
        self._transport, sockname, self.family = await bind_datagram(
            self.endpoint, lambda: DatagramHandoff(self._datagram, self._socket_error)
        )
        self.local = format_address(sockname)
        return sockname, self.family

    def _datagram(self, data: bytes, addr: Any) -> None:
        conn = self._by_addr.get(addr)
        if conn is None or conn.ended:
            if addr in self._refused:
                return
            conn = self._new_connection(addr)
            if conn is None:
                return
        conn._received(data)

    def _new_connection(self, addr: Any) -> AcceptedDatagram | None:
        peer = format_address(addr)
        refused_before = self.refused
        number = self._admit(peer)
        if number is None:
            if self.refused > refused_before and len(self._refused) < REFUSED_MEMORY:
                self._refused.add(addr)
            return None
        recorder = self._connection_recorder(number, peer)
        if recorder is None:
            return None
        conn = AcceptedDatagram(number, self, addr, self.options, recorder)
        conn.watch_idle(self.server.udp_idle if self.server is not None else UDP_IDLE)
        self._by_addr[addr] = conn
        self._register(conn)
        self._ready(conn)
        return conn

    def _connection_ended(self, conn: Connection) -> None:
        self._lagging(conn, False)
        if isinstance(conn, AcceptedDatagram) and self._by_addr.get(conn._addr) is conn:
            del self._by_addr[conn._addr]  # its next datagram is a new connection
        super()._connection_ended(conn)
        self._refused.clear()  # a place opened: refused clients may come in now

    def _lagging(self, conn: Connection, lagging: bool) -> None:
        """Pause the shared socket while any connection's consumer lags behind."""
        (self._lag.add if lagging else self._lag.discard)(conn.number)
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        with contextlib.suppress(AttributeError, RuntimeError):
            if self._lag:
                transport.pause_reading()  # type: ignore[attr-defined]
            else:
                transport.resume_reading()  # type: ignore[attr-defined]

    def _socket_error(self, exc: Exception) -> None:
        """ICMP errors (a client's port closed) arrive here; the socket stays open."""
        if isinstance(exc, ConnectionRefusedError):
            message = "a client's port is unreachable (it stopped listening)"
        else:
            message = describe_os_error(exc, self.endpoint, "listen")
        self.recorder.record(
            Direction.META, Kind.ERROR, fields={"message": message, "phase": "listen"}
        )

    async def stop(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Forget every client, record the end, close the socket."""
        await super().stop(timeout)
        if self._transport is not None:
            self._transport.close()
