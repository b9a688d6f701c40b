"""The comparison's network conditions: a forwarder on loopback shaped by the relay's faults.

Every chunk (a TCP read, a datagram) goes through :class:`~inspector.net.relayfaults.Shaper`,
the relay's own delay, jitter and loss, in order. What this forwarder adds is what the
relay does not model and the comparison is about: a new TCP connection is charged one
round trip before its first bytes pass (the SYN and SYN-ACK of a real network), which
is the cost of polling with a new connection per request. It forwards bytes and records
nothing, so TLS, WebSocket and HTTP pass through it unchanged and the client's capture
stays the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from inspector.net.listenbase import DatagramHandoff
from inspector.net.loopserve import Handlers
from inspector.net.relayfaults import Faults, Shaper


@dataclass(frozen=True, slots=True)
class Conditions:
    """Added delay one way (ms), uniform jitter on top (ms), loss (0..1, UDP only)."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0

    @property
    def active(self) -> bool:
        """True when anything is asked for (as the relay's faults see it)."""
        return self.faults().active

    def faults(self) -> Faults:
        """The relay's faults for one direction: a delay uniform in [delay, delay +
        jitter] (the relay's jitter is ± around its delay), loss in percent."""
        half = self.jitter_ms / 2
        return Faults(delay_ms=self.delay_ms + half, jitter_ms=half, loss=self.loss * 100.0)


def _no_pause(_paused: bool) -> None:
    """Datagrams are not paused: what a shaper holds is bounded by the workload."""


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
        self._faults = conditions.faults()
        self._shapers: list[Shaper] = []
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._upstreams: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        #: Per client address: its two shapers (to the server, back to the client).
        self._clients: dict[tuple[str, int], tuple[Shaper, Shaper]] = {}
        #: Datagrams due to a client's upstream socket while it is still being opened.
        self._opening: dict[tuple[str, int], list[bytes]] = {}
        self._handlers = Handlers()

    @property
    def dropped(self) -> int:
        """Datagrams lost on purpose, both ways."""
        return sum(shaper.lost for shaper in self._shapers)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.udp:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: DatagramHandoff(self._from_client), local_addr=("127.0.0.1", 0)
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
        for shaper in self._shapers:
            shaper.cancel()  # what it held is dropped: wake a pump waiting for it to leave
            if shaper.on_empty is not None:
                wake, shaper.on_empty = shaper.on_empty, None
                wake()
        await self._handlers.abort()

    def _shaper(
        self, write: Callable[[bytes], None], pause: Callable[[bool], None] = _no_pause
    ) -> Shaper:
        shaper = Shaper(self._faults, write, pause, rng=self.rng)
        self._shapers.append(shaper)
        return shaper

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with self._handlers.serving(writer):
            # SYN there, SYN-ACK back: the round trip a real network charges to connect.
            c = self.conditions
            await asyncio.sleep(2 * (c.delay_ms + self.rng.uniform(0, c.jitter_ms)) / 1000)
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                return
            self._handlers.add(up_writer)
            try:
                to_server = self._shaper(_writer_of(up_writer), _pauser_of(writer))
                to_client = self._shaper(_writer_of(writer), _pauser_of(up_writer))
                async with asyncio.TaskGroup() as group:
                    group.create_task(_pump(reader, to_server, up_writer))
                    group.create_task(_pump(up_reader, to_client, writer))
            finally:
                self._handlers.discard(up_writer)
                up_writer.close()

    def _from_client(self, data: bytes, addr: tuple[str, int]) -> None:
        shapers = self._clients.get(addr)
        if shapers is None:
            front = self._udp
            assert front is not None
            shapers = (
                self._shaper(lambda d: self._to_upstream(addr, d)),
                self._shaper(lambda d: _send_quietly(front, d, addr)),
            )
            self._clients[addr] = shapers
            self._opening[addr] = []
            self._handlers.track(asyncio.get_running_loop().create_task(self._open_upstream(addr)))
        shapers[0].push(data, True)

    def _to_upstream(self, addr: tuple[str, int], data: bytes) -> None:
        upstream = self._upstreams.get(addr)
        if upstream is None:
            self._opening.setdefault(addr, []).append(data)
        else:
            _send_quietly(upstream, data, None)

    async def _open_upstream(self, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: DatagramHandoff(lambda data, _: self._from_server(data, addr)),
            remote_addr=self.target,
        )
        self.connections += 1
        self._upstreams[addr] = transport
        for data in self._opening.pop(addr, []):
            _send_quietly(transport, data, None)

    def _from_server(self, data: bytes, addr: tuple[str, int]) -> None:
        shapers = self._clients.get(addr)
        if shapers is not None:
            shapers[1].push(data, True)


def _writer_of(writer: asyncio.StreamWriter) -> Callable[[bytes], None]:
    """A shaper's output: the stream's transport, quietly nothing once it is closing."""
    transport = writer.transport

    def write(data: bytes) -> None:
        if not transport.is_closing():
            transport.write(data)

    return write


def _pauser_of(writer: asyncio.StreamWriter) -> Callable[[bool], None]:
    """Pause and resume the reads of the stream that feeds a shaper (it holds too much)."""
    transport = writer.transport

    def pause(paused: bool) -> None:
        if transport.is_closing():
            return
        if paused:
            transport.pause_reading()  # type: ignore[attr-defined]
        else:
            transport.resume_reading()  # type: ignore[attr-defined]

    return pause


async def _pump(reader: asyncio.StreamReader, shaper: Shaper, out: asyncio.StreamWriter) -> None:
    """Feed one direction's reads to its shaper; at EOF, half-close once the held bytes left."""
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            shaper.push(data, False)
    if not shaper.idle:
        drained = asyncio.Event()
        shaper.on_empty = drained.set
        await drained.wait()
    with contextlib.suppress(OSError):
        if out.can_write_eof() and not out.transport.is_closing():
            out.write_eof()


def _send_quietly(
    transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str, int] | None
) -> None:
    if not transport.is_closing():
        transport.sendto(data, addr)
