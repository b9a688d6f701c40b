"""Rules on a relay direction: a match is answered by the relay, the rest is forwarded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from relay_helpers import WAIT, ended, start_relay, wire_of
from servers import RunningServer
from session_helpers import run
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from inspector.core.records import Direction, Kind, Record
from inspector.core.rules import ActionKind, MatchKind, Rule, RuleEngine
from inspector.net.relayrules import RelayRules

PONG = Rule(MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}\n")
QUIT = Rule(MatchKind.CONTAINS, ActionKind.CLOSE, "QUIT")


def test_a_matching_read_is_answered_by_the_relay_the_rest_forwarded(
    tcp_echo_server: RunningServer,
) -> None:
    rules = RelayRules(RuleEngine([PONG, QUIT]))

    async def scenario() -> tuple[bytes, bytes, list[Record]]:
        relay, rec = await start_relay("tcp://127.0.0.1:0", tcp_echo_server.url, rules=rules)
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"PING 7\n")
        async with asyncio.timeout(WAIT):
            pong = await reader.readline()
        writer.write(b"hello\n")  # no rule: the echo server answers
        async with asyncio.timeout(WAIT):
            echo = await reader.readline()
        writer.write(b"QUIT\n")
        async with asyncio.timeout(WAIT):
            await reader.read()  # the relay closes
        writer.close()
        await ended(relay)
        await relay.stop()
        return pong, echo, rec.conns[1].records

    pong, echo, records = run(scenario())
    assert pong == b"PONG 7\n" and echo == b"hello\n"
    taken = [r for r in records if r.fields.get("forwarded") is False]
    assert [r.wire for r in taken] == [b"PING 7\n", b"QUIT\n"]
    injected = [r for r in records if r.fields.get("injected")]
    assert [(r.direction, r.wire) for r in injected] == [(Direction.IN, b"PONG 7\n")]
    # Without the injected records, each direction is what its side sent.
    plain = [r for r in records if not r.fields.get("injected")]
    assert wire_of(plain, Direction.OUT) == b"PING 7\nhello\nQUIT\n"
    assert wire_of(plain, Direction.IN) == b"hello\n"
    assert records[-1].kind is Kind.CLOSED and records[-1].fields["initiated_by"] == "relay"


def test_rules_on_server_datagrams(udp_echo_server: RunningServer) -> None:
    rules = RelayRules(
        RuleEngine([Rule(MatchKind.CONTAINS, ActionKind.REPLY, "secret", template="nope")]),
        frozenset({"s2c"}),
    )

    async def scenario() -> tuple[list[bytes], list[Record]]:
        relay, rec = await start_relay("udp://127.0.0.1:0", udp_echo_server.url, rules=rules)
        loop = asyncio.get_running_loop()
        got: asyncio.Queue[bytes] = asyncio.Queue()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                got.put_nowait(data)

        transport, _ = await loop.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.1", relay.port)
        )
        transport.sendto(b"plain")
        async with asyncio.timeout(WAIT):
            first = await got.get()
        transport.sendto(b"the secret")  # the echo comes back s2c: the rule holds it
        async with asyncio.timeout(WAIT):
            while not any(r.fields.get("injected") for r in rec.conns[1].records):
                await asyncio.sleep(0.005)
        transport.close()
        await relay.stop()
        return [first], rec.conns[1].records

    received, records = run(scenario())
    assert received == [b"plain"]
    held = [r for r in records if r.fields.get("forwarded") is False]
    assert [(r.direction, r.wire) for r in held] == [(Direction.IN, b"the secret")]
    injected = [r for r in records if r.fields.get("injected")]
    assert [(r.direction, r.wire) for r in injected] == [(Direction.OUT, b"nope")]


def test_rules_on_a_websocket_relay_answer_per_message_with_deflate(
    ws_server: RunningServer,
) -> None:
    """c2s: PING is answered by the relay, QUIT closes both WebSockets with 4001; s2c: an
    echo holding "secret" is answered towards the server instead. Compression stays on."""
    rules = RelayRules(
        RuleEngine(
            [
                Rule(MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}"),
                Rule(
                    MatchKind.CONTAINS,
                    ActionKind.CLOSE,
                    "QUIT",
                    close_code=4001,
                    close_reason="rule says bye",
                ),
                Rule(MatchKind.CONTAINS, ActionKind.REPLY, "secret", template="censored"),
            ]
        ),
        frozenset({"c2s", "s2c"}),
    )

    async def scenario() -> tuple[list[Any], int | None, str | None, list[Record]]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url, rules=rules)
        got: list[Any] = []
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
            for text in ("PING 7", "hello", "PING 8", "hello again"):
                await ws.send(text)
                async with asyncio.timeout(WAIT):
                    got.append(await ws.recv())
            await ws.send("QUIT")
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(WAIT):
                    await ws.recv()
            code = closed.value.rcvd.code if closed.value.rcvd else None
        await ended(relay)
        await relay.stop()
        return got, code, extensions, rec.conns[1].records

    got, code, extensions, records = run(scenario())
    assert got == ["PONG 7", "hello", "PONG 8", "hello again"]
    assert code == 4001
    assert extensions is not None and "permessage-deflate" in extensions
    frames = [r for r in records if r.kind is Kind.FRAME]
    assert not [r for r in frames if r.fields.get("error")]
    taken = [r.payload for r in frames if r.fields.get("forwarded") is False]
    assert taken == [b"PING 7", b"PING 8", b"QUIT"]
    answers = [(r.direction, r.payload) for r in frames if r.fields.get("relayed") == "rule"]
    assert answers[:2] == [(Direction.IN, b"PONG 7"), (Direction.IN, b"PONG 8")]
    assert {r.direction for r in frames if r.fields.get("opcode") == "close" and
            r.fields.get("injected")} == {Direction.IN, Direction.OUT}  # fmt: skip
    assert records[-1].kind is Kind.CLOSED


def test_a_websocket_rule_on_server_messages_answers_the_server(ws_server: RunningServer) -> None:
    rules = RelayRules(
        RuleEngine([Rule(MatchKind.CONTAINS, ActionKind.REPLY, "secret", template="censored")]),
        frozenset({"s2c"}),
    )

    async def scenario() -> tuple[list[Any], list[Record]]:
        relay, rec = await start_relay("ws://127.0.0.1:0/", ws_server.url, rules=rules)
        got: list[Any] = []
        async with connect(f"ws://127.0.0.1:{relay.port}/") as ws:
            await ws.send("the secret")  # echoed s2c: the rule answers the server "censored"
            await ws.send("after")
            async with asyncio.timeout(WAIT):
                got.append(await ws.recv())  # the server echoes "censored" back, then "after"
                got.append(await ws.recv())
        await ended(relay)
        await relay.stop()
        return got, rec.conns[1].records

    got, records = run(scenario())
    assert got == ["censored", "after"] or got == ["after", "censored"]
    frames = [r for r in records if r.kind is Kind.FRAME]
    answer = [r for r in frames if r.fields.get("relayed") == "rule"]
    assert [(r.direction, r.payload) for r in answer] == [(Direction.OUT, b"censored")]
    assert answer[0].fields["masked"] is True
