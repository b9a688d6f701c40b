"""WebSocketConnection in the server role, driven by websockets' ClientProtocol in memory.

The same engine as the client role: it reads the upgrade request, answers it, records
masked inbound frames with their mask key and unmasked payload, and sends unmasked
frames. Every test runs twice: each read delivered whole, and one byte at a time.
"""

from __future__ import annotations

from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.uri import parse_uri

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record
from inspector.net.session import record_closed
from inspector.protocols.ending import Initiator
from inspector.protocols.ws import WebSocketConnection
from inspector.protocols.wshandshake import Refusal
from inspector.protocols.wsstate import Phase, Role


class ServerPair:
    """Our server-side connection wired to a real websockets client protocol object."""

    def __init__(
        self,
        options: SessionOptions | None = None,
        *,
        bytewise: bool = False,
        client_subprotocols: tuple[str, ...] = ("chat",),
        client_compression: bool = True,
        refuse: Refusal | None = None,
    ) -> None:
        self.recorder = Recorder()
        self.requests: list[Request] = []

        def answer(request: Request) -> Refusal | None:
            self.requests.append(request)
            return refuse

        self.server = WebSocketConnection(
            None,
            options or SessionOptions(subprotocols=("chat",)),
            self.recorder,
            role=Role.SERVER,
            answer=answer,
        )
        self.client = ClientProtocol(
            parse_uri("ws://127.0.0.1:9/feed?x=1"),
            extensions=[ClientPerMessageDeflateFactory()] if client_compression else None,
            subprotocols=list(client_subprotocols),  # type: ignore[arg-type]
            max_size=None,
        )
        self.bytewise = bytewise
        self.t_ns = 1_000
        self.client_events: list[Any] = []
        self._closed_written = False

    def to_server(self, data: bytes) -> bytes:
        """Feed bytes to the server connection (whole or byte by byte); deliver its answer."""
        self.t_ns += 1_000
        out = b""
        if self.bytewise:
            for i in range(len(data)):
                out += self.server.receive_data(data[i : i + 1], self.t_ns)
        else:
            out = self.server.receive_data(data, self.t_ns)
        self.to_client(out)
        return out

    def to_client(self, data: bytes) -> None:
        if data:
            self.client.receive_data(data)
            self.client_events.extend(self.client.events_received())

    def flush_client(self) -> bytes:
        """Send what the client queued to the server."""
        data = b"".join(self.client.data_to_send())
        return self.to_server(data) if data else b""

    def handshake(self) -> None:
        self.client.send_request(self.client.connect())
        self.flush_client()

    def eof_to_server(self) -> None:
        self.to_client(self.server.receive_eof(self.t_ns + 1))

    def records(self) -> list[Record]:
        ending = self.server.ending
        if ending is not None and not self._closed_written:
            self._closed_written = True
            record_closed(self.recorder, ending, self.t_ns, 0)
        return self.recorder.drain()

    def client_frames(self) -> list[Frame]:
        frames = [e for e in self.client_events if isinstance(e, Frame)]
        self.client_events = [e for e in self.client_events if not isinstance(e, Frame)]
        return frames


