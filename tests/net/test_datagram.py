"""udp:// sessions: echo, and ICMP port unreachable kept as an error on an open session."""

from __future__ import annotations

import json
import socket

import pytest
from servers import RunningServer, free_port
from session_helpers import make_session, no_errors, run, wait_until

from inspector.core.records import Direction, Kind
from inspector.net.session import NotWebSocketError, SessionState


def test_udp_echo(udp_echo_server: RunningServer) -> None:
    session, sink = make_session(udp_echo_server.url)

    async def scenario() -> None:
        assert await session.open()
        session.send(b"first")
        session.send_text("second")
        await wait_until(lambda: session.messages_in >= 2)
        await session.close()

    run(scenario())
    no_errors(sink)
    assert session.ok
    peer = f"127.0.0.1:{udp_echo_server.port}"
    connect = sink.of(Kind.CONNECT)[0]
    assert connect.fields["peer"] == peer and connect.fields["local"].startswith("127.0.0.1:")
    datagrams = sink.of(Kind.DATAGRAM)
    assert [(r.direction, r.wire) for r in datagrams if r.direction is Direction.OUT] == [
        (Direction.OUT, b"first"),
        (Direction.OUT, b"second"),
    ]
    inbound = [r for r in datagrams if r.direction is Direction.IN]
    assert sorted(r.payload for r in inbound) == [b"first", b"second"]
    assert all(r.fields["peer"] == peer for r in datagrams)
    assert sorted(session.take_messages()) == [("datagram", b"first"), ("datagram", b"second")]
    assert sink.records[-1].kind is Kind.CLOSED and sink.records[-1].fields["clean"] is True
    json.dumps(session.summary())


def test_closed_port_is_reported_and_session_stays_open(server_loop: object) -> None:
    port = free_port(socket.SOCK_DGRAM)
    session, sink = make_session(f"udp://127.0.0.1:{port}")

    async def scenario() -> None:
        assert await session.open()
        session.send(b"anyone?")
        await wait_until(lambda: bool(sink.of(Kind.ERROR)))
        assert session.state is SessionState.OPEN
        session.send(b"still here")
        await session.close()

    run(scenario())
    error = sink.of(Kind.ERROR)[0]
    assert error.fields["message"] == f"port unreachable: no one listens on 127.0.0.1:{port}"
    assert len(sink.of(Kind.DATAGRAM)) == 2
    assert session.ok and session.failure is None


def test_udp_has_no_websocket_operations(udp_echo_server: RunningServer) -> None:
    session, _ = make_session(udp_echo_server.url)

    async def scenario() -> None:
        assert await session.open()
        with pytest.raises(NotWebSocketError, match="udp:// has no ping frames"):
            session.send_ping(b"x")
        session.abort()

    run(scenario())
    assert session.state is SessionState.CLOSED
