"""The transport comparison: what is compared, and the measures taken from the records.

One workload (request/response, a one-way stream or a server push) runs over several
transports (TCP with two framings, TLS, UDP, WebSocket plain, deflated and over TLS,
HTTP/1.1 kept alive, polling and long-polling). Every number here is counted from the
records a client session made — its phases and the exact bytes on the wire — so each
one leads back to its bytes in the transport's capture. ``compare_run`` runs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from inspector.core.records import Direction, Kind, Record


class Workload(StrEnum):
    """What the clients do."""

    RR = "rr"  # N requests of S bytes, each waiting for its answer
    STREAM = "stream"  # N messages one way as fast as possible, then one answer
    PUSH = "push"  # the server sends N messages after one request


class Transport(StrEnum):
    """The transports a comparison can run over."""

    TCP_LEN32 = "tcp-len32"
    TCP_LINES = "tcp-lines"
    TLS = "tls"
    UDP = "udp"
    WS = "ws"
    WS_DEFLATE = "ws-deflate"
    WSS = "wss"
    HTTP_KEEPALIVE = "http-keepalive"
    HTTP_POLLING = "http-polling"
    HTTP_LONGPOLL = "http-longpoll"

    @property
    def is_http(self) -> bool:
        return self.value.startswith("http-")

    @property
    def scheme(self) -> str:
        """The URL scheme of the transport's endpoint."""
        return {
            Transport.TCP_LEN32: "tcp",
            Transport.TCP_LINES: "tcp",
            Transport.TLS: "tls",
            Transport.UDP: "udp",
            Transport.WS: "ws",
            Transport.WS_DEFLATE: "ws",
            Transport.WSS: "wss",
        }.get(self, "http")


#: Traffic records: what counts as bytes of the conversation (set-up records aside).
TRAFFIC = frozenset({Kind.FRAME, Kind.MESSAGE, Kind.DATA, Kind.DATAGRAM})
SETUP_PHASES = ("resolve", "connect", "tls", "handshake")
CONTROL_OPCODES = frozenset({"close", "ping", "pong"})


def stamped(size: int) -> bytes:
    """A pushed message of ``size`` bytes starting with the monotonic time it was made
    (20 ASCII digits, so line framing and text frames carry it), when it fits."""
    if size < 20:
        return b"p" * size
    return f"{time.monotonic_ns():020d}".encode() + b"p" * (size - 20)


def stamp_of(body: bytes) -> int | None:
    """The monotonic time a pushed message was made, if it carries one."""
    head = body[:20]
    return int(head) if len(head) == 20 and head.isdigit() else None


def parse_transports(text: str) -> tuple[Transport, ...]:
    """``tcp-len32,ws,…`` → transports; ValueError with one line naming a wrong one."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = ", ".join(t.value for t in Transport)
    out: list[Transport] = []
    for name in names:
        try:
            transport = Transport(name)
        except ValueError:
            raise ValueError(f"unknown transport {name!r} (known: {known})") from None
        if transport not in out:
            out.append(transport)
    if not out:
        raise ValueError(f"no transport given (known: {known})")
    return tuple(out)


def percentile(sorted_values: Sequence[int], fraction: float) -> int | None:
    """The nearest-rank percentile of already sorted values (None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True, slots=True)
class WireCount:
    """Bytes of one direction's traffic: messages, payload and what the framing added."""

    messages: int
    wire: int
    payload: int

    def added(self, wire: int, payload: int) -> WireCount:
        """This count with one more message of ``wire`` bytes carrying ``payload``."""
        return WireCount(self.messages + 1, self.wire + wire, self.payload + payload)

    @property
    def overhead(self) -> int:
        return self.wire - self.payload

    def per_message(self, messages: int) -> tuple[float, float]:
        """(payload, overhead) bytes per message of the workload."""
        if messages <= 0:
            return (0.0, 0.0)
        return (self.payload / messages, self.overhead / messages)


@dataclass(frozen=True, slots=True)
class ClientMeasure:
    """What one client's records say: set-up, bytes, connections and round trips."""

    setup_ns: dict[str, int]
    setup_bytes_out: int
    setup_bytes_in: int
    out: WireCount
    into: WireCount
    connections: int
    setup_round_trips: int
    round_trips: int


def _tls_round_trips(record: Record) -> int:
    return 1 if str(record.fields.get("version", "")).endswith("1.3") else 2


def is_marker(record: Record, markers: frozenset[bytes]) -> bool:
    """True for the workload's own signals (the end of a stream, its answer, the ask
    for a push), which are not messages of the conversation."""
    if record.fields.get("marker"):
        return True
    body = record.payload if record.payload is not None else record.wire
    return body.rstrip(b"\r\n") in markers


