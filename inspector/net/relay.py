"""The relay: listen for clients, give each its own upstream connection, forward and record.

``inspector relay LISTEN_URL UPSTREAM_URL`` and the window's Relay… build a :class:`Relay`
from a :class:`RelayConfig`. It binds like a listener and has a Recorder of its own (the
relay's session: LISTENING with the upstream URL, ACCEPTED, REFUSED, an INFO per ended
pair, CLOSED when it stops); ``recorder_for(number, peer)`` gives each pair its own
Recorder, so each relayed connection is one session in the capture holding both
directions. Stream schemes (tcp, tls, ws, wss) make a :class:`StreamPair`
(:mod:`inspector.net.relaypair`); udp is :mod:`inspector.net.relayudp`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from inspector.core.recorder import Recorder
from inspector.net.listenbase import ListenError, bind_stream_servers
from inspector.net.relaybase import (
    STOP_TIMEOUT,
    RecorderFor,
    Relay,
    RelayConfig,
    RelayError,
    check_pairing,
)
from inspector.net.relaypair import StreamPair
from inspector.net.resolve import format_address

__all__ = [
    "STOP_TIMEOUT",
    "ListenError",
    "Relay",
    "RelayConfig",
    "RelayError",
    "StreamRelay",
    "check_pairing",
    "create_relay",
]


class StreamRelay(Relay):
    """A relay for tcp/tls and ws/wss clients."""

    def __init__(self, config: RelayConfig, recorder: Recorder, recorder_for: RecorderFor) -> None:
        super().__init__(config, recorder, recorder_for)
        self._servers: list[asyncio.Server] = []

    async def _bind(self) -> tuple[Any, int]:
        return await bind_stream_servers(
            self.endpoint, lambda: _Accept(self._accept), self._servers
        )

    def _accept(self, transport: asyncio.Transport) -> None:
        peer = format_address(transport.get_extra_info("peername"))
        number = self._admit(peer)
        if number is None:
            transport.abort()
            return
        pair = StreamPair(self, number, transport, self.recorder_for(number, peer))
        pair.on_end = self._pair_ended
        self.pairs[number] = pair
        if self.on_pair is not None:
            self.on_pair(pair)
        self._spawn(pair.run())

    def _stop_accepting(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()


class _Accept(asyncio.Protocol):
    """Takes a new client's transport and hands it to the relay (the pair's Leg takes over)."""

    def __init__(self, accept: Callable[[asyncio.Transport], None]) -> None:
        self._accept = accept

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.pause_reading()  # type: ignore[attr-defined]
        self._accept(transport)  # type: ignore[arg-type]


def create_relay(config: RelayConfig, recorder: Recorder, recorder_for: RecorderFor) -> Relay:
    """The relay for the listen URL's scheme (RelayError when the pair cannot be made)."""
    check_pairing(config.listen, config.upstream)
    if config.listen.is_datagram:
        from inspector.net.relayudp import DatagramRelay

        return DatagramRelay(config, recorder, recorder_for)
    return StreamRelay(config, recorder, recorder_for)
