"""Running a comparison: servers, clients, captures, and one result row per transport.

``run_compare(config)`` runs the workload over each transport in turn. A transport
that fails (refused, a TLS error, a timeout) gets its one-line error in its row and
the others still run; cancelling the task stops at once, with servers and captures
closed. Each transport's clients record into one capture file in ``capture_dir``
(server connections are added to the same file), so every number leads to its bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inspector.core.clock import SessionClock
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import InspectorError
from inspector.core.recorder import Recorder, RecordSink
from inspector.core.records import Direction, Record
from inspector.core.runs import MessageRun
from inspector.net.compare import (
    CompareReport,
    Transport,
    TransportResult,
    Workload,
    measure_records,
    stamp_of,
)
from inspector.net.compare_delay import Conditions
from inspector.net.compare_http import HttpClient
from inspector.net.compare_lab import (
    DONE,
    PUSH_ASK,
    STREAM_END,
    BuiltIn,
    Lab,
    add_forwarder,
    start_builtin,
    transport_options,
)
from inspector.net.factory import create_session
from inspector.net.session import Session

#: Seconds a client waits for one answer (a lost UDP datagram is counted, not waited for).
ANSWER_TIMEOUT = 10.0
UDP_ANSWER_TIMEOUT = 1.0
UDP_END_TRIES = 5
#: Empty polls (204) in a row before an answer counts as lost.
MAX_EMPTY_POLLS = 1000


class CompareError(InspectorError):
    """A transport's run failed: one line for its row."""


@dataclass(frozen=True, slots=True)
class CompareConfig:
    """What to compare, how much, and where."""

    workload: Workload = Workload.RR
    count: int = 200
    size: int = 64
    clients: int = 1
    transports: tuple[Transport, ...] = tuple(Transport)
    urls: Mapping[Transport, str] = field(default_factory=dict)
    conditions: Conditions = field(default_factory=Conditions)
    capture_dir: Path | None = None
    answer_timeout: float = ANSWER_TIMEOUT
    #: Makes a transport's capture file: (path, endpoint, scheme, clock) -> a store
    #: with ``write``, ``write_run``, ``write_many``, ``flush``, ``add_session``,
    #: ``finish`` and ``close`` (capture.store.CaptureStore.create; net does not import
    #: capture). None: no captures even with ``capture_dir``.
    open_capture: Callable[[Path, str, str, SessionClock], Any] | None = None
    #: False: accept any certificate of the user's own tls:// and wss:// endpoints.
    verify: bool = True