def measure_records(
    records: Iterable[Record], *, datagram: bool = False, markers: frozenset[bytes] = frozenset()
) -> ClientMeasure:
    """Count one client session's records.

    Round trips are counted, not timed: each TCP connect is one (SYN → SYN-ACK; a UDP
    ``datagram`` socket's connect sends nothing and is none), each
    TLS handshake one (TLS 1.3) or two, and each time the client sent something and then
    read the peer's answer is one more (an upgrade, a request and its response, a
    message and its echo). The set-up is everything up to the first traffic record.
    Bytes per message leave out ``markers`` (see :func:`is_marker`).
    """
    setup: dict[str, int] = {}
    setup_out = setup_in = 0
    out = into = WireCount(0, 0, 0)
    connections = setup_rt = rt = 0
    in_setup = True
    last_out = False
    for record in records:
        kind = record.kind
        if kind is Kind.FRAME and record.fields.get("opcode") in CONTROL_OPCODES:
            continue  # the closing handshake (and pings) are not the conversation
        if kind is Kind.CONNECT:
            connections += 1
            rt += 0 if datagram else 1
        elif kind is Kind.TLS:
            rt += _tls_round_trips(record)
        duration = record.fields.get("duration_ns")
        if in_setup and kind.value in SETUP_PHASES and isinstance(duration, int):
            setup[kind.value] = setup.get(kind.value, 0) + duration
        if kind is Kind.HANDSHAKE:
            if record.direction is Direction.OUT:
                setup_out += len(record.wire)
            else:
                setup_in += len(record.wire)
        if kind is Kind.HANDSHAKE or kind in TRAFFIC:
            if record.direction is Direction.OUT:
                last_out = True
            elif record.direction is Direction.IN:
                if last_out:
                    rt += 1
                last_out = False
        if kind in TRAFFIC and record.wire:
            if in_setup:
                in_setup = False
                setup_rt = rt
            payload = len(record.payload) if record.payload is not None else len(record.wire)
            if markers and is_marker(record, markers):
                continue
            if record.direction is Direction.OUT:
                out = out.added(len(record.wire), payload)
            elif record.direction is Direction.IN:
                into = into.added(len(record.wire), payload)
    if in_setup:
        setup_rt = rt
    return ClientMeasure(setup, setup_out, setup_in, out, into, connections, setup_rt, rt)


@dataclass(frozen=True, slots=True)
class TransportResult:
    """One transport's row: every measure, or the one line that says why it failed."""

    transport: str
    url: str
    error: str | None = None
    clients: int = 0
    messages: int = 0  # the workload's messages that completed (all clients)
    lost: int = 0  # messages that never completed (UDP loss, a timeout)
    setup_ns: dict[str, int] = field(default_factory=dict)  # per phase, median client
    setup_total_ns: int = 0
    setup_bytes_out: int = 0
    setup_bytes_in: int = 0
    payload_out: float = 0.0  # bytes per message, client → server
    overhead_out: float = 0.0
    payload_in: float = 0.0  # bytes per message, server → client
    overhead_in: float = 0.0
    latencies_ns: tuple[int, ...] = ()
    elapsed_ns: int = 0
    payload_bytes: int = 0  # the workload's payload moved (all clients)
    connections: int = 0
    setup_round_trips: int = 0
    round_trips: int = 0
    cpu_s: float = 0.0
    capture: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def latency(self, fraction: float) -> int | None:
        return percentile(sorted(self.latencies_ns), fraction)

    @property
    def messages_per_s(self) -> float:
        return self.messages / (self.elapsed_ns / 1e9) if self.elapsed_ns > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.payload_bytes / 1e6 / (self.elapsed_ns / 1e9) if self.elapsed_ns > 0 else 0.0

    @property
    def round_trips_per_message(self) -> float:
        """Round trips of the conversation (set-up of the first connection aside) per message."""
        if self.messages <= 0:
            return 0.0
        return (self.round_trips - self.setup_round_trips) / self.messages

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe mapping of every measure (times in ns, and ms where read by people)."""
        lat = sorted(self.latencies_ns)
        return {
            "transport": self.transport,
            "url": self.url,
            "ok": self.ok,
            "error": self.error,
            "clients": self.clients,
            "messages": self.messages,
            "lost": self.lost,
            "setup_ns": dict(self.setup_ns),
            "setup_total_ns": self.setup_total_ns,
            "setup_bytes": {"out": self.setup_bytes_out, "in": self.setup_bytes_in},
            "per_message": {
                "out": {"payload": self.payload_out, "overhead": self.overhead_out},
                "in": {"payload": self.payload_in, "overhead": self.overhead_in},
            },
            "latency_ns": {
                "count": len(lat),
                "p50": percentile(lat, 0.50),
                "p90": percentile(lat, 0.90),
                "p99": percentile(lat, 0.99),
                "max": lat[-1] if lat else None,
            },
            "elapsed_ns": self.elapsed_ns,
            "messages_per_s": round(self.messages_per_s, 1),
            "mb_per_s": round(self.mb_per_s, 3),
            "connections": self.connections,
            "setup_round_trips": self.setup_round_trips,
            "round_trips": self.round_trips,
            "round_trips_per_message": round(self.round_trips_per_message, 3),
            "cpu_s": round(self.cpu_s, 4),
            "capture": self.capture,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class CompareReport:
    """A whole comparison: what ran, under which conditions, and one row per transport."""

    workload: str
    count: int
    size: int
    clients: int
    delay_ms: float
    jitter_ms: float
    loss: float
    results: tuple[TransportResult, ...]
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "count": self.count,
            "size": self.size,
            "clients": self.clients,
            "conditions": {
                "delay_ms": self.delay_ms,
                "jitter_ms": self.jitter_ms,
                "loss": self.loss,
            },
            "cancelled": self.cancelled,
            "results": [r.to_json() for r in self.results],
        }
