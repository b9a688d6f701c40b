"""Heartbeats: WebSocket pings with counter payloads and round trips on their pongs,
the ping timeout (1011), and keepalive messages on tcp:// and udp://."""

from __future__ import annotations

from collections.abc import Callable

from servers import HostileScript, HostileServer, RunningServer, Stall, Upgrade
from session_helpers import make_session, run, wait_until

from inspector.core.records import Direction, Kind
from inspector.net.heartbeat import PING_TIMEOUT_CODE
from inspector.net.session import SessionState


def pongs(sink: object) -> list:
    return [
        r
        for r in sink.records  # type: ignore[attr-defined]
        if r.kind is Kind.FRAME and r.direction is Direction.IN and r.fields["opcode"] == "pong"
    ]


def test_pings_carry_a_counter_and_pongs_the_round_trip(ws_server: RunningServer) -> None:
    session, sink = make_session(ws_server.url, ping_interval=0.02, ping_timeout=5.0)

    async def scenario() -> None:
        assert await session.open()
        await wait_until(lambda: len(pongs(sink)) >= 3)
        await session.close()

    run(scenario())
    assert session.ok, session.failure
    pings = [
        r
        for r in sink.records
        if r.kind is Kind.FRAME and r.direction is Direction.OUT and r.fields["opcode"] == "ping"
    ]
    assert [p.payload for p in pings[:3]] == [b"1", b"2", b"3"]
    assert all(p.fields["automatic"] for p in pings)
    answered = pongs(sink)[:3]
    assert [p.payload for p in answered] == [b"1", b"2", b"3"]
    for ping, pong in zip(pings, answered, strict=False):
        assert pong.fields["rtt_ns"] == pong.t_ns - ping.t_ns > 0
    assert session.round_trips[:3] == [p.fields["rtt_ns"] for p in answered]


def test_no_pong_closes_with_1011(
    hostile_server_factory: Callable[[HostileScript], HostileServer],
) -> None:
    server = hostile_server_factory(HostileScript((Upgrade(), Stall())))
    session, sink = make_session(server.ws_url, ping_interval=0.02, ping_timeout=0.05)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    assert session.state is SessionState.FAILED
    assert session.failure.startswith("no pong for ping 1 within 0.05 s")
    closes = [
        r
        for r in sink.records
        if r.kind is Kind.FRAME and r.direction is Direction.OUT and r.fields["opcode"] == "close"
    ]
    assert closes and closes[0].fields["close_code"] == PING_TIMEOUT_CODE


def test_tcp_keepalive_sends_the_text(tcp_echo_server: RunningServer) -> None:
    session, sink = make_session(tcp_echo_server.url, keepalive=0.02, keepalive_text="beat\n")

    async def scenario() -> None:
        assert await session.open()
        await wait_until(lambda: session.messages_in >= 1 and len(sink.of(Kind.DATA)) >= 4)
        await session.close()

    run(scenario())
    sent = [r.payload for r in sink.of(Kind.DATA) if r.direction is Direction.OUT]
    assert sent[:2] == [b"beat\n", b"beat\n"]


def test_udp_keepalive_sends_datagrams(udp_echo_server: RunningServer) -> None:
    session, sink = make_session(udp_echo_server.url, keepalive=0.02, keepalive_text="k")

    async def scenario() -> None:
        assert await session.open()
        await wait_until(lambda: session.messages_in >= 2)
        await session.close()

    run(scenario())
    received = [r.payload for r in sink.of(Kind.DATAGRAM) if r.direction is Direction.IN]
    assert received[:2] == [b"k", b"k"]
