"""tcp:// and tls:// relaying with real servers and clients: bytes exact, EOF, resets, faults."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct

from relay_helpers import WAIT, ended, messages, raw_connect, start_relay, wire_of
from servers import RunningServer
from session_helpers import run

from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Kind
from inspector.net.certs import server_tls
from inspector.net.relayfaults import CutMode, Faults


def test_tcp_echo_through_the_relay_is_byte_exact(tcp_echo_server: RunningServer) -> None:
    sent = bytes(range(256)) * 1000

    async def scenario() -> tuple[bytes, list]:
        relay, rec = await start_relay("tcp://127.0.0.1:0", tcp_echo_server.url)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(sent)
        writer.write_eof()  # a half-close: the echo server answers everything, then closes
        async with asyncio.timeout(WAIT):
            echoed = await reader.read()
        writer.close()
        await ended(relay)
        await relay.stop()
        return echoed, rec.conns[1].records

    echoed, records = run(scenario())
    assert echoed == sent
    assert wire_of(records, Direction.OUT) == sent
    assert wire_of(records, Direction.IN) == sent
    legs = [r.fields.get("leg") for r in records if r.kind is Kind.CONNECT]
    assert legs == ["client", "upstream"]
    assert [r.kind for r in records if r.direction is Direction.META][:3] == [
        Kind.CONNECT,
        Kind.RESOLVE,
        Kind.CONNECT,
    ]
    assert any("client half-closed" in m for m in messages(records))
    closed = records[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["clean"] is True
    assert closed.fields["initiated_by"] == "client"
    assert closed.fields["bytes_c2s"] == len(sent) and closed.fields["bytes_s2c"] == len(sent)


def test_a_half_close_from_the_server_reaches_the_client_and_the_client_may_still_send() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        got: list[bytes] = []
        done = asyncio.Event()

        async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"bye")
            writer.write_eof()  # the server is done talking, but still listens
            got.append(await reader.read())
            writer.close()
            done.set()

        upstream = await asyncio.start_server(server, "127.0.0.1", 0)
        port = upstream.sockets[0].getsockname()[1]
        relay, _rec = await start_relay("tcp://127.0.0.1:0", f"tcp://127.0.0.1:{port}")
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        async with asyncio.timeout(WAIT):
            first = await reader.read()  # ends at the server's EOF
        writer.write(b"still here")
        writer.write_eof()
        async with asyncio.timeout(WAIT):
            await done.wait()
        writer.close()
        await relay.stop()
        upstream.close()
        return first, got[0]

    first, late = run(scenario())
    assert first == b"bye"
    assert late == b"still here"


def test_a_reset_by_the_client_resets_the_upstream() -> None:
    async def scenario() -> tuple[type | None, list]:
        seen: list[BaseException | None] = []
        done = asyncio.Event()

        async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while await reader.read(1024):
                    pass
                seen.append(None)
            except ConnectionResetError as exc:
                seen.append(exc)
            done.set()
            writer.close()

        upstream = await asyncio.start_server(server, "127.0.0.1", 0)
        port = upstream.sockets[0].getsockname()[1]
        relay, rec = await start_relay("tcp://127.0.0.1:0", f"tcp://127.0.0.1:{port}")
        peer = await raw_connect(relay.port)
        assert peer.transport is not None
        peer.transport.write(b"x")
        await_connected = rec.conns
        async with asyncio.timeout(WAIT):
            while not any(r.kind is Kind.DATA for r in await_connected[1].records):
                await asyncio.sleep(0.005)
        sock = peer.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.transport.abort()
        async with asyncio.timeout(WAIT):
            await done.wait()
        await ended(relay)
        await relay.stop()
        upstream.close()
        return type(seen[0]) if seen[0] is not None else None, rec.conns[1].records

    kind, records = run(scenario())
    assert kind is ConnectionResetError
    assert any("client reset the connection" in m for m in messages(records))
    assert records[-1].fields["clean"] is False


def test_upstream_refusing_closes_the_client_and_says_why() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nobody listens there now

    async def scenario() -> tuple[bytes, list]:
        relay, rec = await start_relay("tcp://127.0.0.1:0", f"tcp://127.0.0.1:{port}")
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        async with asyncio.timeout(WAIT):
            data = await reader.read()
        writer.close()
        await ended(relay)
        await relay.stop()
        return data, rec.conns[1].records

    data, records = run(scenario())
    assert data == b""
    errors = [r for r in records if r.kind is Kind.ERROR]
    assert len(errors) == 1
    assert errors[0].message == f"upstream 127.0.0.1:{port} refused the connection"
    assert errors[0].fields["phase"] == "connect"
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["clean"] is False


def test_upstream_that_never_finishes_tls_times_out() -> None:
    async def scenario() -> tuple[bytes, list]:
        held: list[asyncio.StreamWriter] = []

        async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # accepts TCP, never answers the TLS ClientHello

        upstream = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = upstream.sockets[0].getsockname()[1]
        relay, rec = await start_relay(
            "tcp://127.0.0.1:0",
            f"tls://127.0.0.1:{port}",
            options=SessionOptions(connect_timeout=0.3),
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        async with asyncio.timeout(WAIT):
            data = await reader.read()
        writer.close()
        await ended(relay)
        await relay.stop()
        for w in held:
            w.close()
        upstream.close()
        return data, rec.conns[1].records

    data, records = run(scenario())
    assert data == b""
    errors = [r.message for r in records if r.kind is Kind.ERROR]
    assert errors and "did not answer within 0.3 s" in str(errors[0])


def test_upstream_tls_failure_is_one_line(tls_echo_server: RunningServer) -> None:
    async def scenario() -> list:
        relay, rec = await start_relay("tcp://127.0.0.1:0", tls_echo_server.url)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        async with asyncio.timeout(WAIT):
            await reader.read()
        writer.close()
        await ended(relay)
        await relay.stop()
        return rec.conns[1].records

    records = run(scenario())
    errors = [r for r in records if r.kind is Kind.ERROR]
    assert len(errors) == 1 and errors[0].fields["phase"] == "tls"
    assert "\n" not in (errors[0].message or "")
    assert "certificate" in (errors[0].message or "").lower()


def test_tls_ended_at_the_relay_and_begun_towards_the_upstream(
    tls_echo_server: RunningServer, tls_ca_file: str, tmp_path: object
) -> None:
    tls = server_tls(directory=tmp_path)  # type: ignore[arg-type]

    async def scenario() -> tuple[bytes, list]:
        relay, rec = await start_relay(
            "tls://127.0.0.1:0",
            tls_echo_server.url,
            tls=tls,
            options=SessionOptions(cafile=tls_ca_file),
        )
        context = ssl.create_default_context(cafile=str(tls.cert_path))
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", relay.port, ssl=context, server_hostname="localhost"
        )
        writer.write(b"secret")
        async with asyncio.timeout(WAIT):
            echoed = await reader.readexactly(6)
        writer.close()
        await ended(relay)
        await relay.stop()
        return echoed, rec.conns[1].records

    echoed, records = run(scenario())
    assert echoed == b"secret"
    assert [r.fields["leg"] for r in records if r.kind is Kind.TLS] == ["client", "upstream"]
    assert wire_of(records, Direction.OUT) == b"secret"


def test_a_client_that_does_not_read_pauses_the_upstream() -> None:
    """Backpressure crosses legs: the relay stops reading the server, memory stays bounded."""
    total = 64 << 20

    async def scenario() -> tuple[int, list, int]:
        written = 0
        stalled = asyncio.Event()

        async def flood(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal written
            chunk = b"z" * 65536
            try:
                while written < total:
                    writer.write(chunk)
                    written += len(chunk)
                    try:
                        async with asyncio.timeout(0.5):
                            await writer.drain()
                    except TimeoutError:
                        stalled.set()  # the relay does not take more: that is the point
                        await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass

        upstream = await asyncio.start_server(flood, "127.0.0.1", 0)
        port = upstream.sockets[0].getsockname()[1]
        relay, rec = await start_relay("tcp://127.0.0.1:0", f"tcp://127.0.0.1:{port}")
        peer = await raw_connect(relay.port)
        assert peer.transport is not None
        peer.transport.pause_reading()  # this client reads nothing
        async with asyncio.timeout(WAIT):
            await stalled.wait()
        at_stall = written
        pair = relay.pairs[1]
        buffered = sum(t.get_write_buffer_size() for t in pair._legs.values() if t is not None)
        peer.transport.abort()
        await ended(relay)
        await relay.stop()
        upstream.close()
        return at_stall, rec.conns[1].records, buffered

    at_stall, records, buffered = run(scenario())
    assert at_stall < total
    assert buffered < 4 << 20
    backed = [r for r in records if r.kind is Kind.INFO and r.fields.get("backed_up")]
    assert backed and backed[0].fields["leg"] == "client"


def test_cut_after_bytes_resets_both_sides(tcp_echo_server: RunningServer) -> None:
    async def scenario() -> tuple[bytes, BaseException | None, list]:
        relay, rec = await start_relay(
            "tcp://127.0.0.1:0",
            tcp_echo_server.url,
            s2c=Faults(cut_after_bytes=1000, cut_mode=CutMode.RESET),
        )
        peer = await raw_connect(relay.port)
        assert peer.transport is not None
        peer.transport.write(b"a" * 5000)
        async with asyncio.timeout(WAIT):
            await peer.lost.wait()
        await ended(relay)
        await relay.stop()
        return bytes(peer.received), peer.error, rec.conns[1].records

    received, error, records = run(scenario())
    assert received == b"a" * 1000
    assert isinstance(error, ConnectionResetError)
    cut = [r for r in records if r.kind is Kind.INFO and r.fields.get("cut")]
    assert len(cut) == 1 and "server → client" in (cut[0].message or "")
    assert any(r.fields.get("cut") is True for r in records if r.kind is Kind.DATA)


def test_delay_holds_each_chunk_and_says_so(tcp_echo_server: RunningServer) -> None:
    async def scenario() -> tuple[float, list]:
        relay, rec = await start_relay(
            "tcp://127.0.0.1:0", tcp_echo_server.url, c2s=Faults(delay_ms=150)
        )
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        start = loop.time()
        writer.write(b"ping")
        async with asyncio.timeout(WAIT):
            await reader.readexactly(4)
        took = loop.time() - start
        writer.close()
        await ended(relay)
        await relay.stop()
        return took, rec.conns[1].records

    took, records = run(scenario())
    assert took >= 0.15
    data = [r for r in records if r.kind is Kind.DATA and r.direction is Direction.OUT]
    assert data[0].fields["held_ms"] >= 149
    assert any("faults client → server: delay 150 ms" in m for m in messages(records))


def test_two_hundred_pairs_at_once_lose_nothing(tcp_echo_server: RunningServer) -> None:
    async def scenario() -> tuple[list[bool], int]:
        relay, rec = await start_relay("tcp://127.0.0.1:0", tcp_echo_server.url)

        async def one(n: int) -> bool:
            payload = f"pair {n} ".encode() * 200
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            writer.write(payload)
            writer.write_eof()
            echoed = await reader.read()
            writer.close()
            return echoed == payload

        async with asyncio.timeout(60):
            results = await asyncio.gather(*(one(n) for n in range(200)))
        await ended(relay, 200)
        await relay.stop()
        exact = sum(
            1
            for sink in rec.conns.values()
            if wire_of(sink.records, Direction.OUT) == wire_of(sink.records, Direction.IN)
            and sink.records[-1].fields.get("clean") is True
        )
        return results, exact

    results, exact = run(scenario())
    assert all(results) and len(results) == 200
    assert exact == 200


def test_stopping_closes_open_pairs_and_max_connections_refuses(
    tcp_echo_server: RunningServer,
) -> None:
    async def scenario() -> tuple[bytes, bytes, list, list]:
        relay, rec = await start_relay("tcp://127.0.0.1:0", tcp_echo_server.url, max_connections=1)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"open")
        async with asyncio.timeout(WAIT):
            await reader.readexactly(4)
        second_reader, second = await asyncio.open_connection("127.0.0.1", relay.port)
        async with asyncio.timeout(WAIT):
            refused = await second_reader.read()  # closed at once: one pair is the limit
        await relay.stop()
        async with asyncio.timeout(WAIT):
            rest = await reader.read()
        writer.close()
        second.close()
        return rest, refused, rec.conns[1].records, rec.listener.records

    rest, refused, records, own = run(scenario())
    assert rest == b"" and refused == b""
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["initiated_by"] == "relay"
    kinds = [r.kind for r in own]
    assert kinds[0] is Kind.LISTENING and Kind.REFUSED in kinds and kinds[-1] is Kind.CLOSED
    assert own[0].fields["upstream"] == tcp_echo_server.url
    closed = own[-1].fields
    assert closed["initiated_by"] == "server" and closed["clean"] is True
    assert closed["duration_ns"] >= own[-1].t_ns - own[0].t_ns > 0  # from before LISTENING


def test_a_client_speaking_plain_text_to_a_tls_relay_is_one_line(
    tcp_echo_server: RunningServer, tmp_path: object
) -> None:
    tls = server_tls(directory=tmp_path)  # type: ignore[arg-type]

    async def scenario() -> list:
        relay, rec = await start_relay("tls://127.0.0.1:0", tcp_echo_server.url, tls=tls)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        async with asyncio.timeout(WAIT):
            await reader.read()
        writer.close()
        await ended(relay)
        await relay.stop()
        return rec.conns[1].records

    records = run(scenario())
    errors = [r for r in records if r.kind is Kind.ERROR]
    assert len(errors) == 1 and errors[0].fields["phase"] == "tls"
    assert "TLS handshake with the client" in (errors[0].message or "")
    assert not [r for r in records if r.kind is Kind.RESOLVE]  # the upstream was never asked
    assert records[-1].fields["initiated_by"] == "client"


def test_rate_and_jitter_hold_chunks_in_order(tcp_echo_server: RunningServer) -> None:
    async def scenario() -> tuple[bytes, bytes, list]:
        relay, rec = await start_relay(
            "tcp://127.0.0.1:0",
            tcp_echo_server.url,
            c2s=Faults(rate_kbps=8.0, jitter_ms=40.0),  # 1,000 bytes a second
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        sent = b""
        for n in range(10):
            chunk = f"{n:03d}".encode() * 50  # 150 bytes each
            writer.write(chunk)
            await writer.drain()
            sent += chunk
            async with asyncio.timeout(WAIT):  # one read each: wait until it is recorded
                while len(wire_of(rec.conns[1].records, Direction.OUT)) < len(sent):
                    await asyncio.sleep(0.002)
        async with asyncio.timeout(WAIT):
            echoed = await reader.readexactly(len(sent))
        writer.close()
        await ended(relay)
        await relay.stop()
        return sent, echoed, rec.conns[1].records

    sent, echoed, records = run(scenario())
    assert echoed == sent  # order kept through jitter and the rate limit
    held = [
        r.fields.get("held_ms", 0)
        for r in records
        if r.kind is Kind.DATA and r.direction is Direction.OUT
    ]
    assert len(held) == 10 and max(held) > 300  # 1,500 bytes at 1,000 B/s queue up
    assert any("rate 8 kbit/s" in m and "± 40 ms" in m for m in messages(records))
