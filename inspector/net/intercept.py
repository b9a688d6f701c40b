"""Intercept on a relay: hold matching messages until the user forwards, edits or drops them.

An :class:`Interceptor` belongs to one relay and knows nothing of sockets or Qt. Its
switch (:class:`InterceptMode`: off, c2s, s2c, both) and filter expression (the records
filter's language, :class:`~inspector.protocols.msgfilter.MessageFilter`) decide which
messages a relay pair must hand over instead of forwarding them. Each held message is a
:class:`HeldMessage` in :attr:`Interceptor.queue` (id, connection, way, payload, kind,
when held); the user resolves it with :meth:`~Interceptor.forward`,
:meth:`~Interceptor.edit` (new payload, then forward) or :meth:`~Interceptor.drop`, or
all at once with :meth:`~Interceptor.forward_all` / :meth:`~Interceptor.drop_all`, and
may :meth:`~Interceptor.inject` a new message into either way of an open connection at
any time. Held messages of a connection that ends are resolved as dropped with the
reason. A message the filter does not pick passes at once, even past held ones of the
same way (intercept is per message, as in Burp's and mitmproxy's intercept).

The relay side: each pair :meth:`~Interceptor.attach`-es an :class:`InterceptPort`
(how to send a payload on, which kinds it takes), asks :meth:`~Interceptor.offer` for
each message (an id back means "held: do not forward") and calls
:meth:`~Interceptor.detach` when it ends. Observers (:class:`InterceptObserver`, the
window's queue and the CLI) learn of every change through :meth:`~Interceptor.subscribe`.
Everything runs on the relay's event loop thread; nothing here blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from inspector.core.errors import InspectorError
from inspector.core.records import Direction
from inspector.protocols.decoders.registry import DecodeContext
from inspector.protocols.msgfilter import MessageFilter, MessageFilterError

__all__ = [
    "HeldMessage",
    "InterceptError",
    "InterceptMode",
    "InterceptObserver",
    "InterceptPort",
    "Interceptor",
    "MessageFilterError",
    "MessageKind",
    "Outcome",
    "Resolution",
    "Way",
]


class InterceptError(InspectorError):
    """An intercept operation that cannot be done (unknown id, ended connection): one line."""


class Way(StrEnum):
    """Which way a message goes through the relay."""

    C2S = "c2s"  # client → server (records: out)
    S2C = "s2c"  # server → client (records: in)

    @property
    def direction(self) -> Direction:
        """The direction of this way's records in the pair's session."""
        return Direction.OUT if self is Way.C2S else Direction.IN

    @property
    def arrow(self) -> str:
        return "client → server" if self is Way.C2S else "server → client"


class InterceptMode(StrEnum):
    """The intercept switch: which ways are held."""

    OFF = "off"
    C2S = "c2s"
    S2C = "s2c"
    BOTH = "both"

    def covers(self, way: Way) -> bool:
        """True when messages going ``way`` are intercepted."""
        return self is InterceptMode.BOTH or self.value == way.value


class MessageKind(StrEnum):
    """What a held or injected message is: a WebSocket message, a stream read, a datagram."""

    TEXT = "text"
    BINARY = "binary"
    DATA = "data"
    DATAGRAM = "datagram"


class Outcome(StrEnum):
    """How a held message was resolved."""

    FORWARDED = "forwarded"
    EDITED = "edited"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """One message the relay holds: ``id`` (1, 2, … per relay), the pair number ``conn``,
    the ``way`` it was going, its ``payload`` (a WebSocket message whole and inflated),
    its ``kind``, and ``held_ns`` (wall clock, ns since the epoch) when it was held."""

    id: int
    conn: int
    way: Way
    payload: bytes
    kind: MessageKind
    held_ns: int
    peer: str = ""

    def preview(self, width: int = 60) -> str:
        """The payload on one line: text (\\n, \\r, \\t escaped) when it is UTF-8, else hex;
        cut at ``width``."""
        if self.kind is not MessageKind.BINARY:
            try:
                text = self.payload.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                text = text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
                text = text.replace("\t", "\\t")
            if text is not None and text.isprintable():
                return text if len(text) <= width else text[: width - 1] + "…"
        shown = self.payload[: max(width // 3, 1)].hex(" ")
        return shown + (" …" if len(self.payload) * 3 > width else "")

    @property
    def direction(self) -> Direction:
        return self.way.direction


@dataclass(frozen=True, slots=True)
class Resolution:
    """What became of a held message: ``sent`` is what went on (None when dropped);
    ``reason`` says why, in one line ("dropped: the connection ended")."""

    message: HeldMessage
    outcome: Outcome
    sent: bytes | None
    reason: str


class InterceptPort(Protocol):
    """What a relay pair gives the interceptor: how to send a message on, and its kinds."""

    #: The kinds this connection can carry (text and binary for WebSocket).
    kinds: frozenset[MessageKind]
    peer: str

    @property
    def alive(self) -> bool:
        """False once the pair can send nothing more."""
        ...

    def send_on(
        self, way: Way, payload: bytes, kind: MessageKind, fields: dict[str, Any]
    ) -> str | None:
        """Send ``payload`` the way ``way`` (to the server for c2s) and record it with
        ``fields`` added (``intercept``: the held id, ``relayed``: forwarded, edited or
        injected); returns None once sent, or one line saying why it could not be."""
        ...

    def dropped(self, message: HeldMessage, reason: str) -> None:
        """A held message of this pair was dropped (the pair records it)."""
        ...

    def decode_context(self) -> DecodeContext:
        """The facts the filter's field tests decode with (subprotocol, target)."""
        ...


