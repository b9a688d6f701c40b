"""The server role's receive fast path (masked frames) records exactly what the library
path records, for any stream of client frames cut at any points."""

from __future__ import annotations

import zlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ws_server import ServerPair
from websockets.frames import Frame, Opcode

from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Record


@st.composite
def client_pieces(draw: st.DrawFn) -> bytes:
    """A client frame (masked, rarely not), fragmented, oversized, deflated or random."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(st.binary(min_size=1, max_size=12))
    mask = draw(st.integers(0, 9)) != 0
    if choice == 5:  # deflated whole messages (RFC 7692 §7.2.1)
        body = draw(st.one_of(st.text(max_size=60).map(str.encode), st.binary(max_size=120)))
        deflater = zlib.compressobj(wbits=-15)
        data = (deflater.compress(body) + deflater.flush(zlib.Z_SYNC_FLUSH))[:-4]
        wire = bytearray(Frame(Opcode.TEXT, data).serialize(mask=mask))
        wire[0] |= 0x40
        return bytes(wire)
    opcode = draw(st.sampled_from(list(Opcode)))
    if opcode >= 8:
        data = draw(st.binary(max_size=20))
        if opcode is Opcode.CLOSE:
            data = draw(st.sampled_from([b"", b"\x03\xe8", b"\x03\xe8ok", b"\x0f\xa0\xff"]))
        fin = True
    else:
        data = draw(st.one_of(st.binary(max_size=300), st.text(max_size=20).map(str.encode)))
        fin = draw(st.integers(0, 3)) != 0
    return Frame(opcode, data, fin).serialize(mask=mask)


def _run(
    stream: bytes, cuts: list[int], compression: bool, fast: bool
) -> tuple[list[Any], list[Any], ServerPair]:
    pair = ServerPair(SessionOptions(compression=compression, max_size=200))
    pair.server.fast_path = fast
    pair.handshake()
    pair.records()
    start = 0
    for point in [*sorted({c % (len(stream) + 1) for c in cuts}), len(stream)]:
        if point > start:
            pair.to_server(stream[start:point])
        start = point
    pair.eof_to_server()
    records: list[Record] = pair.records()
    inbound = [
        (r.kind, r.direction, r.wire, r.payload, dict(r.fields))
        for r in records
        if r.direction is not Direction.OUT
    ]
    outbound = [(r.kind, r.wire, r.fields.get("opcode")) for r in records
                if r.direction is Direction.OUT]  # fmt: skip
    return inbound, outbound, pair


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(client_pieces(), min_size=1, max_size=8),
    st.lists(st.integers(0, 10**4), max_size=4),
    st.booleans(),
)
def test_server_fast_path_records_exactly_what_the_library_path_records(
    parts: list[bytes], cuts: list[int], compression: bool
) -> None:
    stream = b"".join(parts)
    fast_in, fast_out, fast = _run(stream, cuts, compression, True)
    slow_in, slow_out, slow = _run(stream, cuts, compression, False)
    assert fast_in == slow_in
    assert fast_out == slow_out
    assert fast.server.take_messages() == slow.server.take_messages()
    assert fast.server.messages_in == slow.server.messages_in
    assert (fast.server.close_code, fast.server.failure) == (
        slow.server.close_code,
        slow.server.failure,
    )


@given(st.one_of(st.text(max_size=200).map(str.encode), st.binary(max_size=70_000)), st.booleans())
@settings(max_examples=60, deadline=None)
def test_a_message_framed_without_the_library_is_what_the_library_frames(
    data: bytes, as_text: bool
) -> None:
    try:
        text = data.decode("utf-8") if as_text else None
    except UnicodeDecodeError:
        text = None
    pairs = []
    for fast in (True, False):
        pair = ServerPair(SessionOptions(compression=False), client_compression=False)
        pair.handshake()
        pair.records()
        if fast:
            wire = pair.server.send_message(data, text is not None)
        elif text is not None:
            wire = pair.server.send_text(text)
        else:
            wire = pair.server.send_binary(data)
        (record,) = pair.records()
        pairs.append((wire, record.wire, record.payload, dict(record.fields)))
    assert pairs[0] == pairs[1]
