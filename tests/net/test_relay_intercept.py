"""Intercept through a real relay: hold, forward, edit, drop and inject, tcp and WebSocket."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from relay_helpers import WAIT, ended, raw_connect, start_relay, wire_of
from servers import RunningServer
from session_helpers import run
from test_relay_ws import TEXTS, Tape, data_payloads, raw_server
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

from inspector.capture.formats import export_pcapng
from inspector.core.records import Direction, Kind, Record
from inspector.net.intercept import (
    HeldMessage,
    InterceptMode,
    InterceptObserver,
    Interceptor,
    Outcome,
    Resolution,
)
from inspector.net.relaylegs import Side
from inspector.net.relaymessages import HOLD_LIMIT


class Queue(InterceptObserver):
    """What a window's queue would see."""

    def __init__(self) -> None:
        self.held_messages: list[HeldMessage] = []
        self.resolutions: list[Resolution] = []

    def held(self, message: HeldMessage) -> None:
        self.held_messages.append(message)

    def resolved(self, resolution: Resolution) -> None:
        self.resolutions.append(resolution)


async def until(condition: Callable[[], Any]) -> None:
    """Wait (bounded) until ``condition()`` is true."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.005)


def intercepting(mode: str, expression: str = "") -> tuple[Interceptor, Queue]:
    interceptor = Interceptor(InterceptMode(mode), expression)
    queue = Queue()
    interceptor.subscribe(queue)
    return interceptor, queue


def tcp_session(upstream: str) -> tuple[list[bytes], list[Record], Queue]:
    """A tcp pair whose reads are forwarded, edited, dropped, and two messages injected."""
    interceptor, queue = intercepting("c2s")

    async def scenario() -> tuple[list[bytes], list[Record]]:
        relay, rec = await start_relay("tcp://127.0.0.1:0", upstream, intercept=interceptor)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        got: list[bytes] = []

        async def line() -> None:
            async with asyncio.timeout(WAIT):
                got.append(await reader.readline())

        writer.write(b"one\n")
        await until(lambda: len(interceptor.queue) == 1)
        first = interceptor.queue[0]
        assert (first.conn, first.way, first.payload) == (1, "c2s", b"one\n")
        interceptor.forward(first.id)
        await line()
        writer.write(b"two\n")
        await until(lambda: len(interceptor.queue) == 1)
        interceptor.edit(interceptor.queue[0].id, b"TWO\n")
        await line()
        writer.write(b"three\n")
        await until(lambda: len(interceptor.queue) == 1)
        interceptor.drop(interceptor.queue[0].id)
        interceptor.inject(1, "s2c", b"from the relay\n")
        await line()
        interceptor.inject(1, "c2s", b"echo me\n")  # to the server, echoed back
        await line()
        writer.close()
        await ended(relay)
        await relay.stop()
        return got, rec.conns[1].records

    got, records = run(scenario())
    return got, records, queue


def test_tcp_held_reads_are_forwarded_edited_dropped_and_injected(
    tcp_echo_server: RunningServer,
) -> None:
    got, records, queue = tcp_session(tcp_echo_server.url)
    assert got == [b"one\n", b"TWO\n", b"from the relay\n", b"echo me\n"]
    assert [r.outcome for r in queue.resolutions] == [
        Outcome.FORWARDED, Outcome.EDITED, Outcome.DROPPED
    ]  # fmt: skip
    held = [r for r in records if r.kind is Kind.DATA and "forwarded" in r.fields]
    assert [(r.wire, r.fields["forwarded"]) for r in held] == [
        (b"one\n", False), (b"two\n", False), (b"three\n", False)
    ]  # fmt: skip
    sent = [(r.direction, r.wire, r.fields["relayed"]) for r in records if r.fields.get("injected")]
    assert sent == [
        (Direction.OUT, b"one\n", "forwarded"),
        (Direction.OUT, b"TWO\n", "edited"),
        (Direction.IN, b"from the relay\n", "injected"),
        (Direction.OUT, b"echo me\n", "injected"),
    ]
    plain = [r for r in records if not r.fields.get("injected")]
    assert wire_of(plain, Direction.OUT) == b"one\ntwo\nthree\n"
    assert wire_of(plain, Direction.IN) == b"one\nTWO\necho me\n"
    assert any("#3" in (r.message or "") and r.fields.get("dropped") for r in records)


def test_websocket_intercept_with_deflate_end_to_end(ws_server: RunningServer) -> None:
    interceptor, queue = intercepting("both", "secret")

    async def scenario() -> tuple[list[Any], list[Record], str | None]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url, intercept=interceptor)
        got: list[Any] = []
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
            await ws.send("plain")  # the filter does not pick it: it passes
            async with asyncio.timeout(WAIT):
                got.append(await ws.recv())
            await ws.send("a secret")
            await until(lambda: len(interceptor.queue) == 1)
            interceptor.forward(interceptor.queue[0].id)
            await until(lambda: len(interceptor.queue) == 1)  # its echo, going s2c
            echo = interceptor.queue[0]
            assert (echo.way, echo.kind, echo.payload) == ("s2c", "text", b"a secret")
            interceptor.edit(echo.id, "a changed secret ✓".encode())
            async with asyncio.timeout(WAIT):
                got.append(await ws.recv())
            await ws.send("secret to drop " * 20)
            await until(lambda: len(interceptor.queue) == 1)
            interceptor.drop(interceptor.queue[0].id)
            interceptor.inject(1, "s2c", b"\x00\x01binary", "binary")
            async with asyncio.timeout(WAIT):
                got.append(await ws.recv())
            for text in TEXTS:  # context takeover: each must still inflate on both sides
                await ws.send(text)
                async with asyncio.timeout(WAIT):
                    got.append(await ws.recv())
        await ended(relay)
        await relay.stop()
        return got, rec.conns[1].records, extensions

    got, records, extensions = run(scenario())
    assert extensions is not None and "permessage-deflate" in extensions
    assert got == ["plain", "a changed secret ✓", b"\x00\x01binary", *TEXTS]
    assert [r.outcome for r in queue.resolutions] == [
        Outcome.FORWARDED, Outcome.EDITED, Outcome.DROPPED
    ]  # fmt: skip
    frames = [r for r in records if r.kind is Kind.FRAME]
    assert not [r for r in frames if r.fields.get("error")]
    sent = [r for r in frames if r.fields.get("injected")]
    assert all(r.fields["masked"] for r in sent if r.direction is Direction.OUT)
    assert not any(r.fields["masked"] for r in sent if r.direction is Direction.IN)
    assert any(r.fields["compressed"] for r in sent if r.direction is Direction.IN)
    edited = next(r for r in sent if r.fields.get("relayed") == "edited")
    assert edited.payload == "a changed secret ✓".encode() and edited.direction is Direction.IN
    arrived = [r for r in frames if not r.fields.get("injected")]
    assert all(r.fields.get("reframed") for r in arrived if r.fields["opcode"] != "close")
    dropped = [r for r in arrived if r.fields.get("intercept") == 3]
    assert dropped and dropped[0].fields["forwarded"] is False
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["clean"] is True


@pytest.mark.parametrize(
    ("client_offer", "server_accept"),
    [
        ({}, {}),
        ({"client_no_context_takeover": True}, {"server_no_context_takeover": True}),
        ({"client_max_window_bits": 10}, {"server_max_window_bits": 11}),
    ],
    ids=["context-takeover", "no-context-takeover", "window-bits"],
)
def test_reframed_messages_reach_both_ends_whole(
    client_offer: dict[str, Any], server_accept: dict[str, Any]
) -> None:
    """Every message re-framed both ways (fragments joined), under each negotiation."""
    server_tape = Tape()
    interceptor, queue = intercepting("both", "never matches anything")

    async def scenario() -> tuple[list[Any], list[Record]]:
        factory = ServerPerMessageDeflateFactory(**server_accept)
        server, port = await raw_server(server_tape, factory)
        relay, rec = await start_relay(
            "ws://127.0.0.1:0/", f"ws://127.0.0.1:{port}/", intercept=interceptor
        )
        got: list[Any] = []
        offer = ClientPerMessageDeflateFactory(**client_offer)
        url = f"ws://127.0.0.1:{relay.port}/"
        async with connect(url, compression=None, extensions=[offer]) as ws:
            for text in TEXTS:
                await ws.send(text)
            await ws.send(bytes(range(256)) * 4)
            await ws.send("frag")
            await ws.send(["fra", "g"])  # fragmented: the relay sends it on whole
            async with asyncio.timeout(WAIT):
                for _ in range(len(TEXTS) + 3):
                    got.append(await ws.recv())
        await ended(relay)
        await relay.stop()
        server.close()
        return got, rec.conns[1].records

    got, records = run(scenario())
    whole = "part one, part two"
    assert got == [*TEXTS, bytes(range(256)) * 4, whole, whole]
    expected = [t.encode() for t in TEXTS] + [bytes(range(256)) * 4, b"frag", b"frag"]
    assert server_tape.messages == expected
    assert queue.held_messages == []
    frames = [r for r in records if r.kind is Kind.FRAME]
    assert not [r for r in frames if r.fields.get("error")]
    arrived = [r for r in records if not r.fields.get("injected")]
    sent = [r for r in frames if r.fields.get("injected")]
    # What arrived from the server is what it sent; what it read is what the relay sent.
    assert wire_of(arrived, Direction.IN) == bytes(server_tape.sent)
    assert bytes(server_tape.received).endswith(
        b"".join(r.wire for r in sent if r.direction is Direction.OUT)
    )
    assert data_payloads(sent, Direction.OUT) == expected
    assert data_payloads(sent, Direction.IN)[-2:] == [whole.encode(), whole.encode()]
    assert all(r.fields["compressed"] for r in sent if r.fields["opcode"] in ("text", "binary"))


def test_switching_intercept_on_mid_session_keeps_deflate_in_step(ws_server: RunningServer) -> None:
    """Transparent first (the relay's and the peers' contexts share history), then held:
    a fresh compressor's messages inflate in the receivers' running contexts."""
    interceptor, queue = intercepting("off")

    async def scenario() -> list[Any]:
        relay, _ = await start_relay("ws://127.0.0.1:0/", ws_server.url, intercept=interceptor)
        got: list[Any] = []
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            for text in TEXTS:
                await ws.send(text)
                async with asyncio.timeout(WAIT):
                    got.append(await ws.recv())
            interceptor.set_mode("s2c")
            for text in TEXTS:
                await ws.send(text)
                await until(lambda: len(interceptor.queue) == 1)
                interceptor.edit(interceptor.queue[0].id, text.upper().encode())
                async with asyncio.timeout(WAIT):
                    got.append(await ws.recv())
        await ended(relay)
        await relay.stop()
        return got

    got = run(scenario())
    assert got == TEXTS + [t.upper() for t in TEXTS]
    assert [r.outcome for r in queue.resolutions] == [Outcome.EDITED] * len(TEXTS)


def test_held_messages_of_an_ending_connection_are_dropped_with_the_reason(
    tcp_echo_server: RunningServer,
) -> None:
    interceptor, queue = intercepting("c2s")

    async def scenario() -> None:
        relay, _ = await start_relay(
            "tcp://127.0.0.1:0", tcp_echo_server.url, intercept=interceptor
        )
        _, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"held forever\n")
        await until(lambda: len(interceptor.queue) == 1)
        writer.transport.abort()
        await ended(relay)
        await relay.stop()

    run(scenario())
    assert interceptor.queue == []
    (gone,) = queue.resolutions
    assert gone.outcome is Outcome.DROPPED and gone.sent is None
    assert gone.reason.startswith("dropped: the connection ended (")


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_pcapng_puts_held_and_injected_bytes_on_the_leg_that_carried_them(
    tcp_echo_server: RunningServer, tmp_path: Path
) -> None:
    _, records, _ = tcp_session(tcp_echo_server.url)
    path = tmp_path / "relay.pcapng"
    session = _Session(f"tcp://127.0.0.1:{port_of(records)}", "tcp", time.time_ns(), {})
    with path.open("wb") as out:
        export_pcapng(out, session, records)
    shown = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", "tcp.len > 0", "-T", "fields",
         "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.payload"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    streams: dict[tuple[str, str], bytes] = {}
    for line in shown.stdout.splitlines():
        stream, srcport, payload = line.split("\t")
        key = (stream, srcport)
        streams[key] = streams.get(key, b"") + bytes.fromhex(payload)
    assert sorted(streams.values()) == sorted(
        [
            b"one\ntwo\nthree\n",  # the client wrote, to the relay
            b"one\nTWO\nfrom the relay\necho me\n",  # the relay wrote, to the client
            b"one\nTWO\necho me\n",  # the relay wrote, to the server
            b"one\nTWO\necho me\n",  # the server echoed
        ]
    )


@dataclass(frozen=True, slots=True)
class _Session:
    endpoint: str
    scheme: str
    started_wall_ns: int
    summary: dict[str, Any]


def port_of(records: list[Record]) -> int:
    return int(str(records[0].fields["local"]).rsplit(":", 1)[1])


def test_held_bytes_past_the_limit_pause_the_sender_until_resolved(
    tcp_echo_server: RunningServer,
) -> None:
    """Memory stays bounded: past HOLD_LIMIT of held reads the client's leg stops reading."""
    interceptor, _ = intercepting("c2s")
    total = HOLD_LIMIT + (2 << 20)

    async def scenario() -> tuple[int, int, list[Record]]:
        relay, rec = await start_relay(
            "tcp://127.0.0.1:0", tcp_echo_server.url, intercept=interceptor
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"x" * total)

        def paused() -> bool:
            return any(
                r.fields.get("backed_up") and "held messages" in (r.message or "")
                for r in rec.conns[1].records
            )

        await until(paused)
        held_at_pause = sum(len(m.payload) for m in interceptor.queue)
        interceptor.set_mode("off")  # what comes next passes; what is held goes on now
        interceptor.forward_all()
        received = 0
        async with asyncio.timeout(WAIT):
            while received < total:
                chunk = await reader.read(1 << 20)
                assert chunk, "the relay closed early"
                received += len(chunk)
        writer.close()
        await ended(relay)
        await relay.stop()
        return held_at_pause, received, rec.conns[1].records

    held_at_pause, received, records = run(scenario())
    assert HOLD_LIMIT < held_at_pause <= HOLD_LIMIT + (256 << 10)
    assert received == total
    lines = [
        r.message for r in records if r.kind is Kind.INFO and "held messages" in (r.message or "")
    ]
    assert lines[0] == "held messages from the client passed 4 MiB: pausing its reads"
    assert "held messages from the client are under 4 MiB: reading again" in lines


