"""The fault matrix: each way a server or network can fail, the loopback server that
plays it, and what the engine must show for it.

One :class:`FaultCase` per fault. ``build(env)`` starts (or finds) the misbehaving
server and returns a :class:`Target`; :func:`check_outcome` asserts the records, the
one-line failure, the close code the client sent, the final state and ``ok``. The
engine tests, the 50-session test and the ``inspector probe`` test share this table.

The connect timeout uses a listening socket with backlog 0 whose accept queue is
already full (one connection queued, never accepted): Linux then drops further SYNs,
so a connect hangs without any traffic leaving the machine.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import servers
import trustme
from servers import (
    Close,
    HostileScript,
    HostileServer,
    ReadUntil,
    Reset,
    RunningServer,
    ServerLoop,
    Stall,
    Upgrade,
    Write,
)

from inspector.core.records import Direction, Kind, Record
from inspector.net.session import Session, SessionState

#: Seconds a case that waits for a silent peer allows before it times out.
SHORT_TIMEOUT = 0.4

SMTP_BANNER = b"220 mail.example.com ESMTP\r\n"
REFUSAL = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Reason: no-upgrades\r\n"
    b"Content-Length: 24\r\n\r\nno WebSocket here, sorry"
)
_SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"


def server_frame(first: int, payload: bytes, *, length: int | None = None) -> bytes:
    """An unmasked frame as a server writes it, with any first byte (FIN/RSV/opcode)."""
    size = len(payload) if length is None else length
    if size < 126:
        return bytes([first, size]) + payload
    if size < 1 << 16:
        return bytes([first, 126]) + struct.pack("!H", size) + payload
    return bytes([first, 127]) + struct.pack("!Q", size) + payload


def masked_frame(first: int, payload: bytes) -> bytes:
    """A masked frame (only clients may send these, RFC 6455 §5.1)."""
    key = b"\x01\x02\x03\x04"
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes([first, 0x80 | len(payload)]) + key + body


def close_payload(code: int, reason: bytes = b"") -> bytes:
    """A close frame's payload: the code, then the reason (RFC 6455 §5.5.1)."""
    return struct.pack("!H", code) + reason


@dataclass(frozen=True, slots=True)
class Target:
    """Where a case connects and how: URL, session options, extra probe arguments
    (the options become probe arguments by themselves)."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)
    probe_args: tuple[str, ...] = ()
    #: Bytes the client sends once open (the server waits for them before failing).
    send: bytes | None = None


@dataclass(frozen=True, slots=True)
class Expect:
    """What a failed session must show."""

    message: str  # a part of the one-line failure (and of the ERROR record)
    phase: str
    close_code: int | None = None  # the close code the client sent (WebSocket)
    offending: bytes | None = None  # bytes an inbound record must carry
    state: SessionState = SessionState.FAILED
    ok: bool = False
    cert: bool = False  # the ERROR record carries the refused certificate


@dataclass(frozen=True, slots=True)
class FaultCase:
    """One fault: its name, how to build its server, what must be seen."""

    id: str
    build: Callable[[FaultEnv], Target]
    expect: Expect


class FaultEnv:
    """Starts the servers the cases need, on the shared server loop; stops them at the end."""

    def __init__(self, loop: ServerLoop, ca: trustme.CA, ca_file: str) -> None:
        self.loop = loop
        self.ca = ca
        self.ca_file = ca_file
        self._servers: list[RunningServer] = []
        self._sockets: list[socket.socket] = []

    def hostile(self, *steps: Any) -> HostileServer:
        """A raw server playing ``steps`` to every client."""
        server = servers.start_hostile_server(self.loop, HostileScript(tuple(steps)))
        self._servers.append(server)
        return server

    def tls_echo(self, context: ssl.SSLContext) -> RunningServer:
        """A TLS echo server with the given certificate."""
        server = servers.start_tcp_echo(self.loop, context)
        self._servers.append(server)
        return server

    def full_backlog(self) -> int:
        """A port whose accept queue is full: a connect there hangs (see module doc)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port), timeout=2)
        self._sockets += [listener, filler]
        return port

    def started(self, server: RunningServer) -> None:
        """Stop ``server`` with the others at the end."""
        self._servers.append(server)

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        for sock in self._sockets:
            sock.close()


