"""The wire-frame tap against websockets' own serializer (RFC 6455 §5.2)."""

from __future__ import annotations

import dataclasses
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from inspector.protocols.wireframes import (
    WireFrameParser,
    opcode_name,
    parse_frame,
    plain_frame_size,
    plain_length_pending,
    read_header,
)

_PATTERN = bytes(range(256)) * 300  # 76,800 bytes, enough for 64-bit lengths


class _SetRsv1:
    """A stand-in extension that only sets RSV1, as permessage-deflate does."""

    def encode(self, frame: Frame) -> Frame:
        return dataclasses.replace(frame, rsv1=True)


def _data(size: int, seed: int) -> bytes:
    return _PATTERN[seed : seed + size]


@st.composite
def frames(draw: st.DrawFn) -> tuple[Frame, bool, bool]:
    """A frame to serialize, whether to mask it and whether to set RSV1."""
    opcode = draw(st.sampled_from(list(Opcode)))
    if opcode >= 8:
        size = draw(st.integers(0, 125))
    else:
        size = draw(
            st.one_of(st.integers(0, 125), st.integers(126, 65535), st.integers(65536, 70000))
        )
    data = _data(size, draw(st.integers(0, 255)))
    fin = True if opcode >= 8 else draw(st.booleans())
    rsv1 = opcode < 8 and draw(st.booleans())
    return Frame(opcode, data, fin), draw(st.booleans()), rsv1


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return pieces


@settings(max_examples=60, deadline=None)
@given(st.lists(frames(), min_size=1, max_size=6), st.lists(st.integers(0, 10**6), max_size=8))
def test_tap_reads_back_what_websockets_serializes(
    specs: list[tuple[Frame, bool, bool]], cuts: list[int]
) -> None:
    serialized = [
        frame.serialize(mask=mask, extensions=[_SetRsv1()] if rsv1 else None)  # type: ignore[list-item]
        for frame, mask, rsv1 in specs
    ]
    stream = b"".join(serialized)
    parser = WireFrameParser()
    parsed = []
    for piece in _split(stream, cuts):
        parsed.extend(parser.feed(piece))
    assert parser.error is None
    assert parser.buffered == 0
    assert [wf.wire for wf in parsed] == serialized
    for wf, (frame, mask, rsv1) in zip(parsed, specs, strict=True):
        assert wf.opcode == frame.opcode
        assert wf.fin is frame.fin
        assert (wf.rsv1, wf.rsv2, wf.rsv3) == (rsv1, False, False)
        assert wf.masked is mask
        assert (wf.mask_key is not None) is mask
        assert wf.unmasked_payload() == frame.data
        assert wf.header_len + wf.payload_len == len(wf.wire)
        size = len(frame.data)
        assert wf.header_len == (2 if size < 126 else 4 if size < 65536 else 10) + 4 * mask
        names = [name for name, _, _ in wf.ranges()]
        assert names[0] == "header" and names[-1] == "payload"
        assert ("mask_key" in names) is mask
        for _, start, end in wf.ranges():
            assert 0 <= start <= end <= len(wf.wire)
        assert parse_frame(wf.wire) == wf


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=6))
def test_tap_never_raises_and_accounts_for_every_byte(data: bytes, cuts: list[int]) -> None:
    parser = WireFrameParser()
    parsed = []
    for piece in _split(data, cuts):
        parsed.extend(parser.feed(piece))
    consumed = sum(len(wf.wire) for wf in parsed)
    assert b"".join(wf.wire for wf in parsed) == data[:consumed]
    if parser.error is None:
        assert consumed + parser.buffered == len(data)
    else:  # a length with its top bit set: kept up to the length field, nothing after
        assert parser.buffered == 10 and consumed + 10 <= len(data)
        assert parser.partial() == data[consumed : consumed + 10]


def test_ranges_of_a_masked_16_bit_frame() -> None:
    wire = Frame(Opcode.BINARY, b"x" * 300).serialize(mask=True)
    (wf,) = WireFrameParser().feed(wire)
    assert wf.ranges() == [
        ("header", 0, 8),
        ("fin", 0, 1),
        ("rsv1", 0, 1),
        ("rsv2", 0, 1),
        ("rsv3", 0, 1),
        ("opcode", 0, 1),
        ("mask", 1, 2),
        ("payload_len", 1, 4),
        ("mask_key", 4, 8),
        ("payload", 8, 308),
    ]
    assert wf.mask_key == wire[4:8]


