"""udp:// relaying: one upstream socket per client address, datagrams both ways, loss, cuts."""

from __future__ import annotations

import asyncio

from relay_helpers import WAIT, ended, messages, start_relay
from servers import RunningServer
from session_helpers import run

from inspector.core.records import Direction, Kind, Record
from inspector.net.relayfaults import Faults


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.got.put_nowait(data)


async def udp_client(port: int) -> tuple[asyncio.DatagramTransport, _Client]:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        _Client, remote_addr=("127.0.0.1", port)
    )
    return transport, client


def test_each_client_address_gets_its_own_upstream_socket(udp_echo_server: RunningServer) -> None:
    async def scenario() -> tuple[list[list[bytes]], dict[int, list[Record]]]:
        relay, rec = await start_relay("udp://127.0.0.1:0", udp_echo_server.url, udp_idle=0.3)
        answers = []
        for name in (b"a", b"b"):
            transport, client = await udp_client(relay.port)
            got = []
            for n in range(3):
                transport.sendto(name + str(n).encode())
                async with asyncio.timeout(WAIT):
                    got.append(await client.got.get())
            answers.append(got)
            transport.close()
        await ended(relay, 2)  # both pairs end once idle
        await relay.stop()
        return answers, {n: sink.records for n, sink in rec.conns.items()}

    answers, conns = run(scenario())
    assert answers == [[b"a0", b"a1", b"a2"], [b"b0", b"b1", b"b2"]]
    assert sorted(conns) == [1, 2]
    for number, name in ((1, b"a"), (2, b"b")):
        records = conns[number]
        out = [r.wire for r in records if r.kind is Kind.DATAGRAM and r.direction is Direction.OUT]
        back = [r.wire for r in records if r.kind is Kind.DATAGRAM and r.direction is Direction.IN]
        assert out == back == [name + b"0", name + b"1", name + b"2"]
        assert [r.fields["leg"] for r in records if r.kind is Kind.CONNECT] == [
            "client",
            "upstream",
        ]
        assert records[-1].kind is Kind.CLOSED and "idle" in (records[-1].message or "")


def test_loss_of_every_datagram_is_recorded(udp_echo_server: RunningServer) -> None:
    async def scenario() -> list[Record]:
        relay, rec = await start_relay(
            "udp://127.0.0.1:0", udp_echo_server.url, s2c=Faults(loss=100.0)
        )
        transport, client = await udp_client(relay.port)
        for n in range(5):
            transport.sendto(b"d%d" % n)
        async with asyncio.timeout(WAIT):
            while sum(1 for r in rec.conns.get(1, _empty()).records if r.fields.get("lost")) < 5:
                await asyncio.sleep(0.005)
        assert client.got.empty()
        transport.close()
        await relay.stop()
        return rec.conns[1].records

    records = run(scenario())
    lost = [r for r in records if r.kind is Kind.DATAGRAM and r.fields.get("lost")]
    assert len(lost) == 5 and all(r.direction is Direction.IN for r in lost)
    assert any("server → client: loss 100%" in m for m in messages(records))


def test_cut_after_messages_ends_the_pair(udp_echo_server: RunningServer) -> None:
    async def scenario() -> tuple[list[bytes], list[Record]]:
        relay, rec = await start_relay(
            "udp://127.0.0.1:0", udp_echo_server.url, c2s=Faults(cut_after_messages=2)
        )
        transport, client = await udp_client(relay.port)
        got = []
        for n in range(2):
            transport.sendto(b"m%d" % n)
            async with asyncio.timeout(WAIT):
                got.append(await client.got.get())
        transport.sendto(b"m2")
        await ended(relay)
        transport.close()
        await relay.stop()
        return got, rec.conns[1].records

    got, records = run(scenario())
    assert got == [b"m0", b"m1"]
    assert any(r.fields.get("cut") for r in records if r.kind is Kind.INFO)
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["clean"] is False


class _empty:
    records: list[Record] = []
