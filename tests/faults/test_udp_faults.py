"""UDP: an ICMP port unreachable is an error record and the session stays open; the
largest IPv4 datagram round-trips; an empty datagram is a record of size 0."""

from __future__ import annotations

from servers import RunningServer, free_port
from session_helpers import make_session, run, wait_until

from inspector.core.records import Direction, Kind
from inspector.net.session import SessionState

#: The largest UDP payload over IPv4: 65,535 - 20 (IP header) - 8 (UDP header).
MAX_DATAGRAM = 65_507


def test_port_unreachable_is_an_error_and_the_session_stays_open() -> None:
    port = free_port()
    session, sink = make_session(f"udp://127.0.0.1:{port}")

    async def scenario() -> None:
        assert await session.open()
        session.send(b"anyone?")
        await wait_until(lambda: bool(sink.of(Kind.ERROR)))
        assert session.state is SessionState.OPEN
        session.send(b"still here")  # the socket still sends after the ICMP error
        await wait_until(lambda: len(sink.of(Kind.ERROR)) == 2)
        await session.close()

    run(scenario())
    first = sink.of(Kind.ERROR)[0]
    assert first.fields == {
        "message": f"port unreachable: no one listens on 127.0.0.1:{port}",
        "phase": "session",
    }
    sent = [r.wire for r in sink.of(Kind.DATAGRAM) if r.direction is Direction.OUT]
    assert sent == [b"anyone?", b"still here"]
    assert session.failure is None and session.state is SessionState.CLOSED and session.ok


def test_the_largest_datagram_round_trips(udp_echo_server: RunningServer) -> None:
    payload = bytes(range(256)) * (MAX_DATAGRAM // 256) + bytes(MAX_DATAGRAM % 256)
    assert len(payload) == MAX_DATAGRAM
    session, sink = make_session(udp_echo_server.url)

    async def scenario() -> None:
        assert await session.open()
        session.send(payload)
        await wait_until(lambda: session.messages_in == 1)
        await session.close()

    run(scenario())
    received = [r for r in sink.of(Kind.DATAGRAM) if r.direction is Direction.IN]
    assert [r.wire for r in received] == [payload] and received[0].payload == payload
    assert session.ok and not sink.of(Kind.ERROR)


def test_an_empty_datagram_is_recorded(udp_echo_server: RunningServer) -> None:
    session, sink = make_session(udp_echo_server.url)

    async def scenario() -> None:
        assert await session.open()
        session.send(b"")
        await wait_until(lambda: session.messages_in == 1)
        await session.close()

    run(scenario())
    datagrams = sink.of(Kind.DATAGRAM)
    assert [(r.direction, r.wire, r.payload) for r in datagrams] == [
        (Direction.OUT, b"", b""),
        (Direction.IN, b"", b""),
    ]
    assert session.take_messages() == [("datagram", b"")] and session.ok
