"""net.replay: which recorded records are sent again, options read back, real replays."""

from __future__ import annotations

import pytest
from servers import RunningServer
from session_helpers import make_session, no_errors, run, wait_until

from inspector.core.endpoints import parse_endpoint
from inspector.core.options import Framing, SessionOptions
from inspector.core.records import Direction, Kind, Record
from inspector.net.replay import (
    Timing,
    options_from_mapping,
    plan_replay,
    replay_steps,
    run_replay,
)
from inspector.net.session import SessionState


def _record(seq: int, t_ns: int, kind: Kind, payload: bytes, **fields: object) -> Record:
    direction = fields.pop("direction", Direction.OUT)
    assert isinstance(direction, Direction)
    return Record(seq, t_ns, direction, kind, payload, payload, fields)


def test_steps_keep_user_messages_and_skip_automatic_and_handshakes() -> None:
    records = [
        _record(0, 0, Kind.HANDSHAKE, b"GET / HTTP/1.1"),
        _record(1, 5_000, Kind.FRAME, b"hi", opcode="text"),
        _record(2, 6_000, Kind.FRAME, b"hi", opcode="text", direction=Direction.IN),
        _record(3, 7_000, Kind.FRAME, b"p", opcode="pong", automatic=True),
        _record(4, 9_000, Kind.FRAME, b"\x01", opcode="binary"),
        _record(5, 9_500, Kind.FRAME, b"x", opcode="continuation"),
        _record(6, 10_000, Kind.FRAME, b"", opcode="close", close_code=4001, close_reason="bye"),
        _record(7, 11_000, Kind.CLOSED, b""),
    ]
    steps = replay_steps(records)
    assert [(s.offset_ns, s.action, s.payload) for s in steps] == [
        (0, "text", b"hi"),
        (4_000, "binary", b"\x01"),
        (5_000, "close", b""),
    ]
    assert (steps[-1].code, steps[-1].reason) == (4001, "bye")
    stream = [
        _record(0, 0, Kind.DATA, b"a"),
        _record(1, 1, Kind.MESSAGE, b"b", framing="len16"),
        _record(2, 2, Kind.DATAGRAM, b"c"),
    ]
    assert [s.action for s in replay_steps(stream)] == ["data", "data", "datagram"]
    # an empty DATA record never went on the wire; an empty datagram did
    phantom = [_record(0, 0, Kind.DATA, b""), _record(1, 1, Kind.DATAGRAM, b"")]
    assert [(s.action, s.payload) for s in replay_steps(phantom)] == [("datagram", b"")]


def test_options_from_a_stored_mapping_and_from_junk() -> None:
    options = SessionOptions(
        headers=(("X-A", "1"),), subprotocols=("chat",), framing=Framing.LINES, verify=False
    )
    stored = {
        "headers": [["X-A", "1"]],
        "subprotocols": ["chat"],
        "framing": "lines",
        "verify": False,
        "connect_timeout": 10.0,
    }
    assert options_from_mapping(stored) == options
    assert options_from_mapping(None) == SessionOptions()
    junk = {"framing": "zigzag", "verify": "yes", "headers": "nope", "max_size": [1], "new": 1}
    assert options_from_mapping(junk) == SessionOptions()


@pytest.mark.parametrize(
    ("timing", "framing"),
    [(Timing.FAST, Framing.LINES), (Timing.ORIGINAL, Framing.LINES), (Timing.FAST, Framing.LEN16)],
)
def test_replay_a_tcp_session(
    tcp_echo_server: RunningServer, timing: Timing, framing: Framing
) -> None:
    first, recorded = make_session(tcp_echo_server.url, framing=framing)
    second, replayed = make_session(tcp_echo_server.url, framing=framing)

    async def scenario() -> int:
        assert await first.open()
        for line in (b"alpha\r\n", b"beta"):
            first.send(line)
        await wait_until(lambda: first.messages_in >= 2)
        await first.close()
        steps = replay_steps(recorded.records)
        assert await second.open()
        sent = (await run_replay(second, steps, timing)).sent
        await wait_until(lambda: second.messages_in >= 2)
        await second.close()
        return sent

    assert run(scenario()) == 2
    no_errors(replayed)

    def wires(sink, direction):
        return [r.wire for r in sink.of(Kind.MESSAGE) if r.direction is direction]

    assert wires(replayed, Direction.OUT) == wires(recorded, Direction.OUT)
    assert len(wires(replayed, Direction.OUT)) == 2
    assert wires(replayed, Direction.IN) == wires(replayed, Direction.OUT)
    if framing is Framing.LINES:
        assert wires(replayed, Direction.OUT) == [b"alpha\r\n", b"beta\n"]


def test_replay_a_udp_session(udp_echo_server: RunningServer) -> None:
    first, recorded = make_session(udp_echo_server.url)
    second, replayed = make_session(udp_echo_server.url)

    async def scenario() -> None:
        assert await first.open()
        first.send(b"one")
        first.send(b"two")
        await wait_until(lambda: first.messages_in >= 2)
        await first.close()
        assert await second.open()
        assert (await run_replay(second, replay_steps(recorded.records), Timing.FAST)).sent == 2
        await wait_until(lambda: second.messages_in >= 2)
        await second.close()

    run(scenario())
    outbound = [r.wire for r in replayed.of(Kind.DATAGRAM) if r.direction is Direction.OUT]
    assert outbound == [b"one", b"two"]


