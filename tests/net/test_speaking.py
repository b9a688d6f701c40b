"""A session acting as a protocol's client, against loopback echo servers: the opening
recorded as automatic, the messages still passed on to a consumer, no answer within
the time allowed as one line, and the cases where no client applies."""

from __future__ import annotations

from servers import RunningServer
from session_helpers import make_session, run, wait_until

from inspector.core.records import Direction, Kind
from inspector.net.session import SessionState


def test_opening_is_automatic_and_messages_are_passed_on(ws_server: RunningServer) -> None:
    session, sink = make_session(ws_server.url, speak="graphql")
    taken: list[tuple[str, bytes]] = []

    async def scenario() -> None:
        assert await session.open()
        assert session.speaking is not None and session.speaking.name == "graphql"
        # The echo server returns connection_init: not an ack, but a consumer gets it.
        await wait_until(lambda: bool(taken.extend(session.take_messages()) or taken))
        await session.close()

    run(scenario())
    assert session.ok, session.failure
    assert taken == [("text", b'{"type":"connection_init"}')]
    out = [r for r in sink.records if r.kind is Kind.FRAME and r.direction is Direction.OUT]
    assert out[0].payload == b'{"type":"connection_init"}' and out[0].automatic
    infos = [r.message for r in sink.of(Kind.INFO)]
    assert "acting as a GraphQL over WebSocket client" in infos


def test_no_acceptance_in_time_is_one_line(ws_server: RunningServer) -> None:
    session, sink = make_session(ws_server.url, speak="signalr")

    async def scenario() -> None:
        assert await session.open()
        assert session.speaking is not None
        assert not await session.speaking.wait_ready(0.2)  # an echo is no handshake answer
        await session.wait_closed()

    run(scenario())
    line = "the server did not answer the SignalR opening within 0.2 s"
    assert session.state is SessionState.FAILED and session.failure == line
    assert [r.message for r in sink.of(Kind.ERROR)] == [line]


def test_stream_opening_and_auto_without_a_protocol(tcp_echo_server: RunningServer) -> None:
    session, sink = make_session(tcp_echo_server.url, speak="stomp",
                                 speak_options=(("heart_beat", ""),))  # fmt: skip
    plain, plain_sink = make_session(tcp_echo_server.url, speak="auto")

    async def scenario() -> None:
        assert await session.open()
        await wait_until(lambda: any(r.direction is Direction.IN for r in sink.of(Kind.DATA)))
        await session.close()
        assert await plain.open()
        assert plain.speaking is None
        await plain.close()

    run(scenario())
    sent = [r for r in sink.of(Kind.DATA) if r.direction is Direction.OUT]
    assert sent[0].automatic and sent[0].payload.startswith(b"CONNECT\naccept-version:")
    assert b"heart-beat" not in sent[0].payload
    # The echoed CONNECT is no CONNECTED: the client is not ready, nothing else went.
    assert session.speaking is not None and not session.speaking.ready
    assert [r.message for r in plain_sink.of(Kind.INFO)][-1].startswith(
        "--speak auto: this session's subprotocol, URL and port name no protocol client"
    )


def test_no_client_over_udp(udp_echo_server: RunningServer) -> None:
    session, sink = make_session(udp_echo_server.url, speak="mqtt")

    async def scenario() -> None:
        assert await session.open()
        await session.close()

    run(scenario())
    assert session.speaking is None
    assert "--speak mqtt: no protocol client over udp://" in [r.message for r in sink.of(Kind.INFO)]


def test_captures_keep_the_client_but_not_its_passwords() -> None:
    import json
    from dataclasses import asdict

    from inspector.core.options import SessionOptions, stored_options
    from inspector.net.replay import options_from_mapping

    options = SessionOptions(speak="mqtt", speak_options=(("client_id", "me"),
                                                          ("password", "hunter2")))  # fmt: skip
    stored = json.loads(json.dumps(stored_options(asdict(options))))
    assert "hunter2" not in repr(stored)
    back = options_from_mapping(stored)
    assert back.speak == "mqtt"
    assert back.speak_options == (("client_id", "me"), ("password", "[redacted]"))
