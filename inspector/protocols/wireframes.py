"""The wire-frame tap: an RFC 6455 §5.2 frame parser over raw bytes, with byte ranges.

websockets hands back frames already unmasked and decompressed, with RSV1 cleared;
the mask key, the header length and the compressed size exist only on the wire. This
parser reads the same bytes the library reads and keeps each frame exactly as it was
sent, so a record can show both. It validates nothing beyond what it needs to cut the
stream into frames (the library judges the frames) and never raises on any input.

RFC 6455 §5.2 base framing::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |     Extended payload length continued, if payload len == 127  |
    + - - - - - - - - - - - - - - - +-------------------------------+
    |                               |Masking-key, if MASK set to 1  |
    +-------------------------------+-------------------------------+
    | Masking-key (continued)       |          Payload Data         |
    +-------------------------------- - - - - - - - - - - - - - - - +
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

try:
    from websockets.speedups import apply_mask as _apply_mask
except ImportError:  # pragma: no cover - pure-Python websockets build
    from websockets.utils import apply_mask as _apply_mask

_OPCODE_NAMES = {
    0x0: "continuation",
    0x1: "text",
    0x2: "binary",
    0x8: "close",
    0x9: "ping",
    0xA: "pong",
}

_unpack_u16 = struct.Struct("!H").unpack_from
_unpack_u64 = struct.Struct("!Q").unpack_from

Range = tuple[str, int, int]


def opcode_name(opcode: int) -> str:
    """The name of an opcode as the records show it (RFC 6455 §5.2, §11.8)."""
    name = _OPCODE_NAMES.get(opcode)
    return name if name is not None else f"reserved-0x{opcode:X}"


def unmask(data: bytes, mask_key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte masking key (RFC 6455 §5.3), with websockets' C helper."""
    return _apply_mask(data, mask_key) if data else b""


def _bit(byte: int, mask: int, doc: str) -> property:
    """A header bit of a :class:`WireFrame` (RFC 6455 §5.2), read from ``wire`` on demand."""
    return property(lambda frame: bool(frame.wire[byte] & mask), doc=doc)


@dataclass(frozen=True, slots=True, repr=False)
class WireFrame:
    """One WebSocket frame exactly as it crossed the wire (header + payload).

    Only the exact bytes and two lengths are stored; the header bits are read from
    ``wire`` on demand, which keeps the tap cheap at hundreds of thousands of frames
    per second.
    """

    wire: bytes
    header_len: int
    payload_len: int

    def __repr__(self) -> str:
        return (
            f"WireFrame({opcode_name(self.opcode)}, fin={self.fin}, masked={self.masked}, "
            f"header_len={self.header_len}, payload_len={self.payload_len})"
        )

    fin = _bit(0, 0x80, "FIN: the last frame of its message.")
    rsv1 = _bit(0, 0x40, "RSV1: a compressed message's first frame (permessage-deflate).")
    rsv2 = _bit(0, 0x20, "RSV2: reserved for extensions; no extension in use sets it.")
    rsv3 = _bit(0, 0x10, "RSV3: reserved for extensions; no extension in use sets it.")
    masked = _bit(1, 0x80, "MASK: set on every frame a client sends (RFC 6455 §5.3).")

    @property
    def opcode(self) -> int:
        return self.wire[0] & 0x0F

    @property
    def mask_key(self) -> bytes | None:
        """The 4-byte masking key (RFC 6455 §5.3), None for an unmasked frame."""
        if not self.wire[1] & 0x80:
            return None
        return self.wire[self.header_len - 4 : self.header_len]

    @property
    def payload(self) -> bytes:
        """The payload as on the wire (still masked and compressed)."""
        return self.wire[self.header_len :]

    def unmasked_payload(self) -> bytes:
        """The payload with the mask removed; still compressed when RSV1 is set."""
        key = self.mask_key
        payload = self.wire[self.header_len :]
        return payload if key is None else unmask(payload, key)

    def ranges(self) -> list[Range]:
        """Byte ranges of each header field and the payload inside ``wire``, outermost first."""
        hl = self.header_len
        length_end = hl - 4 if self.wire[1] & 0x80 else hl
        ranges: list[Range] = [
            ("header", 0, hl),
            ("fin", 0, 1),
            ("rsv1", 0, 1),
            ("rsv2", 0, 1),
            ("rsv3", 0, 1),
            ("opcode", 0, 1),
            ("mask", 1, 2),
            ("payload_len", 1, length_end),
        ]
        if self.wire[1] & 0x80:
            ranges.append(("mask_key", hl - 4, hl))
        ranges.append(("payload", hl, hl + self.payload_len))
        return ranges


#: The ranges every frame has at the same place; shared by all records, never mutated.
_FIXED_RANGES: tuple[list[Any], ...] = (
    ["fin", 0, 1],
    ["rsv1", 0, 1],
    ["rsv2", 0, 1],
    ["rsv3", 0, 1],
    ["opcode", 0, 1],
    ["mask", 1, 2],
)


def range_lists(header_len: int, masked: bool, payload_len: int) -> list[list[Any]]:
    """:meth:`WireFrame.ranges` as the JSON-ready ``[[name, start, end], ...]`` of records.

    The six one-byte fields are shared lists (records are read-only data), which keeps
    this cheap on the hot path of every frame.
    """
    hl = header_len
    if masked:
        return [
            ["header", 0, hl],
            *_FIXED_RANGES,
            ["payload_len", 1, hl - 4],
            ["mask_key", hl - 4, hl],
            ["payload", hl, hl + payload_len],
        ]
    return [
        ["header", 0, hl],
        *_FIXED_RANGES,
        ["payload_len", 1, hl],
        ["payload", hl, hl + payload_len],
    ]


