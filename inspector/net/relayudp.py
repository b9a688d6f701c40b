"""Relaying udp://: one bound socket towards clients, one upstream socket per client address.

The first datagram from a client address makes a :class:`DatagramPair` (ACCEPTED in the
relay's session; a session of its own with the client's CONNECT, then the upstream's
RESOLVE and CONNECT). Its datagrams are forwarded to the upstream from that pair's own
socket, so the upstream's answers come back to it and go to that client only. Each
datagram is recorded once: ``out`` client → server, ``in`` server → client, with the
faults' effects (held, lost, cut) as fields. A pair ends after ``udp_idle`` seconds
without traffic, at a cut, or when the relay stops (UDP says no goodbye). With an
interceptor, each datagram going a held way may be held (``intercept``, ``forwarded:
false``) and sent on later (``injected``), as on stream pairs.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import Any

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.intercept import HeldMessage, MessageKind, Way
from inspector.net.listenbase import DatagramHandoff, bind_datagram
from inspector.net.relaybase import RecorderFor, Relay, RelayConfig
from inspector.net.relayfaults import Fate, Shaper
from inspector.net.relaylegs import ARROWS, PairCommon, PairState, Side
from inspector.net.relaymessages import HOLD_LIMIT, side_of, way_of
from inspector.net.relayrules import perform
from inspector.net.resolve import family_name, format_address, resolve
from inspector.protocols.decoders.registry import DecodeContext
from inspector.protocols.ending import Initiator

#: Datagrams a pair keeps while its upstream socket is being opened.
EARLY_LIMIT = 256


class DatagramPair(PairCommon):
    """One client address and its own upstream socket."""

    def __init__(self, relay: DatagramRelay, number: int, addr: Any, recorder: Recorder) -> None:
        self.relay = relay
        self.config: RelayConfig = relay.config
        self.number = number
        self.addr = addr
        self.peer = format_address(addr)
        self.recorder = recorder
        self.state = PairState.CONNECTING
        self.failure: str | None = None
        self.end_message: str | None = None
        self.clean: bool | None = None
        self.initiated_by = Initiator.NONE
        self._upstream: asyncio.DatagramTransport | None = None
        self._early: deque[bytes] = deque()
        self._ended = asyncio.Event()
        self._started = recorder.now()
        self._last = asyncio.get_running_loop().time()
        self._idle: asyncio.TimerHandle | None = None
        self._interceptor = self.config.intercept
        self._held_sizes: dict[int, int] = {}
        self._held_bytes = 0
        self._full_noted = False
        self._shapers: dict[Side, Shaper | None] = {
            Side.CLIENT: self._shaper(self.config.c2s, self._to_upstream),
            Side.UPSTREAM: self._shaper(self.config.s2c, self._to_client),
        }
        recorder.record(
            Direction.META,
            Kind.CONNECT,
            fields={
                "leg": "client",
                "local": relay.local,
                "peer": self.peer,
                "family": family_name(relay.family),
                "duration_ns": 0,
                "accepted": True,
            },
        )

    @staticmethod
    def _shaper(faults: Any, write: Any) -> Shaper | None:
        return Shaper(faults, write, lambda _paused: None) if faults.active else None

    def _summary_counts(self) -> dict[str, Any]:
        r = self.recorder
        return {"datagrams_c2s": r.count_out, "datagrams_s2c": r.count_in}

    async def run(self) -> None:
        """Open the upstream socket (recorded), then send what waited."""
        loop = asyncio.get_running_loop()
        up = self.config.upstream
        try:
            async with asyncio.timeout(self.config.options.connect_timeout):
                addresses, _ = await resolve(up, self.recorder, socket.SOCK_DGRAM)
                family, sockaddr = addresses[0]
                start = self.recorder.now()
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: DatagramHandoff(self.from_upstream, self.upstream_error),
                    remote_addr=sockaddr[:2],
                    family=family,
                )
        except (OSError, TimeoutError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or "timed out"
            line = f"cannot reach upstream {up.netloc}: {reason}"
            self.recorder.record(
                Direction.META, Kind.ERROR, fields={"message": line, "phase": "connect"}
            )
            self.failure = line
            self._finish(line, clean=False)
            return
        self._upstream = transport
        self._record_upstream_connect(transport, family, start)
        for side, faults in ((Side.CLIENT, self.config.c2s), (Side.UPSTREAM, self.config.s2c)):
            if faults.active:
                self.recorder.record(
                    Direction.META,
                    Kind.INFO,
                    fields={"message": f"faults {ARROWS[side]}: {faults.describe()}"},
                )
        if self.ended:
            transport.close()
            return
        self.state = PairState.OPEN
        if self._interceptor is not None:
            self._interceptor.attach(self.number, self)
        while self._early:
            self.from_client(self._early.popleft())
        self._arm_idle()

    def _to_upstream(self, data: bytes) -> None:
        if self._upstream is not None and not self._upstream.is_closing():
            self._upstream.sendto(data)

    def _to_client(self, data: bytes) -> None:
        self.relay.send_to(data, self.addr)

    def from_client(self, data: bytes) -> None:
        """A datagram from the client: forward, then record."""
        if self.ended:
            return
        if self.state is PairState.CONNECTING:
            if len(self._early) < EARLY_LIMIT:
                self._early.append(data)
            return
        self._relay(Side.CLIENT, data, self._to_upstream)

    def from_upstream(self, data: bytes, addr: Any = None) -> None:
        """A datagram from the upstream: forward to this pair's client, then record."""
        if not self.ended:
            self._relay(Side.UPSTREAM, data, self._to_client)

    def _relay(self, side: Side, data: bytes, write: Any) -> None:
        self._last = asyncio.get_running_loop().time()
        rules = self.config.rules
        if rules is not None:
            c2s = side is Side.CLIENT
            steps = rules.steps(c2s, self.number, data)
            if steps:
                fields = {"peer": self.peer, "rule": steps[0].rule, "forwarded": False}
                self.recorder.record(side.direction, Kind.DATAGRAM, None, data, data, fields)
                perform(
                    steps,
                    c2s=c2s,
                    recorder=self.recorder,
                    kind=Kind.DATAGRAM,
                    answer=self._to_client if c2s else self._to_upstream,
                    close=lambda: self._finish("closed by a rule", clean=True),
                    reset=lambda: self._finish("ended by a rule", clean=False),
                    alive=lambda: not self.ended,
                )
                return
        if self._interceptor is not None and self._held(side, data):
            return
        self._send(side, data, write, {"peer": self.peer})

    def _send(self, side: Side, data: bytes, write: Any, fields: dict[str, Any]) -> None:
        """Write a datagram going the way ``side`` reads (through its shaper); record it."""
        shaper = self._shapers[side]
        if shaper is None:
            write(data)
        else:
            decision = shaper.push(data, True)
            more = decision.fields()
            if more:
                fields.update(more)
            if decision.fate is Fate.CUT:
                self.recorder.record(side.direction, Kind.DATAGRAM, None, data, data, fields)
                line = f"cut {ARROWS[side]} after {shaper.messages - 1} datagrams"
                self.recorder.record(
                    Direction.META, Kind.INFO, fields={"message": line, "cut": "close"}
                )
                self.initiated_by = Initiator.RELAY
                self._finish(line, clean=False)
                return
        self.recorder.record(side.direction, Kind.DATAGRAM, None, data, data, fields)

    def upstream_error(self, exc: Exception) -> None:
        """An ICMP error for the upstream socket (port unreachable: nobody listens)."""
        if isinstance(exc, ConnectionRefusedError):
            line = (
                f"upstream {self.config.upstream.netloc} refused a datagram (ICMP port unreachable)"
            )
        else:
            line = f"upstream socket error: {exc}"
        self.recorder.record(
            Direction.META, Kind.ERROR, fields={"message": line, "phase": "session"}
        )

    def _arm_idle(self) -> None:
        loop = asyncio.get_running_loop()
        idle = self.config.udp_idle
        wait = self._last + idle - loop.time()
        if wait <= 0:
            self._finish(f"idle for {idle:g} s", clean=True)
            return
        self._idle = loop.call_later(wait, self._arm_idle)

    async def close(self, timeout: float) -> None:
        del timeout
        self.initiated_by = self.initiated_by.known_or(Initiator.RELAY)
        self._finish("the relay stopped", clean=True)

    def abort(self) -> None:
        self._finish("aborted by the relay", clean=False)

    def _finish(self, message: str, *, clean: bool) -> None:
        if self.ended:
            return
        if self._idle is not None:
            self._idle.cancel()
        for shaper in self._shapers.values():
            if shaper is not None:
                shaper.cancel()
        if self._upstream is not None:
            self._upstream.close()
        self._drop_held(f"the connection ended ({message})")
        self._record_end(message, clean, None)
        self._ended.set()
        self.relay._forget(self)

    # -- intercept (an InterceptPort) -------------------------------------------------

    kinds = frozenset({MessageKind.DATAGRAM})

    @property
    def alive(self) -> bool:
        return self.state is PairState.OPEN and not self.ended

    def decode_context(self) -> DecodeContext:
        up = self.config.upstream
        return DecodeContext(scheme=up.scheme, host=up.host, port=up.port)

    def _held(self, side: Side, data: bytes) -> bool:
        """True when the interceptor holds this datagram (recorded, not forwarded). Past
        HOLD_LIMIT held bytes datagrams pass: UDP cannot make the sender wait."""
        assert self._interceptor is not None
        if self._held_bytes + len(data) > HOLD_LIMIT:
            if not self._full_noted:
                self._full_noted = True
                line = f"held datagrams passed {HOLD_LIMIT >> 20} MiB: the next ones pass"
                self.recorder.record(Direction.META, Kind.INFO, fields={"message": line})
            return False
        held = self._interceptor.offer(self.number, way_of(side), data, MessageKind.DATAGRAM)
        if held is None:
            return False
        self._held_sizes[held] = len(data)
        self._held_bytes += len(data)
        fields = {"peer": self.peer, "intercept": held, "forwarded": False}
        self.recorder.record(side.direction, Kind.DATAGRAM, None, data, data, fields)
        return True

    def _release(self, held: Any) -> None:
        size = self._held_sizes.pop(held, 0) if isinstance(held, int) else 0
        self._held_bytes -= size
        if self._held_bytes <= HOLD_LIMIT // 2:
            self._full_noted = False

    def send_on(
        self, way: Way, payload: bytes, kind: MessageKind, fields: dict[str, Any]
    ) -> str | None:
        """Send a held, edited or injected datagram on; None, or why it cannot be."""
        if not self.alive:
            return "the connection ended"
        self._release(fields.get("intercept"))
        side = side_of(way)
        write = self._to_upstream if side is Side.CLIENT else self._to_client
        self._last = asyncio.get_running_loop().time()
        self._send(side, payload, write, {"peer": self.peer, "injected": True, **fields})
        return None

    def dropped(self, message: HeldMessage, reason: str) -> None:
        self._release(message.id)
        self._note_dropped(message, reason)


