"""A delaying forwarder on loopback: added one-way delay, jitter and (UDP) loss.

Clients connect to the forwarder, which connects on to the target after one round
trip (the handshake a real network charges) and delivers every chunk, in order, one
way's delay later. It is deliberately small: the comparison's "network conditions".
The relay with network faults (``net/relay*.py``) is meant to take its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Conditions:
    """Added delay one way (ms), uniform jitter on top (ms), loss (0..1, UDP only)."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0

    @property
    def active(self) -> bool:
        return self.delay_ms > 0 or self.jitter_ms > 0 or self.loss > 0


class _Pipe:
    """One direction of a forwarded connection: chunks delivered in order, later."""

    def __init__(self, writer: asyncio.StreamWriter, conditions: Conditions, rng: random.Random):
        self.writer = writer
        self.conditions = conditions
        self.rng = rng
        self.queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        self.last_due = 0.0

    def put(self, data: bytes | None) -> None:
        loop = asyncio.get_running_loop()
        c = self.conditions
        due = loop.time() + (c.delay_ms + self.rng.uniform(0, c.jitter_ms)) / 1000
        self.last_due = max(self.last_due, due)  # a stream keeps its order
        self.queue.put_nowait((self.last_due, data))

    async def deliver(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await self.queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    return
                self.writer.write(data)
                await self.writer.drain()
        except OSError:
            return


class DelayForwarder:
    """Forward TCP (``udp=False``) or UDP from a loopback port to ``target``."""

    def __init__(self, target: tuple[str, int], conditions: Conditions, *, udp: bool = False,
                 seed: int | None = None) -> None:  # fmt: skip
        self.target = target
        self.conditions = conditions
        self.udp = udp
        self.rng = random.Random(seed)
        self.port = 0
        self.connections = 0
        self.dropped = 0
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._upstreams: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        #: Datagrams from a client whose upstream socket is still being opened.
        self._opening: dict[tuple[str, int], list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.udp:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpFront(self), local_addr=("127.0.0.1", 0)
            )
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
        else:
            self._server = await asyncio.start_server(self._forward, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._udp is not None:
            self._udp.close()
        for up in self._upstreams.values():
            up.close()
        # Aborting ends the pumps (asyncio's stream server reports a cancelled handler).
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), 2.0)

    def _delay_s(self) -> float:
        c = self.conditions
        return (c.delay_ms + self.rng.uniform(0, c.jitter_ms)) / 1000

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        up_writer: asyncio.StreamWriter | None = None
        try:
            # SYN there, SYN-ACK back: the round trip a real network charges to connect.
            await asyncio.sleep(2 * self._delay_s())
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return
            self._writers.add(up_writer)
            to_server = _Pipe(up_writer, self.conditions, self.rng)
            to_client = _Pipe(writer, self.conditions, self.rng)
            async with asyncio.TaskGroup() as group:
                group.create_task(to_server.deliver())
                group.create_task(to_client.deliver())
                group.create_task(_pump(reader, to_server))
                group.create_task(_pump(up_reader, to_client))
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            if up_writer is not None:
                self._writers.discard(up_writer)
                up_writer.close()

    def _from_client(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.rng.random() < self.conditions.loss:
            self.dropped += 1
            return
        loop = asyncio.get_running_loop()
        upstream = self._upstreams.get(addr)
        if upstream is None:
            if addr in self._opening:
                self._opening[addr].append(data)
                return
            self._opening[addr] = [data]
            task = loop.create_task(self._open_upstream(addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        loop.call_later(self._delay_s(), _send_quietly, upstream, data, None)

    async def _open_upstream(self, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpBack(self, addr), remote_addr=self.target
        )
        self.connections += 1
        self._upstreams[addr] = transport
        for data in self._opening.pop(addr, []):
            loop.call_later(self._delay_s(), _send_quietly, transport, data, None)

    def _from_server(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.rng.random() < self.conditions.loss:
            self.dropped += 1
            return
        if self._udp is not None:
            asyncio.get_running_loop().call_later(
                self._delay_s(), _send_quietly, self._udp, data, addr
            )


async def _pump(reader: asyncio.StreamReader, pipe: _Pipe) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            pipe.put(data)
    pipe.put(None)


def _send_quietly(
    transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str, int] | None
) -> None:
    if not transport.is_closing():
        transport.sendto(data, addr)


class _UdpFront(asyncio.DatagramProtocol):
    def __init__(self, owner: DelayForwarder) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.owner._from_client(data, addr)


class _UdpBack(asyncio.DatagramProtocol):
    def __init__(self, owner: DelayForwarder, client: tuple[str, int]) -> None:
        self.owner = owner
        self.client = client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.owner._from_server(data, self.client)
