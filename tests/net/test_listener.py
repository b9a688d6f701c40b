"""tcp:// listening with real asyncio and socket clients: records, rules, faults, many clients."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from listen_helpers import make_listener
from session_helpers import run, wait_until

from inspector.core.options import Framing
from inspector.core.records import Direction, Kind
from inspector.core.rules import ActionKind, MatchKind, Rule
from inspector.net.accepted import MAX_BACKLOG
from inspector.net.listener import ListenError, ListenerState
from inspector.net.session import SessionError, SessionState

ECHO = Rule(MatchKind.ANY, ActionKind.ECHO)


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes."""
    return await reader.read()


def test_echo_records_both_sides_and_the_listener() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0", ECHO, framing=Framing.LINES)

    async def scenario() -> bytes:
        await listener.start()
        assert listener.port != 0 and listener.url == f"tcp://127.0.0.1:{listener.port}"
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"one\ntwo\n")
        writer.write_eof()
        echoed = await read_all(reader)
        writer.close()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return echoed

    assert run(scenario()) == b"one\ntwo\n"
    assert listener.state is ListenerState.STOPPED
    kinds = [r.kind for r in rec.listener.records]
    assert kinds == [Kind.LISTENING, Kind.ACCEPTED, Kind.INFO, Kind.CLOSED]
    listening = rec.listener.records[0].fields
    assert listening["url"] == listener.url and listening["local"] == f"127.0.0.1:{listener.port}"
    accepted = rec.listener.records[1].fields
    assert accepted["conn"] == 1 and accepted["peer"] == rec.peers[1]
    conn = rec.conns[1].records
    assert conn[0].kind is Kind.CONNECT and conn[0].fields["accepted"] is True
    assert conn[0].fields["local"] == listening["local"] and conn[0].fields["peer"] == rec.peers[1]
    messages = [(r.direction, r.payload) for r in conn if r.kind is Kind.MESSAGE]
    assert messages == [
        (Direction.IN, b"one"),
        (Direction.IN, b"two"),
        (Direction.OUT, b"one"),
        (Direction.OUT, b"two"),
    ]
    assert [r.seq for r in conn] == list(range(len(conn)))
    assert any(r.fields.get("half_close") for r in conn)
    closed = conn[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["clean"] is True
    assert closed.fields["initiated_by"] == "client"


def test_rules_greet_reply_delay_and_timer() -> None:
    listener, rec = make_listener(
        "tcp://127.0.0.1:0",
        Rule(MatchKind.CONNECT, ActionKind.REPLY, template="hello {{conn}}"),
        Rule(MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}"),
        Rule(MatchKind.CONTAINS, ActionKind.DELAY, "slow", template="late", delay_ms=50),
        Rule(MatchKind.TIMER, ActionKind.REPLY, every_ms=20, template="tick {{seq}}"),
        framing=Framing.LINES,
    )

    async def scenario() -> list[bytes]:
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        lines = [await reader.readline()]
        writer.write(b"slow\nPING 7\n")
        # until the delayed reply and the first tick came (a loaded machine may run the
        # 20 ms timer after the 50 ms delay)
        while b"late\n" not in lines or not any(line.startswith(b"tick") for line in lines):
            lines.append(await reader.readline())
        writer.close()
        await listener.stop()
        return lines

    lines = run(scenario())
    assert lines[0] == b"hello 1\n"
    assert lines.index(b"PONG 7\n") < lines.index(b"late\n")  # the delayed reply comes later
    assert b"tick 1\n" in lines
    out = [r.payload for r in rec.conns[1].records if r.direction is Direction.OUT]
    assert out[0] == b"hello 1" and b"PONG 7" in out


def test_a_half_closed_client_still_gets_its_delayed_reply() -> None:
    listener, rec = make_listener(
        "tcp://127.0.0.1:0",
        Rule(MatchKind.ANY, ActionKind.DELAY, template="late {{message}}", delay_ms=30),
    )

    async def scenario() -> bytes:
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"q")
        writer.write_eof()
        answer = await reader.read()  # the reply, then EOF
        writer.close()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return answer

    assert run(scenario()) == b"late q"
    conn = rec.conns[1].records
    assert [r.kind for r in conn] == [
        Kind.CONNECT, Kind.DATA, Kind.INFO, Kind.DATA, Kind.CLOSED
    ]  # fmt: skip
    assert conn[-1].fields["clean"] is True and conn[-1].fields["initiated_by"] == "client"


