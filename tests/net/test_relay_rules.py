"""Rules on a relay direction: a match is answered by the relay, the rest is forwarded."""

from __future__ import annotations

import asyncio

from relay_helpers import WAIT, ended, start_relay, wire_of
from servers import RunningServer
from session_helpers import run

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