def _ws_frames(*data: bytes) -> Callable[[FaultEnv], Target]:
    """A server that accepts the upgrade, writes ``data``, then closes after the
    client's close frame (first byte 0x88) like a server finishing the closing handshake."""

    def build(env: FaultEnv) -> Target:
        server = env.hostile(Upgrade(), *(Write(d) for d in data), ReadUntil(b"\x88"), Close())
        return Target(server.ws_url, {"compression": False, "max_size": 1024})

    return build


def _ws_answer(*steps: Any, **options: Any) -> Callable[[FaultEnv], Target]:
    def build(env: FaultEnv) -> Target:
        server = env.hostile(*steps)
        return Target(server.ws_url, dict(options))

    return build


def _refused(env: FaultEnv) -> Target:
    return Target(f"ws://127.0.0.1:{servers.free_port()}/")


def _unresolvable(env: FaultEnv) -> Target:
    return Target("ws://no-such-host.invalid/")


def _connect_timeout(env: FaultEnv) -> Target:
    port = env.full_backlog()
    return Target(f"tcp://127.0.0.1:{port}", {"connect_timeout": SHORT_TIMEOUT})


def _self_signed(env: FaultEnv) -> Target:
    own = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with own.cert_pem.tempfile() as cert, own.private_key_pem.tempfile() as key:
        context.load_cert_chain(cert, key)
    return Target(env.tls_echo(context).url)


def _expired(env: FaultEnv) -> Target:
    now = datetime.datetime.now(datetime.UTC)
    context = servers.server_ssl_context(
        env.ca, not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(1)
    )
    server = env.tls_echo(context)
    return Target(server.url, {"cafile": env.ca_file})


def _mismatch(env: FaultEnv) -> Target:
    server = env.tls_echo(servers.server_ssl_context(env.ca, "other.example"))
    return Target(server.url, {"cafile": env.ca_file})


def _unknown_ca(env: FaultEnv) -> Target:
    return Target(env.tls_echo(servers.server_ssl_context(trustme.CA())).url)


def _wss_unknown_ca(env: FaultEnv) -> Target:
    context = servers.server_ssl_context(trustme.CA(), alpn=["http/1.1"])
    server = servers.start_ws_server(env.loop, ssl_context=context)
    env.started(server)
    return Target(server.url)


def _tls_stalled(env: FaultEnv) -> Target:
    server = env.hostile(Stall())
    return Target(f"tls://127.0.0.1:{server.port}", {"connect_timeout": SHORT_TIMEOUT})


def _tcp_reset(env: FaultEnv) -> Target:
    server = env.hostile(Write(b"partial answer"), ReadUntil(b"go"), Reset())
    return Target(f"tcp://127.0.0.1:{server.port}", probe_args=("--send", "go"), send=b"go")


BIG = b"x" * 2000
TOO_LONG_PING = server_frame(0x89, b"p" * 126)
BAD_CLOSE_REASON = server_frame(0x88, close_payload(1000, b"bye \xff"))

