"""tcp:// sessions against real servers: echo, framing, refusal, reset, backpressure."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

import pytest
from servers import (
    Close,
    HostileScript,
    HostileServer,
    ReadUntil,
    Reset,
    RunningServer,
    Stall,
    Write,
    free_port,
)
from session_helpers import make_session, no_errors, run, wait_until

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import Framing
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.session import (
    NotWebSocketError,
    SessionNotOpenError,
    SessionState,
    describe_os_error,
)
from inspector.net.stream import StreamSession

HostileFactory = Callable[[HostileScript], HostileServer]


def test_tcp_echo_round_trip(tcp_echo_server: RunningServer) -> None:
    session, sink = make_session(tcp_echo_server.url)
    states: list[SessionState] = []
    session.on_state_change = states.append

    async def scenario() -> None:
        assert await session.open()
        session.send(b"hello\x00world")
        await wait_until(lambda: session.messages_in >= 1)
        await session.close()

    run(scenario())
    no_errors(sink)
    assert session.ok and session.state is SessionState.CLOSED and session.failure is None
    assert states == [SessionState.OPEN, SessionState.CLOSING, SessionState.CLOSED]
    assert [r.kind for r in sink.records] == [
        Kind.RESOLVE,
        Kind.CONNECT,
        Kind.DATA,
        Kind.DATA,
        Kind.CLOSED,
    ]
    resolve, connect, out, echo, closed = sink.records
    assert resolve.fields["addresses"] == ["127.0.0.1"] and resolve.fields["duration_ns"] >= 0
    assert connect.fields["peer"] == f"127.0.0.1:{tcp_echo_server.port}"
    assert connect.fields["family"] == "ipv4" and connect.fields["duration_ns"] > 0
    assert (out.direction, out.wire, out.payload) == (
        Direction.OUT,
        b"hello\x00world",
        b"hello\x00world",
    )
    assert (echo.direction, echo.wire) == (Direction.IN, b"hello\x00world")
    assert closed.fields["clean"] is True and closed.fields["initiated_by"] == "client"
    assert closed.fields["duration_ns"] > 0
    assert session.take_messages() == [("data", b"hello\x00world")]
    summary = session.summary()
    json.dumps(summary)
    assert summary["state"] == "closed" and summary["ok"] is True
    assert set(summary["phases"]) == {"resolve_ns", "connect_ns"}
    assert summary["counts"]["bytes_in"] == 11 and summary["counts"]["messages_in"] == 1


def test_lines_framing_over_tcp(tcp_echo_server: RunningServer) -> None:
    session, sink = make_session(tcp_echo_server.url, framing=Framing.LINES)
    assert isinstance(session, StreamSession)

    async def scenario() -> None:
        assert await session.open()
        session.send(b"one")
        session.send_raw(b"two\r\nthr")
        session.send_raw(b"ee\n")
        await wait_until(lambda: session.messages_in >= 3)
        session.send_raw(b"tail")
        await session.close()

    run(scenario())
    no_errors(sink)
    out = sink.records[2]
    assert (out.kind, out.wire, out.payload) == (Kind.MESSAGE, b"one\n", b"one")
    assert out.fields["ranges"] == [["payload", 0, 3], ["terminator", 3, 4]]
    inbound = [r for r in sink.records if r.direction is Direction.IN]
    assert [(r.kind, r.payload) for r in inbound] == [
        (Kind.MESSAGE, b"one"),
        (Kind.MESSAGE, b"two"),
        (Kind.MESSAGE, b"three"),
        (Kind.DATA, b"tail"),
    ]
    assert inbound[1].wire == b"two\r\n"
    assert inbound[1].fields["ranges"] == [["payload", 0, 3], ["terminator", 3, 5]]
    assert inbound[3].fields["incomplete"] is True
    assert session.ok


def test_len16_framing_over_tcp(tcp_echo_server: RunningServer) -> None:
    session, sink = make_session(tcp_echo_server.url, framing=Framing.LEN16)

    async def scenario() -> None:
        assert await session.open()
        session.send(b"abc")
        session.send_text("é")
        await wait_until(lambda: session.messages_in >= 2)
        await session.close()

    run(scenario())
    no_errors(sink)
    messages = [r for r in sink.of(Kind.MESSAGE) if r.direction is Direction.IN]
    assert [(r.wire, r.payload) for r in messages] == [
        (b"\x00\x03abc", b"abc"),
        (b"\x00\x02\xc3\xa9", "é".encode()),
    ]
    assert messages[0].fields == {
        "framing": "len16",
        "ranges": [["length", 0, 2], ["payload", 2, 5]],
    }
    assert session.take_messages() == [("data", b"abc"), ("data", "é".encode())]


def test_oversized_length_prefix_fails_the_session(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((Write(b"\x00\x02ok\xff\xff\x00"),)))
    session, sink = make_session(server.url, framing=Framing.LEN16, max_size=1000)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    assert [r.payload for r in sink.of(Kind.MESSAGE)] == [b"ok"]
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["message"] == (
        "length prefix announces 65535 bytes, over the 1000-byte limit"
    )
    assert error.direction is Direction.IN and error.wire == b"\xff\xff\x00"
    assert session.state is SessionState.FAILED and not session.ok
    assert sink.records[-1].kind is Kind.CLOSED


def test_refused_connection(server_loop: object) -> None:
    port = free_port()
    session, sink = make_session(f"tcp://127.0.0.1:{port}")
    assert run(session.open()) is False
    assert session.state is SessionState.FAILED and not session.ok
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["message"].startswith("connection refused")
    assert error.fields["phase"] == "connect"
    assert session.failure == error.fields["message"]
    assert [r.kind for r in sink.records] == [Kind.RESOLVE, Kind.ERROR, Kind.CLOSED]
    assert sink.records[-1].fields["clean"] is False


def test_ipv6_literal_endpoint(server_loop: object) -> None:
    session, sink = make_session(f"tcp://[::1]:{free_port()}")
    run(session.open())
    assert sink.of(Kind.RESOLVE)[0].fields["addresses"] == ["::1"]
    assert session.state is SessionState.FAILED and session.failure is not None


def test_peer_close_is_clean(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((Write(b"bye"), Close())))
    session, sink = make_session(server.url)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    assert sink.of(Kind.DATA)[0].wire == b"bye"
    closed = sink.records[-1]
    assert closed.fields["initiated_by"] == "server" and closed.fields["clean"] is True
    assert session.ok


def test_reset_is_an_error(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((ReadUntil(b"go"), Reset())))
    session, sink = make_session(server.url)

    async def scenario() -> None:
        assert await session.open()
        session.send(b"go")
        await session.wait_closed()

    run(scenario())
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["message"] == f"connection reset by 127.0.0.1:{server.port}"
    assert session.state is SessionState.FAILED
    assert sink.records[-1].kind is Kind.CLOSED and sink.records[-1].fields["clean"] is False


def test_backpressure_pauses_and_resumes_reading(hostile_server_factory: HostileFactory) -> None:
    lines = b"".join(b"line %d\n" % i for i in range(20))
    server = hostile_server_factory(
        HostileScript((Write(lines), ReadUntil(b"go\n"), Write(b"last\n"), Close()))
    )
    recorder = Recorder(high_watermark=5)
    session, sink = make_session(server.url, recorder=recorder, framing=Framing.LINES)
    assert isinstance(session, StreamSession)

    async def scenario() -> None:
        assert await session.open()
        await wait_until(lambda: recorder.paused)
        assert not session.reading
        session.send(b"go")
        recorder.drain()
        assert session.reading
        await session.wait_closed()

    run(scenario())
    bodies = [r.payload for r in sink.of(Kind.MESSAGE) if r.direction is Direction.IN]
    assert bodies[-1] == b"last" and len(bodies) == 21
    assert session.ok


def test_websocket_only_operations_refused(tcp_echo_server: RunningServer) -> None:
    session, _ = make_session(tcp_echo_server.url)
    with pytest.raises(SessionNotOpenError, match="cannot send: the session is connecting"):
        session.send(b"x")

    async def scenario() -> None:
        assert await session.open()
        for call in (
            lambda: session.send_binary(b"x"),
            lambda: session.send_ping(b""),
            lambda: session.send_pong(b""),
            lambda: session.send_close(1000, ""),
        ):
            with pytest.raises(NotWebSocketError, match="tcp://"):
                call()
        session.abort()

    run(scenario())
    assert session.state is SessionState.CLOSED
    assert session.summary()["failure"] is None


def test_abort_while_opening_ends_at_once(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((Stall(),)))
    session, sink = make_session(f"tls://127.0.0.1:{server.port}", connect_timeout=30)

    async def scenario() -> bool:
        opening = asyncio.ensure_future(session.open())
        await wait_until(lambda: bool(sink.of(Kind.CONNECT)))
        session.abort()
        return await opening

    assert run(scenario()) is False
    assert session.state is SessionState.CLOSED and not sink.of(Kind.TLS)
    closed = sink.records[-1]
    assert closed.fields["message"] == "aborted" and closed.fields["initiated_by"] == "client"
    assert len(sink.of(Kind.CLOSED)) == 1


def test_cancelling_open_records_the_end(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((Stall(),)))
    session, sink = make_session(f"tls://127.0.0.1:{server.port}", connect_timeout=30)

    async def scenario() -> None:
        opening = asyncio.ensure_future(session.open())
        await wait_until(lambda: bool(sink.of(Kind.CONNECT)))
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening

    run(scenario())
    assert session.ended and sink.records[-1].fields["message"] == "opening cancelled"


def test_describe_resolution_failure() -> None:
    endpoint = parse_endpoint("tcp://no-such-host.invalid:7")
    error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert describe_os_error(error, endpoint, "resolve") == (
        "cannot resolve 'no-such-host.invalid': Name or service not known"
    )
