"""WebSocketConnection against websockets' ServerProtocol: the well-behaved paths.

Every test runs twice: each read delivered whole, and one byte at a time.
"""

from __future__ import annotations

import pytest
from websockets.frames import Opcode
from ws_harness import Pair, of_kind

from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Kind
from inspector.protocols.wireframes import parse_frame
from inspector.protocols.ws import WebSocketSendError


@pytest.fixture(params=[False, True], ids=["whole", "bytewise"])
def bytewise(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_handshake_is_recorded_raw_with_ordered_headers(bytewise: bool) -> None:
    options = SessionOptions(
        headers=(("X-Token", "abc"), ("User-Agent", "inspector-test"), ("X-Token", "def")),
        subprotocols=("chat", "superchat"),
        origin="http://origin.test",
    )
    pair = Pair(options, bytewise=bytewise, server_subprotocols=["chat"])
    pair.handshake()
    records = pair.records()
    request, response = of_kind(records, Kind.HANDSHAKE)
    assert request.direction is Direction.OUT
    assert request.wire == pair.written[0]
    assert request.wire.startswith(b"GET /chat?room=1 HTTP/1.1\r\n")
    assert request.fields["method"] == "GET"
    assert request.fields["target"] == "/chat?room=1"
    lines = request.wire.decode().split("\r\n")[1:-2]
    assert request.fields["headers"] == [line.split(": ", 1) for line in lines]
    names = [name for name, _ in request.fields["headers"]]
    assert names.count("X-Token") == 2
    assert ["Origin", "http://origin.test"] in request.fields["headers"]
    assert ["Sec-WebSocket-Protocol", "chat, superchat"] in request.fields["headers"]
    assert ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"] in (
        request.fields["headers"]
    )

    assert response.direction is Direction.IN
    assert response.wire.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert response.wire.endswith(b"\r\n\r\n")
    assert response.payload is None
    assert response.fields["status"] == 101
    assert response.fields["accepted"] is True
    assert response.fields["subprotocol"] == "chat"
    assert response.fields["extensions"] == ["permessage-deflate"]
    assert response.fields["duration_ns"] == response.t_ns - request.t_ns > 0
    lines = response.wire.decode().split("\r\n")[1:-2]
    assert response.fields["headers"] == [line.split(": ", 1) for line in lines]
    assert pair.client.open and pair.client.handshake_done
    assert pair.client.subprotocol == "chat"