def test_ranges_of_an_unmasked_64_bit_frame() -> None:
    wire = Frame(Opcode.TEXT, b"y" * 70000).serialize(mask=False)
    (wf,) = WireFrameParser().feed(wire)
    ranges = wf.ranges()
    assert ("payload_len", 1, 10) in ranges
    assert ranges[-1] == ("payload", 10, 70010)
    assert wf.mask_key is None
    assert wf.unmasked_payload() == b"y" * 70000


def test_incomplete_frame_stays_buffered_until_completed() -> None:
    wire = Frame(Opcode.TEXT, b"hello").serialize(mask=True)
    parser = WireFrameParser()
    assert parser.feed(wire[:4]) == []
    assert parser.buffered == 4
    assert parser.partial() == wire[:4]
    assert parser.partial_size() == len(wire)
    (wf,) = parser.feed(wire[4:] + wire[:1])
    assert wf.wire == wire
    assert parser.buffered == 1
    assert parser.partial_size() is None


def test_length_with_top_bit_set_stops_parsing_without_raising() -> None:
    good = Frame(Opcode.PING, b"p").serialize(mask=False)
    bad = bytes([0x82, 0x7F]) + struct.pack("!Q", 1 << 63)
    parser = WireFrameParser()
    (wf,) = parser.feed(good + bad + good)
    assert wf.wire == good
    assert parser.error is not None and "most significant bit" in parser.error
    assert parser.partial() == bad
    assert parser.feed(good) == []


def test_drop_partial_skips_the_rest_of_that_frame() -> None:
    big = Frame(Opcode.BINARY, b"z" * 1000).serialize(mask=False)
    after = Frame(Opcode.TEXT, b"after").serialize(mask=False)
    parser = WireFrameParser()
    assert parser.feed(big[:10]) == []
    assert parser.drop_partial() == len(big) - 10
    assert parser.buffered == 0
    assert parser.feed(big[10:500]) == []
    (wf,) = parser.feed(big[500:] + after)
    assert wf.wire == after


def test_opcode_names() -> None:
    assert [opcode_name(op) for op in (0, 1, 2, 8, 9, 10)] == [
        "continuation",
        "text",
        "binary",
        "close",
        "ping",
        "pong",
    ]
    assert opcode_name(3) == "reserved-0x3"
    assert opcode_name(0xB) == "reserved-0xB"


def test_parse_frame_rejects_anything_but_one_whole_frame() -> None:
    wire = Frame(Opcode.TEXT, b"abc").serialize(mask=False)
    assert parse_frame(wire) is not None
    assert parse_frame(wire + b"x") is None
    assert parse_frame(wire[:-1]) is None
    assert parse_frame(b"") is None


@settings(max_examples=60, deadline=None)
@given(frames())
def test_the_one_header_reader_knows_a_frame_from_any_prefix(
    spec: tuple[Frame, bool, bool],
) -> None:
    """read_header (used by the tap, the fast path and its carry) gives the lengths as
    soon as they are on the wire, and plain_frame_size only for unmasked 7/16-bit ones."""
    frame, mask, _rsv1 = spec
    wire = frame.serialize(mask=mask)
    size = len(frame.data)
    header_len = (2 if size < 126 else 4 if size < 65536 else 10) + 4 * mask
    length_end = header_len - 4 * mask
    for cut in range(min(len(wire), header_len) + 1):
        expected = (header_len, size) if cut >= length_end else None
        assert read_header(wire[:cut], 0, cut) == expected
        assert read_header(b"xx" + wire[:cut], 2, cut + 2) == expected
        if cut < length_end:
            pending = cut < 2 or (not mask and 126 <= size < 65536)
            assert plain_length_pending(wire[:cut]) is pending
    plain = not mask and size < 65536
    assert plain_frame_size(wire) == (len(wire) if plain else None)


def test_the_header_reader_flags_a_64_bit_length_with_its_top_bit_set() -> None:
    header = b"\x82\x7f" + struct.pack("!Q", 1 << 63)
    assert read_header(header, 0, len(header)) == (10, -1)
    assert plain_frame_size(header) is None