class InterceptObserver:
    """Learns of intercept changes; override what you need (every method does nothing)."""

    def held(self, message: HeldMessage) -> None:
        """A message was held (it is now last in the queue)."""

    def resolved(self, resolution: Resolution) -> None:
        """A held message was forwarded, edited then forwarded, or dropped."""

    def injected(self, conn: int, way: Way, payload: bytes, kind: MessageKind) -> None:
        """The user sent a new message into a connection."""

    def switched(self, mode: InterceptMode, expression: str) -> None:
        """The switch or the filter changed."""

    def not_sent(self, conn: int, way: Way, line: str) -> None:
        """A message accepted for sending (injected, or a held one forwarded while its
        direction was partway through a message) was lost with its connection; ``line``
        says which and why."""


class Interceptor:
    """The intercept switch, filter and queue of one relay (see the module's text)."""

    def __init__(
        self,
        mode: InterceptMode = InterceptMode.OFF,
        expression: str = "",
        regex: bool = False,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._mode = InterceptMode(mode)
        self._filter = MessageFilter.parse(expression, regex)
        self._clock = clock
        self._queue: dict[int, HeldMessage] = {}
        self._ports: dict[int, InterceptPort] = {}
        self._filters: dict[int, MessageFilter] = {}
        self._observers: list[InterceptObserver] = []
        self._next_id = 1

    # -- the switch ----------------------------------------------------------------

    @property
    def mode(self) -> InterceptMode:
        return self._mode

    def set_mode(self, mode: InterceptMode | str) -> None:
        """Turn intercept on for c2s, s2c or both, or off (held messages stay held)."""
        self._mode = InterceptMode(mode)
        self._emit("switched", self._mode, self._filter.text)

    @property
    def expression(self) -> str:
        """The filter expression as given ("" picks every message)."""
        return self._filter.text

    def set_filter(self, expression: str, regex: bool = False) -> None:
        """Hold only messages ``expression`` picks; MessageFilterError (one line) if bad."""
        self._filter = MessageFilter.parse(expression, regex)
        self._filters.clear()
        self._emit("switched", self._mode, self._filter.text)

    def wants(self, way: Way) -> bool:
        """True when messages going ``way`` may be held (a pair then reads per message)."""
        return self._mode.covers(way)

    # -- observers -----------------------------------------------------------------

    def subscribe(self, observer: InterceptObserver) -> Callable[[], None]:
        """Tell ``observer`` of every change from now on; returns the unsubscribe call."""
        self._observers.append(observer)

        def unsubscribe() -> None:
            if observer in self._observers:
                self._observers.remove(observer)

        return unsubscribe

    def _emit(self, name: str, *args: Any) -> None:
        for observer in list(self._observers):
            getattr(observer, name)(*args)

    # -- the relay's side ------------------------------------------------------------

    def attach(self, conn: int, port: InterceptPort) -> None:
        """A pair opened: messages can be held from it and injected into it."""
        self._ports[conn] = port

    def detach(self, conn: int, reason: str = "the connection ended") -> list[Resolution]:
        """A pair ended: its held messages are dropped with ``reason``."""
        self._ports.pop(conn, None)
        self._filters.pop(conn, None)
        gone = [m for m in self._queue.values() if m.conn == conn]
        return [self._resolve(m, Outcome.DROPPED, None, f"dropped: {reason}") for m in gone]

    def offer(self, conn: int, way: Way, payload: bytes, kind: MessageKind) -> int | None:
        """A message going ``way`` on pair ``conn``: its id when it is now held (the pair
        must not forward it), None when it passes."""
        if not self._mode.covers(way) or conn not in self._ports:
            return None
        if not self._filter_for(conn).matches(payload):
            return None
        message = HeldMessage(
            self._next_id, conn, way, payload, kind, self._clock(), self._ports[conn].peer
        )
        self._next_id += 1
        self._queue[message.id] = message
        self._emit("held", message)
        return message.id

    def _filter_for(self, conn: int) -> MessageFilter:
        found = self._filters.get(conn)
        if found is None:
            port = self._ports[conn]
            found = self._filter
            if found.conditions:
                found = found.with_context(port.decode_context())
            self._filters[conn] = found
        return found

    # -- the user's side -------------------------------------------------------------

    @property
    def queue(self) -> list[HeldMessage]:
        """The held messages, oldest first."""
        return list(self._queue.values())

    def get(self, message_id: int) -> HeldMessage:
        """The held message ``message_id``; InterceptError when there is none."""
        try:
            return self._queue[message_id]
        except KeyError:
            raise InterceptError(f"no held message #{message_id}") from None

    def forward(self, message_id: int) -> Resolution:
        """Send a held message on unchanged."""
        message = self.get(message_id)
        return self._send(message, message.payload, Outcome.FORWARDED)

    def edit(self, message_id: int, payload: bytes, kind: MessageKind | None = None) -> Resolution:
        """Send ``payload`` on in place of a held message (as ``kind``, default its own);
        InterceptError, and the message stays held, when a text payload is not UTF-8."""
        message = self.get(message_id)
        if kind is not None:
            self._check_kind(message.conn, MessageKind(kind))
            message = _with_kind(message, MessageKind(kind))
        _check_payload(message.kind, payload)
        return self._send(message, payload, Outcome.EDITED)

    def drop(self, message_id: int, reason: str = "dropped by the user") -> Resolution:
        """Discard a held message: the other side never sees it."""
        return self._drop(self.get(message_id), reason)

    def forward_all(self) -> list[Resolution]:
        """Forward every held message, oldest first."""
        return [self._send(m, m.payload, Outcome.FORWARDED) for m in self.queue]

    def drop_all(self, reason: str = "dropped by the user") -> list[Resolution]:
        """Drop every held message."""
        return [self._drop(m, reason) for m in self.queue]

    def connections(self) -> list[int]:
        """The pairs messages can be injected into, in order."""
        return sorted(c for c, p in self._ports.items() if p.alive)

    def kinds_of(self, conn: int) -> frozenset[MessageKind]:
        """The kinds pair ``conn`` carries (text and binary for WebSocket); none once ended."""
        port = self._ports.get(conn)
        return port.kinds if port is not None else frozenset()

    def inject(
        self, conn: int, way: Way | str, payload: bytes, kind: MessageKind | str | None = None
    ) -> None:
        """Send a new message into pair ``conn`` going ``way`` (to the server for c2s);
        ``kind`` defaults to the connection's first (text for WebSocket)."""
        port = self._ports.get(conn)
        if port is None or not port.alive:
            raise InterceptError(f"no open connection {conn} to inject into")
        way = Way(way)
        chosen = MessageKind(kind) if kind is not None else _default_kind(port.kinds)
        self._check_kind(conn, chosen)
        _check_payload(chosen, payload)
        refused = port.send_on(way, payload, chosen, {"relayed": "injected"})
        if refused is not None:
            raise InterceptError(f"cannot inject into connection {conn}: {refused}")
        self._emit("injected", conn, way, payload, chosen)

    def lost(self, conn: int, way: Way, line: str) -> None:
        """Pair ``conn`` ended before it could send a message it had accepted: tell the
        observers (the pair records it too)."""
        self._emit("not_sent", conn, way, line)

    def _check_kind(self, conn: int, kind: MessageKind) -> None:
        port = self._ports.get(conn)
        if port is not None and kind not in port.kinds:
            known = ", ".join(sorted(port.kinds))
            raise InterceptError(f"connection {conn} carries {known}, not {kind}")

    def _drop(self, message: HeldMessage, reason: str) -> Resolution:
        port = self._ports.get(message.conn)
        if port is not None and port.alive:
            port.dropped(message, reason)
        return self._resolve(message, Outcome.DROPPED, None, reason)

    def _send(self, message: HeldMessage, payload: bytes, outcome: Outcome) -> Resolution:
        port = self._ports.get(message.conn)
        if port is None or not port.alive:
            return self._resolve(message, Outcome.DROPPED, None, "dropped: the connection ended")
        refused = port.send_on(
            message.way,
            payload,
            message.kind,
            {"intercept": message.id, "relayed": str(outcome)},
        )
        if refused is not None:
            return self._resolve(message, Outcome.DROPPED, None, f"dropped: {refused}")
        reason = "forwarded" if outcome is Outcome.FORWARDED else "edited, then forwarded"
        return self._resolve(message, outcome, payload, reason)

    def _resolve(
        self, message: HeldMessage, outcome: Outcome, sent: bytes | None, reason: str
    ) -> Resolution:
        self._queue.pop(message.id, None)
        resolution = Resolution(message, outcome, sent, reason)
        self._emit("resolved", resolution)
        return resolution


def _check_payload(kind: MessageKind, payload: bytes) -> None:
    """A WebSocket text message must be UTF-8 (RFC 6455 §5.6): InterceptError if not."""
    if kind is MessageKind.TEXT:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InterceptError(
                f"a text message must be UTF-8 (byte {exc.start} is not): send it as binary"
            ) from None


def _default_kind(kinds: frozenset[MessageKind]) -> MessageKind:
    for kind in (MessageKind.TEXT, MessageKind.DATA, MessageKind.DATAGRAM, MessageKind.BINARY):
        if kind in kinds:
            return kind
    raise InterceptError("the connection carries no messages")


def _with_kind(message: HeldMessage, kind: MessageKind) -> HeldMessage:
    return HeldMessage(
        message.id, message.conn, message.way, message.payload, kind, message.held_ns,
        message.peer,
    )  # fmt: skip
