"""ws:// and wss:// relaying: byte-exact both ways (deflate included), the tap's decode, faults."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest
from relay_helpers import WAIT, ended, messages, start_relay, wire_of
from servers import RunningServer
from session_helpers import run
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Opcode
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from inspector.core.options import SessionOptions
from inspector.core.records import Direction, Kind, Record
from inspector.net.certs import server_tls
from inspector.net.relayfaults import Faults

TEXTS = ["hello", "héllo " * 50, "x" * 5000, "hello"]  # repeats: context takeover matters


class Tape:
    """Every byte one end sent and received, and the messages it got."""

    def __init__(self) -> None:
        self.sent = bytearray()
        self.received = bytearray()
        self.messages: list[Any] = []


async def _pump(protocol: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                tape: Tape, on_event: Any) -> None:  # fmt: skip
    """Drive a websockets Sans-I/O protocol over a stream, keeping every byte."""

    def flush() -> None:
        for chunk in protocol.data_to_send():
            if chunk:
                tape.sent += chunk
                writer.write(chunk)
            else:
                writer.write_eof()

    flush()
    while True:
        data = await reader.read(65536)
        if not data:
            protocol.receive_eof()
            flush()
            break
        tape.received += data
        protocol.receive_data(data)
        for event in protocol.events_received():
            on_event(event)
        flush()
        if protocol.close_expected() and not protocol.data_to_send():
            pass
    writer.close()


async def raw_server(server_tape: Tape, factory: Any) -> tuple[asyncio.Server, int]:
    """A websockets ServerProtocol echo server on raw streams; fragments "frag" echoes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        protocol = ServerProtocol(extensions=[factory] if factory else None)
        handshake_done = False

        def on_event(event: Any) -> None:
            nonlocal handshake_done
            if not handshake_done:
                protocol.send_response(protocol.accept(event))
                handshake_done = True
                return
            if event.opcode in (Opcode.TEXT, Opcode.BINARY) or event.opcode is Opcode.CONT:
                server_tape.messages.append(event.data)
                if event.opcode is Opcode.TEXT and event.data == b"frag":
                    protocol.send_text(b"part one, ", fin=False)
                    protocol.send_continuation(b"part two", fin=True)
                elif event.opcode is Opcode.TEXT:
                    protocol.send_text(event.data)
                elif event.opcode is Opcode.BINARY:
                    protocol.send_binary(event.data)
                elif event.fin:
                    protocol.send_text(b"continued")

        await _pump(protocol, reader, writer, server_tape, on_event)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def raw_client(port: int, tape: Tape, factory: Any) -> None:
    """A websockets ClientProtocol on a raw stream: texts, a binary, a fragmented message."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/chat"), extensions=[factory])
    protocol.send_request(protocol.connect())
    expected = len(TEXTS) + 5
    sent_all = False

    def on_event(event: Any) -> None:
        nonlocal sent_all
        if not sent_all and protocol.handshake_exc is None and not hasattr(event, "opcode"):
            for text in TEXTS:
                protocol.send_text(text.encode())
            protocol.send_binary(bytes(range(256)) * 4)
            protocol.send_text(b"frag")  # echoed as two fragments
            protocol.send_text(b"fra", fin=False)
            protocol.send_continuation(b"g", fin=True)
            sent_all = True
            return
        if getattr(event, "opcode", None) in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            tape.messages.append(event.data)
            if len(tape.messages) == expected:
                protocol.send_close(1000, "done")

    async with asyncio.timeout(WAIT):
        await _pump(protocol, reader, writer, tape, on_event)


def data_payloads(records: list[Record], direction: Direction) -> list[bytes]:
    """The decoded payloads of one direction's data frames, in order."""
    return [
        r.payload or b""
        for r in records
        if r.kind is Kind.FRAME
        and r.direction is direction
        and r.fields.get("opcode") in ("text", "binary", "continuation")
    ]


