"""Real servers on 127.0.0.1 for the tests, each run on a background thread's event loop.

Every server lives on one :class:`ServerLoop` (a thread running its own asyncio loop),
so any client can talk to it: a test's ``asyncio.run``, a qasync loop in a Qt test, or
a subprocess running the command line. Each ``start_*`` function takes the loop, starts
the server there and returns a handle with ``.port``, ``.url`` and ``.stop()``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import socket
import ssl
import struct
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

import trustme
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

HOST = "127.0.0.1"
T = TypeVar("T")


class ServerLoop:
    """An asyncio loop on a daemon thread that hosts test servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="test-servers", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coro`` on the server loop and return its result (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Cancel what still runs, stop the loop and join the thread."""

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@dataclass
class RunningServer:
    """A started server: where it listens and how to stop it."""

    scheme: str
    port: int
    host: str = HOST
    path: str = "/"
    _stop: Callable[[], Awaitable[None]] | None = None
    _loop: ServerLoop | None = None

    @property
    def url(self) -> str:
        """The endpoint to type, e.g. ``ws://127.0.0.1:40123/``."""
        suffix = self.path if self.scheme in ("ws", "wss") else ""
        return f"{self.scheme}://{self.host}:{self.port}{suffix}"

    def url_for(self, path: str) -> str:
        """The URL of another request target on the same server (WebSocket)."""
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._stop is not None and self._loop is not None:
            stop, self._stop = self._stop, None
            self._loop.call(stop())


# -- WebSocket echo -------------------------------------------------------------------

FORBIDDEN_BODY = "forbidden: this path refuses WebSocket upgrades\n"


async def _ws_handler(conn: ServerConnection) -> None:
    """Echo every message; "ping-me" also sends a ping, "close-me" closes with 4000 "bye"."""
    try:
        async for message in conn:
            if message == "close-me":
                await conn.close(4000, "bye")
                return
            if message == "ping-me":
                await conn.ping(b"ping-me")
            await conn.send(message)
    except ConnectionClosed:
        pass


def _ws_process_request(conn: ServerConnection, request: Request) -> Response | None:
    """Refuse the upgrade on /forbidden with 403 and a body."""
    if request.path == "/forbidden":
        return conn.respond(HTTPStatus.FORBIDDEN, FORBIDDEN_BODY)
    return None


def start_ws_server(
    loop: ServerLoop, *, compression: bool = True, ssl_context: ssl.SSLContext | None = None
) -> RunningServer:
    """A websockets echo server (see ``_ws_handler``), with or without permessage-deflate."""

    async def start() -> RunningServer:
        server = await serve(
            _ws_handler,
            HOST,
            0,
            compression="deflate" if compression else None,
            process_request=_ws_process_request,
            ping_interval=None,
            max_size=16 * 1024 * 1024,
            ssl=ssl_context,
        )
        port = server.sockets[0].getsockname()[1]

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        return RunningServer("wss" if ssl_context else "ws", port, _stop=stop, _loop=loop)

    return loop.call(start())


# -- TCP / TLS echo ------------------------------------------------------------------


async def _echo_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Write back every byte; at the client's EOF, close."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def start_tcp_echo(loop: ServerLoop, ssl_context: ssl.SSLContext | None = None) -> RunningServer:
    """A TCP echo server (tls:// when given an SSL context)."""

    async def start() -> RunningServer:
        server = await asyncio.start_server(_echo_stream, HOST, 0, ssl=ssl_context)
        port = server.sockets[0].getsockname()[1]

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        return RunningServer("tls" if ssl_context else "tcp", port, _stop=stop, _loop=loop)

    return loop.call(start())


# -- UDP echo ------------------------------------------------------------------------


class _UdpEcho(asyncio.DatagramProtocol):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data:
            self.transport.sendto(data, addr)
        else:
            self.sock.sendto(b"", addr)  # asyncio before 3.12 drops empty datagrams


def start_udp_echo(loop: ServerLoop) -> RunningServer:
    """A UDP server that sends every datagram back to where it came from."""

    async def start() -> RunningServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        sock.setblocking(False)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _UdpEcho(sock), sock=sock
        )
        port = transport.get_extra_info("sockname")[1]

        async def stop() -> None:
            transport.close()

        return RunningServer("udp", port, _stop=stop, _loop=loop)

    return loop.call(start())


# -- TLS certificates ----------------------------------------------------------------


