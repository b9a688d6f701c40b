"""WebSocketConnection against a misbehaving server: refusals and protocol violations.

Each violation must be recorded with the offending bytes, fail the connection with
the close code RFC 6455 prescribes, and never raise. Every input is also fed one byte
at a time.
"""

from __future__ import annotations

import struct

import pytest
from websockets.frames import Frame, Opcode
from ws_harness import Pair, of_kind

from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Kind, Record
from inspector.protocols.wireframes import parse_frame


@pytest.fixture(params=[False, True], ids=["whole", "bytewise"])
def bytewise(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _open(bytewise: bool, **options: object) -> Pair:
    pair = Pair(SessionOptions(**options), bytewise=bytewise)  # type: ignore[arg-type]
    pair.handshake()
    pair.records()
    return pair


def _server_frame(opcode: int, data: bytes, *, fin: bool = True, first: int | None = None) -> bytes:
    """An unmasked frame as a server writes it, with any first byte we like."""
    head = first if first is not None else (0x80 if fin else 0) | opcode
    assert len(data) < 126
    return bytes([head, len(data)]) + data


def _assert_failed(pair: Pair, records: list[Record], offending: bytes, code: int) -> str:
    """The violation is recorded (frame + error, with bytes) and a close frame goes out."""
    errors = of_kind(records, Kind.ERROR)
    assert len(errors) == 1
    error = errors[0]
    assert error.direction is Direction.IN
    assert error.wire == offending
    assert error.fields["close_code"] == code
    message = error.fields["message"]
    assert "\n" not in message and message.startswith("protocol violation by the server")
    closes = [r for r in of_kind(records, Kind.FRAME, Direction.OUT) if r.automatic]
    assert [r.fields["close_code"] for r in closes] == [code]
    sent = [f for f in pair.server_frames() if f.opcode is Opcode.CLOSE]
    assert len(sent) == 1 and struct.unpack("!H", sent[0].data[:2])[0] == code
    assert pair.client.failure == message
    assert not pair.client.open and pair.client.close_expected()
    pair.client.receive_eof(pair.t_ns + 1)
    (closed,) = pair.records()
    assert closed.kind is Kind.CLOSED and closed.fields["clean"] is False
    assert closed.fields["message"] == message
    return message


def _rejected_frame(records: list[Record], offending: bytes) -> Record:
    (frame,) = [r for r in of_kind(records, Kind.FRAME, Direction.IN) if "error" in r.fields]
    assert frame.wire == offending
    return frame


def test_masked_server_frame(bytewise: bool) -> None:
    pair = _open(bytewise)
    bad = Frame(Opcode.TEXT, b"masked!").serialize(mask=True)
    pair.to_client(bad)
    records = pair.records()
    frame = _rejected_frame(records, bad)
    assert frame.fields["masked"] is True and frame.payload == b"masked!"
    assert frame.fields["error"] == "incorrect masking"
    _assert_failed(pair, records, bad, 1002)


def test_reserved_opcode(bytewise: bool) -> None:
    pair = _open(bytewise)
    bad = _server_frame(0x3, b"what")
    pair.to_client(_server_frame(0x1, b"ok") + bad)
    records = pair.records()
    assert records[0].payload == b"ok" and "error" not in records[0].fields
    frame = _rejected_frame(records, bad)
    assert frame.fields["opcode"] == "reserved-0x3" and frame.fields["opcode_value"] == 3
    assert "opcode" in _assert_failed(pair, records, bad, 1002)


@pytest.mark.parametrize("first", [0xA1, 0x91], ids=["rsv2", "rsv3"])
def test_reserved_bits(bytewise: bool, first: int) -> None:
    pair = _open(bytewise)
    bad = _server_frame(0x1, b"hi", first=first)
    pair.to_client(bad)
    records = pair.records()
    _rejected_frame(records, bad)
    assert "reserved bits" in _assert_failed(pair, records, bad, 1002)


def test_rsv1_without_negotiated_compression(bytewise: bool) -> None:
    pair = _open(bytewise, compression=False)
    bad = _server_frame(0x1, b"hi", first=0xC1)
    pair.to_client(bad)
    records = pair.records()
    frame = _rejected_frame(records, bad)
    assert frame.fields["rsv1"] is True
    assert "reserved bits" in _assert_failed(pair, records, bad, 1002)


def test_control_frame_too_long(bytewise: bool) -> None:
    pair = _open(bytewise)
    bad = bytes([0x89, 126]) + struct.pack("!H", 200) + b"p" * 200
    pair.to_client(bad)
    records = pair.records()
    _rejected_frame(records, bad)
    assert "control frame too long" in _assert_failed(pair, records, bad, 1002)


def test_invalid_utf8_split_across_fragments(bytewise: bool) -> None:
    pair = _open(bytewise, compression=False)
    first = _server_frame(0x1, b"ok \xe2\x82", fin=False)  # valid so far: a split "€"
    bad = _server_frame(0x0, b"\x28 not a continuation byte")
    pair.to_client(first)
    assert pair.client.failure is None
    pair.to_client(bad)
    records = pair.records()
    assert records[0].wire == first and "error" not in records[0].fields
    frame = _rejected_frame(records, bad)
    assert "invalid" in frame.fields["error"]
    _assert_failed(pair, records, bad, 1007)
    assert pair.client.take_messages() == []


def test_invalid_utf8_in_a_single_text_frame(bytewise: bool) -> None:
    pair = _open(bytewise, compression=False)
    bad = _server_frame(0x1, b"\xff\xfe")
    pair.to_client(bad)
    records = pair.records()
    _rejected_frame(records, bad)
    _assert_failed(pair, records, bad, 1007)


def test_invalid_utf8_in_close_reason(bytewise: bool) -> None:
    pair = _open(bytewise)
    bad = _server_frame(0x8, struct.pack("!H", 1000) + b"\xc3\x28")
    pair.to_client(bad)
    records = pair.records()
    frame = _rejected_frame(records, bad)
    assert frame.fields["close_code"] == 1000
    _assert_failed(pair, records, bad, 1007)


def test_binary_payload_is_not_checked_for_utf8(bytewise: bool) -> None:
    pair = _open(bytewise, compression=False)
    pair.to_client(_server_frame(0x2, b"\xff\xfe", fin=False) + _server_frame(0x0, b"\xc3"))
    assert pair.client.failure is None
    assert pair.client.take_messages() == [("binary", b"\xff\xfe\xc3")]


def test_oversized_message_on_the_wire(bytewise: bool) -> None:
    pair = _open(bytewise, compression=False, max_size=100)
    bad = bytes([0x82, 126]) + struct.pack("!H", 200) + b"b" * 200
    pair.to_client(bad)
    records = pair.records()
    frame = _rejected_frame(records, bad)
    assert frame.fields["payload_len"] == 200
    assert "exceeds limit" in frame.fields["error"]
    _assert_failed(pair, records, bad, 1009)


def test_oversized_message_after_decompression(bytewise: bool) -> None:
    pair = _open(bytewise, max_size=1000)
    pair.server.send_binary(b"\x00" * 50_000)
    bad = pair.server_out()
    pair.to_client(bad)
    records = pair.records()
    frame = _rejected_frame(records, bad)
    assert frame.fields["compressed"] is True and frame.fields["payload_len"] < 1000
    _assert_failed(pair, records, bad, 1009)


def test_oversized_fragmented_message(bytewise: bool) -> None:
    pair = _open(bytewise, compression=False, max_size=100)
    first = _server_frame(0x2, b"a" * 80, fin=False)
    bad = _server_frame(0x0, b"a" * 80)
    pair.to_client(first + bad)
    records = pair.records()
    _rejected_frame(records, bad)
    _assert_failed(pair, records, bad, 1009)


def test_huge_declared_length_keeps_only_the_header(bytewise: bool) -> None:
    pair = _open(bytewise, compression=False)
    header = bytes([0x82, 127]) + struct.pack("!Q", 1 << 40)
    pair.to_client(header + b"x" * 50)
    records = pair.records()
    assert of_kind(records, Kind.FRAME, Direction.IN) == []
    _assert_failed(pair, records, header, 1009)


@pytest.mark.parametrize("max_size", [None, 1 << 20], ids=["unlimited", "limited"])
def test_length_with_top_bit_set(bytewise: bool, max_size: int | None) -> None:
    pair = _open(bytewise, compression=False, max_size=max_size)
    header = bytes([0x82, 127]) + struct.pack("!Q", (1 << 63) + 5)
    pair.to_client(header + b"tail")
    records = pair.records()
    (error,) = of_kind(records, Kind.ERROR)
    assert error.wire == header
    assert pair.client.failure is not None
    assert not pair.client.open


def test_frames_after_the_close_frame_are_shown_as_ignored(bytewise: bool) -> None:
    pair = _open(bytewise)
    close = _server_frame(0x8, struct.pack("!H", 1000))
    late = _server_frame(0x1, b"late")
    pair.to_client(close + late)
    records = pair.records()
    close_in, late_in = of_kind(records, Kind.FRAME, Direction.IN)
    (echo,) = of_kind(records, Kind.FRAME, Direction.OUT)
    assert close_in.fields["opcode"] == "close" and "error" not in close_in.fields
    assert echo.automatic
    assert late_in.wire == late and "after the close frame" in late_in.fields["error"]
    assert pair.client.failure is None
    assert pair.client.take_messages() == []


def test_frames_after_a_violation_are_shown_as_ignored(bytewise: bool) -> None:
    pair = _open(bytewise)
    bad = _server_frame(0x3, b"")
    after = _server_frame(0x8, struct.pack("!H", 1002))
    pair.to_client(bad + after)
    records = pair.records()
    frames = of_kind(records, Kind.FRAME, Direction.IN)
    assert [f.wire for f in frames] == [bad, after]
    assert "already failed" in frames[1].fields["error"]


def test_server_closing_without_close_frame_is_abnormal(bytewise: bool) -> None:
    pair = _open(bytewise)
    pair.to_client(_server_frame(0x1, b"bye-ish"))
    pair.client.receive_eof(pair.t_ns + 1)
    records = pair.records()
    error, closed = records[-2:]
    assert error.kind is Kind.ERROR and error.fields["close_code"] == 1006
    assert closed.kind is Kind.CLOSED
    assert closed.fields["clean"] is False and closed.fields["close_code"] == 1006
    assert closed.fields["initiated_by"] == "none"
    assert pair.client.failure is not None and "closing handshake" in pair.client.failure
    assert pair.client.closed and not pair.client.clean_close


def test_eof_in_the_middle_of_a_frame_records_the_partial_bytes(bytewise: bool) -> None:
    pair = _open(bytewise)
    partial = bytes([0x82, 10]) + b"abc"
    pair.to_client(partial)
    pair.client.receive_eof(pair.t_ns + 1)
    records = pair.records()
    (error,) = of_kind(records, Kind.ERROR)
    assert error.wire == partial and "middle of a frame" in error.fields["message"]
    assert records[-1].kind is Kind.CLOSED
    assert pair.client.failure == error.fields["message"]


# -- the opening handshake ---------------------------------------------------------


def _start(pair: Pair) -> None:
    pair.to_server(pair.client.start(pair.t_ns))
    pair.records()


def test_refused_upgrade_with_a_body(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    _start(pair)
    request = pair.server_events.pop(0)
    response = pair.server.reject(403, "go away\n")
    pair.server.send_response(response)
    raw = pair.server_out()
    assert request is not None
    assert pair.to_client(raw) == b""
    records = pair.records()
    handshake, error = records
    assert handshake.kind is Kind.HANDSHAKE and handshake.direction is Direction.IN
    assert handshake.wire == raw and handshake.payload == b"go away\n"
    assert handshake.fields["status"] == 403 and handshake.fields["accepted"] is False
    assert ["Content-Length", "8"] in handshake.fields["headers"]
    assert error.kind is Kind.ERROR
    assert error.fields["message"] == "server refused the upgrade: HTTP 403 Forbidden"
    assert pair.client.failure == error.fields["message"]
    assert pair.client.eof_requested and pair.client.close_expected()
    assert not pair.client.open and not pair.client.handshake_done
    pair.client.receive_eof(pair.t_ns + 1)
    (closed,) = pair.records()
    assert closed.kind is Kind.CLOSED and closed.fields["message"] == pair.client.failure


def test_refused_upgrade_with_body_until_eof(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    _start(pair)
    raw = b"HTTP/1.1 500 Oops\r\nServer: hostile\r\n\r\nstack trace here"
    pair.to_client(raw)
    assert pair.records() == []  # the body ends only at EOF
    pair.client.receive_eof(pair.t_ns + 1)
    handshake, error, closed = pair.records()
    assert handshake.wire == raw and handshake.payload == b"stack trace here"
    assert error.fields["message"] == "server refused the upgrade: HTTP 500 Oops"
    assert closed.kind is Kind.CLOSED


def test_answer_that_is_not_http(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    _start(pair)
    raw = b"SSH-2.0-OpenSSH_9.6\r\n"
    pair.to_client(raw)
    (error,) = pair.records()
    assert error.direction is Direction.IN and error.wire == raw
    assert error.fields["message"].startswith("server's answer is not a valid HTTP response")
    assert error.fields["phase"] == "handshake"
    assert pair.client.failure == error.fields["message"]


def test_bad_accept_key(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    _start(pair)
    raw = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n"
    )
    pair.to_client(raw)
    handshake, error = pair.records()
    assert handshake.fields["status"] == 101 and handshake.fields["accepted"] is False
    assert "Sec-WebSocket-Accept" in error.fields["message"]
    assert not pair.client.open


def test_server_closing_before_answering() -> None:
    pair = Pair()
    _start(pair)
    pair.client.receive_eof(pair.t_ns + 1)
    error, closed = pair.records()
    assert error.fields["message"] == "server closed the connection before answering the upgrade"
    assert closed.kind is Kind.CLOSED


def test_automatic_frames_parse_back() -> None:
    pair = _open(False)
    pair.server.send_ping(b"1")
    out = pair.flush_server()
    wf = parse_frame(out)
    assert wf is not None and wf.masked and wf.unmasked_payload() == b"1"


def test_failure_is_known_at_the_header_and_recorded_when_the_frame_is_whole() -> None:
    pair = _open(False)
    bad = Frame(Opcode.BINARY, b"x" * 50).serialize(mask=True)
    pair.to_client(bad[:3])
    assert pair.client.failure is not None and "masked frame" in pair.client.failure
    early = pair.records()
    assert of_kind(early, Kind.ERROR) == []
    assert [r.fields["close_code"] for r in of_kind(early, Kind.FRAME, Direction.OUT)] == [1002]
    pair.to_client(bad[3:])
    records = pair.records()
    assert [r.kind for r in records] == [Kind.FRAME, Kind.ERROR]
    assert records[0].wire == bad and records[1].wire == bad
