"""Hostile byte streams after the handshake: never an exception, same records however cut."""

from __future__ import annotations

import zlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from ws_harness import Pair

from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Kind, Record


@st.composite
def pieces(draw: st.DrawFn) -> bytes:
    """A well-formed frame (maybe masked, fragmented or oversized) or random bytes."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(st.binary(min_size=1, max_size=12))
    if choice == 5 and draw(st.booleans()):  # deflated whole messages (RFC 7692 §7.2.1)
        texts = st.text(max_size=60).map(str.encode)
        bodies = draw(st.lists(st.one_of(texts, st.binary(max_size=120)), min_size=1, max_size=4))
        frames = []
        for i, body in enumerate(bodies):
            deflater = zlib.compressobj(wbits=-15)
            data = (deflater.compress(body) + deflater.flush(zlib.Z_SYNC_FLUSH))[:-4]
            wire = bytearray(Frame(Opcode.TEXT if i % 2 else Opcode.BINARY, data).serialize(
                mask=False))  # fmt: skip
            wire[0] |= 0x40
            frames.append(bytes(wire))
        return b"".join(frames)
    if choice >= 4:  # a run of plain frames: the receive fast path's case
        count = draw(st.integers(1, 5))
        texts = st.text(max_size=30).map(str.encode)
        payloads = draw(st.lists(st.one_of(texts, st.binary(max_size=200)), min_size=count))
        return b"".join(
            Frame(Opcode.TEXT if i % 2 else Opcode.BINARY, data).serialize(mask=False)
            for i, data in enumerate(payloads)
        )
    opcode = draw(st.sampled_from(list(Opcode)))
    if opcode >= 8:
        data = draw(st.binary(max_size=20))
        if opcode is Opcode.CLOSE:
            data = draw(st.sampled_from([b"", b"\x03\xe8", b"\x03\xe8ok", b"\x0f\xa0\xff"]))
        fin = True
    else:
        data = draw(st.one_of(st.binary(max_size=40), st.text(max_size=20).map(str.encode)))
        fin = draw(st.booleans())
    mask = draw(st.integers(0, 9)) == 0
    wire = bytearray(Frame(opcode, data, fin).serialize(mask=mask))
    if draw(st.integers(0, 4)) == 0:
        wire[0] |= 0x40  # RSV1: "compressed", whether or not deflate was negotiated
    return bytes(wire)


def _run(
    stream: bytes, cuts: list[int], bytewise: bool, compression: bool, fast: bool = True
) -> tuple[list[Any], list[Any], Pair]:
    pair = Pair(SessionOptions(compression=compression, max_size=64), bytewise=bytewise)
    pair.client.fast_path = fast
    pair.handshake()
    pair.records()
    points = sorted({c % (len(stream) + 1) for c in cuts})
    start = 0
    for point in [*points, len(stream)]:
        if point > start:
            pair.to_client(stream[start:point])
        start = point
    pair.client.receive_eof(pair.t_ns + 1)
    records: list[Record] = pair.records()
    inbound = [
        (r.kind, r.direction, r.wire, r.payload, dict(r.fields))
        for r in records
        if r.direction is not Direction.OUT
    ]
    outbound = [
        (r.kind, r.payload, r.fields["opcode"], r.fields["automatic"])
        for r in records
        if r.direction is Direction.OUT
    ]
    return inbound, outbound, pair


#: Streams of frames (well-formed, hostile or random bytes), cut at random points.
STREAMS = (
    st.lists(pieces(), min_size=1, max_size=8),
    st.lists(st.integers(0, 10**4), max_size=4),
    st.booleans(),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(*STREAMS)
def test_any_stream_is_recorded_the_same_whole_or_byte_by_byte(
    parts: list[bytes], cuts: list[int], compression: bool
) -> None:
    stream = b"".join(parts)
    whole_in, whole_out, whole = _run(stream, cuts, False, compression)
    bytes_in, bytes_out, _ = _run(stream, cuts, True, compression)
    assert whole_in == bytes_in
    assert whole_out == bytes_out
    assert whole.client.closed
    frames = [r for r in whole_in if r[0] is Kind.FRAME]
    consumed = b"".join(wire for _, _, wire, _, _ in frames)
    assert stream.startswith(consumed)
    closed = whole_in[-1]
    assert closed[0] is Kind.CLOSED
    if whole.client.failure is not None:
        assert closed[4]["clean"] is False
        assert any(r[0] is Kind.ERROR for r in whole_in)


@SETTINGS
@given(*STREAMS)
def test_fast_path_records_exactly_what_the_library_path_records(
    parts: list[bytes], cuts: list[int], compression: bool
) -> None:
    """Plain frames recorded without the library must be indistinguishable."""
    stream = b"".join(parts)
    fast_in, fast_out, fast = _run(stream, cuts, False, compression)
    slow_in, slow_out, slow = _run(stream, cuts, False, compression, fast=False)
    assert fast_in == slow_in
    assert fast_out == slow_out
    assert fast.client.take_messages() == slow.client.take_messages()
    assert fast.client.messages_in == slow.client.messages_in
    assert (fast.client.close_code, fast.client.failure) == (
        slow.client.close_code,
        slow.client.failure,
    )
