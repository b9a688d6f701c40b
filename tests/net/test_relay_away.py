"""Stopping a relay with WebSocket pairs open: each side gets a close frame 1001 first."""

from __future__ import annotations

import asyncio
from typing import Any

from relay_helpers import WAIT, start_relay
from session_helpers import run
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from inspector.core.records import Direction, Kind, Record
from inspector.net.intercept import InterceptMode, Interceptor
from inspector.net.relayaway import GOING_AWAY
from inspector.net.relaylegs import Side


class EchoServer:
    """A websockets echo server on 127.0.0.1:0 that keeps what it got and how it closed."""

    def __init__(self) -> None:
        self.got: list[Any] = []
        self.close_codes: list[int | None] = []
        self.closed = asyncio.Event()
        self.server: Any = None

    async def handler(self, conn: ServerConnection) -> None:
        try:
            async for message in conn:
                self.got.append(message)
                await conn.send(message)
        finally:
            self.close_codes.append(conn.close_code)
            self.closed.set()

    async def __aenter__(self) -> EchoServer:
        self.server = await serve(self.handler, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/"


def _closes(records: list[Record]) -> list[Record]:
    return [r for r in records if r.kind is Kind.FRAME and r.fields.get("opcode") == "close"]


async def _stop_with_a_client(
    intercept: Interceptor | None,
) -> tuple[Any, list[int | None], list[Record]]:
    async with EchoServer() as server:
        relay, rec = await start_relay("ws://127.0.0.1:0/", server.url, intercept=intercept)
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            await ws.send("before the stop")
            assert await ws.recv() == "before the stop"
            stopping = asyncio.create_task(relay.stop())
            async with asyncio.timeout(WAIT):
                try:
                    await ws.recv()
                except ConnectionClosed as exc:
                    closed = exc
            await stopping
        async with asyncio.timeout(WAIT):
            await server.closed.wait()
        return closed, server.close_codes, rec.conns[1].records


def test_stopping_sends_1001_to_both_sides_of_a_transparent_pair() -> None:
    closed, server_codes, records = run(_stop_with_a_client(None))
    assert closed.rcvd is not None and closed.rcvd.code == GOING_AWAY
    assert server_codes == [GOING_AWAY]
    sent = [r for r in _closes(records) if r.fields.get("relayed") == "going away"]
    assert {r.direction for r in sent} == {Direction.IN, Direction.OUT}
    assert all(r.fields["close_code"] == GOING_AWAY for r in sent)
    assert [r.fields["masked"] for r in sent if r.direction is Direction.OUT] == [True]
    answers = [r for r in _closes(records) if r.fields.get("forwarded") is False]
    assert {r.direction for r in answers} == {Direction.IN, Direction.OUT}
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["clean"] is True
    assert records[-1].fields["initiated_by"] == "relay"


def test_stopping_sends_1001_on_a_pair_framed_anew_by_intercept() -> None:
    interceptor = Interceptor(InterceptMode.BOTH, "nothing-matches-this")
    closed, server_codes, records = run(_stop_with_a_client(interceptor))
    assert closed.rcvd is not None and closed.rcvd.code == GOING_AWAY
    assert server_codes == [GOING_AWAY]
    assert any(r.fields.get("reframed") for r in records if r.kind is Kind.INFO)
    sent = [r for r in _closes(records) if r.fields.get("relayed") == "going away"]
    assert {r.direction for r in sent} == {Direction.IN, Direction.OUT}


def test_the_close_waits_for_the_end_of_a_frame_under_way() -> None:
    """The client is halfway through a frame when the relay stops: the server gets the
    whole message, then the relay's close."""

    async def scenario() -> tuple[list[Any], list[int | None], int | None, list[Record]]:
        async with EchoServer() as server:
            relay, rec = await start_relay("ws://127.0.0.1:0/", server.url)
            client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{relay.port}/"))
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            client.send_request(client.connect())
            for chunk in client.data_to_send():
                writer.write(chunk)
            async with asyncio.timeout(WAIT):
                while client.handshake_exc is None and client.state.name == "CONNECTING":
                    client.receive_data(await reader.read(65536))
            frame = Frame(Opcode.TEXT, b"a message cut in two by the stop").serialize(
                mask=True, extensions=None
            )
            writer.write(frame[:9])
            await writer.drain()
            pair = relay.pairs[1]

            def half_read() -> bool:
                tap = pair._taps[Side.CLIENT]
                return tap is not None and tap.parser.buffered == 9

            async with asyncio.timeout(WAIT):
                while not half_read():
                    await asyncio.sleep(0.005)
            stopping = asyncio.create_task(relay.stop())
            # The client's close arrives at once; the server's waits for the frame's end.
            async with asyncio.timeout(WAIT):
                while client.close_rcvd is None:
                    data = await reader.read(65536)
                    assert data
                    client.receive_data(data)
            writer.write(frame[9:])
            for chunk in client.data_to_send():  # the client's answer to the close
                if chunk:
                    writer.write(chunk)
            await writer.drain()
            async with asyncio.timeout(WAIT):
                await stopping
                await server.closed.wait()
            code = client.close_rcvd.code if client.close_rcvd is not None else None
            writer.close()
            return server.got, server.close_codes, code, rec.conns[1].records

    got, server_codes, client_code, records = run(scenario())
    assert got == ["a message cut in two by the stop"]
    assert server_codes == [GOING_AWAY]
    assert client_code == GOING_AWAY
    out = [r for r in records if r.kind is Kind.FRAME and r.direction is Direction.OUT]
    assert [r.fields["opcode"] for r in out][:2] == ["text", "close"]
    assert out[1].fields.get("relayed") == "going away"