@pytest.mark.parametrize(
    ("client_offer", "server_accept"),
    [
        ({}, {}),
        ({"client_no_context_takeover": True}, {"server_no_context_takeover": True}),
        ({"client_max_window_bits": 10}, {"server_max_window_bits": 11}),
    ],
    ids=["context-takeover", "no-context-takeover", "window-bits"],
)
def test_websocket_relay_is_byte_exact_with_deflate(
    client_offer: dict[str, Any], server_accept: dict[str, Any]
) -> None:
    client_tape, server_tape = Tape(), Tape()

    async def scenario() -> list[Record]:
        factory = ServerPerMessageDeflateFactory(**server_accept)
        server, port = await raw_server(server_tape, factory)
        relay, rec = await start_relay("ws://127.0.0.1:0/", f"ws://127.0.0.1:{port}/")
        await raw_client(relay.port, client_tape, ClientPerMessageDeflateFactory(**client_offer))
        await ended(relay)
        await relay.stop()
        server.close()
        return rec.conns[1].records

    records = run(scenario())
    host_sent = f"Host: 127.0.0.1:{records and _relay_port(records)}".encode()
    # What the server read is what the client wrote, but for the Host line.
    client_sent = bytes(client_tape.sent)
    server_got = bytes(server_tape.received)
    assert host_sent in client_sent
    upstream_host = [r for r in records if r.kind is Kind.CONNECT][1].fields["peer"]
    assert server_got == client_sent.replace(host_sent, f"Host: {upstream_host}".encode())
    assert bytes(client_tape.received) == bytes(server_tape.sent)
    # The records hold exactly what each side sent.
    assert wire_of(records, Direction.OUT) == client_sent
    assert wire_of(records, Direction.IN) == bytes(server_tape.sent)
    # The tap inflated every frame with each side's parameters.
    frames = [r for r in records if r.kind is Kind.FRAME]
    assert not [r for r in frames if r.fields.get("error")]
    assert any(r.fields.get("compressed") for r in frames if r.direction is Direction.OUT)
    assert any(r.fields.get("compressed") for r in frames if r.direction is Direction.IN)
    out = data_payloads(records, Direction.OUT)
    assert out[: len(TEXTS)] == [t.encode() for t in TEXTS]
    assert out[len(TEXTS)] == bytes(range(256)) * 4 and out[-2:] == [b"fra", b"g"]
    assert data_payloads(records, Direction.IN)[-4:] == [
        b"part one, ",
        b"part two",
        b"fra",
        b"continued",
    ]
    assert all(r.fields["masked"] for r in frames if r.direction is Direction.OUT)
    request = next(r for r in records if r.kind is Kind.HANDSHAKE)
    assert request.fields["rewritten"] == {"Host": upstream_host}
    answer = [r for r in records if r.kind is Kind.HANDSHAKE][1]
    assert answer.fields["status"] == 101 and "permessage-deflate" in answer.fields["extensions"]


def _relay_port(records: list[Record]) -> str:
    return records[0].fields["local"].rsplit(":", 1)[1]


def test_websockets_client_to_websockets_server(ws_server: RunningServer) -> None:
    async def scenario() -> tuple[list[str], list[Record], str | None]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url)
        got = []
        async with connect(f"ws://127.0.0.1:{relay.port}/", subprotocols=None) as ws:
            for text in ("one", "two", "ping-me"):
                await ws.send(text)
                got.append(await ws.recv())
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        await ended(relay)
        await relay.stop()
        return got, rec.conns[1].records, extensions

    got, records, extensions = run(scenario())
    assert got == ["one", "two", "ping-me"]
    assert extensions is not None and "permessage-deflate" in extensions
    opcodes = [(r.direction, r.fields["opcode"]) for r in records if r.kind is Kind.FRAME]
    assert (Direction.IN, "ping") in opcodes and (Direction.OUT, "pong") in opcodes
    closes = [r for r in records if r.kind is Kind.FRAME and r.fields["opcode"] == "close"]
    assert len(closes) == 2 and closes[0].fields["close_code"] == 1000
    assert records[-1].fields["clean"] is True


@pytest.mark.parametrize(
    ("closing", "began", "code", "reason"),
    [("client", "client", 1000, "done here"), ("close-me", "server", 4000, "bye")],
)
def test_a_pairs_end_says_who_began_the_close_handshake_and_its_code(
    ws_server: RunningServer, closing: str, began: str, code: int, reason: str
) -> None:
    async def scenario() -> list[Record]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url)
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            if closing == "client":
                await ws.close(code, reason)
            else:
                await ws.send(closing)  # the server closes with 4000 "bye"
                await ws.wait_closed()
        await ended(relay)
        await relay.stop()
        return rec.conns[1].records

    closed = run(scenario())[-1]
    assert closed.kind is Kind.CLOSED
    assert closed.fields["message"] == f"closed cleanly ({code} {reason}), the {began} began"
    assert closed.fields["clean"] is True and closed.fields["initiated_by"] == began
    assert closed.fields["close_code"] == code and closed.fields["close_reason"] == reason


def test_a_refused_upgrade_is_passed_back_as_it_was(ws_server: RunningServer) -> None:
    async def scenario() -> tuple[InvalidStatus, list[Record]]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url)
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"ws://127.0.0.1:{relay.port}/forbidden"):
                pass
        await ended(relay)
        await relay.stop()
        return info.value, rec.conns[1].records

    refused, records = run(scenario())
    assert refused.response.status_code == 403
    assert b"forbidden: this path refuses" in refused.response.body
    errors = [r.message for r in records if r.kind is Kind.ERROR]
    assert errors == ["upstream refused the upgrade: 403 Forbidden"]
    answer = [r for r in records if r.kind is Kind.HANDSHAKE][1]
    assert answer.fields["accepted"] is False


