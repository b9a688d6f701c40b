"""ws:// and wss:// listening with websockets' own client: upgrade, masked frames, rules, close."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
from listen_helpers import make_listener
from session_helpers import run, wait_until
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from inspector.core.records import Direction, Kind
from inspector.core.rules import ActionKind, MatchKind, Rule
from inspector.net.certs import server_tls

ECHO = Rule(MatchKind.ANY, ActionKind.ECHO)


def test_echo_with_the_websockets_client() -> None:
    listener, rec = make_listener(
        "ws://127.0.0.1:0/",
        Rule(MatchKind.CONNECT, ActionKind.REPLY, template="welcome {{conn}}"),
        ECHO,
    )

    async def scenario() -> list[object]:
        await listener.start()
        got: list[object] = []
        async with connect(listener.url) as client:
            got.append(await client.recv())
            await client.send("hi")
            got.append(await client.recv())
            await client.send(b"\xff\x00")
            got.append(await client.recv())
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return got

    assert run(scenario()) == ["welcome 1", "hi", b"\xff\x00"]
    records = rec.conns[1].records
    assert records[0].kind is Kind.CONNECT and records[0].fields["accepted"] is True
    request, response = (r for r in records if r.kind is Kind.HANDSHAKE)
    assert request.direction is Direction.IN and request.fields["method"] == "GET"
    assert response.direction is Direction.OUT and response.fields["status"] == 101
    frames_in = [r for r in records if r.kind is Kind.FRAME and r.direction is Direction.IN]
    assert all(r.fields["masked"] for r in frames_in)
    frames_out = [r for r in records if r.kind is Kind.FRAME and r.direction is Direction.OUT]
    assert not any(r.fields["masked"] for r in frames_out)
    closed = records[-1]
    assert closed.kind is Kind.CLOSED and closed.fields["clean"] is True
    assert closed.fields["close_code"] == 1000 and closed.fields["initiated_by"] == "client"


def test_a_close_rule_and_stop_close_with_codes() -> None:
    listener, rec = make_listener(
        "ws://127.0.0.1:0/",
        Rule(MatchKind.CONTAINS, ActionKind.CLOSE, "bye", close_code=4001, close_reason="later"),
    )

    async def scenario() -> tuple[int | None, int | None]:
        await listener.start()
        codes = []
        async with connect(listener.url) as first, connect(listener.url) as second:
            await first.send("bye")
            with pytest.raises(ConnectionClosed) as info:
                await first.recv()
            codes.append(info.value.rcvd.code if info.value.rcvd else None)
            await wait_until(lambda: listener.ended_count == 1)
            stopping = asyncio.ensure_future(listener.stop())
            with pytest.raises(ConnectionClosed) as info:
                await second.recv()
            codes.append(info.value.rcvd.code if info.value.rcvd else None)
            await stopping
        return codes[0], codes[1]

    assert run(scenario()) == (4001, 1000)
    first = rec.conns[1].records[-1]
    assert first.fields["close_code"] == 4001 and first.fields["initiated_by"] == "server"


def test_wss_with_the_made_certificate(tmp_path: Path) -> None:
    tls = server_tls(directory=tmp_path, alpn=["http/1.1"])
    listener, rec = make_listener("wss://127.0.0.1:0/", ECHO, tls=tls)

    async def scenario() -> object:
        await listener.start()
        context = ssl.create_default_context(cafile=str(tls.cert_path))
        url = f"wss://localhost:{listener.port}/"
        async with connect(url, ssl=context) as client:
            await client.send("over tls")
            answer = await client.recv()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return answer

    assert run(scenario()) == "over tls"
    kinds = [r.kind for r in rec.conns[1].records]
    assert kinds[:4] == [Kind.CONNECT, Kind.TLS, Kind.HANDSHAKE, Kind.HANDSHAKE]
