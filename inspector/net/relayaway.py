"""Ending a relayed WebSocket as a server going away does: a close frame to each side first.

When the relay stops (or the user closes one pair) while a WebSocket is open, each peer
gets a close frame with code 1001 "going away" (RFC 6455 §7.4.1) before its TCP
connection ends, so clients see a clean close instead of 1006. A terminated direction
(:mod:`inspector.net.relaymessages`) frames the close anew at once; a transparent one
forwards the rest of the frame under way (the tap knows where it ends) and then puts the
close in — a control frame may come between the fragments of a message (RFC 6455 §5.4).
From then on what a peer sends is recorded (``forwarded: false``) but not sent on: the
relay answers the closing handshake itself. The legs close once both peers answered
with their own close (the server usually closes its connection first), or after
:data:`GOING_AWAY_GRACE` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.frames import Frame, Opcode

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.relaylegs import PairCommon, PairState, Side
from inspector.net.relaytap import FrameTap
from inspector.protocols.ending import Initiator
from inspector.protocols.wireframes import parse_frame
from inspector.protocols.wsfields import frame_fields

#: Seconds the peers have to answer the relay's 1001 close frames before it closes their
#: connections anyway.
GOING_AWAY_GRACE = 2.0
#: RFC 6455 §7.4.1: "an endpoint is going away, such as a server going down".
GOING_AWAY = 1001
_REASON = b"the relay is stopping"


@dataclass(slots=True)
class _AwayState:
    """One direction (by the leg that reads it) while the relay goes away."""

    sent: bool = False  # the relay's close went out in this direction
    answered: bool = False  # the peer reading this leg sent its close


class PairGoingAway(PairCommon):
    """The 1001 close of a StreamPair's WebSocket, over the state the pair keeps."""

    recorder: Recorder
    websocket: bool
    refused: bool
    state: PairState
    initiated_by: Initiator
    _legs: dict[Side, Any]
    _taps: dict[Side, FrameTap | None]
    _reframers: dict[Side, Any]
    _away: dict[Side, _AwayState] | None = None
    _send_message: Callable[[Side, int, bytes, dict[str, Any]], None]
    _write_on: Callable[[Side, bytes, bool], dict[str, Any] | None]
    _close_both: Callable[[], None]

    @property
    def can_go_away(self) -> bool:
        """True for an open WebSocket (upgrade accepted): it gets close frames first."""
        return (
            self.websocket
            and self.state is PairState.OPEN
            and not self.refused
            and self._taps[Side.CLIENT] is not None
            and not self.ended
        )

    async def close(self, timeout: float) -> None:
        """Close gracefully: an open WebSocket gets 1001 close frames and up to
        :data:`GOING_AWAY_GRACE` seconds (within ``timeout``) to answer; then the legs
        close (and are aborted when ``timeout`` runs out)."""
        if self.ended:
            return
        if self.can_go_away and self._away is None:
            self.initiated_by = self.initiated_by.known_or(Initiator.RELAY)
            grace = min(GOING_AWAY_GRACE, timeout)
            self.go_away(grace)
            try:
                async with asyncio.timeout(grace):
                    await self._ended.wait()
                return
            except TimeoutError:
                self.recorder.record(
                    Direction.META,
                    Kind.INFO,
                    fields={
                        "message": f"no answer to the close within {grace:g} s: "
                        "closing both connections",
                        "going_away": True,
                    },
                )
                timeout = max(timeout - grace, 0.0)
        await super().close(timeout)  # type: ignore[misc]  # PairEnding's

    def go_away(self, grace: float) -> None:
        """Send 1001 to both peers, each at its direction's next frame boundary."""
        self._away = {Side.CLIENT: _AwayState(), Side.UPSTREAM: _AwayState()}
        self.recorder.record(
            Direction.META,
            Kind.INFO,
            fields={
                "message": f"going away: a close frame {GOING_AWAY} to each side, "
                f"waiting up to {grace:g} s for their answers",
                "going_away": True,
            },
        )
        for side in (Side.CLIENT, Side.UPSTREAM):
            self._away_send(side)

    def _away_send(self, side: Side) -> None:
        """The relay's close in the direction ``side`` reads, if it may go now."""
        assert self._away is not None
        state = self._away[side]
        if state.sent:
            return
        reframer = self._reframers[side]
        if reframer is not None:
            state.sent = True
            if not reframer.closed:
                self._send_message(side, 8, GOING_AWAY.to_bytes(2, "big") + _REASON, _FIELDS)
            return
        tap = self._taps[side]
        assert tap is not None
        if tap.parser.buffered:
            return  # after the frame under way (see _away_read)
        state.sent = True
        if tap.parser.error is not None:
            return  # the sender's stream cannot be followed: nothing can go in safely
        body = GOING_AWAY.to_bytes(2, "big") + _REASON
        wire = Frame(Opcode.CLOSE, body).serialize(mask=side is Side.CLIENT)
        more = self._write_on(side, wire, False)
        wf = parse_frame(wire)
        assert wf is not None
        fields = {**frame_fields(wf, body, False, False), "injected": True, **_FIELDS}
        if more:
            fields.update(more)
        self.recorder.record(side.direction, Kind.FRAME, None, wire, body, fields)

    def _away_read(self, side: Side, data: bytes, t_ns: int) -> None:
        """A read while going away: the rest of a frame under way goes on, then the
        close; what follows is recorded, not sent on."""
        assert self._away is not None
        state = self._away[side]
        tap = self._taps[side]
        assert tap is not None
        if not state.sent:
            parser = tap.parser
            pos = 0
            while pos < len(data) and parser.buffered:
                size = parser.partial_size()
                need = 1 if size is None else max(size - parser.buffered, 1)
                chunk = data[pos : pos + need]
                pos += len(chunk)
                self._write_on(side, chunk, False)
                tap.take(chunk, t_ns)
            self._away_send(side)
            data = data[pos:]
        if not data:
            return
        frames = tap.frames(data)
        if not frames:
            return
        tap.record(frames, t_ns, [{"forwarded": False}] * len(frames))
        if any(wf.opcode == 8 for wf in frames):
            state.answered = True
            if all(s.answered for s in self._away.values()):
                self._close_both()


_FIELDS = {"relayed": "going away"}

__all__ = ["GOING_AWAY", "GOING_AWAY_GRACE", "PairGoingAway"]