def test_upstream_down_answers_the_client_502() -> None:
    async def scenario() -> tuple[int, list[Record]]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", "ws://nowhere.invalid:9/")
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"ws://127.0.0.1:{relay.port}/"):
                pass
        await ended(relay)
        await relay.stop()
        return info.value.response.status_code, rec.conns[1].records

    status, records = run(scenario())
    assert status == 502
    errors = [r for r in records if r.kind is Kind.ERROR]
    assert len(errors) == 1 and "nowhere.invalid" in (errors[0].message or "")


def test_wss_to_the_relay_and_wss_upstream(
    wss_server: RunningServer, tls_ca_file: str, tmp_path: Path
) -> None:
    tls = server_tls(directory=tmp_path, alpn=["http/1.1"])

    async def scenario() -> tuple[str, list[Record]]:
        relay, rec = await start_relay(
            "wss://127.0.0.1:0/",
            wss_server.url,
            tls=tls,
            options=SessionOptions(cafile=tls_ca_file),
        )
        context = ssl.create_default_context(cafile=str(tls.cert_path))
        async with connect(f"wss://localhost:{relay.port}/", ssl=context) as ws:
            await ws.send("secure")
            answer = await ws.recv()
        await ended(relay)
        await relay.stop()
        return str(answer), rec.conns[1].records

    answer, records = run(scenario())
    assert answer == "secure"
    assert [r.fields["leg"] for r in records if r.kind is Kind.TLS] == ["client", "upstream"]
    request = next(r for r in records if r.kind is Kind.HANDSHAKE)
    host = wss_server.url.split("//")[1].rstrip("/")
    assert request.fields["rewritten"] == {"Host": host}


def test_loss_drops_whole_messages_and_says_so(ws_server: RunningServer) -> None:
    async def scenario() -> tuple[list[str], list[Record]]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url, c2s=Faults(loss=100.0))
        async with connect(f"ws://127.0.0.1:{relay.port}/", compression="deflate") as ws:
            await ws.send("lost")
            await ws.close()
        await ended(relay)
        await relay.stop()
        return [], rec.conns[1].records

    _got, records = run(scenario())
    lost = [r for r in records if r.kind is Kind.FRAME and r.fields.get("lost")]
    assert len(lost) == 1 and lost[0].payload == b"lost"
    request = next(r for r in records if r.kind is Kind.HANDSHAKE)
    assert "Sec-WebSocket-Extensions" in request.fields["rewritten"]
    assert any("loss 100%" in m for m in messages(records))


def test_two_hundred_websocket_pairs_at_once_lose_nothing(ws_server: RunningServer) -> None:
    async def scenario() -> tuple[list[bool], int]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url)

        async def one(n: int) -> bool:
            texts = [f"pair {n} message {i}" for i in range(5)]
            async with connect(f"ws://127.0.0.1:{relay.port}/", open_timeout=WAIT) as ws:
                for text in texts:
                    await ws.send(text)
                got = [await ws.recv() for _ in texts]
            return got == texts

        async with asyncio.timeout(120):
            results = await asyncio.gather(*(one(n) for n in range(200)))
        await ended(relay, 200)
        await relay.stop()
        whole = sum(
            1
            for sink in rec.conns.values()
            if len(data_payloads(sink.records, Direction.OUT)) == 5
            and len(data_payloads(sink.records, Direction.IN)) == 5
            and sink.records[-1].fields.get("clean") is True
        )
        return results, whole

    results, whole = run(scenario(), timeout=180)
    assert all(results) and len(results) == 200
    assert whole == 200


def test_cut_after_messages_closes_both_sides(ws_server: RunningServer) -> None:
    from websockets.exceptions import ConnectionClosed

    from inspector.net.relayfaults import CutMode

    async def scenario() -> tuple[list[str], list[Record]]:
        relay, rec = await start_relay(
            "ws://127.0.0.1:0/",
            ws_server.url,
            s2c=Faults(cut_after_messages=2, cut_mode=CutMode.CLOSE),
        )
        got: list[str] = []
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            with pytest.raises(ConnectionClosed):
                for n in range(5):
                    await ws.send(f"m{n}")
                    got.append(str(await ws.recv()))
        await ended(relay)
        await relay.stop()
        return got, rec.conns[1].records

    got, records = run(scenario())
    assert got == ["m0", "m1"]
    cut = [r for r in records if r.kind is Kind.INFO and r.fields.get("cut")]
    assert len(cut) == 1 and cut[0].fields["cut"] == "close"
    assert "server → client" in (cut[0].message or "")
    request = next(r for r in records if r.kind is Kind.HANDSHAKE)
    assert "Sec-WebSocket-Extensions" in request.fields["rewritten"]  # messages uncompressed
