"""TCP/TLS stream framers: cut a byte stream into messages (raw reads, lines,
length-prefixed, MQTT packets).

A framer is Sans-I/O: ``feed(data)`` returns every message completed by the bytes fed
so far, each as ``(wire, body, ranges)`` where ``wire`` is the message exactly as on
the stream (prefix or terminator included), ``body`` the message itself and ``ranges``
the named byte ranges inside ``wire`` for the hex pane. Memory is bounded by
``max_size``: a length prefix or a line longer than that raises :class:`FramingError`
instead of buffering without end.
"""

from __future__ import annotations

from typing import Protocol

from inspector.core.errors import InspectorError
from inspector.core.options import Framing
from inspector.core.runs import cut_lines, line_ranges, mqtt_ranges, prefix_ranges

#: One framed message: (wire bytes, body, [[range name, start, end], ...]).
FramedMessage = tuple[bytes, bytes, list]


class FramingError(InspectorError):
    """The stream cannot be framed as asked (a message exceeds the size limit).

    ``messages`` holds the messages completed before the fault in the same feed, and
    ``offending`` the bytes from the start of the message that broke the limit.
    """

    def __init__(
        self, message: str, messages: list[FramedMessage] | None = None, offending: bytes = b""
    ) -> None:
        super().__init__(message)
        self.messages: list[FramedMessage] = messages or []
        self.offending = offending


class Framer(Protocol):
    """Cuts a byte stream into messages."""

    framing: Framing

    def feed(self, data: bytes) -> list[FramedMessage]:
        """Take the next bytes of the stream; return the messages they complete."""

    def leftover(self) -> bytes:
        """Bytes fed but not yet part of a complete message."""

    def frame(self, body: bytes) -> FramedMessage:
        """Build the wire form of an outgoing message."""


class RawFramer:
    """Each read is one message: the stream has no framing of its own."""

    framing = Framing.RAW

    def feed(self, data: bytes) -> list[FramedMessage]:
        """Return the read as one message (nothing for an empty read)."""
        if not data:
            return []
        data = bytes(data)
        return [(data, data, [["payload", 0, len(data)]])]

    def leftover(self) -> bytes:
        """Raw framing never holds bytes back."""
        return b""

    def frame(self, body: bytes) -> FramedMessage:
        """Raw messages go out as they are."""
        body = bytes(body)
        return (body, body, [["payload", 0, len(body)]])


class LineFramer:
    """Lines ending in "\\n"; a "\\r" before it belongs to the terminator too."""

    framing = Framing.LINES

    def __init__(self, max_size: int | None) -> None:
        self.max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[FramedMessage]:
        """Append ``data`` and return every complete line."""
        buffer = self._buffer
        searched = len(buffer)  # the bytes held already have no newline
        buffer += data
        out: list[FramedMessage] = []
        last = buffer.rfind(b"\n", searched)
        if last >= 0:
            lines = cut_lines(_head(buffer, last + 1))
            if self.max_size is not None:
                pos = 0
                for index, (wire, body, _ranges) in enumerate(lines):
                    if len(body) > self.max_size:
                        self._check(len(body), lines[:index], pos)
                    pos += len(wire)
            out = lines
            del buffer[: last + 1]
        self._check(self._pending_body(), out, 0)
        return out

    def feed_run(self, data: bytes) -> tuple[bytes, int] | None:
        """Append ``data`` and return the complete lines as one piece of bytes and their
        count ((b"", 0) when none completed), for a :class:`~inspector.core.runs.MessageRun`.

        Returns None, holding nothing of ``data``, when a line may break the size
        limit: :meth:`feed` then takes the same bytes and says exactly which.
        """
        buffer = self._buffer
        searched = len(buffer)
        buffer += data
        last = buffer.rfind(b"\n", searched)
        limit = self.max_size
        if last < 0:
            if limit is not None and self._pending_body() > limit:
                del buffer[searched:]
                return None
            return b"", 0
        done = _head(buffer, last + 1)
        pending = len(buffer) - last - 1
        if limit is not None and (
            pending > limit or (last > limit and max(map(len, done.split(b"\n"))) > limit)
        ):
            del buffer[searched:]
            return None
        del buffer[: last + 1]
        return done, done.count(b"\n")

    def _pending_body(self) -> int:
        """The length of the incomplete line, a trailing "\\r" not counted."""
        buffer = self._buffer
        pending = len(buffer)
        if pending and buffer[-1] == 0x0D:
            pending -= 1
        return pending

    def _check(self, body_len: int, done: list[FramedMessage], start: int) -> None:
        if self.max_size is not None and body_len > self.max_size:
            raise FramingError(
                f"line longer than the {self.max_size}-byte limit ({body_len} bytes "
                "without a newline)",
                done,
                bytes(self._buffer[start:]),
            )

    def leftover(self) -> bytes:
        """The incomplete last line."""
        return bytes(self._buffer)

    def frame(self, body: bytes) -> FramedMessage:
        """Add "\\n" unless the body already ends a line."""
        body = bytes(body)
        if body.endswith(b"\n"):
            text_len = len(body) - (2 if body.endswith(b"\r\n") else 1)
            return (body, body[:text_len], list(line_ranges(text_len, len(body))))
        wire = body + b"\n"
        return (wire, body, list(line_ranges(len(body), len(wire))))