#: (header_len, payload_len) for each second header byte with a 7-bit length (the
#: common case, answered without building a tuple per frame); None for 126 and 127.
_SHORT_HEADERS: tuple[tuple[int, int] | None, ...] = tuple(
    (6 if second > 0x7F else 2, second & 0x7F) if second & 0x7F < 126 else None
    for second in range(256)
)


def read_header(buf: bytes | bytearray, pos: int, end: int) -> tuple[int, int] | None:
    """(header_len, payload_len) of the frame at ``buf[pos:end]``, None until its length
    is known: the one reader of RFC 6455 §5.2 frame headers (tap, fast path, carry).

    The masking key may still be missing: callers check the frame's end against ``end``.
    A header length of 2 or 4 means an unmasked frame with a 7- or 16-bit length.

    A payload length of -1 means a 64-bit length with its most significant bit set,
    which RFC 6455 §5.2 forbids.
    """
    if end - pos < 2:
        return None
    second = buf[pos + 1]
    short = _SHORT_HEADERS[second]
    if short is not None:
        return short
    length = second & 0x7F
    header_len = 6 if second > 0x7F else 2
    if length == 126:
        if end - pos < 4:
            return None
        return header_len + 2, _unpack_u16(buf, pos + 2)[0]
    if end - pos < 10:
        return None
    (length,) = _unpack_u64(buf, pos + 2)
    return header_len + 8, -1 if length >> 63 else length


def plain_length_pending(data: bytes | bytearray) -> bool:
    """True when :func:`read_header` cannot tell yet whether ``data`` starts an
    unmasked frame with a 7- or 16-bit length: its length bytes are still missing."""
    return len(data) < 2 or (data[1] == 126 and len(data) < 4)


def plain_frame_size(data: bytes | bytearray) -> int | None:
    """The wire size of the frame ``data`` starts with when it is unmasked with a 7- or
    16-bit length, or None when its header is not whole yet or is not of that kind."""
    size = read_header(data, 0, len(data))
    if size is None or size[0] > 4:
        return None
    return size[0] + size[1]


def parse_frame(data: bytes) -> WireFrame | None:
    """Parse one complete frame that fills ``data`` exactly (e.g. one serialized write)."""
    size = read_header(data, 0, len(data))
    if size is None or size[1] < 0 or size[0] + size[1] != len(data):
        return None
    return WireFrame(bytes(data), size[0], size[1])


class WireFrameParser:
    """Cuts a byte stream into :class:`WireFrame` objects; keeps an incomplete one buffered.

    It never raises on peer data. A 64-bit length with its top bit set (RFC 6455 §5.2:
    "the most significant bit MUST be 0") sets :attr:`error` and parsing stops: the
    stream cannot be resynchronised after it; the bad header stays in :meth:`partial`.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skip = 0
        self.error: str | None = None

    @property
    def buffered(self) -> int:
        """Size of the incomplete frame kept until more bytes arrive."""
        return len(self._buf)

    def partial(self) -> bytes:
        """The bytes of the incomplete frame received so far."""
        return bytes(self._buf)

    def partial_size(self) -> int | None:
        """Total wire size of the incomplete frame once its header is known, else None."""
        size = read_header(self._buf, 0, len(self._buf))
        if size is None or size[1] < 0:
            return None
        return size[0] + size[1]

    def partial_header_whole(self) -> bool:
        """True once the incomplete frame's whole header (mask key included) is here."""
        size = read_header(self._buf, 0, len(self._buf))
        return size is not None and len(self._buf) >= size[0]

    def partial_header(self) -> bytes:
        """The header of the incomplete frame, as much of it as was received."""
        size = read_header(self._buf, 0, len(self._buf))
        return bytes(self._buf if size is None else self._buf[: size[0]])

    def drop_partial(self) -> int:
        """Forget the incomplete frame and skip the rest of its payload as it arrives.

        Used when a frame is too large to keep for display; returns how many bytes
        are still to be skipped. Frames after it are parsed as usual.
        """
        total = self.partial_size()
        dropped = len(self._buf)
        self._buf.clear()
        if total is not None:
            self._skip = total - dropped
        return self._skip

    def feed(self, data: bytes | bytearray | memoryview) -> list[WireFrame]:
        """Take bytes from the stream; return every frame they complete, in order."""
        if self.error is not None or not data:
            return []
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return []
            data = memoryview(data)[self._skip :]
            self._skip = 0
        buf = self._buf
        if buf:
            buf += data
            view: bytes | bytearray = buf
        else:
            view = bytes(data)
        frames: list[WireFrame] = []
        append = frames.append
        end = len(view)
        pos = 0
        while end - pos >= 2:
            size = read_header(view, pos, end)
            if size is None:
                break
            header_len, length = size
            if length < 0:
                end = pos + 10  # keep the bad header up to its length field
                self.error = (
                    "frame length has its most significant bit set (RFC 6455 §5.2); "
                    "the byte stream cannot be followed any further"
                )
                break
            stop = pos + header_len + length
            if stop > end:
                break
            append(WireFrame(bytes(view[pos:stop]), header_len, length))
            pos = stop
        if self.error is not None:
            self._buf = bytearray(view[pos:end])
        elif buf:
            del buf[:pos]
        elif pos < end:
            self._buf = bytearray(view[pos:])
        return frames
