"""The two legs of a relayed stream connection: who is who, flow control, and the end.

:class:`PairEnding` is the half of :class:`~inspector.net.relaypair.StreamPair` that
does not depend on what is relayed: reading paused for a reason and resumed when no
reason is left (the other leg backed up, a shaper holding too much, the recorder's
consumer lagging), half-closes passed on as half-closes, resets as resets, and the one
CLOSED record.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.relayfaults import Shaper
from inspector.net.resolve import family_name, format_address
from inspector.protocols.ending import Initiator
from inspector.protocols.wsstate import Role

#: Bytes asked of the socket per read on both legs of a WebSocket pair: about a
#: thousand small frames tapped and recorded in one callback (as a client session reads).
READ_SIZE = 64 * 1024
#: Bytes per read on both legs of a tcp/tls pair: a read is one record, nothing is parsed
#: per message, so a larger read costs no longer callback per byte and makes a quarter
#: of the reads, records and capture rows (asyncio's own default).
STREAM_READ_SIZE = 256 * 1024


class Side(StrEnum):
    """A pair's two legs: towards the client, towards the upstream server."""

    CLIENT = "client"
    UPSTREAM = "upstream"

    @property
    def other(self) -> Side:
        return Side.UPSTREAM if self is Side.CLIENT else Side.CLIENT

    @property
    def direction(self) -> Direction:
        """The direction of what this leg reads: client → server is OUT, server → client IN."""
        return Direction.OUT if self is Side.CLIENT else Direction.IN

    @property
    def role(self) -> Role:
        """The part the relay plays on this leg: its client's server, the upstream's client."""
        return Role.SERVER if self is Side.CLIENT else Role.CLIENT

    @property
    def peer_name(self) -> Initiator:
        """Who is at the end of this leg, as a close's initiator ("client", "server")."""
        return self.role.peer


#: "client → server" and "server → client", by the leg that reads.
ARROWS = {Side.CLIENT: "client → server", Side.UPSTREAM: "server → client"}


class PairState(StrEnum):
    """Where a pair is: opening the upstream, relaying, or ended."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"


class Leg(asyncio.Protocol):
    """Hands one leg's transport events to its pair."""

    def __init__(self, pair: PairEnding, side: Side) -> None:
        self.pair = pair
        self.side = side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.limit_reads(transport)

    def limit_reads(self, transport: asyncio.BaseTransport) -> None:
        """Make a selector transport read at most this pair's read size per callback."""
        if isinstance(getattr(transport, "max_size", None), int):
            websocket = getattr(self.pair, "websocket", False)
            size = READ_SIZE if websocket else STREAM_READ_SIZE
            transport.max_size = size  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.pair.on_data(self.side, data)

    def eof_received(self) -> bool:
        return self.pair.on_eof(self.side)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pair.on_lost(self.side, exc)

    def pause_writing(self) -> None:
        self.pair.on_write_paused(self.side, True)

    def resume_writing(self) -> None:
        self.pair.on_write_paused(self.side, False)