def server_ssl_context(
    ca: trustme.CA,
    *identities: str,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    alpn: list[str] | None = None,
) -> ssl.SSLContext:
    """A server context with a certificate from ``ca`` (default identities: 127.0.0.1,
    localhost); pass dates for an expired one, other identities for a host mismatch."""
    cert = ca.issue_cert(
        *(identities or (HOST, "localhost")), not_before=not_before, not_after=not_after
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


# -- hostile server ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    """Write these bytes to the client."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ReadUntil:
    """Read until ``marker`` has arrived (default: the end of an HTTP head)."""

    marker: bytes = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Upgrade:
    """Read a WebSocket upgrade request and accept it with a correct 101 (RFC 6455 §4.2.2)."""

    extra_headers: bytes = b""


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection gracefully (FIN)."""


@dataclass(frozen=True, slots=True)
class Reset:
    """Abort the connection with a TCP RST (SO_LINGER 0)."""


@dataclass(frozen=True, slots=True)
class Stall:
    """Say nothing more; keep reading until the client goes away."""


@dataclass(frozen=True, slots=True)
class HalfClose:
    """Send FIN (shutdown for writing) and keep reading what the client still sends."""


@dataclass(frozen=True, slots=True)
class Trickle:
    """Write ``data`` one byte at a time, ``interval`` seconds apart (a slow peer)."""

    data: bytes
    interval: float = 0.05


@dataclass(frozen=True, slots=True)
class Flood:
    """Write ``total`` bytes as fast as the client reads them, in ``chunk``-byte writes
    (the byte at offset i is i % 251, so a test can check every byte arrived in order);
    with ``frames`` each chunk goes out as one binary WebSocket frame."""

    total: int
    chunk: int = 65536
    frames: bool = False


Step = Write | ReadUntil | Upgrade | Close | Reset | Stall | HalfClose | Trickle | Flood


def flood_bytes(offset: int, size: int) -> bytes:
    """The ``size`` bytes a :class:`Flood` writes from ``offset`` on."""
    pattern = bytes(range(251)) * (size // 251 + 2)
    start = offset % 251
    return pattern[start : start + size]


WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def websocket_accept(key: bytes) -> bytes:
    """The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.strip() + WS_GUID).digest())


@dataclass(frozen=True, slots=True)
class HostileScript:
    """What the hostile server does on each connection, step by step. When the steps
    run out without Close/Reset it waits for the client's EOF, then closes."""

    steps: tuple[Step, ...]


@dataclass
class HostileServer(RunningServer):
    """A hostile server; ``received`` holds what each connection sent, in order."""

    received: list[bytes] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        """ws://127.0.0.1:port/ for scripts that begin with :class:`Upgrade`."""
        return f"ws://{self.host}:{self.port}/"


async def _run_script(
    script: HostileScript,
    received: list[bytes],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    buffer = bytearray()
    index = len(received)
    received.append(b"")

    async def read_until(marker: bytes) -> bytes:
        while marker not in buffer:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionResetError("client went away")
            buffer.extend(chunk)
            received[index] += chunk
        end = buffer.index(marker) + len(marker)
        head = bytes(buffer[:end])
        del buffer[:end]
        return head

    try:
        for step in script.steps:
            if isinstance(step, Write):
                writer.write(step.data)
                await writer.drain()
            elif isinstance(step, ReadUntil):
                await read_until(step.marker)
            elif isinstance(step, Upgrade):
                head = await read_until(b"\r\n\r\n")
                key = b""
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"sec-websocket-key":
                        key = value.strip()
                writer.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                    + websocket_accept(key)
                    + b"\r\n"
                    + step.extra_headers
                    + b"\r\n"
                )
                await writer.drain()
            elif isinstance(step, Close):
                writer.close()
                return
            elif isinstance(step, Reset):
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            elif isinstance(step, Stall):
                break
            elif isinstance(step, HalfClose):
                if writer.can_write_eof():
                    writer.write_eof()
            elif isinstance(step, Trickle):
                for offset in range(len(step.data)):
                    writer.write(step.data[offset : offset + 1])
                    await writer.drain()
                    await asyncio.sleep(step.interval)
            elif isinstance(step, Flood):
                for offset in range(0, step.total, step.chunk):
                    chunk = flood_bytes(offset, min(step.chunk, step.total - offset))
                    if step.frames:
                        writer.write(b"\x82\x7f" + len(chunk).to_bytes(8, "big"))
                    writer.write(chunk)
                    await writer.drain()
        while chunk := await reader.read(65536):
            received[index] += chunk
        writer.close()
    except (ConnectionError, asyncio.CancelledError):
        writer.transport.abort()


def start_hostile_server(loop: ServerLoop, script: HostileScript) -> HostileServer:
    """A raw TCP server that plays ``script`` to every client that connects."""
    received: list[bytes] = []

    async def start() -> HostileServer:
        server = await asyncio.start_server(
            lambda r, w: _run_script(script, received, r, w), HOST, 0
        )
        port = server.sockets[0].getsockname()[1]

        async def stop() -> None:
            server.close()
            if hasattr(server, "close_clients"):
                server.close_clients()

        return HostileServer("tcp", port, _stop=stop, _loop=loop, received=received)

    return loop.call(start())


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]
