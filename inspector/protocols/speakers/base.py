"""What acting as an application protocol's client means, Sans-I/O.

A :class:`Speaker` holds one protocol's client side: the messages of its opening (a
CONNECT, a handshake record, ``connection_init``), its answers to what the server sends
(a pong for a ping, a namespace connect for Engine.IO's open packet, a PUBACK), and its
keep-alive (PINGREQ, a STOMP heart-beat). It never touches a socket: ``net.speaking``
sends what it returns, records it as automatic and runs the keep-alive timer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from inspector.core.errors import UsageError


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message a speaker sends: its bytes, and whether it is a WebSocket text message."""

    data: bytes
    text: bool = True


@dataclass(frozen=True, slots=True)
class Heard:
    """What a speaker makes of one inbound message: its answers, the server's refusal
    or protocol error as one line (``error``), after which the session ends, or
    ``done`` when the conversation ended well (the receipt of a DISCONNECT): close."""

    replies: tuple[Outgoing, ...] = ()
    error: str | None = None
    done: bool = False


NOTHING = Heard()


class Speaker(Protocol):
    """One protocol's client side (see the module docstring)."""

    #: The protocol's name, as ``--speak`` takes it (the decoder's name).
    name: str
    #: True once the server accepted the opening (CONNACK, CONNECTED, connection_ack…):
    #: what the user sends goes after this.
    ready: bool

    def opening(self) -> list[Outgoing]:
        """The messages that open the conversation, sent as soon as the session is open."""
        ...

    def receive(self, payload: bytes, text: bool) -> Heard:
        """Take one inbound message (a WebSocket message, or a read on a stream)."""
        ...

    def sent(self, payload: bytes) -> None:
        """Note a message the user sent (a STOMP DISCONNECT whose receipt ends it all)."""
        ...

    def keepalive_interval(self) -> float | None:
        """Seconds between two keep-alives; None while there is none (or not yet)."""
        ...

    def keepalive(self) -> list[Outgoing]:
        """The keep-alive message(s) to send now."""
        ...


class SpeakOptions:
    """The ``--speak-option KEY=VALUE`` settings of a speaker, read with one-line errors."""

    def __init__(self, protocol: str, pairs: Mapping[str, str], known: tuple[str, ...]) -> None:
        self.protocol = protocol
        unknown = sorted(set(pairs) - set(known))
        if unknown:
            raise UsageError(f"--speak {protocol}: no option {unknown[0]!r} "
                             f"(known: {', '.join(known) or 'none'})")  # fmt: skip
        self.pairs = dict(pairs)

    def text(self, key: str, default: str) -> str:
        """A text setting."""
        return self.pairs.get(key, default)

    def optional(self, key: str) -> str | None:
        """A text setting that may be absent."""
        return self.pairs.get(key)

    def number(self, key: str, default: float, low: float = 0, high: float = 1e9) -> float:
        """A number setting between ``low`` and ``high``."""
        raw = self.pairs.get(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(f"--speak {self.protocol}: {key}={raw!r} is not a number") from None
        if not low <= value <= high:
            raise UsageError(f"--speak {self.protocol}: {key} must be {low:g} to {high:g}")
        return value

    def json(self, key: str) -> Any:
        """A JSON setting (None when absent)."""
        raw = self.pairs.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"--speak {self.protocol}: {key} is not JSON: {exc}") from None


def json_bytes(value: Any) -> bytes:
    """Compact JSON as UTF-8, as the protocols' own clients write it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_object(payload: bytes) -> dict[str, Any] | None:
    """``payload`` as a JSON object, or None when it is not one."""
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