def test_udp_datagrams_are_held_edited_dropped_and_injected(
    udp_echo_server: RunningServer,
) -> None:
    interceptor, queue = intercepting("s2c")

    async def scenario() -> tuple[list[bytes], list[Record]]:
        relay, rec = await start_relay(
            "udp://127.0.0.1:0", udp_echo_server.url, intercept=interceptor
        )
        loop = asyncio.get_running_loop()
        got: asyncio.Queue[bytes] = asyncio.Queue()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                got.put_nowait(data)

        transport, _ = await loop.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.1", relay.port)
        )
        received: list[bytes] = []
        transport.sendto(b"first")  # its echo is held
        await until(lambda: len(interceptor.queue) == 1)
        interceptor.edit(interceptor.queue[0].id, b"FIRST")
        async with asyncio.timeout(WAIT):
            received.append(await got.get())
        transport.sendto(b"second")
        await until(lambda: len(interceptor.queue) == 1)
        interceptor.drop(interceptor.queue[0].id)
        interceptor.inject(1, "s2c", b"from the relay")
        async with asyncio.timeout(WAIT):
            received.append(await got.get())
        transport.close()
        await relay.stop()
        return received, rec.conns[1].records

    received, records = run(scenario())
    assert received == [b"FIRST", b"from the relay"]
    assert [r.outcome for r in queue.resolutions] == [Outcome.EDITED, Outcome.DROPPED]
    datagrams = [r for r in records if r.kind is Kind.DATAGRAM]
    held = [r.wire for r in datagrams if r.fields.get("forwarded") is False]
    assert held == [b"first", b"second"]
    sent = [(r.wire, r.fields["relayed"]) for r in datagrams if r.fields.get("injected")]
    assert sent == [(b"FIRST", "edited"), (b"from the relay", "injected")]