CASES: tuple[FaultCase, ...] = (
    # -- connecting -------------------------------------------------------------------
    FaultCase("refused", _refused, Expect("connection refused by 127.0.0.1", "connect")),
    FaultCase(
        "unresolvable", _unresolvable, Expect("cannot resolve 'no-such-host.invalid'", "resolve")
    ),
    FaultCase("connect-timeout", _connect_timeout, Expect("timed out after 0.4 s", "connect")),
    FaultCase(
        "upgrade-unanswered",
        _ws_answer(ReadUntil(), Stall(), connect_timeout=SHORT_TIMEOUT),
        Expect("timed out after 0.4 s during handshake", "handshake"),
    ),
    FaultCase(
        "closed-in-handshake",
        _ws_answer(ReadUntil(), Close()),
        Expect("server closed the connection before answering the upgrade", "handshake"),
    ),
    FaultCase(
        "smtp-banner",
        _ws_answer(Write(SMTP_BANNER), Stall()),
        Expect("not a valid HTTP response", "handshake", offending=SMTP_BANNER),
    ),
    FaultCase(
        "non-101",
        _ws_answer(ReadUntil(), Write(REFUSAL), Close()),
        Expect("server refused the upgrade: HTTP 403 Forbidden", "handshake", offending=REFUSAL),
    ),
    FaultCase(
        "missing-accept",
        _ws_answer(ReadUntil(), Write(_SWITCHING + b"\r\n"), Stall()),
        Expect("Sec-WebSocket-Accept", "handshake", offending=_SWITCHING + b"\r\n"),
    ),
    FaultCase(
        "wrong-accept",
        _ws_answer(
            ReadUntil(), Write(_SWITCHING + b"Sec-WebSocket-Accept: d3Jvbmc=\r\n\r\n"), Stall()
        ),
        Expect("Sec-WebSocket-Accept", "handshake", offending=b"d3Jvbmc="),
    ),
    FaultCase(
        "subprotocol-not-offered",
        _ws_answer(Upgrade(b"Sec-WebSocket-Protocol: chat\r\n"), Stall()),
        Expect("subprotocol", "handshake", offending=b"Sec-WebSocket-Protocol: chat"),
    ),
    FaultCase(
        "extension-not-offered",
        _ws_answer(Upgrade(b"Sec-WebSocket-Extensions: x-unheard-of\r\n"), Stall()),
        Expect("extension", "handshake", offending=b"x-unheard-of"),
    ),
    # -- TLS --------------------------------------------------------------------------
    FaultCase("tls-self-signed", _self_signed, Expect("self-signed certificate", "tls", cert=True)),
    FaultCase("tls-expired", _expired, Expect("certificate has expired", "tls", cert=True)),
    FaultCase("tls-mismatch", _mismatch, Expect("mismatch", "tls", cert=True)),
    FaultCase(
        "tls-unknown-ca",
        _unknown_ca,
        Expect("unable to get local issuer certificate", "tls", cert=True),
    ),
    FaultCase(
        "wss-unknown-ca",
        _wss_unknown_ca,
        Expect("unable to get local issuer certificate", "tls", cert=True),
    ),
    FaultCase("tls-stalled", _tls_stalled, Expect("timed out after 0.4 s during tls", "tls")),
    # -- WebSocket frames from the server ---------------------------------------------
    FaultCase(
        "masked-frame",
        _ws_frames(masked_frame(0x81, b"hidden")),
        Expect("masked frame", "session", 1002, masked_frame(0x81, b"hidden")),
    ),
    FaultCase(
        "reserved-opcode",
        _ws_frames(server_frame(0x83, b"?")),
        Expect("reserved opcode 0x3", "session", 1002, server_frame(0x83, b"?")),
    ),
    FaultCase(
        "rsv-bits",
        _ws_frames(server_frame(0xC1, b"compressed?")),
        Expect("reserved bits set (RSV1)", "session", 1002, server_frame(0xC1, b"compressed?")),
    ),
    FaultCase(
        "control-too-long",
        _ws_frames(TOO_LONG_PING),
        Expect("control frame too long", "session", 1002, TOO_LONG_PING),
    ),
    FaultCase(
        "fragmented-control",
        _ws_frames(server_frame(0x09, b"ping")),
        Expect("fragmented control frame", "session", 1002, server_frame(0x09, b"ping")),
    ),
    FaultCase(
        "orphan-continuation",
        _ws_frames(server_frame(0x80, b"more")),
        Expect("continuation frame with no message", "session", 1002, server_frame(0x80, b"more")),
    ),
    FaultCase(
        "data-inside-fragmented",
        _ws_frames(server_frame(0x01, b"first half"), server_frame(0x81, b"intruder")),
        Expect("new data frame in the middle", "session", 1002, server_frame(0x81, b"intruder")),
    ),
    FaultCase(
        "invalid-utf8",
        _ws_frames(server_frame(0x81, b"caf\xc3")),
        Expect("invalid UTF-8 in a text message", "session", 1007, server_frame(0x81, b"caf\xc3")),
    ),
    FaultCase(
        "invalid-utf8-split",
        _ws_frames(server_frame(0x01, b"\xe2\x82"), server_frame(0x80, b"(oops")),
        Expect("invalid UTF-8 in a text message", "session", 1007, server_frame(0x80, b"(oops")),
    ),
    FaultCase(
        "close-1-byte",
        _ws_frames(server_frame(0x88, b"\x03")),
        Expect("close frame with a 1-byte payload", "session", 1002, server_frame(0x88, b"\x03")),
    ),
    FaultCase(
        "invalid-close-code",
        _ws_frames(server_frame(0x88, close_payload(999))),
        Expect("invalid close code 999", "session", 1002, server_frame(0x88, close_payload(999))),
    ),
    FaultCase(
        "invalid-utf8-close-reason",
        _ws_frames(BAD_CLOSE_REASON),
        Expect("invalid UTF-8 in the close reason", "session", 1007, BAD_CLOSE_REASON),
    ),
    FaultCase(
        "message-too-big",
        _ws_frames(server_frame(0x82, BIG)),
        Expect("larger than the 1024-byte size limit", "session", 1009, server_frame(0x82, BIG)),
    ),
    FaultCase(
        "fragmented-message-too-big",
        _ws_frames(server_frame(0x02, BIG[:800]), server_frame(0x80, BIG[:800])),
        Expect(
            "larger than the 1024-byte size limit", "session", 1009, server_frame(0x80, BIG[:800])
        ),
    ),
    # -- streams ------------------------------------------------------------------------
    FaultCase(
        "tcp-reset",
        _tcp_reset,
        Expect("connection reset by 127.0.0.1", "session", offending=b"partial answer"),
    ),
)