class TeeSink(RecordSink):
    """Keeps a client's records for measuring and writes them to the capture."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)
        if self.store is not None:
            self.store.write(record)

    def write_run(self, run: MessageRun) -> None:
        self.records.extend(run.records())
        if self.store is not None:
            self.store.write_run(run)

    def flush(self) -> None:
        if self.store is not None:
            self.store.flush()


@dataclass(slots=True)
class ClientRun:
    """What one client did: its latencies, completed and lost messages, elapsed time."""

    latencies: list[int] = field(default_factory=list)
    done: int = 0
    lost: int = 0
    elapsed_ns: int = 0
    connections: int = 0


class _Inbox:
    """A session's arrivals, stamped when their read came in."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.arrivals: list[tuple[int, bytes]] = []
        self.event = asyncio.Event()
        session.on_data = self._on_data

    def _on_data(self) -> None:
        now = time.monotonic_ns()
        for _kind, body in self.session.take_messages():
            self.arrivals.append((now, body))
        self.event.set()

    async def wait_for(self, total: int, timeout: float) -> bool:
        """True once ``total`` messages arrived; False after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.arrivals) < total:
                    if self.session.ended:
                        raise CompareError(self.session.failure or "the server closed")
                    self.event.clear()
                    await self.event.wait()
        except TimeoutError:
            return False
        return True


async def _session_client(
    transport: Transport, url: str, cafile: str | None, recorder: Recorder, config: CompareConfig
) -> ClientRun:
    endpoint = parse_endpoint(url)
    options = transport_options(transport, cafile, verify=config.verify or cafile is not None)
    session = create_session(endpoint, options, recorder)
    inbox = _Inbox(session)
    if not await session.open():
        raise CompareError(session.failure or "could not open the session")
    run = ClientRun(connections=1)
    payload = b"x" * config.size
    timeout = UDP_ANSWER_TIMEOUT if transport is Transport.UDP else config.answer_timeout
    start = time.monotonic_ns()
    try:
        if config.workload is Workload.RR:
            for _ in range(config.count):
                sent = time.monotonic_ns()
                session.send(payload)
                if await inbox.wait_for(run.done + run.lost + 1, timeout):
                    run.latencies.append(inbox.arrivals[-1][0] - sent)
                    run.done += 1
                elif transport is Transport.UDP:
                    run.lost += 1
                    inbox.arrivals.append((0, b""))  # keep counting in step
                else:  # a reliable transport that does not answer is not an echo server
                    raise CompareError(
                        f"no answer to message {run.done + 1} within {timeout:g} s "
                        "(the server must echo each message)"
                    )
        elif config.workload is Workload.STREAM:
            for index in range(config.count):
                session.send(payload)
                if index % 64 == 63:
                    await asyncio.sleep(0)  # let the transport write
            # A datagram may be lost: UDP repeats the end until it is answered.
            tries = UDP_END_TRIES if transport is Transport.UDP else 1
            for _ in range(tries):
                session.send(STREAM_END)
                if await inbox.wait_for(1, timeout):
                    break
            else:
                raise CompareError("the server never answered the end of the stream")
            run.done = config.count
        else:
            session.send(PUSH_ASK)
            await inbox.wait_for(config.count, timeout if transport is Transport.UDP
                                 else config.answer_timeout)  # fmt: skip
            for at, body in inbox.arrivals[: config.count]:
                made = stamp_of(body)
                if made is not None:
                    run.latencies.append(at - made)
            run.done = min(len(inbox.arrivals), config.count)
            run.lost = config.count - run.done
        run.elapsed_ns = time.monotonic_ns() - start
    finally:
        await session.close(timeout=2.0)
    return run


async def _http_client(
    transport: Transport, url: str, recorder: Recorder, config: CompareConfig, client_id: str
) -> ClientRun:
    """One HTTP client: POST per message (kept alive), or polling (a new connection per
    request; the answer fetched by a poll), or long-polling (the poll is held)."""
    parts = urlsplit(url)
    prefix = parts.path.rstrip("/")
    keep = transport is not Transport.HTTP_POLLING
    client = HttpClient(parts.hostname or "127.0.0.1", parts.port or 80, recorder, keep_alive=keep)
    run = ClientRun()
    payload = b"x" * config.size
    wait = "&wait=1" if transport is Transport.HTTP_LONGPOLL else ""
    mailbox = f"c={client_id}"

    async def ask(method: str, target: str, body: bytes = b"", marker: bool = False
                  ) -> tuple[int, bytes]:  # fmt: skip
        try:
            async with asyncio.timeout(config.answer_timeout):
                status, answer = await client.request(method, prefix + target, body,
                                                      marker=marker)  # fmt: skip
        except TimeoutError:
            raise CompareError(f"{method} {prefix + target}: no answer within "
                               f"{config.answer_timeout:g} s") from None  # fmt: skip
        if status not in (200, 204):
            raise CompareError(
                f"{method} {prefix + target} answered {status} (see "
                "docs/sockets-vs-websockets.md for what the server must do)"
            )
        return status, answer

    start = time.monotonic_ns()
    try:
        if config.workload is Workload.RR:
            for _ in range(config.count):
                sent = time.monotonic_ns()
                if transport is Transport.HTTP_KEEPALIVE:
                    await ask("POST", "/echo", payload)
                else:  # polling: send, then ask for the answer
                    await ask("POST", f"/msg?{mailbox}", payload)
                    status = 204
                    for _poll in range(MAX_EMPTY_POLLS):  # an empty poll (204) asks again
                        status, _ = await ask("GET", f"/poll?{mailbox}{wait}")
                        if status == 200:
                            break
                    if status != 200:
                        run.lost += 1
                        continue
                run.latencies.append(time.monotonic_ns() - sent)
                run.done += 1
        elif config.workload is Workload.STREAM:
            for _ in range(config.count):
                await ask("POST", f"/msg?{mailbox}", payload)
            run.done = config.count
        else:
            await ask("POST", f"/push?{mailbox}&n={config.count}&s={config.size}", marker=True)
            polls = 0
            while run.done < config.count and polls < 4 * config.count + 100:
                polls += 1
                status, body = await ask("GET", f"/poll?{mailbox}{wait}")
                if status == 200:
                    made = stamp_of(body)
                    if made is not None:
                        run.latencies.append(time.monotonic_ns() - made)
                    run.done += 1
            run.lost = config.count - run.done
        run.elapsed_ns = time.monotonic_ns() - start
    finally:
        await client.close()
        run.connections = client.connections
    return run


def _describe(exc: BaseException) -> str:
    if isinstance(exc, InspectorError | ValueError):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


#: The row note of a user's own endpoint when conditions were asked for: the delaying
#: forwarder stands in front of the built-in servers only (a TLS name or an HTTP Host
#: would no longer match through it).
UNSHAPED = "your own URL: no added delay, jitter or loss (they shape the built-in servers)"


async def run_transport(
    transport: Transport, config: CompareConfig, lab: Lab, cert_dir: Path
) -> TransportResult:
    """Run the workload over one transport; a failure becomes the row's error."""
    built: BuiltIn | None = None
    store: Any = None
    capture: str | None = None
    sinks: list[TeeSink] = []
    url = config.urls.get(transport, "")
    try:
        if not url:
            built = await lab.call(start_builtin(transport, config.workload, config.count,
                                                 config.size, cert_dir))  # fmt: skip
            url = built.url
            if config.conditions.active:
                port = await lab.call(add_forwarder(built, config.conditions,
                                                    transport is Transport.UDP))  # fmt: skip
                url = url.replace(f":{built.port}", f":{port}", 1)
        clock = SessionClock()
        if config.capture_dir is not None and config.open_capture is not None:
            path = config.capture_dir / f"compare-{transport.value}.sockcap"
            store = config.open_capture(path, url, transport.scheme, clock)
            capture = str(path)
        recorders: list[Recorder] = []
        for index in range(config.clients):
            sub = store
            c_clock = clock if index == 0 else SessionClock()
            if store is not None and index > 0:
                sub = store.add_session(endpoint=url, scheme=transport.scheme, options={},
                                        clock=c_clock)  # fmt: skip
            sink = TeeSink(sub)
            sinks.append(sink)
            recorders.append(Recorder(sink, clock=c_clock, consumed=False))
        cafile = built.cafile if built is not None else None
        cpu_start = time.thread_time()
        if transport.is_http:
            coros = [_http_client(transport, url, rec, config, f"c{i}")
                     for i, rec in enumerate(recorders)]  # fmt: skip
        else:
            coros = [_session_client(transport, url, cafile, rec, config) for rec in recorders]
        runs = await asyncio.gather(*coros)
        cpu = time.thread_time() - cpu_start
        server_received = built.received() if built is not None else None
        result = _result(transport, url, config, runs, sinks, cpu, capture, server_received)
        if built is None and config.conditions.active:
            return dataclasses.replace(result, notes=(*result.notes, UNSHAPED))
        return result
    except (InspectorError, OSError, TimeoutError, ValueError) as exc:
        return TransportResult(transport.value, url, error=_describe(exc), capture=capture)
    finally:
        if built is not None:
            with contextlib.suppress(Exception):
                await lab.call(built.stop())
        if store is not None:
            _keep_server_sessions(store, built)
            store.finish("closed", {"transport": transport.value})
            store.close()