@pytest.mark.parametrize(
    ("frame", "code", "line"),
    [
        (b"\xa1\x80" + b"\x00" * 4, 1002, "reserved bits RSV2/RSV3"),  # RSV2 on a text frame
        (b"\x83\x80" + b"\x00" * 4, 1002, "reserved opcode 3"),
        (b"\x81\x02\xc3\x28", 1002, "an unmasked frame from the client"),
        (b"\x81\x82" + b"\x00" * 4 + b"\xc3\x28", 1007, "is not UTF-8"),
    ],
    ids=["rsv2", "opcode-3", "unmasked", "bad-utf8"],
)
def test_a_terminated_direction_refuses_what_an_endpoint_refuses(
    ws_server: RunningServer, frame: bytes, code: int, line: str
) -> None:
    """The relay answers a bad frame as an endpoint does: a close frame with the code to
    the sender and to the other side, the bytes recorded, the pair ended."""
    interceptor, _ = intercepting("both", "nothing matches this")

    async def scenario() -> tuple[bytes, list[Record]]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url, intercept=interceptor)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        async with asyncio.timeout(WAIT):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(frame)
            answer = await reader.read()  # the close frame, then the end of the stream
        writer.close()
        await ended(relay)
        await relay.stop()
        return answer, rec.conns[1].records

    answer, records = run(scenario())
    assert answer[:1] == b"\x88" and int.from_bytes(answer[2:4], "big") == code
    errors = [r for r in records if r.kind is Kind.ERROR]
    assert len(errors) == 1 and line in (errors[0].message or "")
    assert errors[0].fields["close_code"] == code
    closes = [r for r in records if r.fields.get("relayed") == "violation"]
    assert {r.direction for r in closes} == {Direction.IN, Direction.OUT}
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["clean"] is False


