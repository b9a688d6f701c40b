"""ws:// and wss:// sessions against websockets' server and a hostile raw server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from servers import (
    FORBIDDEN_BODY,
    Close,
    HostileScript,
    HostileServer,
    ReadUntil,
    Reset,
    RunningServer,
    Stall,
    Upgrade,
    Write,
)
from session_helpers import make_session, no_errors, run, wait_until

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.net.session import SessionNotOpenError, SessionState
from inspector.net.websocket import WebSocketSession

HostileFactory = Callable[[HostileScript], HostileServer]


def frames(sink: object, direction: Direction) -> list:
    return [r for r in sink.of(Kind.FRAME) if r.direction is direction]  # type: ignore[attr-defined]


@pytest.mark.parametrize("compressed", [True, False])
def test_echo_text_and_binary(
    ws_server: RunningServer, ws_server_nocompress: RunningServer, compressed: bool
) -> None:
    server = ws_server if compressed else ws_server_nocompress
    session, sink = make_session(server.url)
    assert isinstance(session, WebSocketSession)

    async def scenario() -> None:
        assert await session.open()
        session.send_text("héllo")
        session.send_binary(b"\x00\x01\x02")
        await wait_until(lambda: session.messages_in >= 2)
        await session.close()

    run(scenario())
    no_errors(sink)
    assert session.ok and session.state is SessionState.CLOSED
    request, response = sink.of(Kind.HANDSHAKE)
    assert request.direction is Direction.OUT and request.wire.startswith(b"GET / HTTP/1.1\r\n")
    assert response.fields["status"] == 101 and response.fields["accepted"] is True
    inbound = frames(sink, Direction.IN)
    assert [(r.fields["opcode"], r.payload) for r in inbound] == [
        ("text", "héllo".encode()),
        ("binary", b"\x00\x01\x02"),
        ("close", b"\x03\xe8"),
    ]
    assert all(r.fields["compressed"] is compressed for r in inbound[:2])
    outbound = frames(sink, Direction.OUT)
    assert all(r.fields["masked"] for r in outbound)
    assert [r.fields["opcode"] for r in outbound] == ["text", "binary", "close"]
    assert session.take_messages() == [("text", "héllo".encode()), ("binary", b"\x00\x01\x02")]
    closed = sink.records[-1]
    assert closed.kind is Kind.CLOSED and len(sink.of(Kind.CLOSED)) == 1
    assert closed.fields["clean"] is True and closed.fields["close_code"] == 1000
    assert closed.fields["initiated_by"] == "client"
    summary = session.summary()
    assert set(summary["phases"]) == {"resolve_ns", "connect_ns", "handshake_ns"}
    assert summary["websocket"]["close_code"] == 1000


def test_server_ping_gets_an_automatic_pong(ws_server: RunningServer) -> None:
    session, sink = make_session(ws_server.url)

    async def scenario() -> None:
        assert await session.open()
        session.send_text("ping-me")
        await wait_until(lambda: session.messages_in >= 1)
        session.send_ping(b"mine")
        await wait_until(lambda: len(frames(sink, Direction.IN)) >= 3)
        await session.close()

    run(scenario())
    no_errors(sink)
    ping = next(r for r in frames(sink, Direction.IN) if r.fields["opcode"] == "ping")
    pong = next(r for r in frames(sink, Direction.OUT) if r.fields["opcode"] == "pong")
    assert ping.payload == pong.payload == b"ping-me"
    assert pong.fields["automatic"] is True and pong.seq > ping.seq
    answer = next(r for r in frames(sink, Direction.IN) if r.fields["opcode"] == "pong")
    assert answer.payload == b"mine"
    assert session.ok


def test_server_initiated_close(ws_server_nocompress: RunningServer) -> None:
    session, sink = make_session(ws_server_nocompress.url)
    states: list[SessionState] = []
    session.on_state_change = states.append

    async def scenario() -> None:
        assert await session.open()
        session.send_text("close-me")
        await session.wait_closed()

    run(scenario())
    no_errors(sink)
    assert states == [SessionState.OPEN, SessionState.CLOSING, SessionState.CLOSED]
    echo = frames(sink, Direction.OUT)[-1]
    assert echo.fields["opcode"] == "close" and echo.fields["automatic"] is True
    closed = sink.records[-1]
    assert closed.fields["close_code"] == 4000 and closed.fields["close_reason"] == "bye"
    assert closed.fields["initiated_by"] == "server" and closed.fields["clean"] is True
    assert session.ok


def test_refused_upgrade(ws_server: RunningServer) -> None:
    session, sink = make_session(ws_server.url_for("/forbidden"))
    assert run(session.open()) is False
    assert session.state is SessionState.FAILED
    response = sink.of(Kind.HANDSHAKE)[1]
    assert response.fields["status"] == 403 and response.fields["accepted"] is False
    assert response.payload == FORBIDDEN_BODY.encode()
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["message"] == "server refused the upgrade: HTTP 403 Forbidden"
    assert session.failure == error.fields["message"]
    assert sink.records[-1].kind is Kind.CLOSED and len(sink.of(Kind.CLOSED)) == 1
    with pytest.raises(SessionNotOpenError):
        session.send_text("too late")


MASKED_TEXT = b"\x81\x85\x01\x02\x03\x04" + bytes(
    b ^ k for b, k in zip(b"hello", b"\x01\x02\x03\x04\x01", strict=True)
)


def test_masked_server_frame_fails_with_1002(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(
        HostileScript((Upgrade(), Write(MASKED_TEXT), ReadUntil(b"\x88"), Close()))
    )
    session, sink = make_session(server.ws_url)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    assert session.state is SessionState.FAILED and not session.ok
    violation = next(r for r in sink.of(Kind.ERROR) if r.direction is Direction.IN)
    assert violation.wire == MASKED_TEXT and violation.fields["close_code"] == 1002
    assert session.failure == violation.fields["message"]
    close = frames(sink, Direction.OUT)[-1]
    assert close.fields["opcode"] == "close" and close.fields["close_code"] == 1002
    closed = sink.records[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["close_code"] == 1002
    assert closed.fields["clean"] is False


def test_drop_without_close_frame_is_1006(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((Upgrade(), Write(b"\x81\x02hi"), Close())))
    session, sink = make_session(server.ws_url)

    async def scenario() -> None:
        assert await session.open()
        await session.wait_closed()

    run(scenario())
    assert session.take_messages() == [("text", b"hi")]
    assert session.state is SessionState.FAILED
    assert "without a closing handshake (1006)" in (session.failure or "")
    assert sink.records[-1].fields["close_code"] == 1006


def test_secure_websocket(wss_server: RunningServer, tls_ca_file: str) -> None:
    session, sink = make_session(wss_server.url, cafile=tls_ca_file)

    async def scenario() -> None:
        assert await session.open()
        session.send_text("secure")
        await wait_until(lambda: session.messages_in >= 1)
        await session.close()

    run(scenario())
    no_errors(sink)
    tls = sink.of(Kind.TLS)[0].fields
    assert tls["alpn"] == "http/1.1" and tls["verified"] is True
    assert session.take_messages() == [("text", b"secure")]
    assert session.ok


def test_reset_mid_session(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((Upgrade(), ReadUntil(b"\x81"), Reset())))
    session, sink = make_session(server.ws_url)

    async def scenario() -> None:
        assert await session.open()
        session.send_text("anyone?")
        await session.wait_closed()

    run(scenario())
    assert session.state is SessionState.FAILED
    assert session.failure == f"connection reset by 127.0.0.1:{server.port}"
    assert [r.fields["message"] for r in sink.of(Kind.ERROR)] == [session.failure]
    assert len(sink.of(Kind.CLOSED)) == 1 and sink.records[-1].fields["close_code"] == 1006


def test_close_times_out_when_the_server_never_answers(
    hostile_server_factory: HostileFactory,
) -> None:
    server = hostile_server_factory(HostileScript((Upgrade(), Stall())))
    session, sink = make_session(server.ws_url)

    async def scenario() -> None:
        assert await session.open()
        await session.close(timeout=0.2)

    run(scenario())
    assert session.state is SessionState.FAILED
    assert session.failure == "the server did not finish closing within 0.2 s"
    assert frames(sink, Direction.OUT)[-1].fields["opcode"] == "close"
    assert len(sink.of(Kind.CLOSED)) == 1 and sink.records[-1].kind is Kind.CLOSED


def test_backpressure_pauses_websocket_reads(hostile_server_factory: HostileFactory) -> None:
    burst = b"".join(b"\x81\x02%02d" % i for i in range(30))
    server = hostile_server_factory(
        HostileScript(
            (Upgrade(), Write(burst), ReadUntil(b"\x88"), Write(b"\x88\x02\x03\xe8"), Close())
        )
    )
    recorder = Recorder(high_watermark=5)
    session, sink = make_session(server.ws_url, recorder=recorder)
    assert isinstance(session, WebSocketSession)

    async def scenario() -> None:
        assert await session.open()
        await wait_until(lambda: recorder.paused)
        assert not session.reading
        recorder.drain()
        assert session.reading
        await wait_until(lambda: session.messages_in >= 30)
        await session.close()

    run(scenario())
    no_errors(sink)
    assert [body for _, body in session.take_messages()] == [b"%02d" % i for i in range(30)]
    assert session.ok and sink.records[-1].fields["clean"] is True


def test_server_hangs_up_during_the_upgrade(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((ReadUntil(), Close())))
    session, sink = make_session(server.ws_url)
    assert run(session.open()) is False
    assert session.state is SessionState.FAILED
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["phase"] == "handshake"
    assert session.failure == error.fields["message"]
    assert len(sink.of(Kind.CLOSED)) == 1


def test_silent_server_times_out_during_the_upgrade(hostile_server_factory: HostileFactory) -> None:
    server = hostile_server_factory(HostileScript((Stall(),)))
    session, sink = make_session(server.ws_url, connect_timeout=0.2)
    assert run(session.open()) is False
    (error,) = sink.of(Kind.ERROR)
    assert error.fields["message"] == (
        f"timed out after 0.2 s during handshake to 127.0.0.1:{server.port}"
    )
    assert len(sink.of(Kind.CLOSED)) == 1 and session.state is SessionState.FAILED
