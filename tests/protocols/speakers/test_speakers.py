"""The protocol clients, Sans-I/O: what each sends to open, how it answers the server,
its keep-alive, and a server's refusal as one line. Stream input is also fed one byte
at a time, with the same result."""

from __future__ import annotations

import json

import pytest

from inspector.core.errors import UsageError
from inspector.protocols.speakers import SpeakContext, make_speaker, speaker_names
from inspector.protocols.speakers import mqtt as mqtt_messages
from inspector.protocols.speakers import stomp as stomp_messages
from inspector.protocols.speakers.base import Heard, Outgoing


def feed_bytewise(speaker: object, data: bytes) -> list[Heard]:
    return [speaker.receive(data[i : i + 1], False) for i in range(len(data))]  # type: ignore[attr-defined]


def test_names() -> None:
    assert speaker_names() == ["auto", "graphql", "mqtt", "signalr", "socketio", "stomp"]
    with pytest.raises(UsageError, match=r"^no protocol client 'amqp' "):
        make_speaker("amqp", {}, SpeakContext())
    with pytest.raises(UsageError, match=r"^--speak mqtt: no option 'qos' \(known: client_id, "):
        make_speaker("mqtt", {"qos": "1"}, SpeakContext())


# -- Engine.IO / Socket.IO ------------------------------------------------------------------


def test_socketio_answers_open_with_connect_and_pings_with_pongs() -> None:
    speaker = make_speaker("socketio", {"namespace": "/chat", "auth": '{"token": "t"}'},
                           SpeakContext())  # fmt: skip
    assert speaker.opening() == []
    opened = speaker.receive(b'0{"sid":"x","pingInterval":25000,"pingTimeout":20000}', True)
    assert opened == Heard((Outgoing(b'40/chat,{"token":"t"}'),))
    assert speaker.ping_interval == 25.0  # type: ignore[attr-defined]
    assert not speaker.ready
    assert speaker.receive(b'40{"sid":"y"}', True) == Heard()  # the main namespace, not ours
    assert speaker.receive(b'40/chat,{"sid":"y"}', True) == Heard()
    assert speaker.ready
    assert speaker.receive(b"2", True) == Heard((Outgoing(b"3"),))
    assert speaker.receive(b"\x00\x01", False) == Heard()  # a binary attachment
    assert speaker.keepalive_interval() is None


def test_socketio_heartbeats_and_their_timeout() -> None:
    speaker = make_speaker("socketio", {}, SpeakContext())
    assert speaker.heartbeat_timeout() is None  # type: ignore[attr-defined]
    speaker.receive(b'0{"sid":"x","pingInterval":25000,"pingTimeout":20000}', True)
    assert speaker.heartbeat_timeout() == 45.0  # type: ignore[attr-defined]
    speaker.receive(b"40", True)
    speaker.receive(b'42["news"]', True)
    assert speaker.heartbeats == 1  # type: ignore[attr-defined]  # the open packet only
    speaker.receive(b"2", True)
    assert speaker.heartbeats == 2  # type: ignore[attr-defined]
    assert speaker.heartbeat_lost(45.0) == (  # type: ignore[attr-defined]
        "Engine.IO ping timeout: no ping from the server for 45 s "
        "(pingInterval 25 s + pingTimeout 20 s)"
    )


def test_socketio_refusal_and_disconnect_are_one_line() -> None:
    speaker = make_speaker("socketio", {}, SpeakContext())
    refused = speaker.receive(b'44{"message":"not allowed"}', True)
    assert refused.error == "Socket.IO refused the namespace /: not allowed"
    gone = speaker.receive(b"41", True)
    assert gone.error == "the Socket.IO server disconnected the namespace /"
    with pytest.raises(UsageError, match="starts with '/'"):
        make_speaker("socketio", {"namespace": "chat"}, SpeakContext())


# -- MQTT -----------------------------------------------------------------------------------


def test_mqtt_connects_and_acknowledges_both_qos_levels() -> None:
    speaker = make_speaker("mqtt", {"client_id": "me", "keepalive": "30", "username": "u",
                                    "password": "p"}, SpeakContext(websocket=False))  # fmt: skip
    [opening] = speaker.opening()
    assert opening == Outgoing(mqtt_messages.connect("me", 30, 4, "u", "p"), text=False)
    assert speaker.keepalive_interval() == 30.0
    assert speaker.keepalive() == [Outgoing(b"\xc0\x00", text=False)]
    stream = (b"\x20\x02\x00\x00"  # CONNACK accepted
              + mqtt_messages.publish("t", b"x", qos=1, packet_id=9)
              + mqtt_messages.publish("t", b"y", qos=2, packet_id=10)
              + mqtt_messages.acknowledge("PUBREL", 10)
              + bytes([0x50, 2, 0, 11]))  # PUBREC for our own QoS 2 publish 11  # fmt: skip
    whole = make_speaker("mqtt", {"client_id": "me"}, SpeakContext(websocket=False))
    heard = whole.receive(stream, False)
    assert whole.ready and heard.error is None
    replies = [out.data for out in heard.replies]
    assert replies == [mqtt_messages.acknowledge("PUBACK", 9),
                       mqtt_messages.acknowledge("PUBREC", 10),
                       mqtt_messages.acknowledge("PUBCOMP", 10),
                       mqtt_messages.acknowledge("PUBREL", 11)]  # fmt: skip
    bytewise = make_speaker("mqtt", {"client_id": "me"}, SpeakContext(websocket=False))
    pieces = [out.data for h in feed_bytewise(bytewise, stream) for out in h.replies]
    assert pieces == replies and bytewise.ready