class DatagramRelay(Relay):
    """A relay for udp:// clients."""

    def __init__(self, config: RelayConfig, recorder: Recorder, recorder_for: RecorderFor) -> None:
        super().__init__(config, recorder, recorder_for)
        self._transport: asyncio.DatagramTransport | None = None
        self._by_addr: dict[Any, DatagramPair] = {}
        self.family = socket.AF_INET

    async def _bind(self) -> tuple[Any, int]:
        self._transport, sockname, self.family = await bind_datagram(
            self.endpoint, lambda: DatagramHandoff(self._datagram)
        )
        return sockname, self.family

    def _datagram(self, data: bytes, addr: Any) -> None:
        pair = self._by_addr.get(addr)
        if pair is None:
            number = self._admit(format_address(addr))
            if number is None:
                return
            pair = DatagramPair(self, number, addr, self.recorder_for(number, format_address(addr)))
            self._by_addr[addr] = pair
            self.pairs[number] = pair
            if self.on_pair is not None:
                self.on_pair(pair)
            self._spawn(pair.run())
        pair.from_client(data)

    def send_to(self, data: bytes, addr: Any) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, addr)

    def _forget(self, pair: DatagramPair) -> None:
        if self._by_addr.get(pair.addr) is pair:
            del self._by_addr[pair.addr]
        self._pair_ended(pair)

    def _stop_accepting(self) -> None:
        # The socket stays open until every pair has ended (answers may still come).
        return

    async def stop(self, timeout: float = 5.0) -> None:
        await super().stop(timeout)
        if self._transport is not None:
            self._transport.close()