def _keep_server_sessions(store: Any, built: BuiltIn | None) -> None:
    if built is None:
        return
    for name, clock, sink in built.sessions:
        with contextlib.suppress(InspectorError):
            sub = store.add_session(endpoint=name, scheme=built.url.split(":", 1)[0],
                                    options={}, clock=clock)  # fmt: skip
            sub.write_many(sink.records)
            sub.finish("closed", {})
            sub.close()


def _result(
    transport: Transport, url: str, config: CompareConfig, runs: list[ClientRun],
    sinks: list[TeeSink], cpu: float, capture: str | None, server_received: int | None,
) -> TransportResult:  # fmt: skip
    udp = transport is Transport.UDP
    markers = frozenset({STREAM_END, DONE, PUSH_ASK})
    measures = [measure_records(sink.records, datagram=udp, markers=markers) for sink in sinks]
    messages = sum(r.done for r in runs)
    lost = sum(r.lost for r in runs)
    notes: list[str] = []
    if (transport is Transport.UDP and config.workload is Workload.STREAM
            and server_received is not None):  # fmt: skip
        # The server counted the stream's messages and each end marker that arrived.
        ends = sum(1 for sink in sinks for r in sink.records
                   if r.direction is Direction.OUT and r.payload == STREAM_END)  # fmt: skip
        lost = max(0, config.count * config.clients - (server_received - ends))
        messages = config.count * config.clients - lost
        notes.append(f"server received {messages} of {config.count * config.clients}")
    phases: dict[str, int] = {}
    for phase in ("resolve", "connect", "tls", "handshake"):
        values = [m.setup_ns[phase] for m in measures if phase in m.setup_ns]
        if values:
            phases[phase] = int(statistics.median(values))
    total_msgs = config.count * config.clients
    out_payload = sum(m.out.payload for m in measures)
    out_wire = sum(m.out.wire for m in measures)
    in_payload = sum(m.into.payload for m in measures)
    in_wire = sum(m.into.wire for m in measures)
    latencies = tuple(lat for r in runs for lat in r.latencies)
    return TransportResult(
        transport=transport.value,
        url=url,
        clients=config.clients,
        messages=messages,
        lost=lost,
        setup_ns=phases,
        setup_total_ns=sum(phases.values()),
        setup_bytes_out=measures[0].setup_bytes_out if measures else 0,
        setup_bytes_in=measures[0].setup_bytes_in if measures else 0,
        payload_out=out_payload / total_msgs,
        overhead_out=(out_wire - out_payload) / total_msgs,
        payload_in=in_payload / total_msgs,
        overhead_in=(in_wire - in_payload) / total_msgs,
        latencies_ns=latencies,
        elapsed_ns=max((r.elapsed_ns for r in runs), default=0),
        payload_bytes=messages * config.size,
        connections=sum(m.connections for m in measures),
        setup_round_trips=sum(m.setup_round_trips for m in measures),
        round_trips=sum(m.round_trips for m in measures),
        cpu_s=cpu,
        capture=capture,
        notes=tuple(notes),
    )


