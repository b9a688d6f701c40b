"""Message runs: the lines completed by one read, kept as the bytes they were cut from.

A stream of short lines makes a record per line, but all the lines of one read share
their time, direction and kind, and the lines themselves follow from their bytes: cut
at every "\\n". A :class:`MessageRun` keeps those lines as one piece of bytes plus
their count, and makes the records only when somebody asks for them. The capture
stores a run as one row (docs/capture-format.md, schema 3); the probe writing a
capture never makes a record per line at all. The records a run makes are exactly
those a line framer makes from the same bytes, numbered from the run's ``seq``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inspector.core.records import Direction, Kind, Record, make_record

#: The framing a run can be cut by (the value of ``Framing.LINES``).
LINES = "lines"

#: One line: (wire bytes with the terminator, body without it, byte ranges in wire).
Line = tuple[bytes, bytes, list]

_RANGES: dict[tuple[int, int], list] = {}
_FIELDS: dict[tuple[int, int], Mapping[str, Any]] = {}
_SHAPES_MAX = 4096


def line_ranges(body_len: int, size: int) -> list:
    """The byte ranges of a line whose body has ``body_len`` of its ``size`` bytes.

    Lines of the same shape share one list (callers must not change it).
    """
    ranges = _RANGES.get((body_len, size))
    if ranges is None:
        ranges = [["payload", 0, body_len]] if body_len else []
        ranges.append(["terminator", body_len, size])
        if len(_RANGES) >= _SHAPES_MAX:
            _RANGES.clear()
        _RANGES[body_len, size] = ranges
    return ranges


def line_fields(body_len: int, size: int) -> Mapping[str, Any]:
    """The fields of a line: its framing and byte ranges. Lines of one shape share one
    dict (callers must not change it), so a store encodes a stream of equal lines once."""
    fields = _FIELDS.get((body_len, size))
    if fields is None:
        fields = {"framing": LINES, "ranges": line_ranges(body_len, size)}
        if len(_FIELDS) >= _SHAPES_MAX:
            _FIELDS.clear()
        _FIELDS[body_len, size] = fields
    return fields


def cut_lines(data: bytes) -> list[Line]:
    """Cut bytes that end with "\\n" into lines; a "\\r" before "\\n" ends the line too.

    One ``split`` in C for the whole piece: a stream of short lines is the common case.
    """
    pieces = data.split(b"\n")
    pieces.pop()  # after the last "\n": empty
    out: list[Line] = []
    append = out.append
    for piece in pieces:
        body = piece[:-1] if piece and piece[-1] == 0x0D else piece
        append((piece + b"\n", body, line_ranges(len(body), len(piece) + 1)))
    return out


@dataclass(frozen=True, slots=True)
class MessageRun:
    """``count`` received lines numbered from ``seq``, stamped ``t_ns``, held as their
    wire bytes back to back (``wire`` ends with "\\n" and holds exactly ``count``)."""

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

    def records(self) -> list[Record]:
        """The run's records, as a line framer makes them from the same bytes."""
        seq, t_ns, direction, kind = self.seq, self.t_ns, self.direction, self.kind
        fields = line_fields
        return [
            make_record(seq + i, t_ns, direction, kind, wire, body, fields(len(body), len(wire)))
            for i, (wire, body, _ranges) in enumerate(cut_lines(self.wire))
        ]

    def bodies(self) -> list[bytes]:
        """The lines without their terminators."""
        return [body for _wire, body, _ranges in cut_lines(self.wire)]
