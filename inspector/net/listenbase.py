"""What every listener shares: its states, its errors, binding, and the rules it runs.

:class:`Listener` is the base of the TCP/TLS/WebSocket listener
(:mod:`inspector.net.listener`) and the UDP one (:mod:`inspector.net.udplisten`); it
lives here so that neither imports the other.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import ServerOptions, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.core.render import counted
from inspector.core.rules import RuleEngine, Step, StepKind
from inspector.net import hosting
from inspector.net.accepted import AcceptedStream
from inspector.net.certs import ServerTLS
from inspector.net.connection import Connection
from inspector.net.resolve import format_address
from inspector.net.session import CLOSE_TIMEOUT, SessionError, record_closed
from inspector.protocols.ending import Ending, Initiator

#: Pending connections the kernel queues before the listener accepts them.
BACKLOG = 511

RecorderFor = Callable[[int, str], Recorder]


class ListenerState(StrEnum):
    """Where a listener is in its life."""

    STARTING = "starting"
    LISTENING = "listening"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class ListenError(InspectorError):
    """The listener cannot bind (address in use, permission denied, …): one line."""


def describe_listen_error(exc: OSError, endpoint: Endpoint) -> str:
    """One line for a failure to bind ``endpoint``."""
    where = f"cannot listen on {endpoint.url}"
    if isinstance(exc, socket.gaierror):
        return f"{where}: cannot resolve {endpoint.host!r}: {exc.strerror or exc}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: the address is in use (another program listens there)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{where}: permission denied (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{where}: {endpoint.host} is not an address of this machine"
    return f"{where}: {exc.strerror or exc}"


async def bind_and_announce(host: Any, on_failure: Callable[[str], None], **listening: Any) -> None:
    """Bind a listener or relay (its ``_bind()``) and record LISTENING with ``listening``
    added; when binding fails: what did bind closed, the ERROR, ``state`` FAILED,
    ``on_failure(line)`` (the host's CLOSED record), then ListenError with that line."""
    try:
        sockname, family = await host._bind()
    except OSError as exc:
        host._stop_accepting()  # whatever of it did bind
        message = describe_listen_error(exc, host.endpoint)
        hosting.record_bind_failure(host.recorder, message)
        host.state = ListenerState.FAILED
        on_failure(message)
        raise ListenError(message) from None
    host.port = sockname[1]
    host.local = format_address(sockname)
    host.state = ListenerState.LISTENING
    hosting.record_listening(
        host.recorder, host.endpoint, host.url, host.local, family, host.tls, **listening
    )


async def bind_addresses(endpoint: Endpoint, socktype: int) -> list[tuple[int, Any]]:
    """(family, sockaddr) to bind: every address of the host, only the first for port 0
    (so one port is picked, not one per address family)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        endpoint.host, endpoint.port, type=socktype, flags=socket.AI_PASSIVE
    )
    seen: list[tuple[int, Any]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if (family, sockaddr) not in seen:
            seen.append((family, sockaddr))
    return seen[:1] if endpoint.port == 0 else seen


async def bind_stream_servers(
    endpoint: Endpoint, factory: Callable[[], asyncio.Protocol], servers: list[asyncio.Server]
) -> tuple[Any, int]:
    """Listen with ``factory``'s protocols on every address of ``endpoint`` (the rest on
    the first one's port, so port 0 means one port); each server is appended to
    ``servers`` as it starts, so the caller can close them if this raises OSError.
    Returns the first socket's name and family."""
    loop = asyncio.get_running_loop()
    first: tuple[Any, int] | None = None
    for family, sockaddr in await bind_addresses(endpoint, socket.SOCK_STREAM):
        port = first[0][1] if first is not None else sockaddr[1]
        server = await loop.create_server(
            factory, sockaddr[0], port, family=family, backlog=BACKLOG, reuse_address=True
        )
        servers.append(server)
        if first is None:
            first = (server.sockets[0].getsockname(), family)
    assert first is not None
    return first


async def bind_datagram(
    endpoint: Endpoint, factory: Callable[[], asyncio.DatagramProtocol]
) -> tuple[asyncio.DatagramTransport, Any, int]:
    """One UDP socket on ``endpoint``'s first address: (transport, sockname, family)."""
    loop = asyncio.get_running_loop()
    family, sockaddr = (await bind_addresses(endpoint, socket.SOCK_DGRAM))[0]
    transport, _ = await loop.create_datagram_endpoint(
        factory, local_addr=sockaddr[:2], family=family
    )
    return transport, transport.get_extra_info("sockname"), family


class DatagramHandoff(asyncio.DatagramProtocol):
    """Hands each datagram, and each socket error if asked, to the callables given."""

    def __init__(
        self,
        received: Callable[[bytes, Any], None],
        error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.datagram_received = received  # type: ignore[method-assign]
        self._error = error

    def error_received(self, exc: Exception) -> None:
        if self._error is not None:
            self._error(exc)


class Host:
    """What a listener and a relay share: the address they listen on, their state and
    counts, their own records and the tasks they run."""

    def __init__(self, endpoint: Endpoint, recorder: Recorder, recorder_for: RecorderFor) -> None:
        self.endpoint = endpoint
        self.recorder = recorder
        self.recorder_for = recorder_for
        self.state = ListenerState.STARTING
        self.port = endpoint.port
        self.local = ""
        self.accepted = 0
        self.refused = 0
        self.ended_count = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._created_ns = recorder.now()

    @property
    def url(self) -> str:
        """The URL clients connect to (the real port once listening)."""
        e = self.endpoint
        return Endpoint(e.scheme, e.host, self.port, e.target).url

    async def _bind(self) -> tuple[Any, int]:
        """Transport specific: bind, return (sockname, family) of the first socket."""
        raise NotImplementedError

    def _stop_accepting(self) -> None:
        """Transport specific: close the listening socket (also after a failed bind)."""

    def _record_closed(self, message: str, clean: bool) -> None:
        """The host's own CLOSED record: it stopped (or never bound), the server's doing."""
        ending = Ending(message, clean, initiated_by=Initiator.SERVER)
        record_closed(self.recorder, ending, self.recorder.now(), self._created_ns)

    def _count_ended(self, what: str, item: Any, tell: Callable[[Any], None] | None) -> None:
        """One more ended (a "connection" or a "pair" ``item``): counted, recorded, told."""
        self.ended_count += 1
        hosting.record_ended(
            self.recorder, what, item.number, item.peer, item.end_message, item.clean
        )
        if tell is not None:
            tell(item)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a fault inside is already recorded by its owner


class Listener(Host):
    """What every listener shares: state, numbering, records, rules, sending, stopping."""

    def __init__(
        self,
        endpoint: Endpoint,
        options: SessionOptions,
        recorder: Recorder,
        recorder_for: RecorderFor,
        *,
        rules: RuleEngine | None = None,
        max_connections: int | None = None,
        tls: ServerTLS | None = None,
        server: ServerOptions | None = None,
    ) -> None:
        super().__init__(endpoint, recorder, recorder_for)
        self.options = options
        self.rules = rules if rules else None
        self.max_connections = max_connections
        self.tls = tls
        #: ws:// and wss://: how upgrade requests are answered (None: accept them all).
        self.server = server
        #: Every connection accepted, by number (1, 2, …), ended ones included.
        self.connections: dict[int, Connection] = {}
        self.on_connection: Callable[[Connection], None] | None = None
        self.on_connection_end: Callable[[Connection], None] | None = None
        self._open: dict[int, Connection] = {}
        #: Accepted but not ready yet (a TLS handshake or WebSocket upgrade under way).
        self._not_ready: set[int] = set()
        self._stopped = asyncio.Event()

    # -- state ------------------------------------------------------------------

    @property
    def open_connections(self) -> list[Connection]:
        """Connections ready for messages, oldest first."""
        return list(self._open.values())

    def connection(self, number: int) -> Connection:
        """The connection numbered ``number``; SessionError when there is none."""
        conn = self.connections.get(number)
        if conn is None:
            raise SessionError(f"there is no connection {number}")
        return conn

    # -- starting ---------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start accepting; ListenError (recorded too) when it cannot."""
        await bind_and_announce(
            self,
            lambda message: self._close_listener(message, clean=False),
            max_connections=self.max_connections,
        )
        if self.rules is not None:
            for index, period in self.rules.timers():
                self._spawn(self._timer(index, period))

    # -- connections ------------------------------------------------------------

    def _admit(self, peer: str) -> int | None:
        """The number for a new connection from ``peer``, or None (refused, recorded)."""
        if self.state is not ListenerState.LISTENING:
            return None
        limit = self.max_connections
        if limit is not None and len(self._open) + self._starting() >= limit:
            self.refused += 1
            open_now = counted(limit, "connection")
            message = f"refused {peer}: {open_now} already open (max connections: {limit})"
            hosting.record_refused(self.recorder, peer, message)
            return None
        self.accepted += 1
        number = self.accepted
        hosting.record_accepted(self.recorder, number, peer, self.local)
        return number

    def _starting(self) -> int:
        """Connections accepted but not yet ready (a TLS handshake or upgrade under way)."""
        return len(self._not_ready)

    def _connection_recorder(self, number: int, peer: str) -> Recorder | None:
        """A Recorder for a new connection, or None (the fault recorded) when none can be made."""
        try:
            return self.recorder_for(number, peer)
        except InspectorError as exc:
            self.recorder.record(
                Direction.META,
                Kind.ERROR,
                fields={
                    "message": f"connection {number} from {peer} dropped: {exc}",
                    "conn": number,
                },
            )
            return None

    def _register(self, conn: Connection) -> None:
        self.connections[conn.number] = conn
        self._not_ready.add(conn.number)
        conn.on_end = self._connection_ended
        if self.rules is not None:
            conn.on_messages = self._on_messages

    def _ready(self, conn: Connection) -> None:
        """The connection can carry messages: tell the owner, greet it if a rule says so."""
        self._not_ready.discard(conn.number)
        if conn.ended:
            return
        self._open[conn.number] = conn
        if self.on_connection is not None:
            self.on_connection(conn)
        if self.rules is not None and self.rules.wants_connect:
            self.perform(conn, self.rules.on_connect(conn.number))

    def _connection_ended(self, conn: Connection) -> None:
        self._open.pop(conn.number, None)
        self._not_ready.discard(conn.number)
        self._count_ended("connection", conn, self.on_connection_end)

    # -- rules ------------------------------------------------------------------

    def _on_messages(self, conn: Connection, bodies: list[bytes]) -> None:
        rules = self.rules
        if rules is None:
            return
        types = conn.message_types
        for index, body in enumerate(bodies):
            if conn.ended:
                return
            text = types[index] if types is not None and index < len(types) else None
            self.perform(conn, rules.on_message(conn.number, body, text))

    def perform(self, conn: Connection, steps: list[Step]) -> None:
        """Perform rule steps for ``conn``: now, or after each step's delay."""
        for step in steps:
            if step.delay_ms:
                conn.later(step.delay_ms / 1000, lambda s=step: self._perform_now(conn, s))  # type: ignore[misc]
            else:
                self._perform_now(conn, step)

    def _perform_now(self, conn: Connection, step: Step) -> None:
        kind = step.kind
        if kind is StepKind.SEND:
            self._send_quietly(conn, step.data, step.text)
        elif kind is StepKind.SEND_ALL:
            self.broadcast(step.data, step.text)
        elif kind is StepKind.CLOSE:
            self._spawn(conn.close_with(step.close_code, step.close_reason))
        elif kind is StepKind.DROP:
            conn.drop()
        if isinstance(conn, AcceptedStream):
            conn.after_step()

    @staticmethod
    def _send_quietly(conn: Connection, data: bytes, text: bool = True) -> bool:
        """Send, True when sent; a closing or backed-up connection is skipped."""
        if not conn.is_open:
            return False
        try:
            conn.send_message(data, text)
        except SessionError:
            return False
        return True

    async def _timer(self, index: int, period_ms: int) -> None:
        """Fire timer rule ``index`` every ``period_ms`` for each ready connection."""
        rules = self.rules
        assert rules is not None
        while self.state is ListenerState.LISTENING:
            await asyncio.sleep(period_ms / 1000)
            for conn in list(self._open.values()):
                if conn.is_open:
                    self.perform(conn, rules.on_timer(index, conn.number))

    # -- by hand ----------------------------------------------------------------

    def send(self, number: int, data: bytes) -> None:
        """Send one message to connection ``number``; SessionError (one line) when it cannot."""
        self.connection(number).send(data)

    def broadcast(self, data: bytes, text: bool = True) -> int:
        """Send one message to every ready connection; the number it was sent to
        (``text`` False: WebSocket binary messages)."""
        return sum(self._send_quietly(conn, data, text) for conn in list(self._open.values()))

    async def disconnect(self, number: int, timeout: float = CLOSE_TIMEOUT) -> None:
        """Close connection ``number`` gracefully."""
        await self.connection(number).close(timeout)

    async def stop(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Stop accepting, close every connection gracefully, record the end."""
        if self.state in (ListenerState.STOPPING, ListenerState.STOPPED, ListenerState.FAILED):
            await self._stopped.wait()
            return
        self.state = ListenerState.STOPPING
        self._stop_accepting()
        for task in list(self._tasks):
            task.cancel()
        for number in list(self._not_ready):
            self.connections[number].abort()  # a TLS handshake in progress
        live = [c for c in self._open.values() if not c.ended]
        await asyncio.gather(*(c.close(timeout) for c in live), return_exceptions=True)
        self._close_listener(
            f"stopped listening: {counted(self.accepted, 'connection')} accepted, "
            f"{self.refused} refused",
            clean=True,
        )
        self.state = ListenerState.STOPPED

    def _close_listener(self, message: str, clean: bool) -> None:
        if self._stopped.is_set():
            return
        self._record_closed(message, clean)
        self._stopped.set()

    async def wait_stopped(self) -> None:
        """Wait until the listener has stopped."""
        await self._stopped.wait()

    def summary(self) -> dict[str, Any]:
        """A JSON-compatible account of the listener for the capture."""
        return {
            "role": "listener",
            "url": self.url,
            "local": self.local,
            "state": str(self.state),
            "accepted": self.accepted,
            "refused": self.refused,
            "ended": self.ended_count,
            "max_connections": self.max_connections,
        }