def test_mqtt_refusals_are_one_line() -> None:
    speaker = make_speaker("mqtt", {}, SpeakContext())
    assert speaker.receive(b"\x20\x02\x00\x05", False).error == (
        "the MQTT broker refused the connection: 5 not authorized"
    )
    v5 = make_speaker("mqtt", {"version": "5", "keepalive": "0"}, SpeakContext())
    assert v5.keepalive_interval() is None
    assert v5.opening()[0].data[8] == 5  # the protocol level
    assert v5.receive(b"\x20\x03\x00\x87\x00", False).error == (
        "the MQTT broker refused the connection: 135 not authorized"
    )
    broken = make_speaker("mqtt", {}, SpeakContext()).receive(b"\x30\xff\xff\xff\xff", False)
    assert broken.error == ("the broker sent a broken MQTT packet: the remaining length at "
                            "byte 1 runs over four bytes")  # fmt: skip


# -- STOMP ----------------------------------------------------------------------------------


def test_stomp_connect_and_heart_beat_agreement() -> None:
    speaker = make_speaker("stomp", {"login": "guest", "passcode": "pw", "heart_beat": "500,0"},
                           SpeakContext(host="broker.example", websocket=True))  # fmt: skip
    [opening] = speaker.opening()
    assert opening.text
    assert opening.data == (b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:broker.example\n"
                            b"login:guest\npasscode:pw\nheart-beat:500,0\n\n\0")  # fmt: skip
    assert speaker.keepalive_interval() is None  # not before CONNECTED
    connected = b"CONNECTED\nversion:1.2\nheart-beat:0,2000\n\n\0"
    assert speaker.receive(connected, True) == Heard()
    assert speaker.ready
    assert speaker.keepalive_interval() == 2.0  # max(cx 500, sy 2000)
    assert speaker.keepalive() == [Outgoing(b"\n", True)]
    silent = make_speaker("stomp", {}, SpeakContext(websocket=False))
    silent.receive(b"CONNECTED\nversion:1.2\n\n\0", False)  # no heart-beat header: none
    assert silent.keepalive_interval() is None
    assert not silent.opening()[0].text


def test_stomp_error_and_disconnect_receipt_over_a_stream() -> None:
    stream = (b"\n\nCONNECTED\nversion:1.2\n\n\0\nRECEIPT\nreceipt-id:bye\n\n\0"
              b"ERROR\nmessage:bad\\cthing\ncontent-length:3\n\nx\0y\0")  # fmt: skip
    speaker = make_speaker("stomp", {}, SpeakContext(websocket=False))
    speaker.sent(stomp_messages.disconnect("bye"))
    heard = feed_bytewise(speaker, stream)
    assert speaker.ready
    assert next(h for h in heard if h != Heard()) == Heard(done=True)
    other = make_speaker("stomp", {}, SpeakContext(websocket=False))
    errors = [h.error for h in feed_bytewise(other, stream) if h.error]
    assert errors == ["the STOMP server sent ERROR: bad:thing"]
    with pytest.raises(UsageError, match="heart-beat is 'cx,cy'"):
        make_speaker("stomp", {"heart_beat": "fast"}, SpeakContext())


# -- GraphQL over WebSocket ------------------------------------------------------------------


def test_graphql_transport_ws_pings_and_pongs() -> None:
    speaker = make_speaker("graphql", {"payload": '{"token": 1}', "ping": "5"},
                           SpeakContext(subprotocol="graphql-transport-ws"))  # fmt: skip
    assert speaker.opening() == [Outgoing(b'{"type":"connection_init","payload":{"token":1}}')]
    assert speaker.receive(b'{"type":"connection_ack"}', True) == Heard()
    assert speaker.ready
    assert speaker.receive(b'{"type":"ping"}', True) == Heard((Outgoing(b'{"type":"pong"}'),))
    assert speaker.keepalive_interval() == 5.0
    assert speaker.keepalive() == [Outgoing(b'{"type":"ping"}')]


def test_graphql_ws_legacy_takes_ka_and_refusals() -> None:
    speaker = make_speaker("graphql", {}, SpeakContext(subprotocol="graphql-ws"))
    assert speaker.receive(b'{"type":"ka"}', True) == Heard()
    assert speaker.receive(b'{"type":"ping"}', True) == Heard()  # not in this protocol
    refused = speaker.receive(b'{"type":"connection_error","payload":{"message":"no"}}', True)
    assert refused.error == 'the GraphQL server refused the connection: {"message":"no"}'
    assert speaker.keepalive_interval() is None
    with pytest.raises(UsageError, match="ping is for graphql-transport-ws"):
        make_speaker("graphql", {"ping": "1"}, SpeakContext(subprotocol="graphql-ws"))


# -- SignalR --------------------------------------------------------------------------------


def test_signalr_handshake_pings_and_close() -> None:
    speaker = make_speaker("signalr", {}, SpeakContext())
    assert speaker.opening() == [Outgoing(b'{"protocol":"json","version":1}\x1e')]
    assert speaker.keepalive_interval() == 15.0
    assert speaker.receive(b'{}\x1e{"type":6}\x1e', True) == Heard()
    assert speaker.ready
    assert speaker.keepalive() == [Outgoing(b'{"type":6}\x1e')]
    closed = speaker.receive(b'{"type":7,"error":"Server shut down"}\x1e', True)
    assert closed.error == "the SignalR server closed the connection: Server shut down"
    refused = make_speaker("signalr", {"ping": "0"}, SpeakContext())
    assert refused.keepalive_interval() is None
    answer = refused.receive(json.dumps({"error": "Requested protocol 'json' is not available."}
                                        ).encode() + b"\x1e", True)  # fmt: skip
    assert answer.error == ("the SignalR server refused the handshake: Requested protocol "
                            "'json' is not available.")  # fmt: skip
    assert not refused.ready
