"""HTTP/1.1 for the transport comparison: a small server and client over h11 (Sans-I/O).

The server answers four targets: ``POST /echo`` (the body back), ``POST /msg?c=ID``
(keeps the body in client ID's mailbox, answers 204), ``GET /poll?c=ID`` (the oldest
message of the mailbox, or 204 when it is empty; ``&wait=1`` holds the request until
one arrives: long-polling) and ``POST /push?c=ID&n=N&s=S`` (fills the mailbox with N
messages of S bytes: a server push to be polled). The client records every request
and response with its exact bytes (DATA records: ``wire`` as written or read,
``payload`` the body), and a CONNECT record per connection it opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import h11

from inspector.core.errors import InspectorError
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.compare import stamped
from inspector.net.loopserve import Handlers
from inspector.net.resolve import connect_fields

#: How long a long-poll is held before it is answered 204 (seconds).
LONG_POLL_HOLD = 30.0
MAX_BODY = 16 << 20
MAX_PUSH = 1_000_000


class HttpError(InspectorError):
    """An HTTP exchange failed (refused, protocol error, closed early): one line."""


@dataclass(slots=True)
class Mailbox:
    """The messages waiting for one client, with the monotonic time each was queued."""

    items: deque[tuple[bytes, int]] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, body: bytes) -> None:
        self.items.append((body, time.monotonic_ns()))
        self.arrived.set()


class HttpServer:
    """The built-in HTTP/1.1 server of the comparison (loopback, port 0)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.mailboxes: dict[str, Mailbox] = {}
        #: Monotonic ns at which each pushed message was queued, per client id.
        self.pushed: dict[str, list[int]] = {}
        self.requests = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._handlers = Handlers()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for box in self.mailboxes.values():
            box.arrived.set()  # a long poll waiting for a message returns
        await self._handlers.abort()

    def mailbox(self, client: str) -> Mailbox:
        box = self.mailboxes.get(client)
        if box is None:
            box = self.mailboxes[client] = Mailbox()
        return box

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 << 10)
        with (
            self._handlers.serving(writer),
            contextlib.suppress(h11.ProtocolError, OSError, HttpError, ValueError),
        ):
            while True:
                request, body = await _read_message(conn, reader, h11.Request)
                if request is None:
                    break
                self.requests += 1
                status, answer = await self._answer(request, body)
                headers = [("Content-Length", str(len(answer)))]
                if status == 200:
                    headers.append(("Content-Type", "application/octet-stream"))
                out = conn.send(h11.Response(status_code=status, headers=headers))
                if answer:
                    out += conn.send(h11.Data(data=answer))
                out += conn.send(h11.EndOfMessage())
                writer.write(out)
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()

    async def _answer(self, request: h11.Request, body: bytes) -> tuple[int, bytes]:
        parts = urlsplit(request.target.decode("ascii", "replace"))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        client = query.get("c", "")
        if parts.path == "/echo":
            return 200, body
        if parts.path == "/msg":
            self.mailbox(client).put(body)
            return 204, b""
        if parts.path == "/push":
            count, size = int(query.get("n", "0")), int(query.get("s", "0"))
            if not (0 <= count <= MAX_PUSH and 0 <= size <= MAX_BODY):
                return 400, b""
            box = self.mailbox(client)
            times = self.pushed.setdefault(client, [])
            for _ in range(count):
                box.put(stamped(size))
                times.append(box.items[-1][1])
            return 204, b""
        if parts.path == "/poll":
            box = self.mailbox(client)
            if not box.items and query.get("wait") == "1":
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LONG_POLL_HOLD):
                        while not box.items:
                            box.arrived.clear()
                            await box.arrived.wait()
            if box.items:
                return 200, box.items.popleft()[0]
            return 204, b""
        return 404, b""


async def _read_message(
    conn: h11.Connection, reader: asyncio.StreamReader, head: type
) -> tuple[object | None, bytes]:
    """Read one request or response (``head``) and its body; (None, b"") at a clean EOF."""
    first: object | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.ConnectionClosed):
            if first is None:
                return None, b""
            raise HttpError("the connection closed in the middle of a message")
        if isinstance(event, head):
            first = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise HttpError("message body over 16 MiB")
        elif isinstance(event, h11.EndOfMessage):
            return first, bytes(body)


class HttpClient:
    """One HTTP/1.1 client: kept-alive connection, or a new one per request."""

    def __init__(self, host: str, port: int, recorder: Recorder, *, keep_alive: bool) -> None:
        self.host = host
        self.port = port
        self.recorder = recorder
        self.keep_alive = keep_alive
        self.connections = 0
        self._conn: h11.Connection | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        start = time.monotonic_ns()
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            message = f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}"
            self.recorder.record(Direction.META, Kind.ERROR, fields={"message": message,
                                 "phase": "connect"})  # fmt: skip
            raise HttpError(message) from None
        self.connections += 1
        fields = connect_fields(
            writer.get_extra_info("sockname"),
            writer.get_extra_info("peername"),
            "ipv4",
            time.monotonic_ns() - start,
        )
        self.recorder.record(Direction.META, Kind.CONNECT, fields=fields)
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=64 << 10)
        self._reader, self._writer = reader, writer

    async def request(
        self, method: str, target: str, body: bytes = b"", *, marker: bool = False
    ) -> tuple[int, bytes]:
        """Send one request and read its response: (status, body); HttpError on failure.
        ``marker``: a signal of the workload, not a message (its records say so)."""
        if self._conn is None:
            await self._connect()
        conn, reader, writer = self._conn, self._reader, self._writer
        assert conn is not None and reader is not None and writer is not None
        headers = [("Host", f"{self.host}:{self.port}"), ("Content-Length", str(len(body)))]
        if not self.keep_alive:
            headers.append(("Connection", "close"))
        out = conn.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            out += conn.send(h11.Data(data=body))
        out += conn.send(h11.EndOfMessage())
        fields: dict[str, object] = {"method": method, "target": target}
        if marker:
            fields["marker"] = True
        self.recorder.record(Direction.OUT, Kind.DATA, wire=out, payload=body, fields=fields)
        writer.write(out)
        wire = bytearray()
        status = 0
        answer = bytearray()
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    wire += data
                    conn.receive_data(data)
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    answer += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise HttpError("the server closed the connection before answering")
        except (h11.ProtocolError, OSError) as exc:
            await self.close()
            raise HttpError(f"HTTP exchange failed: {exc}") from None
        answer_fields: dict[str, object] = {"status": status}
        if marker:
            answer_fields["marker"] = True
        self.recorder.record(Direction.IN, Kind.DATA, wire=bytes(wire), payload=bytes(answer),
                             fields=answer_fields)  # fmt: skip
        if self.keep_alive and conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            await self.close()
        return status, bytes(answer)

    async def close(self) -> None:
        """Close the current connection, if any."""
        writer, self._conn, self._reader, self._writer = self._writer, None, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
