"""The phases of a WebSocket connection, its role, and every transition between phases.

websockets' own ``State`` (CONNECTING, OPEN, CLOSING, CLOSED) says what the protocol
allows; the phase says what the bytes of the next read are to the inspector: the
upgrade, frames, or nothing to read at all. Like h11's ``_state.py``, this module owns
the transitions: :meth:`PhaseMachine.enter` refuses any move not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from inspector.core.errors import InspectorError
from inspector.protocols.ending import Initiator


class Role(Enum):
    """Which end of the connection the inspector plays."""

    CLIENT = "client"
    SERVER = "server"

    @property
    def us(self) -> Initiator:
        """This end, as the initiator of a close (the same word)."""
        return Initiator(self.value)

    @property
    def peer(self) -> Initiator:
        """The other end, as the initiator of a close."""
        return Initiator.SERVER if self is Role.CLIENT else Initiator.CLIENT


class Phase(Enum):
    """What the connection does with the next bytes it reads."""

    #: Client only: the upgrade request is not sent yet; reads are ignored.
    IDLE = "idle"
    #: The upgrade request (server) or its answer (client) is being read.
    HANDSHAKE = "handshake"
    #: The upgrade failed or was refused; reads are ignored until the transport ends.
    REFUSED = "refused"
    #: Upgraded: reads are WebSocket frames (the library may already be closing).
    OPEN = "open"
    #: The transport ended; nothing more is read.
    ENDED = "ended"


_MOVES: dict[Phase, frozenset[Phase]] = {
    Phase.IDLE: frozenset({Phase.HANDSHAKE, Phase.ENDED}),
    Phase.HANDSHAKE: frozenset({Phase.OPEN, Phase.REFUSED, Phase.ENDED}),
    Phase.REFUSED: frozenset({Phase.ENDED}),
    Phase.OPEN: frozenset({Phase.ENDED}),
    Phase.ENDED: frozenset(),
}


class PhaseError(InspectorError):
    """A move between phases that the connection's rules do not allow (a bug, not input)."""


class PhaseMachine:
    """The current phase and whether the upgrade ever succeeded."""

    __slots__ = ("phase", "upgraded")

    def __init__(self, role: Role) -> None:
        self.phase = Phase.IDLE if role is Role.CLIENT else Phase.HANDSHAKE
        #: True once the connection entered OPEN (it stays True after it ended).
        self.upgraded = False

    def enter(self, phase: Phase) -> None:
        """Move to ``phase``; raise PhaseError for a move the table does not list."""
        if phase not in _MOVES[self.phase]:
            raise PhaseError(f"no move from {self.phase.value} to {phase.value}")
        self.phase = phase
        if phase is Phase.OPEN:
            self.upgraded = True


@dataclass(frozen=True, slots=True)
class Rejection:
    """A frame the library refused, waiting for its bytes to be recorded."""

    #: The library's reason, shown as the frame record's error.
    reason: str
    #: The close code the connection fails with (RFC 6455 §7.4.1).
    code: int
    #: What the peer did wrong, in words, for the ERROR record.
    detail: str
