"""What every relay shares: its configuration, the pairing rule, numbering and stopping.

:mod:`inspector.net.relay` (tcp/tls, ws/wss) and :mod:`inspector.net.relayudp` (udp)
build on :class:`Relay`; ``create_relay`` there picks one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.render import counted
from inspector.net import hosting
from inspector.net.certs import ServerTLS
from inspector.net.intercept import Interceptor
from inspector.net.listenbase import Host, ListenerState, bind_and_announce
from inspector.net.relayfaults import Faults
from inspector.net.relayrules import RelayRules

STOP_TIMEOUT = 5.0

RecorderFor = Callable[[int, str], Recorder]


class RelayError(InspectorError):
    """A relay that cannot be made as asked (schemes that do not pair): one line."""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """What a relay does: where it listens, where it forwards, and how it treats traffic.

    ``options`` are the upstream connection's (verify, cafile, connect_timeout); ``tls``
    the certificate shown to clients on tls:// and wss://; ``c2s`` / ``s2c`` the faults
    of each direction; ``origin`` replaces the client's Origin header (WebSocket);
    ``rules`` answer matching messages of a direction from the relay; ``intercept``
    holds matching messages for the user (:mod:`inspector.net.intercept`).
    """

    listen: Endpoint
    upstream: Endpoint
    options: SessionOptions = field(default_factory=SessionOptions)
    tls: ServerTLS | None = None
    origin: str | None = None
    c2s: Faults = field(default_factory=Faults)
    s2c: Faults = field(default_factory=Faults)
    max_connections: int | None = None
    udp_idle: float = 60.0
    rules: RelayRules | None = None
    intercept: Interceptor | None = None


def check_pairing(listen: Endpoint, upstream: Endpoint) -> None:
    """RelayError when the two schemes cannot be relayed (ws ↔ tcp, udp ↔ tcp)."""

    def family(e: Endpoint) -> str:
        return "udp" if e.is_datagram else "ws" if e.is_websocket else "tcp"

    if family(listen) != family(upstream):
        raise RelayError(
            f"cannot relay {listen.scheme}:// to {upstream.scheme}://: pairs are ws/wss ↔ "
            "ws/wss, tcp/tls ↔ tcp/tls and udp ↔ udp"
        )


class Relay(Host):
    """What every relay shares: state, numbering, its own records, pairs, stopping."""

    def __init__(self, config: RelayConfig, recorder: Recorder, recorder_for: RecorderFor) -> None:
        check_pairing(config.listen, config.upstream)
        super().__init__(config.listen, recorder, recorder_for)
        self.config = config
        self.pairs: dict[int, Any] = {}
        self.on_pair: Callable[[Any], None] | None = None
        self.on_pair_end: Callable[[Any], None] | None = None
        self._open: set[int] = set()

    @property
    def tls(self) -> ServerTLS | None:
        return self.config.tls

    @property
    def interceptor(self) -> Interceptor | None:
        """The relay's intercept switch and queue (None: it never intercepts)."""
        return self.config.intercept

    async def start(self) -> None:
        """Bind; ListenError (recorded too) when it cannot."""
        await bind_and_announce(
            self,
            lambda message: self._record_closed(message, clean=False),
            upstream=self.config.upstream.url,
            max_connections=self.config.max_connections,
        )

    def _admit(self, peer: str) -> int | None:
        """The number for a new pair from ``peer``, or None (refused, recorded)."""
        if self.state is not ListenerState.LISTENING:
            return None
        limit = self.config.max_connections
        if limit is not None and len(self._open) >= limit:
            self.refused += 1
            hosting.record_refused(
                self.recorder, peer, f"refused {peer}: {limit} pairs already open"
            )
            return None
        self.accepted += 1
        number = self.accepted
        hosting.record_accepted(self.recorder, number, peer, self.local)
        self._open.add(number)
        return number

    def _pair_ended(self, pair: Any) -> None:
        self._open.discard(pair.number)
        self._count_ended("pair", pair, self.on_pair_end)

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop accepting, close every pair gracefully, write CLOSED."""
        if self.state in (ListenerState.STOPPED, ListenerState.STOPPING):
            return
        self.state = ListenerState.STOPPING
        self._stop_accepting()
        pairs = [p for p in self.pairs.values() if not p.ended]
        if pairs:
            await asyncio.gather(*(p.close(timeout) for p in pairs))
        for task in list(self._tasks):
            task.cancel()
        self.state = ListenerState.STOPPED
        self._record_closed(
            f"stopped relaying after {counted(self.accepted, 'connection')}", clean=True
        )

    def summary(self) -> dict[str, Any]:
        """The relay session's summary in the capture."""
        return {
            "url": self.url,
            "upstream": self.config.upstream.url,
            "accepted": self.accepted,
            "refused": self.refused,
            "ended": self.ended_count,
        }
