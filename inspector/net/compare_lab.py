"""The comparison's built-in servers, on loopback, in an event loop of their own thread.

The servers (the listening engine with echo rules, and the HTTP server) and the
delaying forwarder run in a second thread so that the client's CPU time
(``time.thread_time`` in the client's thread) is the client's alone. The client
talks to them only through sockets; :meth:`Lab.call` runs set-up and tear-down there.
Server-side records are kept in memory and handed over when the run ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from inspector.core.clock import SessionClock
from inspector.core.endpoints import parse_endpoint
from inspector.core.options import Framing, SessionOptions
from inspector.core.recorder import Recorder, RecordSink
from inspector.core.records import Record
from inspector.core.rules import ActionKind, MatchKind, Rule, RuleEngine, Step, StepKind
from inspector.net.compare import Transport, Workload, stamped
from inspector.net.compare_delay import Conditions, DelayForwarder
from inspector.net.compare_http import HttpServer
from inspector.net.listener import Listener, create_listener

T = TypeVar("T")

#: The message that ends a one-way stream (the server answers it with DONE).
STREAM_END = b"END"
DONE = b"DONE"
#: The message that asks the built-in server for a push.
PUSH_ASK = b"PUSH"


class ListSink(RecordSink):
    """Server-side records, kept in memory until the run ends."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)


class PushRules(RuleEngine):
    """Echo, except that PUSH is answered by ``count`` stamped messages of ``size`` bytes."""

    def __init__(self, count: int, size: int) -> None:
        super().__init__([Rule(MatchKind.ANY, ActionKind.IGNORE)])
        self.count = count
        self.size = size

    def on_message(self, conn: int, data: bytes, text: bool | None = None) -> list[Step]:
        if data.rstrip(b"\r\n") != PUSH_ASK:
            return []
        return [Step(StepKind.SEND, stamped(self.size), text=False) for _ in range(self.count)]


def rules_for(workload: Workload, count: int, size: int) -> RuleEngine:
    """The built-in server's rules: echo, or answer the stream's end, or push."""
    if workload is Workload.RR:
        return RuleEngine([Rule(MatchKind.ANY, ActionKind.ECHO)])
    if workload is Workload.STREAM:
        return RuleEngine([
            Rule(MatchKind.REGEX, ActionKind.REPLY, value=r"^END\r?\n?$", template="DONE"),
            Rule(MatchKind.ANY, ActionKind.IGNORE),
        ])  # fmt: skip
    return PushRules(count, size)


def transport_options(
    transport: Transport, cafile: str | None = None, verify: bool = True
) -> SessionOptions:
    """Both sides' session options for a transport (framing, compression, trust)."""
    framing = {Transport.TCP_LEN32: Framing.LEN32, Transport.TCP_LINES: Framing.LINES,
               Transport.TLS: Framing.LEN32}.get(transport, Framing.RAW)  # fmt: skip
    return SessionOptions(
        framing=framing,
        compression=transport is Transport.WS_DEFLATE,
        cafile=cafile,
        verify=verify,
        auto_pong=True,
    )


@dataclass(slots=True)
class BuiltIn:
    """A running built-in server for one transport (on 127.0.0.1) and what it recorded."""

    listener: Listener | None = None
    http: HttpServer | None = None
    forwarder: DelayForwarder | None = None
    cafile: str | None = None
    sessions: list[tuple[str, SessionClock, ListSink]] = field(default_factory=list)
    own: ListSink = field(default_factory=ListSink)

    @property
    def url(self) -> str:
        """Where its clients connect ("" before it listens)."""
        if self.listener is not None:
            return self.listener.url
        return self.http.url if self.http is not None else ""

    @property
    def port(self) -> int:
        if self.listener is not None:
            return self.listener.port
        return self.http.port if self.http is not None else 0

    def received(self) -> int:
        """Messages the server received from its clients (all connections)."""
        if self.listener is not None:
            return sum(c.messages_in for c in self.listener.connections.values())
        return self.http.requests if self.http is not None else 0

    async def stop(self) -> None:
        if self.forwarder is not None:
            await self.forwarder.stop()
        if self.listener is not None:
            await self.listener.stop(timeout=2.0)
        if self.http is not None:
            await self.http.stop()


async def start_builtin(
    transport: Transport, workload: Workload, count: int, size: int, cert_dir: Path
) -> BuiltIn:
    """Start the built-in server of ``transport`` on 127.0.0.1 (port 0)."""
    if transport.is_http:
        http = HttpServer()
        await http.start()
        return BuiltIn(http=http)
    tls = None
    cafile = None
    if transport in (Transport.TLS, Transport.WSS):
        from inspector.net.certs import server_tls

        tls = server_tls(directory=cert_dir)
        cafile = str(tls.cert_path)
    path = "/" if transport.scheme in ("ws", "wss") else ""
    endpoint = parse_endpoint(f"{transport.scheme}://127.0.0.1:0{path}", listen=True)
    built = BuiltIn(cafile=cafile)

    def recorder_for(number: int, peer: str) -> Recorder:
        sink = ListSink()
        clock = SessionClock()
        built.sessions.append((f"server conn {number} ({peer})", clock, sink))
        return Recorder(sink, clock=clock, consumed=False)

    listener = create_listener(
        endpoint,
        transport_options(transport),
        Recorder(built.own, consumed=False),
        recorder_for,
        rules=rules_for(workload, count, size),
        tls=tls,
    )
    await listener.start()
    built.listener = listener
    return built


async def add_forwarder(built: BuiltIn, conditions: Conditions, udp: bool) -> int:
    """Put a delaying forwarder in front of ``built``; returns the port to use."""
    forwarder = DelayForwarder(("127.0.0.1", built.port), conditions, udp=udp)
    await forwarder.start()
    built.forwarder = forwarder
    return forwarder.port


class Lab:
    """An event loop in a thread of its own, where the servers run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="compare-servers", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` in the lab's loop and wait for it from the caller's loop."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop the loop and the thread (servers should be stopped first)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()
