"""WebSocket frame runs: the plain frames one read completed, kept as one piece of bytes.

The receive fast path (:mod:`inspector.protocols.wsfast`) takes the whole plain frames
at the start of a read. When none of them is compressed, each frame's record follows
from its bytes alone (its payload is the tail of its wire bytes, unmasked with its own
key when masked; its fields from its header), so the frames of a read are recorded as
one :class:`~inspector.core.runs.MessageRun`: one capture row (docs/capture-format.md,
schemas 4 and 5), records made only when a consumer asks. Three framings, one per
shape a connection produces:

- :data:`WS_FRAMES`: unmasked frames a client connection reads from its server;
- :data:`WS_MASKED_FRAMES`: masked frames a server-role connection reads from its
  client (the mask key of each frame is in its bytes, never in stored fields);
- :data:`WS_SENT_FRAMES`: unmasked frames a server-role connection wrote while
  answering one read (an echo flood).

Compressed frames are not kept as runs: their payload needs the inflater's state at
that point of the stream, which the wire bytes alone do not give.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from websockets.frames import apply_mask

from inspector.core.evenruns import EvenRun, register_even, register_first_length, same_bytes
from inspector.core.records import Direction, Kind, Record, make_record
from inspector.core.runs import (
    WS_FRAMES,
    WS_MASKED_FRAMES,
    WS_SENT_FRAMES,
    MessageRun,
    register_framing,
)
from inspector.protocols.wireframes import WireFrame, read_header
from inspector.protocols.wsfields import frame_fields, plain_frame_fields, shared_fields

__all__ = [
    "WS_FRAMES",
    "WS_MASKED_FRAMES",
    "WS_SENT_FRAMES",
    "even_frames",
    "plain_payloads",
    "run_records",
]

#: The direction and masking of each framing's frames.
_SHAPES: Mapping[str, tuple[Direction, bool]] = {
    WS_FRAMES: (Direction.IN, False),
    WS_MASKED_FRAMES: (Direction.IN, True),
    WS_SENT_FRAMES: (Direction.OUT, False),
}


def run_records(run: MessageRun) -> list[Record] | None:
    """The records of a run of plain frames, exactly as the connection makes them one
    by one; None when its bytes are not ``count`` whole FIN text/binary frames of the
    framing's direction and masking."""
    shape = _SHAPES.get(run.framing)
    if shape is None or run.direction is not shape[0] or run.kind is not Kind.FRAME:
        return None
    if shape[1]:
        return _masked_records(run)
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


def plain_payloads(data: bytes) -> list[bytes] | None:
    """The payloads of back-to-back unmasked FIN text/binary frames (a run of
    :data:`WS_FRAMES` or :data:`WS_SENT_FRAMES`), without their records: what statistics
    read; None when the bytes are not such frames."""
    out: list[bytes] = []
    append = out.append
    pos, end = 0, len(data)
    while pos < end:
        first = data[pos]
        if (first != 0x81 and first != 0x82) or end - pos < 2:
            return None
        second = data[pos + 1]
        if second < 126:
            start = pos + 2
            stop = start + second
        else:
            header = read_header(data, pos, end)
            if header is None or header[0] > 4:
                return None
            start = pos + header[0]
            stop = start + header[1]
        if stop > end:
            return None
        append(data[start:stop])
        pos = stop
    return out


def _masked_records(run: MessageRun) -> list[Record] | None:
    """:func:`run_records` of masked frames: each payload unmasked with its frame's key,
    and fields of its own (they hold that key)."""
    records: list[Record] = []
    data, pos = run.wire, 0
    while pos < len(data):
        frame = _masked_frame(data, pos)
        if frame is None:
            return None
        key_end = pos + frame.header_len
        payload = apply_mask(frame.wire[frame.header_len :], data[key_end - 4 : key_end])
        fields = frame_fields(frame, payload, False, False)
        seq = run.seq + len(records)
        record = make_record(seq, run.t_ns, run.direction, run.kind, frame.wire, payload, fields)
        records.append(record)
        pos += len(frame.wire)
    return records if len(records) == run.count else None


def _masked_frame(data: bytes, pos: int) -> WireFrame | None:
    """The whole masked FIN text or binary frame (7- or 16-bit length) at ``pos``."""
    if data[pos] not in (0x81, 0x82) or len(data) - pos < 2 or data[pos + 1] < 0x80:
        return None
    header = read_header(data, pos, len(data))
    if header is None or header[0] not in (6, 8) or pos + header[0] + header[1] > len(data):
        return None
    header_len, length = header
    return WireFrame(data[pos : pos + header_len + length], header_len, length)


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


def _first_frame(wire: bytes) -> int:
    """The length of the first frame of a run (whole, as the run holds only whole frames;
    a masked frame's header counts its mask key)."""
    header = read_header(wire, 0, len(wire))
    return len(wire) if header is None or header[1] < 0 else header[0] + header[1]


for _framing in _SHAPES:
    register_framing(_framing, run_records)
    register_first_length(_framing, _first_frame)
# Only the frames a client reads are checked for one shared shape: a server's masked
# frames each carry their own key, and the frames it sends are few per read.
register_even(WS_FRAMES, even_frames)
