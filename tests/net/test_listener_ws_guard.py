"""ws:// listening against clients that misbehave: garbage, protocol violations, a client
that never reads, a failing answer, 500 clients at once. Raw sockets play the hostile
clients; websockets' client checks that the listener goes on."""

from __future__ import annotations

import asyncio
import base64
import os
import struct

import pytest
from listen_helpers import make_listener
from session_helpers import run, wait_until
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request

from inspector.core.records import Direction, Kind
from inspector.core.rules import ActionKind, MatchKind, Rule
from inspector.protocols.wshandshake import Refusal

ECHO = Rule(MatchKind.ANY, ActionKind.ECHO)


def frame(opcode: int, payload: bytes, masked: bool = True, fin: bool = True) -> bytes:
    """One client frame, masked unless asked otherwise (RFC 6455 §5.2)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    bit = 0x80 if masked else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def upgraded(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection that did the upgrade by hand."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def close_code_read(reader: asyncio.StreamReader) -> int:
    """The code of the server's close frame (skipping frames before it)."""
    while True:
        first, second = await reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(size)
        if first & 0x0F == 0x8:
            return int(struct.unpack("!H", payload[:2])[0])


def test_garbage_instead_of_an_upgrade_gets_a_recorded_400_and_the_listener_goes_on() -> None:
    listener, rec = make_listener("ws://127.0.0.1:0/", ECHO)
    garbage = b"\x00\x01hello, not http\r\n\r\n"

    async def scenario() -> tuple[bytes, str]:
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(garbage)
        answer = await reader.read()  # until the server closes
        writer.close()
        async with connect(listener.url) as client:  # the next client is served
            await client.send("still here")
            echoed = await client.recv()
        await wait_until(lambda: listener.ended_count == 2)
        await listener.stop()
        return answer, str(echoed)

    answer, echoed = run(scenario())
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert echoed == "still here"
    records = rec.conns[1].records
    (error,) = [r for r in records if r.kind is Kind.ERROR]
    assert error.wire == garbage and error.direction is Direction.IN
    assert error.fields["answered_status"] == 400
    assert "not a valid HTTP request" in error.fields["message"]
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["clean"] is False


def test_a_failing_answer_is_recorded_and_answered_with_500() -> None:
    listener, rec = make_listener("ws://127.0.0.1:0/", ECHO)
    calls: list[str] = []

    def answer(request: Request) -> Refusal | None:
        calls.append(request.path)
        if request.path == "/boom":
            raise KeyError("no such route")
        return None

    listener.answer = answer  # type: ignore[attr-defined]

    async def scenario() -> tuple[int, object]:
        await listener.start()
        with pytest.raises(InvalidStatus) as info:
            async with connect(listener.url + "boom"):
                pass
        async with connect(listener.url) as client:
            await client.send(b"\x00bin")
            echoed = await client.recv()
        await wait_until(lambda: listener.ended_count == 2)
        await listener.stop()
        return info.value.response.status_code, echoed

    assert run(scenario()) == (500, b"\x00bin")
    assert calls == ["/boom", "/"]
    first = rec.conns[1].records
    errors = [r for r in first if r.kind is Kind.ERROR]
    (error,) = errors
    assert error.fields["message"].startswith("answering the upgrade request failed:")
    assert "no such route" in error.fields["message"]
    response = next(r for r in first if r.kind is Kind.HANDSHAKE and r.direction is Direction.OUT)
    assert response.fields["status"] == 500


@pytest.mark.parametrize(
    ("label", "frames", "code"),
    [
        ("unmasked frame", [frame(0x1, b"hi", masked=False)], 1002),
        ("bad UTF-8", [frame(0x1, b"\xc3\x28")], 1007),
        ("over the size limit", [frame(0x2, b"x" * 2000)], 1009),
        ("bad close code", [frame(0x8, struct.pack("!H", 1005))], 1002),
        (
            "fragmented over the limit",
            [frame(0x2, b"x" * 800, fin=False), frame(0x0, b"y" * 800)],
            1009,
        ),
    ],
)
def test_protocol_violations_close_with_the_rfc_code(
    label: str, frames: list[bytes], code: int
) -> None:
    listener, rec = make_listener("ws://127.0.0.1:0/", ECHO, max_size=1024)

    async def scenario() -> int:
        await listener.start()
        reader, writer = await upgraded(listener.port)
        writer.write(b"".join(frames))
        got = await close_code_read(reader)
        writer.close()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return got

    assert run(scenario()) == code, label
    records = rec.conns[1].records
    error = next(r for r in records if r.kind is Kind.ERROR)
    assert error.fields["close_code"] == code, error.fields
    closed = records[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["clean"] is False
    assert closed.fields["close_code"] == code


def test_a_client_that_never_reads_is_backed_up_with_bounded_memory() -> None:
    listener, rec = make_listener("ws://127.0.0.1:0/", ECHO)
    message = frame(0x2, b"z" * 60_000)

    async def scenario() -> tuple[int, int]:
        await listener.start()
        _reader, writer = await upgraded(listener.port)
        writer.transport.set_write_buffer_limits(high=1 << 22)
        # The client sends echo requests and never reads: once the server's write
        # buffer is full it stops reading, so the client's own sends stall.
        conn = listener.connections[1]
        for _ in range(2000):  # bounded: ~120 MB at most, stops far earlier
            writer.write(message)
            await asyncio.sleep(0)  # let the listener read and echo
            if conn.backed_up or writer.transport.get_write_buffer_size() > 1 << 23:  # type: ignore[attr-defined]
                break
        await wait_until(lambda: conn.backed_up)  # type: ignore[attr-defined]
        waiting = conn._transport.get_write_buffer_size()  # type: ignore[attr-defined]
        received = conn.messages_in
        writer.transport.abort()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return waiting, received

    waiting, received = run(scenario())
    assert received < 2000  # reading paused: not everything sent was taken in
    assert waiting < 8 << 20  # what waits to be written stays bounded
    infos = [r.fields["message"] for r in rec.conns[1].records if r.kind is Kind.INFO]
    assert any(m.startswith("backed up:") for m in infos), infos


def test_five_hundred_clients_at_once_are_each_recorded() -> None:
    listener, rec = make_listener("ws://127.0.0.1:0/", ECHO)
    count = 500

    async def one(index: int) -> str:
        async with connect(listener.url, open_timeout=120) as client:
            await client.send(f"client {index}")
            return str(await client.recv())

    async def scenario() -> list[str]:
        await listener.start()
        echoes = await asyncio.gather(*(one(i) for i in range(count)))
        await wait_until(lambda: listener.ended_count == count, timeout=120)
        await listener.stop()
        return echoes

    assert run(scenario(), timeout=300) == [f"client {i}" for i in range(count)]
    assert listener.accepted == count and len(rec.conns) == count
    for number, sink in rec.conns.items():
        kinds = [r.kind for r in sink.records]
        assert kinds[0] is Kind.CONNECT and kinds[-1] is Kind.CLOSED, number
        assert sink.records[-1].fields["clean"] is True, number
    accepted = [r for r in rec.listener.records if r.kind is Kind.ACCEPTED]
    assert len(accepted) == count