class PairCommon:
    """What every relay pair (stream or datagram) shares: how it ended, its summary, the
    CLOSED record and the INFO line when reading from a side pauses or resumes."""

    recorder: Recorder
    config: Any
    number: int
    peer: str
    state: PairState
    end_message: str | None
    clean: bool | None
    initiated_by: Initiator
    _ended: asyncio.Event
    _started: int
    _interceptor: Any  # an Interceptor, or None

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def wait_closed(self) -> None:
        await self._ended.wait()

    def summary(self) -> dict[str, Any]:
        """What the capture's session summary and the listing show."""
        return {
            "conn": self.number,
            "peer": self.peer,
            "upstream": self.config.upstream.url,
            "state": str(self.state),
            "clean": self.clean,
            "message": self.end_message,
            **self._summary_counts(),
        }

    def _summary_counts(self) -> dict[str, Any]:
        """The summary's counts (bytes or datagrams each way)."""
        raise NotImplementedError

    def _record_end(
        self, message: str, clean: bool, state: PairState | None, **counts: Any
    ) -> None:
        """Set how the pair ended and write its one CLOSED record (``counts`` added)."""
        self.state = state or (PairState.CLOSED if clean else PairState.FAILED)
        self.end_message = message
        self.clean = clean
        r = self.recorder
        r.record(
            Direction.META,
            Kind.CLOSED,
            fields={
                "message": message,
                "clean": clean,
                "initiated_by": str(self.initiated_by),
                **counts,
                "duration_ns": r.now() - self._started,
            },
        )

    def _record_upstream_connect(
        self, transport: asyncio.BaseTransport, family: int, start: int
    ) -> None:
        """The upstream leg's CONNECT record (its addresses and how long it took)."""
        self.recorder.record(
            Direction.META,
            Kind.CONNECT,
            fields={
                "leg": "upstream",
                "local": format_address(transport.get_extra_info("sockname")),
                "peer": format_address(transport.get_extra_info("peername")),
                "family": family_name(family),
                "duration_ns": self.recorder.now() - start,
            },
        )

    def _drop_held(self, reason: str) -> None:
        """The pair ends: each message the interceptor still holds of it is dropped and
        recorded (one INFO each, before the CLOSED record), so the capture tells it."""
        if self._interceptor is None:
            return
        for resolution in self._interceptor.detach(self.number, reason):
            self._note_dropped(resolution.message, resolution.reason, "held")

    def _note_dropped(self, message: Any, reason: str, key: str = "intercept") -> None:
        """The INFO line of a held message (or datagram) that will never be sent on; its
        id is under ``key`` ("held" when the pair ended: ``intercept`` marks the
        records of the message's own bytes)."""
        noun = "datagram" if str(message.kind) == "datagram" else "message"
        arrow = ARROWS[Side.CLIENT if str(message.way) == "c2s" else Side.UPSTREAM]
        self.recorder.record(
            Direction.META,
            Kind.INFO,
            fields={
                "message": f"held {noun} #{message.id} ({arrow}) {reason}",
                key: message.id,
                "dropped": True,
                "size": len(message.payload),
            },
        )

    def _note_backed_up(self, side: Side, paused: bool, message: str) -> None:
        """The INFO line of a pause or resume of reading, naming the leg ``side``."""
        self.recorder.record(
            Direction.META,
            Kind.INFO,
            fields={"message": message, "backed_up": paused, "leg": str(side)},
        )


