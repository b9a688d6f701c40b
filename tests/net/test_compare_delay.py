"""The comparison's network conditions: the relay's shaping plus one round trip per connect."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from inspector.net.compare_delay import Conditions, DelayForwarder
from tests.servers import RunningServer

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(30):
            return await coro

    return asyncio.run(bounded())


def test_conditions_become_the_relays_faults_with_the_same_spread() -> None:
    faults = Conditions(delay_ms=20, jitter_ms=10, loss=0.25).faults()
    # The relay's jitter is ± around its delay: [20, 30] ms is 25 ± 5.
    assert (faults.delay_ms, faults.jitter_ms, faults.loss) == (25, 5, 25.0)
    assert not Conditions().active and Conditions(loss=0.1).active


def test_tcp_is_delayed_both_ways_in_order_and_a_connect_costs_a_round_trip(
    tcp_echo_server: RunningServer,
) -> None:
    delay_s = 0.015

    async def scenario() -> tuple[float, float, bytes, bytes]:
        loop = asyncio.get_running_loop()
        forwarder = DelayForwarder(("127.0.0.1", tcp_echo_server.port),
                                   Conditions(delay_ms=delay_s * 1000))  # fmt: skip
        await forwarder.start()
        try:
            start = loop.time()
            reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
            writer.write(b"first")
            first = await reader.readexactly(5)
            first_at = loop.time() - start
            start = loop.time()
            for i in range(50):
                writer.write(b"%03d" % i)
            rest = await reader.readexactly(150)
            rest_at = loop.time() - start
            writer.write_eof()
            end = await reader.read()  # the echo server closes at our EOF, through the forwarder
            writer.close()
            assert forwarder.connections == 1
            return first_at, rest_at, first + rest, end
        finally:
            await forwarder.stop()

    first_at, rest_at, data, end = _run(scenario())
    assert data == b"first" + b"".join(b"%03d" % i for i in range(50))  # in order, whole
    assert end == b""
    assert first_at >= 4 * delay_s  # the connect's round trip, then the message's
    assert rest_at >= 2 * delay_s  # a message's round trip on an open connection


def test_stopping_with_bytes_held_ends_every_task(tcp_echo_server: RunningServer) -> None:
    async def scenario() -> list[asyncio.Task[object]]:
        forwarder = DelayForwarder(("127.0.0.1", tcp_echo_server.port), Conditions(delay_ms=100))
        await forwarder.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(b"a")
        assert await reader.readexactly(1) == b"a"  # connected through, both ways
        writer.write(b"held")
        writer.write_eof()
        # Until the pump has reached EOF and waits for "held" to leave its shaper.
        while not any(s.on_empty is not None for s in forwarder._shapers):
            await asyncio.sleep(0.001)
        await forwarder.stop()
        writer.close()
        me = asyncio.current_task()
        return [t for t in asyncio.all_tasks() if t is not me and not t.done()]

    assert _run(scenario()) == []


def test_udp_loses_datagrams_both_ways_and_keeps_the_rest_in_order(
    udp_echo_server: RunningServer,
) -> None:
    class Client(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.got: list[int] = []
            self.more = asyncio.Event()

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.got.append(int(data))
            self.more.set()

    async def scenario() -> tuple[list[int], int]:
        loop = asyncio.get_running_loop()
        forwarder = DelayForwarder(("127.0.0.1", udp_echo_server.port),
                                   Conditions(delay_ms=2, loss=0.3), udp=True, seed=7)  # fmt: skip
        await forwarder.start()
        client = Client()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: client, remote_addr=("127.0.0.1", forwarder.port)
        )
        try:
            for i in range(60):
                transport.sendto(b"%d" % i)
            # Every datagram is either echoed or lost on the way there or back.
            while len(client.got) + forwarder.dropped < 60:
                client.more.clear()
                await client.more.wait()
            return client.got, forwarder.dropped
        finally:
            transport.close()
            await forwarder.stop()

    got, dropped = _run(scenario())
    assert dropped > 0 and len(got) == 60 - dropped
    assert got == sorted(got)  # jitter or not, the shaper keeps the order