class LengthPrefixFramer:
    """A big-endian length prefix of ``width`` bytes, then that many bytes of body."""

    def __init__(self, width: int, max_size: int | None) -> None:
        self.width = width
        self.framing = Framing.LEN16 if width == 2 else Framing.LEN32
        self.max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[FramedMessage]:
        """Append ``data`` and return every complete length-prefixed message."""
        self._buffer += data
        buffer = self._buffer
        width = self.width
        out: list[FramedMessage] = []
        start = 0
        while len(buffer) - start >= width:
            length = int.from_bytes(buffer[start : start + width], "big")
            if self.max_size is not None and length > self.max_size:
                raise FramingError(
                    f"length prefix announces {length} bytes, over the {self.max_size}-byte limit",
                    out,
                    bytes(buffer[start:]),
                )
            end = start + width + length
            if len(buffer) < end:
                break
            wire = bytes(buffer[start:end])
            out.append((wire, wire[width:], prefix_ranges(width, len(wire))))
            start = end
        if start:
            del buffer[:start]
        return out

    def feed_run(self, data: bytes) -> tuple[bytes, int] | None:
        """Append ``data`` and return the complete messages as one piece of bytes and
        their count, for a :class:`~inspector.core.runs.MessageRun`.

        Returns None, holding nothing of ``data``, when a prefix breaks the size
        limit: :meth:`feed` then takes the same bytes and raises for it.
        """
        buffer = self._buffer
        searched = len(buffer)
        buffer += data
        width, limit = self.width, self.max_size
        pos, size, count = 0, len(buffer), 0
        while size - pos >= width:
            length = int.from_bytes(buffer[pos : pos + width], "big")
            if limit is not None and length > limit:
                del buffer[searched:]
                return None
            end = pos + width + length
            if end > size:
                break
            pos = end
            count += 1
        done = _head(buffer, pos)
        del buffer[:pos]
        return done, count

    def leftover(self) -> bytes:
        """The incomplete last message (prefix and part of its body)."""
        return bytes(self._buffer)

    def frame(self, body: bytes) -> FramedMessage:
        """Prefix ``body`` with its length; raise FramingError if it does not fit."""
        body = bytes(body)
        if len(body) >= 1 << (8 * self.width):
            raise FramingError(
                f"a {len(body)}-byte message does not fit a {self.width}-byte length prefix"
            )
        wire = len(body).to_bytes(self.width, "big") + body
        return (wire, body, prefix_ranges(self.width, len(wire)))


def mqtt_packet_size(data: bytes | bytearray, pos: int = 0) -> int | None:
    """The size of the MQTT control packet at ``data[pos:]`` (fixed header included),
    from its remaining length (MQTT 3.1.1 §2.2.3); None while the length is incomplete.

    Raises ValueError when the remaining length runs over four bytes.
    """
    value, shift = 0, 0
    for index in range(pos + 1, min(pos + 5, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return index + 1 - pos + value
        shift += 7
    if len(data) - pos >= 5:
        raise ValueError(f"the remaining length at byte {pos + 1} runs over four bytes")
    return None


class MqttFramer:
    """MQTT control packets: each message is one packet, cut by its remaining length,
    so a read holding several packets (or a part of one) becomes whole packets."""

    framing = Framing.MQTT

    def __init__(self, max_size: int | None) -> None:
        self.max_size = max_size
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[FramedMessage]:
        """Append ``data`` and return every complete packet."""
        self._buffer += data
        buffer = self._buffer
        out: list[FramedMessage] = []
        start = 0
        while start < len(buffer):
            try:
                size = mqtt_packet_size(buffer, start)
            except ValueError as exc:
                raise FramingError(f"not an MQTT packet: {exc}", out, bytes(buffer[start:])
                                   ) from None  # fmt: skip
            if size is None:
                break
            if self.max_size is not None and size > self.max_size:
                raise FramingError(
                    f"MQTT packet of {size} bytes, over the {self.max_size}-byte limit",
                    out,
                    bytes(buffer[start:]),
                )
            if len(buffer) - start < size:
                break
            wire = bytes(buffer[start : start + size])
            out.append((wire, wire, mqtt_ranges(size)))
            start += size
        if start:
            del buffer[:start]
        return out

    def leftover(self) -> bytes:
        """The incomplete last packet."""
        return bytes(self._buffer)

    def frame(self, body: bytes) -> FramedMessage:
        """A packet goes out as it is: it carries its own length."""
        body = bytes(body)
        return (body, body, mqtt_ranges(len(body)))


def _head(buffer: bytearray, size: int) -> bytes:
    """The first ``size`` bytes of ``buffer`` in one copy (``bytes(buffer[:size])``
    copies twice); the view is released before the caller trims the buffer."""
    with memoryview(buffer) as view:
        return view[:size].tobytes()


def make_framer(framing: Framing, max_size: int | None = None) -> Framer:
    """The framer for ``framing``; ``max_size`` bounds one message (None: no bound)."""
    if framing is Framing.LINES:
        return LineFramer(max_size)
    if framing is Framing.LEN16:
        return LengthPrefixFramer(2, max_size)
    if framing is Framing.LEN32:
        return LengthPrefixFramer(4, max_size)
    if framing is Framing.MQTT:
        return MqttFramer(max_size)
    return RawFramer()


#: The framings whose framer cuts a read's whole messages as one run (``feed_run``).
RUN_FRAMINGS = frozenset({Framing.LINES, Framing.LEN16, Framing.LEN32})
