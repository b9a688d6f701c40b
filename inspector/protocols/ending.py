"""How a connection ended: the one value the session turns into the CLOSED record."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Initiator(StrEnum):
    """Who started the end: the client, the server, or nobody (the transport just ended).

    The values are the ``initiated_by`` strings of CLOSED records.
    """

    CLIENT = "client"
    SERVER = "server"
    NONE = "none"
    #: A relay's own doing (it stopped, or a rule or a cut ended the pair).
    RELAY = "relay"

    def known_or(self, who: Initiator) -> Initiator:
        """This initiator, or ``who`` while nobody is known to have begun the end: the
        first to end a connection stays its initiator."""
        return who if self is Initiator.NONE else self


@dataclass(frozen=True, slots=True)
class Ending:
    """How a connection ended, as its protocol object or its session saw it."""

    #: The one line the CLOSED record shows.
    message: str
    #: True when the connection ended the way its protocol wants (for WebSocket: close
    #: frames went both ways, RFC 6455 §7.1.2) and without a failure.
    clean: bool
    #: Why the connection failed, as one line; None when it did not fail.
    failure: str | None = None
    close_code: int | None = None
    close_reason: str | None = None
    initiated_by: Initiator = Initiator.NONE
    #: When it ended; None: when the record is written.
    t_ns: int | None = None
    #: When the connection began (the duration's start); None: when the session opened.
    started_ns: int | None = None

    def closed_fields(self, t_ns: int, started_ns: int) -> dict[str, Any]:
        """The fields of the CLOSED record written at ``t_ns`` for a start at ``started_ns``."""
        return {
            "message": self.message,
            "clean": self.clean,
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "initiated_by": str(self.initiated_by),
            "duration_ns": t_ns - started_ns,
        }