def test_a_message_sent_with_the_upgrade_request_is_held_too(ws_server: RunningServer) -> None:
    """Frames pipelined behind the upgrade request wait for the answer, then are held."""
    interceptor, queue = intercepting("c2s")
    masked_hi = b"\x81\x82" + b"\x00" * 4 + b"hi"

    async def scenario() -> bytes:
        relay, _ = await start_relay("ws://127.0.0.1:0/", ws_server.url, intercept=interceptor)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            + masked_hi
        )
        async with asyncio.timeout(WAIT):
            await reader.readuntil(b"\r\n\r\n")
        await until(lambda: len(interceptor.queue) == 1)
        interceptor.edit(interceptor.queue[0].id, b"HI")
        async with asyncio.timeout(WAIT):
            echo = await reader.readexactly(4)
        writer.close()
        await ended(relay)
        await relay.stop()
        return echo

    assert run(scenario()) == b"\x81\x02HI"
    assert [m.payload for m in queue.held_messages] == [b"hi"]


def _dropped_then_closed(records: list[Record]) -> list[Record]:
    """The INFO records of held messages dropped, checked to come before CLOSED."""
    dropped = [r for r in records if r.kind is Kind.INFO and r.fields.get("dropped")]
    closed = [i for i, r in enumerate(records) if r.kind is Kind.CLOSED]
    assert closed and all(records.index(r) < closed[0] for r in dropped)
    return dropped


