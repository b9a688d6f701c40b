"""``--framing mqtt``: a TCP stream cut into MQTT control packets by their remaining
length; every input is also fed one byte at a time, with the same result."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.options import Framing
from inspector.core.runs import mqtt_ranges
from inspector.protocols.framing import FramingError, make_framer, mqtt_packet_size
from inspector.protocols.speakers import mqtt as mqtt_messages


def both(data: bytes, max_size: int | None = None) -> tuple[list, bytes]:
    framer = make_framer(Framing.MQTT, max_size)
    whole = framer.feed(data), framer.leftover()
    bytewise = make_framer(Framing.MQTT, max_size)
    out: list = []
    for i in range(len(data)):
        out.extend(bytewise.feed(data[i : i + 1]))
    assert (out, bytewise.leftover()) == whole
    return whole


def test_several_packets_in_one_read_become_one_message_each() -> None:
    connect = mqtt_messages.connect("c1", keepalive=30)
    ping = mqtt_messages.pingreq()
    publish = mqtt_messages.publish("a/b", b"x" * 300, qos=1, packet_id=7)
    messages, rest = both(connect + ping + publish + publish[:5])
    assert [wire for wire, _body, _ranges in messages] == [connect, ping, publish]
    assert all(wire == body for wire, body, _ranges in messages)
    assert rest == publish[:5]
    # 300 bytes of payload: the remaining length takes two bytes.
    assert messages[2][2] == [["fixed header", 0, 3], ["packet", 3, len(publish)]]
    assert messages[1][2] == [["fixed header", 0, 2], ["packet", 2, 2]]


def test_packet_size_needs_the_whole_remaining_length() -> None:
    assert mqtt_packet_size(b"") is None
    assert mqtt_packet_size(b"\x30") is None
    assert mqtt_packet_size(b"\x30\x80") is None
    assert mqtt_packet_size(b"\x30\x80\x01") == 3 + 128
    with pytest.raises(ValueError, match="over four bytes"):
        mqtt_packet_size(b"\x30\xff\xff\xff\xff")


def test_a_packet_over_the_limit_or_a_bad_length_is_one_line() -> None:
    ping = mqtt_messages.pingreq()
    with pytest.raises(FramingError) as caught:
        make_framer(Framing.MQTT, 100).feed(ping + b"\x30\x80\x02")
    assert str(caught.value) == "MQTT packet of 259 bytes, over the 100-byte limit"
    assert caught.value.messages == [(ping, ping, mqtt_ranges(2))]
    with pytest.raises(FramingError) as bad:
        make_framer(Framing.MQTT).feed(b"\x30\xff\xff\xff\xff\x01")
    assert str(bad.value) == (
        "not an MQTT packet: the remaining length at byte 1 runs over four bytes"
    )


def test_outgoing_packets_go_as_they_are() -> None:
    packet = mqtt_messages.subscribe("t/#", qos=1, packet_id=3)
    assert make_framer(Framing.MQTT).frame(packet) == (packet, packet, mqtt_ranges(len(packet)))


@given(st.lists(st.binary(max_size=400), max_size=6), st.integers(0, 20))
def test_any_publishes_cut_back_exactly(payloads: list[bytes], cut: int) -> None:
    packets = [mqtt_messages.publish("t", p, qos=0) for p in payloads]
    data = b"".join(packets)
    framer = make_framer(Framing.MQTT)
    out = framer.feed(data[:cut]) + framer.feed(data[cut:])
    assert [wire for wire, _b, _r in out] == packets
    assert framer.leftover() == b""
    for wire, _body, ranges in out:
        assert ranges[-1][2] == len(wire)
        assert mqtt_packet_size(wire) == len(wire)
