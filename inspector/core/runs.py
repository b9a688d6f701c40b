"""Message runs: the messages completed by one read, kept as the bytes they were cut from.

A stream of small framed messages (lines, or length-prefixed messages) makes a record
per message, but all the messages of one read share their time, direction and kind,
and the messages themselves follow from their bytes: cut after every "\\n", or by each
length prefix. A :class:`MessageRun` keeps them as one piece of bytes plus their
count, and makes the records only when somebody asks for them. The capture stores a
run as one row (docs/capture-format.md, schema 3); the probe writing a capture never
makes a record per message at all. The records a run makes are exactly those the
stream framer makes from the same bytes, numbered from the run's ``seq``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from inspector.core.records import Direction, Kind, Record, make_record

#: The framings a run can be cut by (the values of ``Framing``'s members).
LINES, LEN16, LEN32 = "lines", "len16", "len32"
#: Plain WebSocket frames of one read; their records are made by
#: ``inspector.protocols.wsruns``, which registers itself (:func:`register_framing`).
WS_FRAMES = "ws-frames"
#: MQTT control packets cut by their remaining length (recorded a row per packet, never
#: as a run).
MQTT = "mqtt"
#: Masked WebSocket frames a client sent, as the server role reads them (schema 5).
WS_MASKED_FRAMES = "ws-masked-frames"
#: Unmasked WebSocket frames the server role sent while answering one read (schema 5).
WS_SENT_FRAMES = "ws-sent-frames"
#: The width of the length prefix of each length-prefixed framing.
PREFIX_WIDTH: Mapping[str, int] = MappingProxyType({LEN16: 2, LEN32: 4})

#: One message: (wire bytes with prefix or terminator, body, byte ranges in wire).
Message = tuple[bytes, bytes, list]

_RANGES: dict[tuple[int, int], list] = {}
_FIELDS: dict[tuple[str, int, int], Mapping[str, Any]] = {}
_SHAPES_MAX = 4096


def line_ranges(body_len: int, size: int) -> list:
    """The byte ranges of a line whose body has ``body_len`` of its ``size`` bytes.

    Lines of the same shape share one list (callers must not change it).
    """
    ranges = _RANGES.get((body_len, size))
    if ranges is None:
        ranges = [["payload", 0, body_len]] if body_len else []
        ranges.append(["terminator", body_len, size])
        _remember(_RANGES, (body_len, size), ranges)
    return ranges


def prefix_ranges(width: int, size: int) -> list:
    """The byte ranges of a length-prefixed message of ``size`` bytes (a new list)."""
    return [["length", 0, width], ["payload", width, size]]


def mqtt_ranges(size: int) -> list:
    """The byte ranges of an MQTT packet of ``size`` bytes: the fixed header (type and
    remaining length, whose minimal encoding follows from the size) and the rest."""
    for width in range(1, 5):
        rest = size - 1 - width
        if rest >= 0 and (rest < 128**width) and (width == 1 or rest >= 128 ** (width - 1)):
            return [["fixed header", 0, 1 + width], ["packet", 1 + width, size]]
    return [["packet", 0, size]]


def message_fields(framing: str, body_len: int, size: int) -> Mapping[str, Any]:
    """The fields of a framed message: its framing and byte ranges. Messages of one
    shape share one read-only mapping (and its ranges list, which callers must not
    change), so a store encodes a stream of equal messages once."""
    key = (framing, body_len, size)
    fields = _FIELDS.get(key)
    if fields is None:
        width = PREFIX_WIDTH.get(framing)
        if framing == MQTT:
            ranges = mqtt_ranges(size)
        else:
            ranges = line_ranges(body_len, size) if width is None else prefix_ranges(width, size)
        fields = MappingProxyType({"framing": framing, "ranges": ranges})
        _remember(_FIELDS, key, fields)
    return fields


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= _SHAPES_MAX:
        cache.clear()
    cache[key] = value


def cut_lines(data: bytes) -> list[Message]:
    """Cut bytes that end with "\\n" into lines; a "\\r" before "\\n" ends the line too.

    One ``split`` in C for the whole piece: a stream of short lines is the common case.
    """
    pieces = data.split(b"\n")
    pieces.pop()  # after the last "\n": empty (or an unfinished line, left out)
    out: list[Message] = []
    append = out.append
    for piece in pieces:
        body = piece[:-1] if piece and piece[-1] == 0x0D else piece
        append((piece + b"\n", body, line_ranges(len(body), len(piece) + 1)))
    return out


def cut_prefixed(data: bytes, width: int) -> list[Message]:
    """Cut whole length-prefixed messages (big-endian prefixes of ``width`` bytes); an
    unfinished last message is left out."""
    out: list[Message] = []
    append = out.append
    pos, size = 0, len(data)
    while size - pos >= width:
        end = pos + width + int.from_bytes(data[pos : pos + width], "big")
        if end > size:
            break
        wire = data[pos:end]
        append((wire, wire[width:], prefix_ranges(width, end - pos)))
        pos = end
    return out


#: Record makers of the framings a protocol adds (e.g. WebSocket frames), by name: they
#: return a run's records, or None when its bytes are not exactly ``count`` messages.
_MAKERS: dict[str, Callable[[MessageRun], list[Record] | None]] = {}


def register_framing(framing: str, make: Callable[[MessageRun], list[Record] | None]) -> None:
    """Let runs of ``framing`` be made into records by ``make`` (a protocol's own cutter)."""
    _MAKERS[framing] = make


def cutter(framing: str) -> Callable[[bytes], list[Message]] | None:
    """The function that cuts a run of ``framing`` into messages (None: not a run's)."""
    if framing == LINES:
        return cut_lines
    width = PREFIX_WIDTH.get(framing)
    if width is None:
        return None
    return lambda data: cut_prefixed(data, width)


@dataclass(frozen=True, slots=True)
class MessageRun:
    """``count`` received messages numbered from ``seq``, stamped ``t_ns``, cut by
    ``framing`` and held as their wire bytes back to back (exactly ``count`` whole
    messages, nothing more)."""

    seq: int
    t_ns: int
    direction: Direction
    kind: Kind
    wire: bytes
    count: int
    framing: str = LINES

    @property
    def end(self) -> int:
        """The seq after the run's last record."""
        return self.seq + self.count

    def messages(self) -> list[Message]:
        """The run's messages as the framer cuts them (ValueError: unknown framing)."""
        cut = cutter(self.framing)
        if cut is None:
            raise ValueError(f"no run of {self.framing!r} framing")
        return cut(self.wire)

    def records(self) -> list[Record]:
        """The run's records, as the framer makes them from the same bytes (a
        registered framing's maker: ValueError when the bytes are not its messages)."""
        make = _MAKERS.get(self.framing)
        if make is not None:
            made = make(self)
            if made is None:
                raise ValueError(f"not {self.count} whole messages of {self.framing} framing")
            return made
        seq, t_ns, direction, kind, framing = (
            self.seq, self.t_ns, self.direction, self.kind, self.framing,
        )  # fmt: skip
        fields = message_fields
        return [
            make_record(
                seq + i, t_ns, direction, kind, wire, body, fields(framing, len(body), len(wire))
            )
            for i, (wire, body, _ranges) in enumerate(self.messages())
        ]

    def bodies(self) -> list[bytes]:
        """The messages without their prefixes or terminators."""
        if self.framing in _MAKERS:
            return [record.payload or b"" for record in self.records()]
        return [body for _wire, body, _ranges in self.messages()]
