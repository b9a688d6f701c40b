"""The receive fast path: whole plain frames at the start of a read, as record data.

A plain frame is a complete, unmasked text or binary frame with FIN set, within the size
limit, whose text is valid UTF-8 (RFC 6455 §5.2, §8.1), either uncompressed or
compressed as a whole message with the negotiated permessage-deflate (RFC 7692 §6).
For websockets such a frame only becomes a message event (after its own deflate decoder
inflates it, which is called here too), so a client connection records it from here
when the library waits at a frame boundary, at a fraction of the library's cost.

:func:`take_plain_frames` is a pure function over bytes: it changes nothing but the
deflate decoder's state, which the library would have changed the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import BINARY, TEXT, Frame, apply_mask

from inspector.protocols.wireframes import WireFrame, plain_length_pending, read_header
from inspector.protocols.wsfields import frame_fields, plain_frame_fields, shared_fields
from inspector.protocols.wslib import inflate
from inspector.protocols.wsruns import WS_FRAMES, WS_MASKED_FRAMES

#: The fast path keeps an unfinished frame of at most this many bytes itself; a larger
#: one goes to the library and the tap, which buffer it without copying.
CARRY_MAX = 1 << 16

#: Header lengths of masked frames with a 7- or 16-bit length.
_MASKED = (6, 8)

#: One frame record's data: (wire bytes, payload, fields).
Item = tuple[bytes, bytes, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class FastTake:
    """What :func:`take_plain_frames` found in one read."""

    #: The records' data of the plain frames, in order.
    items: list[Item]
    #: The messages they complete, as ("text"|"binary", payload); empty unless asked.
    messages: list[tuple[str, bytes]]
    #: Bytes of message payload in ``messages``.
    size: int
    #: Bytes of the read the frames took (``rest`` is the read after them).
    consumed: int
    #: The bytes after the plain frames.
    rest: bytes
    #: True when ``rest`` is a small unfinished plain frame to keep until the next read.
    carry: bool
    #: Whether the last frame taken was compressed (for a later continuation's record).
    last_compressed: bool
    #: Why a compressed frame could not be inflated or decoded: the library's parser
    #: would fail the connection for it; ``rest`` starts with that frame.
    failure: Exception | None
    #: How many frames were taken (``len(items)`` unless they are a run).
    count: int = 0
    #: As a run (``run`` asked, no compression): the frames' bytes back to back, and
    #: ``items`` is empty (inspector.protocols.wsruns makes their records).
    run: bytes | None = None
    #: The run's framing: unmasked frames (a client's read) or masked ones (a server's).
    framing: str = WS_FRAMES


def take_plain_frames(
    data: bytes,
    limit: int | None,
    deflate: PerMessageDeflate | None,
    keep: bool = True,
    run: bool = False,
    masked: bool = False,
) -> FastTake:
    """The whole plain frames at the start of ``data``, given the payload size limit and
    the idle deflate decoder (None without compression or mid-message); ``keep`` False
    leaves out the messages (each frame is one message: their count is ``count``);
    ``run`` True without compression gives the frames as one run instead of items.
    ``masked`` True (the server role) takes masked frames instead of unmasked ones, as a
    server must receive them (RFC 6455 §5.1), and unmasks their payload.

    Everything else (control frames, fragments, frames masked the wrong way, bad text)
    stops the scan: the rest goes to the library and the tap. When inflating fails the
    decoder has moved on, so the caller fails the connection as the library's parser would.
    """
    end = len(data)
    pos = 0
    items: list[Item] = []
    messages: list[tuple[str, bytes]] = []
    add_item = items.append
    add_message = messages.append
    size = 0
    compressed = last_compressed = False
    failure: Exception | None = None
    if run and deflate is None:
        return _take_run(data, limit, keep, masked)
    while end - pos >= 2:
        first = data[pos]
        if first == 0x81 or first == 0xC1:
            kind = "text"
        elif first == 0x82 or first == 0xC2:
            kind = "binary"
        else:
            break
        compressed = first > 0xC0
        if compressed and deflate is None:
            break  # RSV1 without the extension: the library's error to report
        found = _frame_at(data, pos, end, limit, masked)
        if found is None:
            break
        header_len, stop, payload = found
        length = stop - pos - header_len
        if compressed:
            assert deflate is not None
            try:
                opcode = TEXT if kind == "text" else BINARY
                payload = inflate(deflate, Frame(opcode, payload, True, True), limit)
            except Exception as exc:  # the library's parser catches them all too
                failure = exc
                break
        if kind == "text" and not payload.isascii():
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                if compressed:
                    failure = exc
                break
        if masked:  # the mask key differs per frame: fields of its own
            wire_frame = WireFrame(data[pos:stop], header_len, length)
            fields = frame_fields(wire_frame, payload, compressed, False)
        else:
            fields = shared_fields((first, header_len, length, compressed, False))
            if fields is None:
                fields = plain_frame_fields(first, header_len, length, compressed)
        last_compressed = compressed
        add_item((data[pos:stop], payload, fields))
        if keep:
            add_message((kind, payload))
            size += len(payload)
        pos = stop
    rest = data[pos:] if pos else data
    carry = failure is None and worth_carrying(rest, limit, deflate is not None, masked)
    return FastTake(items, messages, size, pos, rest, carry, last_compressed, failure, len(items))


def _take_run(data: bytes, limit: int | None, keep: bool, masked: bool) -> FastTake:
    """:func:`take_plain_frames` without compression, the frames kept as one run (masked
    ones with ``masked``: only their messages are unmasked, the run keeps the wire)."""
    end = len(data)
    pos = count = size = 0
    messages: list[tuple[str, bytes]] = []
    add_message = messages.append
    while end - pos >= 2:
        first = data[pos]
        if first != 0x81 and first != 0x82:
            break
        found = _frame_at(data, pos, end, limit, masked)
        if found is None:
            break
        _header_len, stop, payload = found
        length = len(payload)
        if first == 0x81:
            if not payload.isascii():
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError:
                    break
            if keep:
                add_message(("text", payload))
                size += length
        elif keep:
            add_message(("binary", payload))
            size += length
        count += 1
        pos = stop
    rest = data[pos:] if pos else data
    carry = worth_carrying(rest, limit, False, masked)
    wire = data[:pos] if pos < end else data
    framing = WS_MASKED_FRAMES if masked else WS_FRAMES
    return FastTake([], messages, size, pos, rest, carry, False, None, count, wire, framing)


def _frame_at(
    data: bytes, pos: int, end: int, limit: int | None, masked: bool
) -> tuple[int, int, bytes] | None:
    """(header length, end, payload unmasked) of the whole frame at ``pos`` when its
    header has a plain frame's shape (masked with ``masked``) and its length is within
    ``limit``; None stops the scan (masked the wrong way, a 64-bit length, too large, or
    not all here yet)."""
    header = read_header(data, pos, end)
    if header is None or (header[0] not in _MASKED if masked else header[0] > 4):
        return None
    header_len, length = header
    stop = pos + header_len + length
    if stop > end or (limit is not None and length > limit):
        return None
    start = pos + header_len
    if masked:
        return header_len, stop, apply_mask(data[start:stop], data[start - 4 : start])
    return header_len, stop, data[start:stop]


def worth_carrying(
    rest: bytes, limit: int | None, deflate: bool = False, masked: bool = False
) -> bool:
    """True when ``rest`` is the unfinished start of what may be a small plain frame
    (masked ones with ``masked``)."""
    have = len(rest)
    if not have or not (rest[0] in (0x81, 0x82) or (deflate and rest[0] in (0xC1, 0xC2))):
        return False
    header = read_header(rest, 0, have)
    if header is None:
        if masked:
            return have < 2 or (rest[1] == 0xFE and have < 4)
        return plain_length_pending(rest)
    header_len, length = header
    if header_len not in _MASKED if masked else header_len > 4:
        return False  # masked the wrong way, or a 64-bit length: the library's to handle
    return have < header_len + length <= CARRY_MAX and (limit is None or length <= limit)
