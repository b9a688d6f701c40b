"""udp:// listening: each client address is a connection, replies go back to it."""

from __future__ import annotations

import asyncio
import socket

from listen_helpers import make_listener
from session_helpers import run, wait_until

from inspector.core.options import ServerOptions
from inspector.core.records import Direction, Kind
from inspector.core.rules import ActionKind, MatchKind, Rule


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received.append(data)


def test_each_address_is_a_connection_and_replies_go_back_to_it() -> None:
    listener, rec = make_listener(
        "udp://127.0.0.1:0",
        Rule(MatchKind.HEX, ActionKind.REPLY, "00 01", hex="00 02"),
        Rule(MatchKind.ANY, ActionKind.ECHO),
    )

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        await listener.start()
        loop = asyncio.get_running_loop()
        clients = []
        for _ in range(2):
            transport, protocol = await loop.create_datagram_endpoint(
                _Client, remote_addr=("127.0.0.1", listener.port)
            )
            clients.append((transport, protocol))
        clients[0][0].sendto(b"a1")
        clients[1][0].sendto(b"\x00\x01query")
        clients[0][0].sendto(b"a2")
        await wait_until(lambda: len(clients[0][1].received) == 2 and clients[1][1].received)
        assert listener.accepted == 2
        listener.broadcast(b"all")
        await wait_until(lambda: all(len(p.received) == 3 - i for i, (_t, p) in enumerate(clients)))
        for transport, _ in clients:
            transport.close()
        await listener.stop()
        return clients[0][1].received, clients[1][1].received

    first, second = run(scenario())
    assert first == [b"a1", b"a2", b"all"] and second == [b"\x00\x02", b"all"]
    one = rec.conns[1].records
    assert one[0].kind is Kind.CONNECT and one[0].fields["accepted"] is True
    datagrams = [(r.direction, r.payload) for r in one if r.kind is Kind.DATAGRAM]
    assert datagrams == [
        (Direction.IN, b"a1"),
        (Direction.OUT, b"a1"),
        (Direction.IN, b"a2"),
        (Direction.OUT, b"a2"),
        (Direction.OUT, b"all"),
    ]
    assert all(r.fields["peer"] == rec.peers[1] for r in one if r.kind is Kind.DATAGRAM)
    assert one[-1].kind is Kind.CLOSED and one[-1].fields["initiated_by"] == "server"
    assert [r.kind for r in rec.listener.records][:3] == [
        Kind.LISTENING,
        Kind.ACCEPTED,
        Kind.ACCEPTED,
    ]


def test_max_connections_refuses_an_address_once() -> None:
    listener, rec = make_listener("udp://127.0.0.1:0", max_connections=1)

    async def scenario() -> None:
        await listener.start()
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
        ):
            a.sendto(b"in", ("127.0.0.1", listener.port))
            await wait_until(lambda: listener.accepted == 1)
            for _ in range(3):
                b.sendto(b"out", ("127.0.0.1", listener.port))
            await wait_until(lambda: listener.refused == 1)
            a.sendto(b"again", ("127.0.0.1", listener.port))
            await wait_until(lambda: listener.connections[1].messages_in == 2)
        await listener.stop()

    run(scenario())
    assert listener.refused == 1
    assert [r.kind for r in rec.listener.records].count(Kind.REFUSED) == 1


def test_a_client_that_goes_quiet_ends_idle_and_comes_back_as_a_new_connection() -> None:
    idle = 0.3
    listener, rec = make_listener(
        "udp://127.0.0.1:0",
        Rule(MatchKind.ANY, ActionKind.ECHO),
        server=ServerOptions(udp_idle=idle),
    )

    async def scenario() -> list[bytes]:
        await listener.start()
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(
            _Client, remote_addr=("127.0.0.1", listener.port)
        )
        for n, data in enumerate((b"one", b"two"), start=1):  # each waits for its echo
            transport.sendto(data)
            await wait_until(lambda n=n: len(client.received) == n)
        first = listener.connections[1]
        await first.wait_closed()
        transport.sendto(b"again")  # after the idle end: a new connection
        await wait_until(lambda: len(client.received) == 3)
        assert listener.accepted == 2 and not listener.connections[2].ended
        transport.close()
        await listener.stop()
        return client.received

    assert run(scenario()) == [b"one", b"two", b"again"]
    one = rec.conns[1].records
    closed = one[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["message"].startswith("idle: ")
    assert f"for {idle:g} s" in closed.fields["message"] and closed.fields["clean"] is True
    assert closed.fields["initiated_by"] == "server"
    last_heard = max(r.t_ns for r in one if r.direction is Direction.IN)
    assert closed.t_ns - last_heard >= idle * 1e9  # measured from the last datagram
    assert [r.payload for r in rec.conns[2].records if r.direction is Direction.IN] == [b"again"]
    ended = [r for r in rec.listener.records if r.kind is Kind.INFO and r.fields.get("conn") == 1]
    assert "ended: idle: " in ended[0].fields["message"]
