"""net.factory: the session family an endpoint gets, and one send dispatch for everyone."""

from __future__ import annotations

import pytest
from servers import RunningServer
from session_helpers import make_session, no_errors, run, wait_until

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import Framing, SessionOptions
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.datagram import DatagramSession
from inspector.net.factory import Action, can_send, content_action, create_session, send_message
from inspector.net.session import NotWebSocketError, Session
from inspector.net.stream import StreamSession
from inspector.net.transport import TransportSession
from inspector.net.websocket import WebSocketSession


@pytest.mark.parametrize(
    ("url", "cls"),
    [
        ("tcp://127.0.0.1:9", StreamSession),
        ("tls://127.0.0.1:9", StreamSession),
        ("udp://127.0.0.1:9", DatagramSession),
        ("ws://127.0.0.1:9/", WebSocketSession),
        ("wss://127.0.0.1:9/", WebSocketSession),
    ],
)
def test_each_scheme_gets_its_session(url: str, cls: type[Session]) -> None:
    session = create_session(parse_endpoint(url), SessionOptions(), Recorder(consumed=False))
    assert type(session) is cls


def test_websocket_and_stream_share_the_transport_not_the_framer() -> None:
    assert issubclass(StreamSession, TransportSession)
    assert issubclass(WebSocketSession, TransportSession)
    assert not issubclass(WebSocketSession, StreamSession)
    assert not issubclass(DatagramSession, TransportSession)
    ws = create_session(
        parse_endpoint("ws://127.0.0.1:9/"), SessionOptions(), Recorder(consumed=False)
    )
    assert not hasattr(ws, "_framer")
    assert "framing" not in ws.summary()


def test_what_each_scheme_can_send() -> None:
    ws, tcp, udp = (parse_endpoint(u) for u in ("ws://h/", "tcp://h:1", "udp://h:1"))
    assert all(can_send(ws, action) for action in Action)
    for endpoint in (tcp, udp):
        assert [a for a in Action if not can_send(endpoint, a)] == [
            Action.PING,
            Action.PONG,
            Action.CLOSE,
        ]
    assert (content_action(ws, True), content_action(ws, False)) == (Action.TEXT, Action.BINARY)
    assert content_action(tcp, True) is content_action(udp, False) is Action.DATA


def test_one_dispatch_sends_every_websocket_message(ws_server: RunningServer) -> None:
    session, sink = make_session(ws_server.url)

    async def scenario() -> None:
        assert await session.open()
        send_message(session, Action.TEXT, "héllo".encode())
        send_message(session, "binary", b"\x00\x01")
        send_message(session, Action.DATA, b"\x02")
        send_message(session, Action.PING, b"p")
        await wait_until(lambda: session.messages_in >= 3)
        send_message(session, Action.CLOSE, code=4001, reason="bye")
        await session.wait_closed()

    run(scenario())
    no_errors(sink)
    out = [
        (r.fields["opcode"], r.payload)
        for r in sink.of(Kind.FRAME)
        if r.direction is Direction.OUT and not r.fields.get("automatic")
    ]
    assert out == [
        ("text", "héllo".encode()),
        ("binary", b"\x00\x01"),
        ("binary", b"\x02"),
        ("ping", b"p"),
        ("close", b"\x0f\xa1bye"),
    ]


def test_control_frames_off_websocket_raise_one_line(tcp_echo_server: RunningServer) -> None:
    session, sink = make_session(tcp_echo_server.url)

    async def scenario() -> None:
        assert await session.open()
        send_message(session, Action.TEXT, b"as bytes")
        for action in (Action.PING, Action.PONG, Action.CLOSE):
            with pytest.raises(NotWebSocketError, match=r"^tcp:// has no"):
                send_message(session, action, b"x")
        await wait_until(lambda: sink.bytes_in() >= 8)
        await session.close()

    run(scenario())
    assert [r.wire for r in sink.of(Kind.DATA) if r.direction is Direction.OUT] == [b"as bytes"]


def test_an_empty_message_on_a_raw_stream_is_nothing_to_send(
    tcp_echo_server: RunningServer,
) -> None:
    raw, raw_sink = make_session(tcp_echo_server.url)
    lines, lines_sink = make_session(tcp_echo_server.url, framing=Framing.LINES)

    async def scenario() -> tuple[bool, bool, bool, bool]:
        assert await raw.open() and await lines.open()
        results = (
            send_message(raw, Action.DATA, b""),
            raw.send_raw(b""),  # type: ignore[attr-defined]
            send_message(raw, Action.TEXT, b"x"),
            send_message(lines, Action.DATA, b""),  # an empty line is a real message
        )
        await wait_until(lambda: raw_sink.bytes_in() >= 1 and lines.messages_in >= 1)
        await raw.close()
        await lines.close()
        return results

    assert run(scenario()) == (False, False, True, True)
    assert [r.wire for r in raw_sink.records if r.direction is Direction.OUT] == [b"x"]
    assert raw.recorder.count_out == 1
    assert [r.wire for r in lines_sink.records if r.direction is Direction.OUT] == [b"\n"]