@pytest.fixture(params=[False, True], ids=["whole", "bytewise"])
def bytewise(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_upgrade_is_answered_and_both_sides_are_recorded(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise, client_subprotocols=("superchat", "chat"))
    pair.handshake()
    request, response = pair.records()
    assert (request.kind, request.direction) == (Kind.HANDSHAKE, Direction.IN)
    assert request.wire.startswith(b"GET /feed?x=1 HTTP/1.1\r\n")
    assert request.wire.endswith(b"\r\n\r\n")
    assert request.fields["target"] == "/feed?x=1"
    assert ["Sec-WebSocket-Protocol", "superchat, chat"] in request.fields["headers"]
    assert (response.kind, response.direction) == (Kind.HANDSHAKE, Direction.OUT)
    assert response.wire.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert response.fields["status"] == 101 and response.fields["accepted"] is True
    assert response.fields["subprotocol"] == "chat"
    assert response.fields["extensions"] == ["permessage-deflate"]
    assert ["Sec-WebSocket-Protocol", "chat"] in response.fields["headers"]
    (answer,) = pair.client_events
    assert isinstance(answer, Response) and answer.status_code == 101
    assert pair.client.state is State.OPEN and pair.client.subprotocol == "chat"
    assert pair.server.handshake_done and pair.server.open
    assert pair.server.phase is Phase.OPEN and pair.server.role is Role.SERVER
    assert [r.path for r in pair.requests] == ["/feed?x=1"]


def test_inbound_frames_are_masked_and_recorded_unmasked_and_inflated(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    text = "hello, hello, hello, hello " * 8
    pair.client.send_text(text.encode())
    pair.client.send_binary(b"\x00\x01\x02")
    pair.flush_client()
    first, second = pair.records()
    assert first.kind is Kind.FRAME and first.direction is Direction.IN
    assert first.fields["masked"] is True and first.fields["compressed"] is True
    hl = first.fields["header_len"]
    assert first.fields["mask_key"] == first.wire[hl - 4 : hl].hex()
    assert ["mask_key", hl - 4, hl] in first.fields["ranges"]
    assert first.payload == text.encode() and len(first.wire) < len(text)
    assert second.fields["opcode"] == "binary" and second.payload == b"\x00\x01\x02"
    assert pair.server.take_messages() == [("text", text.encode()), ("binary", b"\x00\x01\x02")]
    assert pair.server.messages_in == 2


def test_outbound_frames_are_unmasked(bytewise: bool) -> None:
    pair = ServerPair(SessionOptions(compression=False), bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.to_client(pair.server.send_text("to the client"))
    (record,) = pair.records()
    assert record.direction is Direction.OUT and record.fields["masked"] is False
    assert record.fields["mask_key"] is None and record.fields["automatic"] is False
    assert record.wire == b"\x81\x0d" + b"to the client"
    assert [(f.opcode, f.data) for f in pair.client_frames()] == [(Opcode.TEXT, b"to the client")]


def test_a_ping_from_the_client_gets_an_automatic_unmasked_pong(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.client.send_ping(b"are you there")
    pong_wire = pair.flush_client()
    ping, pong = pair.records()
    assert ping.fields["opcode"] == "ping" and ping.fields["masked"] is True
    assert ping.payload == b"are you there"
    assert pong.direction is Direction.OUT and pong.fields["automatic"] is True
    assert pong.fields["masked"] is False and pong.wire == pong_wire
    assert [(f.opcode, f.data) for f in pair.client_frames()] == [(Opcode.PONG, b"are you there")]


def test_close_from_the_client_is_echoed_and_ends_cleanly(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.client.send_close(1001, "going away")
    pair.flush_client()
    close_in, echo = pair.records()
    assert close_in.fields["close_code"] == 1001 and close_in.fields["masked"] is True
    assert echo.fields["automatic"] is True and echo.fields["close_code"] == 1001
    assert pair.server.eof_requested  # RFC 6455 §7.1.1: the server closes TCP first
    assert pair.server.ending is None  # until the transport ends
    pair.eof_to_server()
    (closed,) = pair.records()
    assert closed.kind is Kind.CLOSED
    assert closed.fields["clean"] is True and closed.fields["initiated_by"] == "client"
    assert (closed.fields["close_code"], closed.fields["close_reason"]) == (1001, "going away")
    ending = pair.server.ending
    assert ending is not None and ending.initiated_by is Initiator.CLIENT
    assert ending.failure is None and pair.server.phase is Phase.ENDED


def test_close_from_the_server_completes_the_handshake(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    pair.to_client(pair.server.send_close(4000, "done"))
    assert not pair.server.open and pair.client.state is State.CLOSING
    pair.flush_client()  # the client's echo
    close_out, close_in = pair.records()
    assert close_out.fields["automatic"] is False and close_out.fields["masked"] is False
    assert close_in.fields["close_code"] == 4000 and close_in.fields["masked"] is True
    assert pair.server.eof_requested
    pair.eof_to_server()
    (closed,) = pair.records()
    assert closed.fields["initiated_by"] == "server" and closed.fields["clean"] is True
    assert closed.fields["message"] == "closed cleanly (4000 done)"


def test_an_unmasked_client_frame_fails_the_connection_with_1002(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise)
    pair.handshake()
    pair.records()
    out = pair.to_server(b"\x81\x05hello")  # RFC 6455 §5.1: a client must mask
    records = pair.records()
    # Byte by byte the library fails at the header: the close goes out before the
    # frame's last byte arrives and the frame is recorded.
    close_out = next(r for r in records if r.direction is Direction.OUT)
    frame, error = (r for r in records if r.direction is Direction.IN)
    assert frame.kind is Kind.FRAME and frame.fields["masked"] is False
    assert frame.fields["error"] == "incorrect masking"
    assert error.kind is Kind.ERROR and error.fields["close_code"] == 1002
    assert error.wire == b"\x81\x05hello"
    assert error.fields["message"] == (
        "protocol violation by the client: an unmasked frame (RFC 6455 §5.1: a client "
        "must mask its frames); closing with 1002"
    )
    assert close_out.fields["close_code"] == 1002 and close_out.wire == out
    assert pair.server.eof_requested and pair.server.failure == error.fields["message"]
    pair.eof_to_server()
    (closed,) = pair.records()
    assert closed.fields["clean"] is False and closed.fields["initiated_by"] == "server"
    assert closed.fields["message"] == error.fields["message"]


def test_a_refused_upgrade_is_recorded_with_the_chosen_status(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise, refuse=Refusal(403, "not you\n"))
    pair.handshake()
    request, response = pair.records()
    assert request.direction is Direction.IN and response.direction is Direction.OUT
    assert response.fields["status"] == 403 and response.fields["accepted"] is False
    assert response.payload == b"not you\n" and response.wire.endswith(b"\r\n\r\nnot you\n")
    (answer,) = pair.client_events
    assert isinstance(answer, Response) and answer.status_code == 403
    assert pair.server.eof_requested and pair.server.phase is Phase.REFUSED
    assert pair.server.failure is None
    assert pair.to_server(b"ignored") == b""
    pair.eof_to_server()
    (closed,) = pair.records()
    assert closed.fields["message"] == "refused the upgrade: HTTP 403 Forbidden"
    assert closed.fields["clean"] is False


def test_an_invalid_upgrade_request_is_answered_with_its_error_and_fails(bytewise: bool) -> None:
    pair = ServerPair(bytewise=bytewise)
    pair.to_server(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    request, response, error = pair.records()
    assert request.kind is Kind.HANDSHAKE and response.fields["status"] == 426  # no Upgrade
    assert error.kind is Kind.ERROR and error.fields["phase"] == "handshake"
    assert error.fields["message"].startswith("client's upgrade request is invalid: ")
    assert pair.server.failure == error.fields["message"] and pair.server.eof_requested


def test_bytes_that_are_not_http_fail_the_handshake_with_them_recorded() -> None:
    pair = ServerPair()
    pair.to_server(b"\x16\x03\x01\x00\xa5hello\r\n\r\n")
    (error,) = pair.records()
    assert error.direction is Direction.IN and error.wire.startswith(b"\x16\x03\x01")
    assert error.fields["message"].startswith("client's upgrade request is not a valid HTTP")
    pair.eof_to_server()
    (closed,) = pair.records()
    assert closed.fields["message"] == error.fields["message"]


def test_both_roles_of_the_engine_talk_to_each_other() -> None:
    """Our client against our server: each records the other's frames as they crossed."""
    client_rec, server_rec = Recorder(), Recorder()
    options = SessionOptions(subprotocols=("chat",))
    client = WebSocketConnection(parse_endpoint("ws://127.0.0.1:9/"), options, client_rec)
    server = WebSocketConnection(None, options, server_rec, role=Role.SERVER)
    assert client.receive_data(server.receive_data(client.start(1), 2), 3) == b""
    assert client.handshake_done and server.handshake_done and client.subprotocol == "chat"
    client_rec.drain()
    server_rec.drain()
    assert server.receive_data(client.send_text("ping me"), 4) == b""
    assert server.take_messages() == [("text", b"ping me")]
    (sent,) = client_rec.drain()
    (got,) = server_rec.drain()
    client.receive_data(server.send_binary(b"\x00back"), 5)
    assert client.take_messages() == [("binary", b"\x00back")]
    assert got.wire == sent.wire and got.fields["masked"] is True
    assert got.fields["mask_key"] == sent.fields["mask_key"]
    echo = server.receive_data(client.send_close(1000, "bye"), 6)
    client.receive_data(echo, 7)
    assert server.eof_requested and client.clean_close and server.clean_close
    client.receive_eof(8)
    server.receive_eof(8)
    assert client.ending is not None and server.ending is not None
    assert client.ending.initiated_by is server.ending.initiated_by is Initiator.CLIENT
    assert client.ending.clean and server.ending.clean