async def run_compare(
    config: CompareConfig, progress: Callable[[TransportResult], None] | None = None
) -> CompareReport:
    """Run the comparison, one transport after the other; ``progress`` gets each row.
    InspectorError when the capture folder cannot be made (before anything runs)."""
    if config.capture_dir is not None:
        try:
            config.capture_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InspectorError(
                f"cannot create the capture folder {config.capture_dir}: {exc.strerror or exc}"
            ) from None
    results: list[TransportResult] = []
    lab = Lab()
    try:
        with tempfile.TemporaryDirectory(prefix="inspector-compare-") as tmp:
            cert_dir = config.capture_dir if config.capture_dir is not None else Path(tmp)
            for transport in config.transports:
                result = await run_transport(transport, config, lab, cert_dir / "certs")
                results.append(result)
                if progress is not None:
                    progress(result)
    finally:
        lab.close()
    return partial_report(config, results, cancelled=False)


def partial_report(
    config: CompareConfig, results: list[TransportResult], *, cancelled: bool = True
) -> CompareReport:
    """The report of the transports that ran (all of them, or those before a cancel)."""
    c = config.conditions
    return CompareReport(config.workload.value, config.count, config.size, config.clients,
                         c.delay_ms, c.jitter_ms, c.loss, tuple(results), cancelled)  # fmt: skip