def test_close_and_drop_rules() -> None:
    listener, rec = make_listener(
        "tcp://127.0.0.1:0",
        Rule(MatchKind.CONTAINS, ActionKind.CLOSE, "bye"),
        Rule(MatchKind.CONTAINS, ActionKind.DROP, "kill"),
    )

    async def scenario() -> tuple[bytes, type[BaseException] | None]:
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"bye")
        closed = await reader.read()  # the server half-closed: EOF
        writer.close()
        reader2, writer2 = await asyncio.open_connection("127.0.0.1", listener.port)
        writer2.write(b"kill")
        error = None
        try:
            await reader2.read()
        except ConnectionResetError as exc:
            error = type(exc)
        writer2.close()
        await wait_until(lambda: listener.ended_count == 2)
        await listener.stop()
        return closed, error

    closed, error = run(scenario())
    assert closed == b"" and error is ConnectionResetError
    first, second = rec.conns[1].records[-1], rec.conns[2].records[-1]
    assert first.fields["initiated_by"] == "server" and first.fields["clean"] is True
    assert second.fields["message"] == "dropped by the server (reset)"
    assert second.fields["clean"] is False


def test_send_broadcast_disconnect_and_stop_by_hand() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0")

    async def scenario() -> list[bytes]:
        await listener.start()
        clients = [await asyncio.open_connection("127.0.0.1", listener.port) for _ in range(3)]
        await wait_until(lambda: len(listener.open_connections) == 3)
        listener.send(2, b"only two")
        assert listener.broadcast(b"all") == 3
        closing = asyncio.ensure_future(listener.disconnect(1))
        got = [await clients[0][0].read()]  # EOF: the server half-closed
        clients[0][1].close()
        await closing
        with pytest.raises(SessionError, match="there is no connection 9"):
            listener.send(9, b"x")
        with pytest.raises(SessionError, match="cannot send to connection 1"):
            listener.send(1, b"x")
        stopping = asyncio.ensure_future(listener.stop())
        for reader, writer in clients[1:]:
            got.append(await reader.read())
            writer.close()
        await stopping
        return got

    got = run(scenario())
    assert got == [b"all", b"only twoall", b"all"]
    assert all(conn.records[-1].fields["clean"] for conn in rec.conns.values())
    assert rec.listener.records[-1].fields["message"].startswith("stopped listening: 3")
    own = rec.listener.records
    assert own[-1].fields["initiated_by"] == "server" and own[-1].fields["clean"] is True
    assert own[-1].fields["duration_ns"] >= own[-1].t_ns - own[0].t_ns > 0


def test_max_connections_refuses_and_records() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0", max_connections=1)

    async def scenario() -> bytes:
        await listener.start()
        _r1, w1 = await asyncio.open_connection("127.0.0.1", listener.port)
        await wait_until(lambda: len(listener.open_connections) == 1)
        r2, w2 = await asyncio.open_connection("127.0.0.1", listener.port)
        refused = await r2.read()
        w1.close()
        w2.close()
        await listener.stop()
        return refused

    assert run(scenario()) == b""
    refused = [r for r in rec.listener.records if r.kind is Kind.REFUSED]
    assert len(refused) == 1 and "(max connections: 1)" in refused[0].fields["message"]
    assert listener.accepted == 1 and listener.refused == 1 and list(rec.conns) == [1]


