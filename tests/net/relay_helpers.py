"""Helpers for the relay tests: a relay whose recorders keep every record, raw peers."""

from __future__ import annotations

import asyncio
from typing import Any

from listen_helpers import Recorded

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.net.relay import Relay, RelayConfig, create_relay
from inspector.net.relayfaults import Faults

#: Seconds any single wait in these tests may take before the test fails.
WAIT = 10.0


async def start_relay(
    listen: str,
    upstream: str,
    *,
    c2s: Faults | None = None,
    s2c: Faults | None = None,
    **config: Any,
) -> tuple[Relay, Recorded]:
    """A started relay from ``listen`` (port 0) to ``upstream`` recording into ListSinks."""
    recorded = Recorded()
    options = config.pop("options", SessionOptions())
    relay = create_relay(
        RelayConfig(
            parse_endpoint(listen, listen=True),
            parse_endpoint(upstream),
            options,
            c2s=c2s or Faults(),
            s2c=s2c or Faults(),
            **config,
        ),
        Recorder(recorded.listener, consumed=False),
        recorded.recorder_for,
    )
    await relay.start()
    return relay, recorded


async def ended(relay: Relay, count: int = 1) -> None:
    """Wait until ``count`` pairs have ended."""
    async with asyncio.timeout(WAIT):
        while relay.ended_count < count:
            await asyncio.sleep(0.005)


def wire_of(records: list[Record], direction: Direction, *kinds: Kind) -> bytes:
    """The wire bytes of one direction's records (of ``kinds``, or every traffic kind)."""
    wanted = kinds or (Kind.DATA, Kind.FRAME, Kind.HANDSHAKE, Kind.DATAGRAM)
    return b"".join(r.wire for r in records if r.direction is direction and r.kind in wanted)


def messages(records: list[Record]) -> list[str]:
    """The one-line messages of INFO and ERROR records, in order."""
    return [r.message or "" for r in records if r.kind in (Kind.INFO, Kind.ERROR)]


class RawPeer(asyncio.Protocol):
    """A TCP peer that keeps every byte it reads and says when the other side ended."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.eof = asyncio.Event()
        self.lost = asyncio.Event()
        self.error: Exception | None = None
        self.transport: asyncio.Transport | None = None
        self.more = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received += data
        self.more.set()

    def eof_received(self) -> bool:
        self.eof.set()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.error = exc
        self.eof.set()
        self.lost.set()

    async def until(self, size: int) -> bytes:
        """Wait until ``size`` bytes were read (or the connection ended)."""
        async with asyncio.timeout(WAIT):
            while len(self.received) < size and not self.lost.is_set():
                self.more.clear()
                await self.more.wait()
        return bytes(self.received)


async def raw_connect(port: int) -> RawPeer:
    """A RawPeer connected to 127.0.0.1:``port``."""
    loop = asyncio.get_running_loop()
    _t, peer = await loop.create_connection(RawPeer, "127.0.0.1", port)
    return peer
