"""Records: one immutable entry per thing that crossed the wire or happened to a session.

A record holds data only (the mitmproxy way): the exact bytes on the wire, the decoded
payload where there is one, and a flat mapping of protocol fields whose values are
JSON-compatible (str, int, float, bool, None, lists and dicts of those), so that the
capture store, the JSON output and the detail panes all read the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Direction(StrEnum):
    """Which way a record went: to the peer, from the peer, or about the session."""

    OUT = "out"
    IN = "in"
    META = "meta"


class Kind(StrEnum):
    """What a record is. Stored by value in captures: never rename a member's value."""

    RESOLVE = "resolve"  # name resolution: host, addresses, duration
    CONNECT = "connect"  # TCP connected / UDP socket ready: local and peer address
    TLS = "tls"  # TLS handshake done: version, cipher, ALPN, certificate
    HANDSHAKE = "handshake"  # WebSocket upgrade request (out) or response (in)
    FRAME = "frame"  # one WebSocket frame exactly as on the wire
    DATA = "data"  # bytes of a TCP/TLS stream as read or written
    MESSAGE = "message"  # a framed message cut from a TCP/TLS stream
    DATAGRAM = "datagram"  # one UDP datagram
    ERROR = "error"  # something went wrong; fields["message"] says what
    CLOSED = "closed"  # the session ended; fields say how
    INFO = "info"  # anything else worth showing (e.g. "certificate not verified")
    LISTENING = "listening"  # a listener is bound: url, local address
    ACCEPTED = "accepted"  # a listener took a connection: conn, peer
    REFUSED = "refused"  # a listener turned a connection away: peer, message


#: Field names with a fixed meaning across kinds (others are kind specific).
FIELD_MESSAGE = "message"  # one-line human text for errors and info
FIELD_AUTOMATIC = "automatic"  # sent by the engine, not by the user (pong, close echo)
FIELD_DURATION_NS = "duration_ns"  # how long a timing phase took
FIELD_RANGES = "ranges"  # [[name, start, end], ...] byte ranges inside ``wire``

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Record:
    """One entry of a session, in order of ``seq``.

    ``t_ns`` is nanoseconds since the session started (monotonic); ``wire`` the exact
    bytes as they crossed the wire (masked, compressed, with headers); ``payload`` the
    decoded application data, or None when the record carries none.
    """

    seq: int
    t_ns: int
    direction: Direction
    kind: Kind
    wire: bytes = b""
    payload: bytes | None = None
    fields: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def size(self) -> int:
        """Payload size in bytes (the wire size when there is no decoded payload)."""
        return len(self.payload) if self.payload is not None else len(self.wire)

    @property
    def message(self) -> str | None:
        """The one-line text of an error or info record."""
        value = self.fields.get(FIELD_MESSAGE)
        return value if isinstance(value, str) else None

    @property
    def automatic(self) -> bool:
        """True when the engine sent this without the user asking (auto pong, close echo)."""
        return bool(self.fields.get(FIELD_AUTOMATIC, False))

    def text(self) -> str | None:
        """The payload as text when it is valid UTF-8, else None."""
        if self.payload is None:
            return None
        try:
            return self.payload.decode("utf-8")
        except UnicodeDecodeError:
            return None


def is_utf8(data: bytes) -> bool:
    """True when ``data`` is valid UTF-8 (a text message's payload, a close reason)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_new = object.__new__
_SET_SEQ, _SET_T, _SET_DIR, _SET_KIND, _SET_WIRE, _SET_PAYLOAD, _SET_FIELDS = (
    Record.__dict__[name].__set__
    for name in ("seq", "t_ns", "direction", "kind", "wire", "payload", "fields")
)


def make_record(
    seq: int,
    t_ns: int,
    direction: Direction,
    kind: Kind,
    wire: bytes,
    payload: bytes | None,
    fields: Mapping[str, Any],
) -> Record:
    """Build a Record through its slots, skipping the frozen dataclass ``__init__``.

    The generated ``__init__`` of a frozen dataclass goes through ``object.__setattr__``
    per field; on the receive path (hundreds of thousands of frames a second) setting
    the slots directly halves the cost. The result is an ordinary, equal, frozen Record.
    """
    record = _new(Record)
    _SET_SEQ(record, seq)
    _SET_T(record, t_ns)
    _SET_DIR(record, direction)
    _SET_KIND(record, kind)
    _SET_WIRE(record, wire)
    _SET_PAYLOAD(record, payload)
    _SET_FIELDS(record, fields)
    return record