def test_replay_stops_when_the_session_is_not_open(ws_server: RunningServer) -> None:
    session, _ = make_session(ws_server.url)
    steps = replay_steps([_record(0, 0, Kind.FRAME, b"late", opcode="text")])

    async def scenario() -> int:
        assert await session.open()
        await session.close()
        assert session.state is SessionState.CLOSED
        return (await run_replay(session, steps, Timing.FAST)).sent

    assert run(scenario()) == 0


def _ws_recording(ws_server: RunningServer) -> list[Record]:
    """A real WebSocket session: text, binary, ping, text, close (1000)."""
    session, sink = make_session(ws_server.url)

    async def scenario() -> None:
        assert await session.open()
        session.send_text("hello")
        session.send_binary(b"\x00\x01\xff")
        session.send_ping(b"are you there")
        session.send_text("again")
        await wait_until(lambda: session.messages_in >= 3)
        await session.close()

    run(scenario())
    return sink.records


def test_a_websocket_replay_to_tcp_sends_the_messages_as_bytes_and_skips_control_frames(
    ws_server: RunningServer, tcp_echo_server: RunningServer
) -> None:
    steps = replay_steps(_ws_recording(ws_server))
    assert [s.action for s in steps] == ["text", "binary", "ping", "text", "close"]
    target, recorded = make_session(tcp_echo_server.url)

    async def scenario():
        assert await target.open()
        result = await run_replay(target, steps, Timing.FAST)
        await wait_until(lambda: recorded.bytes_in() >= len(b"hello\x00\x01\xffagain"))
        assert target.state is SessionState.OPEN  # a skipped close does not end it
        await target.close()
        return result

    result = run(scenario())
    assert (result.sent, result.total, result.skipped) == (3, 5, 2)
    assert result.note == "2 control frames skipped: tcp:// has no pings or closes"
    assert result.stopped is None
    assert result.summary(tcp_echo_server.url) == (
        f"Replayed 3 of 5 message(s) to {tcp_echo_server.url}; {result.note}"
    )
    no_errors(recorded)
    notes = [r.fields["message"] for r in recorded.of(Kind.INFO)]
    assert notes == ["replay: 2 control frames skipped: tcp:// has no pings or closes"]
    info_seq = recorded.of(Kind.INFO)[0].seq
    sent = [r for r in recorded.of(Kind.DATA) if r.direction is Direction.OUT]
    assert [r.wire for r in sent] == [b"hello", b"\x00\x01\xff", b"again"]
    assert info_seq < sent[0].seq  # decided before anything was sent
    echoed = b"".join(r.wire for r in recorded.of(Kind.DATA) if r.direction is Direction.IN)
    assert echoed == b"hello\x00\x01\xffagain"


def test_a_websocket_replay_to_udp_sends_datagrams(udp_echo_server: RunningServer) -> None:
    steps = replay_steps(
        [
            _record(0, 0, Kind.FRAME, b"one", opcode="text"),
            _record(1, 1, Kind.FRAME, b"", opcode="pong"),
            _record(2, 2, Kind.FRAME, b"\x02", opcode="binary"),
        ]
    )
    target, recorded = make_session(udp_echo_server.url)

    async def scenario():
        assert await target.open()
        result = await run_replay(target, steps, Timing.FAST)
        await wait_until(lambda: target.messages_in >= 2)
        await target.close()
        return result

    result = run(scenario())
    assert (result.sent, result.skipped) == (2, 1)
    assert result.note == "1 control frame skipped: udp:// has no pongs"
    out = [r.wire for r in recorded.of(Kind.DATAGRAM) if r.direction is Direction.OUT]
    assert out == [b"one", b"\x02"]


def test_a_plan_keeps_everything_for_websocket_and_names_what_tcp_lacks() -> None:
    steps = replay_steps(
        [
            _record(0, 0, Kind.FRAME, b"a", opcode="ping"),
            _record(1, 1, Kind.FRAME, b"b", opcode="pong"),
            _record(2, 2, Kind.FRAME, b"", opcode="close", close_code=1000),
            _record(3, 3, Kind.FRAME, b"c", opcode="text"),
        ]
    )
    ws = plan_replay(steps, parse_endpoint("ws://127.0.0.1:9/"))
    assert (len(ws.steps), ws.skipped, ws.note) == (4, 0, None)
    tls = plan_replay(steps, parse_endpoint("tls://127.0.0.1:9"))
    assert [s.action for s in tls.steps] == ["text"]
    assert tls.note == "3 control frames skipped: tls:// has no pings, pongs or closes"


def test_a_send_refused_half_way_stops_the_replay_with_a_note(
    tcp_echo_server: RunningServer,
) -> None:
    big = b"x" * 70_000  # longer than a 16-bit length prefix can say
    steps = replay_steps(
        [
            _record(0, 0, Kind.FRAME, b"first", opcode="text"),
            _record(1, 1, Kind.FRAME, big, opcode="binary"),
            _record(2, 2, Kind.FRAME, b"never", opcode="text"),
        ]
    )
    target, recorded = make_session(tcp_echo_server.url, framing=Framing.LEN16)

    async def scenario():
        assert await target.open()
        result = await run_replay(target, steps, Timing.FAST)
        assert target.state is SessionState.OPEN
        await wait_until(lambda: target.messages_in >= 1)
        await target.close()
        return result

    result = run(scenario())
    assert result.sent == 1
    assert result.stopped is not None and result.stopped.startswith("stopped at message 2: ")
    notes = [r.fields["message"] for r in recorded.of(Kind.INFO)]
    assert notes == [f"replay {result.stopped}"]
    out = [r.payload for r in recorded.of(Kind.MESSAGE) if r.direction is Direction.OUT]
    assert out == [b"first"]