CASE_IDS = [case.id for case in CASES]


def _contains(record: Record, data: bytes) -> bool:
    return data in record.wire or (record.payload is not None and data in record.payload)


def check_outcome(case: FaultCase, session: Session, records: list[Record]) -> None:
    """Assert what ``case`` promises about a session that has ended."""
    expect = case.expect
    assert session.ended, f"{case.id}: the session did not end"
    assert session.state is expect.state, (case.id, session.state, session.failure)
    assert session.ok is expect.ok
    errors = [r for r in records if r.kind is Kind.ERROR]
    failure = session.failure
    assert failure is not None and expect.message in failure, (case.id, failure)
    assert "\n" not in failure and "Traceback" not in failure
    assert failure in [e.fields["message"] for e in errors], (case.id, errors)
    first_error = next(e for e in errors if e.fields["message"] == failure)
    assert first_error.fields["phase"] == expect.phase, (case.id, first_error.fields)
    closed = [r for r in records if r.kind is Kind.CLOSED]
    assert len(closed) == 1 and closed[0] is records[-1], case.id
    assert closed[0].fields["clean"] is False
    if expect.offending is not None:
        inbound = [r for r in records if r.direction is Direction.IN]
        assert any(_contains(r, expect.offending) for r in inbound), (case.id, inbound)
    sent_closes = [r for r in records if r.kind is Kind.FRAME and r.direction is Direction.OUT]
    if expect.close_code is not None:
        assert [r.fields["close_code"] for r in sent_closes] == [expect.close_code], case.id
        assert sent_closes[0].fields["automatic"] is True
        assert first_error.fields["close_code"] == expect.close_code
        assert closed[0].fields["close_code"] == expect.close_code
        rejected = [r for r in records if r.kind is Kind.FRAME and "error" in r.fields]
        assert rejected and rejected[0].wire == expect.offending, (case.id, rejected)
    else:
        assert sent_closes == []
    if expect.cert:
        cert = first_error.fields["cert"]
        assert first_error.fields["verified"] is False
        for name in ("subject", "issuer", "not_before", "not_after", "sha256"):
            assert cert[name], (case.id, name, cert)
        assert session.tls is not None and session.tls["cert"]["sha256"] == cert["sha256"]


class FaultTargets:
    """Builds each case's server on first use and keeps it for the whole run."""

    def __init__(self, env: FaultEnv) -> None:
        self.env = env
        self._targets: dict[str, Target] = {}

    def __getitem__(self, case_id: str) -> Target:
        target = self._targets.get(case_id)
        if target is None:
            case = next(c for c in CASES if c.id == case_id)
            target = self._targets[case_id] = case.build(self.env)
        return target
