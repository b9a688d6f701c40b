"""A tcp:// listener with ``--framing mqtt``: a client's packets, written in pieces and
together, become one record per packet; an echo goes back packet by packet."""

from __future__ import annotations

import asyncio

from listen_helpers import make_listener
from session_helpers import run, wait_until

from inspector.core.options import Framing
from inspector.core.records import Direction, Kind
from inspector.core.rules import ActionKind, MatchKind, Rule
from inspector.protocols.speakers import mqtt as mqtt_messages


def test_packets_are_cut_by_their_remaining_length() -> None:
    listener, rec = make_listener("tcp://127.0.0.1:0", Rule(MatchKind.ANY, ActionKind.ECHO),
                                  framing=Framing.MQTT)  # fmt: skip
    connect = mqtt_messages.connect("c1")
    publish = mqtt_messages.publish("t/1", b"x" * 200, qos=1, packet_id=5)
    ping = mqtt_messages.pingreq()
    stream = connect + publish + ping

    pieces = [stream[:3], stream[3 : len(connect) + 2], stream[len(connect) + 2 :]]

    async def scenario_in_pieces() -> bytes:
        await listener.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
        writer.write_eof()
        echoed = await reader.read()
        writer.close()
        await wait_until(lambda: listener.ended_count == 1)
        await listener.stop()
        return echoed

    assert run(scenario_in_pieces()) == stream
    conn = rec.conns[1].records
    inbound = [r for r in conn if r.kind is Kind.MESSAGE and r.direction is Direction.IN]
    assert [r.payload for r in inbound] == [connect, publish, ping]
    assert all(r.fields["framing"] == "mqtt" for r in inbound)
    assert inbound[1].fields["ranges"] == [["fixed header", 0, 3], ["packet", 3, len(publish)]]