def test_held_messages_of_an_ending_connection_are_recorded_in_its_session(
    tcp_echo_server: RunningServer,
) -> None:
    interceptor, _queue = intercepting("c2s")

    async def scenario() -> list[Record]:
        relay, rec = await start_relay(
            "tcp://127.0.0.1:0", tcp_echo_server.url, intercept=interceptor
        )
        _, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"held forever\n")
        await until(lambda: len(interceptor.queue) == 1)
        writer.transport.abort()
        await ended(relay)
        await relay.stop()
        return rec.conns[1].records

    (dropped,) = _dropped_then_closed(run(scenario()))
    assert dropped.fields["held"] == 1 and dropped.fields["size"] == len(b"held forever\n")
    line = dropped.message or ""
    assert line.startswith("held message #1 (client → server) dropped: the connection ended (")


def test_held_websocket_messages_are_recorded_when_the_relay_stops(
    ws_server: RunningServer,
) -> None:
    interceptor, _queue = intercepting("c2s")

    async def scenario() -> tuple[int | None, list[Record]]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url, intercept=interceptor)
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            await ws.send("first")
            await ws.send("second")
            await until(lambda: len(interceptor.queue) == 2)
            await relay.stop()
            async with asyncio.timeout(WAIT):
                await ws.wait_closed()
            code = ws.close_code
        return code, rec.conns[1].records

    code, records = run(scenario())
    assert code == 1001
    dropped = _dropped_then_closed(records)
    assert [r.fields["held"] for r in dropped] == [1, 2]
    assert all("dropped: the connection ended" in (r.message or "") for r in dropped)


