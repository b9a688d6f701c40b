"""WebSocket frame runs: the plain frames one read completed, kept as one piece of bytes.

The receive fast path (:mod:`inspector.protocols.wsfast`) takes the whole plain frames
at the start of a read. When none of them is compressed, each frame's record follows
from its bytes alone (its payload is the tail of its wire bytes, its fields from its
header), so the frames of a read are recorded as one
:class:`~inspector.core.runs.MessageRun` of :data:`WS_FRAMES` framing: one capture row
(docs/capture-format.md, schema 4), records made only when a consumer asks. Compressed
frames are not kept as runs: their payload needs the inflater's state at that point of
the stream, which the wire bytes alone do not give.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspector.core.evenruns import EvenRun, register_even, register_first_length, same_bytes
from inspector.core.records import Direction, Kind, Record, make_record
from inspector.core.runs import WS_FRAMES, MessageRun, register_framing
from inspector.protocols.wireframes import read_header
from inspector.protocols.wsfields import plain_frame_fields, shared_fields

__all__ = ["WS_FRAMES", "even_frames", "run_records"]


def run_records(run: MessageRun) -> list[Record] | None:
    """The records of a run of plain frames, exactly as the fast path makes them; None
    when its bytes are not ``count`` whole unmasked FIN text/binary frames."""
    if run.direction is not Direction.IN or run.kind is not Kind.FRAME:
        return None
    data = run.wire
    end = len(data)
    pos = 0
    seq, t_ns, direction, kind = run.seq, run.t_ns, run.direction, run.kind
    out: list[Record] = []
    append = out.append
    make = make_record
    shapes: dict[int, Mapping[str, Any]] = {}  # first and second byte -> the fields
    while pos < end:
        first = data[pos]
        if (first != 0x81 and first != 0x82) or end - pos < 2:
            return None
        second = data[pos + 1]
        if second < 126:  # the common case: a 7-bit length, one shape per size
            fields = shapes.get(first << 8 | second)
            if fields is None:
                fields = shapes[first << 8 | second] = _fields(first, 2, second)
            header_len = 2
            stop = pos + 2 + second
        else:
            header = read_header(data, pos, end)
            if header is None or header[0] > 4:
                return None
            header_len, length = header
            stop = pos + header_len + length
            fields = _fields(first, header_len, length)
        if stop > end:
            return None
        append(make(seq, t_ns, direction, kind, data[pos:stop], data[pos + header_len : stop],
                    fields))  # fmt: skip
        seq += 1
        pos = stop
    return out if len(out) == run.count else None


def even_frames(run: MessageRun) -> EvenRun | None:
    """A run whose frames share one header (kind, FIN and length, up to 16-bit lengths)
    as an :class:`EvenRun`, checked with a slice per header byte; None otherwise."""
    if run.direction is not Direction.IN or run.kind is not Kind.FRAME:
        return None
    data, count = run.wire, run.count
    stride = len(data) // count
    if stride < 2 or (data[0] != 0x81 and data[0] != 0x82):
        return None
    header = read_header(data, 0, stride)
    if header is None or header[0] > 4 or header[0] + header[1] != stride:
        return None
    header_len, length = header
    if not same_bytes(data, count, stride, range(header_len)):
        return None
    return EvenRun(run, stride, header_len, length, _fields(data[0], header_len, length))


def _fields(first: int, header_len: int, length: int) -> Mapping[str, Any]:
    """The fields the fast path gives an uncompressed frame of this shape."""
    fields = shared_fields((first, header_len, length, False, False))
    if fields is None:
        fields = plain_frame_fields(first, header_len, length, False)
    return fields


register_framing(WS_FRAMES, run_records)
register_even(WS_FRAMES, even_frames)


def _first_frame(wire: bytes) -> int:
    """The length of the first frame of a run (whole, as the run holds only whole frames)."""
    header = read_header(wire, 0, len(wire))
    return len(wire) if header is None or header[1] < 0 else header[0] + header[1]


register_first_length(WS_FRAMES, _first_frame)
