"""Raw frames: built exactly as described, checked against websockets' own parser, and
every deliberate violation named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import Close, Frame, Opcode
from websockets.streams import StreamReader

from inspector.protocols.rawframe import (
    LengthForm,
    RawFrame,
    Role,
    build,
    close_payload,
    header,
    violations,
)
from inspector.protocols.wireframes import WireFrameParser

KEY = b"\x37\xfa\x21\x3d"


def parse_as_server(data: bytes) -> Frame:
    """What a websockets server makes of ``data`` (a frame a client sent)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=True, max_size=1 << 20)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("the frame is incomplete")


@given(
    opcode=st.sampled_from([Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG]),
    payload=st.binary(max_size=70_000),
    key=st.binary(min_size=4, max_size=4),
)
def test_valid_frames_parse_back_as_websockets_reads_them(opcode, payload, key) -> None:
    if opcode in (Opcode.PING, Opcode.PONG):
        payload = payload[:125]
    if opcode is Opcode.TEXT:
        payload = payload.decode("utf-8", "replace").encode()
    frame = RawFrame(opcode=int(opcode), payload=payload, mask_key=key)
    assert violations(frame) == []
    parsed = parse_as_server(build(frame))
    assert (parsed.opcode, parsed.data, parsed.fin) == (opcode, payload, True)
    unmasked = RawFrame(opcode=int(opcode), payload=payload, masked=False)
    assert build(unmasked) == Frame(opcode, payload).serialize(mask=False, extensions=[])


def test_the_mask_key_and_bits_are_exactly_as_chosen() -> None:
    frame = RawFrame(opcode=0x2, payload=b"abc", fin=False, rsv2=True, mask_key=KEY)
    wire = build(frame)
    assert wire[0] == 0x22 and wire[1] == 0x83 and wire[2:6] == KEY
    (tapped,) = WireFrameParser().feed(wire)
    assert tapped.mask_key == KEY and tapped.unmasked_payload() == b"abc"
    assert not tapped.fin and tapped.rsv2 and not tapped.rsv1


def test_a_length_that_lies_is_written_as_it_is() -> None:
    longer = RawFrame(opcode=0x1, payload=b"hi", declared_length=10, masked=False)
    assert build(longer) == b"\x81\x0ahi"
    assert "the header says 10 payload bytes but 2 follow" in violations(longer, Role.SERVER)
    shorter = RawFrame(opcode=0x1, payload=b"hello", declared_length=1, masked=False)
    assert build(shorter) == b"\x81\x01hello"


def test_long_length_forms_and_their_violation() -> None:
    frame = RawFrame(opcode=0x2, payload=b"x", masked=False, length_form=LengthForm.BITS64)
    assert build(frame) == b"\x82\x7f" + (1).to_bytes(8, "big") + b"x"
    assert any("shortest form" in v for v in violations(frame, Role.SERVER))
    natural = RawFrame(opcode=0x2, payload=b"x" * 200, masked=False, length_form=LengthForm.BITS16)
    assert header(natural) == b"\x82\x7e\x00\xc8"
    assert violations(natural, Role.SERVER) == []
    with pytest.raises(ValueError, match="16-bit"):
        header(RawFrame(payload=b"", declared_length=70_000, length_form=LengthForm.BITS16))


def test_each_violation_is_named_and_websockets_rejects_the_frame() -> None:
    cases = [
        (RawFrame(opcode=0x3, mask_key=KEY), "opcode 0x3 is reserved"),
        (RawFrame(opcode=0x1, payload=b"a", rsv3=True, mask_key=KEY), "RSV3 is set"),
        (RawFrame(opcode=0x1, payload=b"a", masked=False), "must be masked"),
        (RawFrame(opcode=0x9, payload=b"p", fin=False, mask_key=KEY), "must not be fragmented"),
        (RawFrame(opcode=0x9, payload=b"p" * 126, mask_key=KEY), "at most 125 bytes"),
        (RawFrame(opcode=0x8, payload=close_payload(1005), mask_key=KEY), "1005 must not"),
        (RawFrame(opcode=0x8, payload=b"\x03", mask_key=KEY), "one byte"),
        (RawFrame(opcode=0x1, payload=b"\xff\xfe", mask_key=KEY), "must be UTF-8"),
    ]
    for frame, reason in cases:
        found = violations(frame)
        assert any(reason in line for line in found), (reason, found)
        with pytest.raises((ProtocolError, PayloadTooBig, UnicodeDecodeError)):
            parsed = parse_as_server(build(frame))
            parsed.check()
            if parsed.opcode is Opcode.TEXT:
                parsed.data.decode("utf-8")
            if parsed.opcode is Opcode.CLOSE:
                Close.parse(parsed.data)


def test_server_role_and_negotiated_compression() -> None:
    assert violations(RawFrame(payload=b"a", mask_key=KEY), Role.SERVER) == [
        "a server frame must not be masked (RFC 6455 §5.1)"
    ]
    compressed = RawFrame(opcode=0x1, payload=b"a", rsv1=True, mask_key=KEY)
    assert violations(compressed, extensions=True) == []
    assert violations(compressed) != []


def test_close_payload_takes_any_two_byte_code() -> None:
    assert close_payload(4000, b"bye") == b"\x0f\xa0bye"
    assert close_payload(0) == b"\x00\x00"
    assert close_payload(None) == b""
    with pytest.raises(ValueError, match="two bytes"):
        close_payload(70_000)
    with pytest.raises(ValueError, match="four bits"):
        header(RawFrame(opcode=16))