class LostLines(Queue):
    """A queue that also keeps the lines of messages lost with their connection."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: list[tuple[int, str, str]] = []

    def not_sent(self, conn: int, way: Any, line: str) -> None:
        self.lost.append((conn, str(way), line))


def test_an_injection_waiting_for_a_message_under_way_is_not_lost_silently(
    ws_server: RunningServer,
) -> None:
    """The client is partway through a fragmented message: an injection towards the
    server waits for its end; the client leaves first: one line and one record."""
    from websockets.client import ClientProtocol
    from websockets.frames import Frame, Opcode
    from websockets.uri import parse_uri

    interceptor = Interceptor()
    lines = LostLines()
    interceptor.subscribe(lines)

    async def scenario() -> list[Record]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url, intercept=interceptor)
        client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{relay.port}/"))
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        client.send_request(client.connect())
        for chunk in client.data_to_send():
            writer.write(chunk)
        async with asyncio.timeout(WAIT):
            while client.state.name == "CONNECTING":
                data = await reader.read(65536)
                assert data
                client.receive_data(data)
        first = Frame(Opcode.TEXT, b"first part of ", fin=False).serialize(
            mask=True, extensions=None
        )
        writer.write(first)
        pair = relay.pairs[1]
        await until(lambda: any(r.kind is Kind.FRAME for r in rec.conns[1].records))
        interceptor.inject(1, "c2s", b"waits for the message's end")
        assert pair._pending[Side.CLIENT]  # the injection waits for the message's end
        writer.transport.abort()
        await ended(relay)
        await relay.stop()
        return rec.conns[1].records

    records = run(scenario())
    (lost,) = [r for r in records if r.kind is Kind.INFO and r.fields.get("not_sent")]
    assert lost.fields["size"] == len(b"waits for the message's end")
    assert lost.message == (
        "an injected message client → server (27 B) was not sent: the connection ended "
        "while a message from the client was still under way"
    )
    assert records.index(lost) < [r.kind for r in records].index(Kind.CLOSED)
    assert lines.lost == [(1, "c2s", lost.message)]


@pytest.mark.parametrize("resolve", ["forward", "edit", "drop"])
def test_a_close_after_a_held_message_waits_for_it(resolve: str) -> None:
    """The client sends a held message, then closes: the close goes on only once the
    held message has (or, dropped, has not), so the server sees them in the client's order."""
    from websockets.asyncio.server import ServerConnection, serve

    arrived: list[Any] = []
    interceptor, queue = intercepting("c2s", "hold")

    async def keep(ws: ServerConnection) -> None:
        async for message in ws:
            arrived.append(message)
            if message == "passes":
                await ws.send(message)

    async def scenario() -> tuple[list[Record], int | None]:
        server = await serve(keep, "127.0.0.1", 0, compression=None)
        port = server.sockets[0].getsockname()[1]
        relay, rec = await start_relay(
            "ws://127.0.0.1:0/", f"ws://127.0.0.1:{port}/", intercept=interceptor
        )
        async with connect(f"ws://127.0.0.1:{relay.port}/", compression=None) as ws:
            await ws.send("passes")
            async with asyncio.timeout(WAIT):
                assert await ws.recv() == "passes"
            await ws.send("hold me")
            await until(lambda: len(interceptor.queue) == 1)
            closing = asyncio.ensure_future(ws.close())
            records = rec.conns[1].records
            await until(
                lambda: any(
                    r.fields.get("opcode") == "close" for r in records if r.kind is Kind.FRAME
                )
            )
            assert not [
                r for r in records if r.fields.get("relayed") and r.fields.get("opcode") == "close"
            ]
            held = interceptor.queue[0].id
            if resolve == "forward":
                interceptor.forward(held)
            elif resolve == "edit":
                interceptor.edit(held, b"edited")
            else:
                interceptor.drop(held)
            async with asyncio.timeout(WAIT):
                await closing
            code = ws.close_code
        await ended(relay)
        await relay.stop()
        server.close()
        return rec.conns[1].records, code

    records, code = run(scenario())
    expected = {"forward": ["hold me"], "edit": ["edited"], "drop": []}[resolve]
    assert arrived == ["passes", *expected]
    assert code == 1000
    sent = [r for r in records if r.direction is Direction.OUT and r.fields.get("injected")]
    assert [r.fields["opcode"] for r in sent] == ["text"] * (1 + len(expected)) + ["close"]
    assert any("close waits for the messages held before it" in (r.message or "") for r in records)
    assert [r.outcome for r in queue.resolutions] == [
        {"forward": Outcome.FORWARDED, "edit": Outcome.EDITED, "drop": Outcome.DROPPED}[resolve]
    ]