class PairEnding(PairCommon):
    """Flow control and ending, over the state a StreamPair keeps."""

    failure: str | None
    refused: bool
    on_end: Callable[[Any], None] | None
    _legs: dict[Side, asyncio.Transport | None]
    _eof: dict[Side, bool]
    _lost: dict[Side, bool]
    _pauses: dict[Side, set[str]]
    _shapers: dict[Side, Shaper | None]
    #: What must go on before ``side``'s EOF is passed on (PairMessages: a close frame
    #: that waited for held messages).
    _before_eof: Callable[[Side], None]

    def on_data(self, side: Side, data: bytes) -> None:
        """One read of leg ``side`` (what is relayed decides what it means)."""
        raise NotImplementedError

    # -- flow control -----------------------------------------------------------

    def _set_reading(self, side: Side, reason: str, on: bool) -> None:
        reasons = self._pauses[side]
        before = bool(reasons)
        if on:
            reasons.discard(reason)
        else:
            reasons.add(reason)
        after = bool(reasons)
        transport = self._legs[side]
        if before == after or transport is None or transport.is_closing():
            return
        with contextlib.suppress(RuntimeError, AttributeError):
            if after:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def on_write_paused(self, side: Side, paused: bool) -> None:
        """Leg ``side`` cannot write as fast as the other reads: pause the other's reads."""
        name = side.peer_name
        other = side.other.peer_name
        message = (
            f"backed up: the {name} is not reading; pausing reads from the {other}"
            if paused
            else f"the {name} reads again; reading from the {other}"
        )
        self._note_backed_up(side, paused, message)
        self._set_reading(side.other, "backed_up", not paused)

    def _consumer(self, paused: bool) -> None:
        """The recorder's consumer lags: both legs wait for it."""
        for side in (Side.CLIENT, Side.UPSTREAM):
            self._set_reading(side, "consumer", not paused)

    # -- ending -----------------------------------------------------------------

    def on_eof(self, side: Side) -> bool:
        """A half-close: recorded and passed on as a half-close (after held bytes)."""
        if self._eof[side] or self.ended:
            return True
        self._eof[side] = True
        self.initiated_by = self.initiated_by.known_or(side.peer_name)
        self.recorder.record(
            Direction.META,
            Kind.INFO,
            fields={
                "message": f"the {side.peer_name} half-closed (EOF): passed on to the "
                f"{side.other.peer_name}",
                "half_close": True,
                "leg": str(side),
            },
        )
        self._before_eof(side)
        shaper = self._shapers[side]
        if shaper is not None and not shaper.idle:
            shaper.on_empty = lambda: self._pass_eof(side.other)
        else:
            self._pass_eof(side.other)
        return True

    def _pass_eof(self, side: Side) -> None:
        """Half-close leg ``side`` (a TLS leg cannot: it is closed); both done: close."""
        transport = self._legs[side]
        if transport is None or transport.is_closing():
            return
        if self._eof[side]:
            self._close_both()
            return
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    def on_lost(self, side: Side, exc: Exception | None) -> None:
        """A leg's transport ended: pass a reset on as a reset, a close as a close."""
        if self._lost[side]:
            return
        self._lost[side] = True
        if self.ended:
            return
        if self.state is PairState.CONNECTING and side is Side.CLIENT:
            self.initiated_by = Initiator.CLIENT
            upstream = self._legs[Side.UPSTREAM]
            if upstream is not None:
                upstream.abort()
            self._finish("the client left before the upstream was open", clean=False)
            return
        other = side.other
        if exc is not None:
            self.initiated_by = self.initiated_by.known_or(side.peer_name)
            line = f"the {side.peer_name} reset the connection: resetting the {other.peer_name}"
            if not isinstance(exc, ConnectionResetError):
                line = (
                    f"the {side.peer_name}'s connection failed ({exc}): "
                    f"resetting the {other.peer_name}"
                )
            self.recorder.record(
                Direction.META, Kind.INFO, fields={"message": line, "reset": True, "leg": str(side)}
            )
            self._reset(other)
            self._finish(line, clean=False)
            return
        if not self._eof[side]:
            self.initiated_by = self.initiated_by.known_or(side.peer_name)
            shaper = self._shapers[side]
            if shaper is not None and not shaper.idle:
                shaper.on_empty = lambda: self._close(other)
            else:
                self._close(other)
        if self._lost[other] or self._legs[other] is None:
            self._finish_closed()

    def _close(self, side: Side) -> None:
        transport = self._legs[side]
        if transport is not None and not transport.is_closing():
            transport.close()
        elif self._lost[side.other]:
            self._finish_closed()

    def _close_both(self) -> None:
        self.state = PairState.CLOSING if not self.ended else self.state
        for side in (Side.CLIENT, Side.UPSTREAM):
            transport = self._legs[side]
            if transport is not None and not transport.is_closing():
                transport.close()
            elif transport is None:
                self._lost[side] = True
        if all(self._lost.values()):
            self._finish_closed()

    def _reset(self, side: Side) -> None:
        """Abort leg ``side`` with SO_LINGER 0, so its peer sees a reset."""
        transport = self._legs[side]
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(Exception):
            transport.abort()

    def abort(self) -> None:
        """Drop both legs now."""
        if self.ended:
            return
        for side in (Side.CLIENT, Side.UPSTREAM):
            transport = self._legs[side]
            if transport is not None:
                transport.abort()
        self._finish("aborted by the relay", clean=False)

    async def close(self, timeout: float) -> None:
        """Close both legs gracefully (held bytes flushed by the transports); abort late."""
        if self.ended:
            return
        self.initiated_by = self.initiated_by.known_or(Initiator.RELAY)
        self._close_both()
        try:
            async with asyncio.timeout(timeout):
                await self._ended.wait()
        except TimeoutError:
            self.abort()

    def _finish_closed(self) -> None:
        """Both legs ended without a fault: the CLOSED record says who closed first (a
        WebSocket pair: how its close handshake went, see :meth:`_closing_handshake`)."""
        handshake = None if self.failure or self.refused else self._closing_handshake()
        if handshake is not None:
            message, clean, fields = handshake
            self._finish(message, clean=clean, more=fields)
            return
        who = self.initiated_by
        first = f"the {who}" if who is not Initiator.NONE else "both sides"
        clean = self.failure is None and not self.refused
        self._finish(self.failure or f"closed ({first} closed first)", clean=clean)

    def _before_end(self, message: str) -> None:
        """The pair is about to end with ``message``: settle what is still under way."""

    def _closing_handshake(self) -> tuple[str, bool, dict[str, Any]] | None:
        """A WebSocket pair: the CLOSED record's message, whether clean (close frames
        went both ways, as for a session) and its close code and reason; None: a pair
        whose legs saw no close frame (TCP, or a WebSocket that was just dropped)."""
        return None

    def _finish(
        self,
        message: str,
        *,
        clean: bool,
        state: PairState | None = None,
        more: dict[str, Any] | None = None,
    ) -> None:
        """Write the CLOSED record once (``more``: fields added to it) and tell the relay."""
        if self.ended:
            return
        self._before_end(message)
        for shaper in self._shapers.values():
            if shaper is not None:
                shaper.cancel()
        r = self.recorder
        counts = {"bytes_c2s": r.bytes_out, "bytes_s2c": r.bytes_in, **(more or {})}
        self._record_end(message, clean, state, **counts)
        for side in (Side.CLIENT, Side.UPSTREAM):
            transport = self._legs[side]
            if transport is not None and not transport.is_closing():
                transport.close()
        self._ended.set()
        if self.on_end is not None:
            self.on_end(self)