def test_a_reset_by_the_client_is_recorded() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0")

    async def scenario() -> None:
        await listener.start()
        sock = socket.create_connection(("127.0.0.1", listener.port))
        await wait_until(lambda: len(listener.open_connections) == 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()

    run(scenario())
    conn = rec.conns[1].records
    assert conn[-2].kind is Kind.ERROR and conn[-2].fields["message"].startswith(
        "connection reset by 127.0.0.1:"
    )
    assert conn[-1].fields["clean"] is False and conn[-1].fields["initiated_by"] == "client"


def test_a_client_that_never_reads_backs_up_and_memory_stays_bounded() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0", ECHO)
    chunk = b"x" * 65536

    async def scenario() -> int:
        await listener.start()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", listener.port))
        await wait_until(lambda: len(listener.open_connections) == 1)
        conn = listener.open_connections[0]
        sent = 0
        for _ in range(2048):  # at most 128 MiB, stopped by the backpressure long before
            try:
                sent += sock.send(chunk)
            except BlockingIOError:
                if conn.backed_up and not conn.reading:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.01)
        assert conn.backed_up and not conn.reading  # type: ignore[attr-defined]
        waiting = conn._transport.get_write_buffer_size()  # type: ignore[attr-defined]
        assert waiting <= MAX_BACKLOG + len(chunk) * 4
        sock.close()
        await listener.stop(timeout=1)
        return sent

    sent = run(scenario())
    assert sent > 0
    infos = [r.fields for r in rec.conns[1].records if r.kind is Kind.INFO]
    assert any(f.get("backed_up") is True for f in infos)


def test_oversize_line_fails_only_that_connection() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0", framing=Framing.LINES, max_size=10)

    async def scenario() -> None:
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"ok\n" + b"y" * 50)
        await reader.read()
        writer.close()
        await wait_until(lambda: listener.ended_count == 1)
        assert listener.state is ListenerState.LISTENING
        await listener.stop()

    run(scenario())
    conn = rec.conns[1].records
    assert [r.payload for r in conn if r.kind is Kind.MESSAGE] == [b"ok"]
    error = next(r for r in conn if r.kind is Kind.ERROR)
    assert error.direction is Direction.IN and error.wire.startswith(b"yyy")


def test_address_in_use_is_one_line() -> None:
    first, _ = make_listener("tcp://127.0.0.1:0")

    async def scenario() -> str:
        await first.start()
        second, rec = make_listener(f"tcp://127.0.0.1:{first.port}")
        with pytest.raises(ListenError) as info:
            await second.start()
        assert second.state is ListenerState.FAILED
        assert [r.kind for r in rec.listener.records] == [Kind.ERROR, Kind.CLOSED]
        await first.stop()
        return str(info.value)

    message = run(scenario())
    assert message.endswith("the address is in use (another program listens there)")
    assert "\n" not in message


def test_a_hundred_clients_at_once_nothing_lost() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0", ECHO, framing=Framing.LINES)
    clients, lines = 100, 20

    async def client(number: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        payload = b"".join(b"c%d-%d\n" % (number, i) for i in range(lines))
        writer.write(payload)
        writer.write_eof()
        echoed = await reader.read()
        writer.close()
        assert echoed == payload
        return echoed

    async def scenario() -> None:
        await listener.start()
        await asyncio.gather(*(client(n) for n in range(clients)))
        await wait_until(lambda: listener.ended_count == clients)
        await listener.stop()

    run(scenario(), timeout=60)
    assert listener.accepted == clients and len(rec.conns) == clients
    for sink in rec.conns.values():
        ins = [r for r in sink.records if r.kind is Kind.MESSAGE and r.direction is Direction.IN]
        outs = [r for r in sink.records if r.kind is Kind.MESSAGE and r.direction is Direction.OUT]
        assert len(ins) == len(outs) == lines
        assert sink.records[-1].kind is Kind.CLOSED and sink.records[-1].fields["clean"]
    assert all(c.state is SessionState.CLOSED for c in listener.connections.values())