def test_a_read_held_past_its_senders_eof_is_dropped_with_the_reason() -> None:
    """tcp: the client's read is held, then the client half-closes: the EOF goes on (the
    server answers and ends); forwarding the held read afterwards cannot write past that
    EOF, so it is dropped with the reason instead of failing."""
    interceptor, queue = intercepting("c2s")

    async def scenario() -> tuple[bytes, bytes, list[Record]]:
        read_by_server: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        answer_now = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            read_by_server.set_result(await reader.read())  # to the EOF
            await answer_now.wait()
            writer.write(b"bye\n")
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        relay, rec = await start_relay(
            "tcp://127.0.0.1:0", f"tcp://127.0.0.1:{port}", intercept=interceptor
        )
        client = await raw_connect(relay.port)
        assert client.transport is not None
        client.transport.write(b"held\n")
        await until(lambda: len(interceptor.queue) == 1)
        client.transport.write_eof()
        async with asyncio.timeout(WAIT):
            got = await read_by_server
        interceptor.forward(interceptor.queue[0].id)
        answer_now.set()
        answer = await client.until(4)
        client.transport.close()
        await ended(relay)
        await relay.stop()
        server.close()
        return got, answer, rec.conns[1].records

    got, answer, records = run(scenario())
    assert got == b"" and answer == b"bye\n"
    (gone,) = queue.resolutions
    assert gone.outcome is Outcome.DROPPED and gone.sent is None
    assert gone.reason == (
        "dropped: the client half-closed the connection: nothing more goes to the server"
    )
    assert not [r for r in records if r.fields.get("injected")]