def test_frames_in_the_same_read_as_the_101_response(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    pair.to_server(pair.client.start(pair.t_ns))
    request = pair.server_events.pop(0)
    pair.server.send_response(pair.server.accept(request))
    pair.server.send_text(b"first")
    pair.server.send_binary(b"\x00second")
    pair.flush_server()
    records = pair.records()
    kinds = [(r.kind, r.direction) for r in records]
    assert kinds == [
        (Kind.HANDSHAKE, Direction.OUT),
        (Kind.HANDSHAKE, Direction.IN),
        (Kind.FRAME, Direction.IN),
        (Kind.FRAME, Direction.IN),
    ]
    assert [r.payload for r in records[2:]] == [b"first", b"\x00second"]
    assert pair.client.take_messages() == [("text", b"first"), ("binary", b"\x00second")]
    assert pair.client.messages_in == 2


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_inbound_frames_carry_wire_details(bytewise: bool, compression: bool) -> None:
    options = SessionOptions(compression=compression)
    pair = Pair(options, bytewise=bytewise)
    pair.handshake()
    pair.records()
    text = b"abcdefgh" * 200
    pair.server.send_text(text)
    pair.flush_server()
    (record,) = pair.records()
    fields = record.fields
    assert record.payload == text
    assert fields["opcode"] == "text" and fields["opcode_value"] == 1
    assert fields["fin"] is True and fields["masked"] is False and fields["mask_key"] is None
    assert fields["compressed"] is compression and fields["rsv1"] is compression
    assert fields["automatic"] is False
    assert len(record.wire) == fields["header_len"] + fields["payload_len"]
    if compression:
        assert fields["payload_len"] < len(text) // 10
    else:
        assert fields["payload_len"] == len(text)
        assert record.wire[fields["header_len"] :] == text
    assert fields["ranges"][0] == ["header", 0, fields["header_len"]]
    assert fields["ranges"][-1] == ["payload", fields["header_len"], len(record.wire)]


def test_compression_off_offers_no_extension() -> None:
    pair = Pair(SessionOptions(compression=False))
    pair.handshake()
    request, response = of_kind(pair.records(), Kind.HANDSHAKE)
    assert b"Sec-WebSocket-Extensions" not in request.wire
    assert response.fields["extensions"] == []


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
def test_outbound_frames_are_recorded_exactly_as_written(compression: bool) -> None:
    pair = Pair(SessionOptions(compression=compression))
    pair.handshake()
    pair.records()
    sent = [
        pair.client.send_text("héllo " * 50),
        pair.client.send_binary(b"\x00\x01" * 40),
        pair.client.send_ping(b"are you there"),
        pair.client.send_pong(b"unsolicited"),
    ]
    for data in sent:
        pair.send(data)
    records = pair.records()
    assert [r.wire for r in records] == sent
    assert all(r.direction is Direction.OUT and r.kind is Kind.FRAME for r in records)
    assert [r.fields["opcode"] for r in records] == ["text", "binary", "ping", "pong"]
    assert [r.payload for r in records] == [
        ("héllo " * 50).encode(),
        b"\x00\x01" * 40,
        b"are you there",
        b"unsolicited",
    ]
    for record in records:
        assert record.fields["masked"] is True
        assert record.fields["automatic"] is False
        hl = record.fields["header_len"]
        assert bytes.fromhex(record.fields["mask_key"]) == record.wire[hl - 4 : hl]
    assert records[0].fields["compressed"] is compression
    if not compression:
        assert parse_frame(records[0].wire).unmasked_payload() == records[0].payload
    frames = pair.server_frames()
    assert [(f.opcode, f.data) for f in frames] == [
        (Opcode.TEXT, ("héllo " * 50).encode()),
        (Opcode.BINARY, b"\x00\x01" * 40),
        (Opcode.PING, b"are you there"),
        (Opcode.PONG, b"unsolicited"),
    ]


def test_fragmented_message_is_reassembled(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    euro = "€".encode()
    pair.server.send_text(b"price: " + euro[:1], fin=False)
    pair.server.send_continuation(euro[1:2], fin=False)
    pair.server.send_ping(b"mid")
    pair.server.send_continuation(euro[2:] + b" only", fin=True)
    pair.flush_server()
    records = [r for r in pair.records() if r.direction is Direction.IN]
    assert [r.fields["opcode"] for r in records] == ["text", "continuation", "ping", "continuation"]
    assert [r.fields["fin"] for r in records] == [False, False, True, True]
    assert [r.fields["compressed"] for r in records] == [True, True, False, True]
    assert records[0].fields["rsv1"] is True and records[1].fields["rsv1"] is False
    assert pair.client.take_messages() == [("text", "price: € only".encode())]
    assert pair.client.take_messages() == []
    assert pair.client.failure is None


def test_ping_gets_an_automatic_pong_at_the_same_time(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.server.send_ping(b"hello?")
    written = pair.flush_server()
    ping, pong = pair.records()
    assert (ping.direction, ping.fields["opcode"], ping.payload) == (
        Direction.IN,
        "ping",
        b"hello?",
    )
    assert (pong.direction, pong.fields["opcode"], pong.payload) == (
        Direction.OUT,
        "pong",
        b"hello?",
    )
    assert pong.fields["automatic"] is True and pong.automatic
    assert pong.wire == written
    assert pong.t_ns == ping.t_ns
    (frame,) = pair.server_frames()
    assert (frame.opcode, frame.data) == (Opcode.PONG, b"hello?")


def test_auto_pong_can_be_turned_off(bytewise: bool) -> None:
    pair = Pair(SessionOptions(auto_pong=False), bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.server.send_ping(b"hello?")
    assert pair.flush_server() == b""
    (ping,) = pair.records()
    assert ping.fields["opcode"] == "ping"
    assert pair.server_frames() == []
    pair.send(pair.client.send_pong(b"hello?"))
    (pong,) = pair.records()
    assert pong.fields["automatic"] is False
    assert [(f.opcode, f.data) for f in pair.server_frames()] == [(Opcode.PONG, b"hello?")]


def test_close_from_server_is_echoed_automatically(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.server.send_close(4000, "bye")
    echo = pair.flush_server()
    close_in, close_out = pair.records()
    assert close_in.fields["close_code"] == 4000 and close_in.fields["close_reason"] == "bye"
    assert close_out.fields["opcode"] == "close" and close_out.fields["automatic"] is True
    assert close_out.fields["close_code"] == 4000 and close_out.wire == echo
    assert pair.client.close_expected() and not pair.client.closed
    assert pair.server_out() == b""  # the server half-closes: EOF marker only
    assert pair.client.receive_eof(pair.t_ns + 1) == b""
    (closed,) = pair.records()
    assert closed.kind is Kind.CLOSED
    assert closed.fields["clean"] is True
    assert closed.fields["initiated_by"] == "server"
    assert (closed.fields["close_code"], closed.fields["close_reason"]) == (4000, "bye")
    assert pair.client.closed and pair.client.clean_close and pair.client.failure is None
    assert pair.client.eof_requested


def test_close_from_client_completes_the_handshake(bytewise: bool) -> None:
    pair = Pair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.send(pair.client.send_close(1000, "done"))
    assert pair.client.close_expected() and not pair.client.open
    pair.flush_server()
    pair.client.receive_eof(pair.t_ns + 5)
    close_out, close_in, closed = pair.records()
    assert close_out.fields["automatic"] is False and close_out.fields["close_code"] == 1000
    assert close_in.fields["close_code"] == 1000
    assert closed.fields["initiated_by"] == "client"
    assert closed.fields["clean"] is True
    assert closed.fields["message"] == "closed cleanly (1000 done)"
    assert closed.fields["duration_ns"] == closed.t_ns - 1_000
    assert pair.client.close_code == 1000 and pair.client.close_reason == "done"


def test_sending_when_not_open_is_one_clear_error() -> None:
    pair = Pair()
    with pytest.raises(WebSocketSendError, match="handshake is not complete"):
        pair.client.send_text("too early")
    pair.handshake()
    with pytest.raises(WebSocketSendError, match="125 bytes"):
        pair.client.send_ping(b"x" * 126)
    with pytest.raises(WebSocketSendError, match="lone surrogate"):
        pair.client.send_text("bad \udc80")
    with pytest.raises(WebSocketSendError, match="close code 1005"):
        pair.client.send_close(1005)
    with pytest.raises(WebSocketSendError, match="123 bytes"):
        pair.client.send_close(1000, "r" * 124)
    pair.send(pair.client.send_close())
    with pytest.raises(WebSocketSendError, match="connection is closing") as info:
        pair.client.send_binary(b"late")
    assert "\n" not in str(info.value)
    pair.send(pair.client.send_ping(b"still allowed while closing"))


def test_extra_header_with_line_break_is_refused() -> None:
    pair = Pair(SessionOptions(headers=(("X-Evil", "a\r\nInjected: 1"),)))
    with pytest.raises(WebSocketSendError, match="line break"):
        pair.client.start()


def test_frame_records_match_websockets_frames_one_by_one(bytewise: bool) -> None:
    pair = Pair(SessionOptions(compression=False), bytewise=bytewise)
    pair.handshake()
    pair.records()
    sizes = [0, 1, 125, 126, 65535, 65536, 70000]
    for size in sizes:
        pair.server.send_binary(bytes(range(256)) * (size // 256) + bytes(size % 256))
    pair.flush_server()
    records = pair.records()
    assert [len(r.payload or b"") for r in records] == sizes
    messages = pair.client.take_messages()
    assert [len(body) for _, body in messages] == sizes
    assert [r.fields["header_len"] for r in records] == [2, 2, 2, 4, 4, 10, 10]


def test_transport_ended_locally_is_the_failure() -> None:
    pair = Pair()
    pair.handshake()
    pair.records()
    pair.send(pair.client.send_close(1001, "leaving"))
    pair.client.receive_eof(pair.t_ns + 1, reason="no close frame from the server within 5 s")
    close_out, error, closed = pair.records()
    assert close_out.fields["close_code"] == 1001
    assert error.fields["message"] == "no close frame from the server within 5 s"
    assert closed.fields["clean"] is False and closed.fields["initiated_by"] == "client"
    assert pair.client.failure == "no close frame from the server within 5 s"
    assert pair.client.close_code == 1001


def test_transport_closed_locally_after_a_clean_close_stays_clean() -> None:
    pair = Pair()
    pair.handshake()
    pair.send(pair.client.send_close())
    pair.flush_server()
    pair.records()
    pair.client.receive_eof(pair.t_ns + 1, reason="closing timeout")
    (closed,) = pair.records()
    assert closed.fields["clean"] is True and pair.client.failure is None


def test_eof_before_the_request_was_sent() -> None:
    pair = Pair()
    pair.client.receive_eof(5)
    error, closed = pair.records()
    assert error.fields["phase"] == "handshake"
    assert closed.fields["message"] == "connection closed before the upgrade request was sent"
    assert pair.client.failure is not None and pair.client.closed


def test_compression_level_sets_how_hard_outgoing_messages_are_compressed() -> None:
    """Level 0 stores (the frame grows past the text); level 9 shrinks it; both decode."""
    text = "the same words again and again, " * 64
    sizes = {}
    for level in (0, 9):
        pair = Pair(SessionOptions(compression=True, compression_level=level))
        pair.handshake()
        pair.records()
        pair.send(pair.client.send_text(text))
        (record,) = pair.records()
        assert record.fields["compressed"] is True and record.payload == text.encode()
        assert [f.data for f in pair.server_frames()] == [text.encode()]
        sizes[level] = len(record.wire)
    assert sizes[0] > len(text) > 10 * sizes[9]
