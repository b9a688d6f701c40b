"""Application protocols from hand-made messages: Socket.IO, JSON-RPC, GraphQL over
WebSocket, MQTT 3.1.1/5, STOMP 1.2 and SignalR; how ``auto`` chooses; user filters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core.records import Direction, Kind, make_record
from inspector.protocols.decoders import DecodeContext, Decoded, Exchange, Role, choose, get
from inspector.protocols.decoders.session import SessionDecoder, context_for
from inspector.protocols.decoders.where import Condition

CTX = DecodeContext()


def run(name: str, payload: bytes, context: DecodeContext = CTX) -> Decoded:
    return get(name).run(payload, context)


def test_socketio_packets() -> None:
    d = run("socketio", b'42/chat,17["message",{"text":"hi"},2]')
    assert d.facts == {"engine": "message", "type": "EVENT", "namespace": "/chat",
                       "ack_id": 17, "event": "message", "args": 2}  # fmt: skip
    assert d.exchanges == (Exchange(Role.REQUEST, "socket.io /chat 17"),)
    assert d.summary == """EVENT 'message' {"text": "hi"}, 2 ns=/chat ack=17"""
    event = next(f for f in d.fields if f.name == "event")
    assert b'42/chat,17["message",{"text":"hi"},2]'[event.start : event.end] == b'"message"'
    assert run("socketio", b"43/chat,17[true]").exchanges == (
        Exchange(Role.RESPONSE, "socket.io /chat 17"),)  # fmt: skip
    assert run("socketio", b'44{"message":"not authorized"}').facts["type"] == "CONNECT_ERROR"
    assert run("socketio", b"41").summary == "DISCONNECT /"
    assert run("socketio", b"3probe").summary == "engine.io pong probe"
    assert run("socketio", b"47").error == "not valid Socket.IO: packet type b'7' is not 0-6"
    assert run("socketio", b'42{"x":1}').error == (
        "not valid Socket.IO: an event's data is not [name, …]")  # fmt: skip


def test_jsonrpc_single_batch_and_errors() -> None:
    d = run("jsonrpc", b'{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":"a"}')
    assert (d.summary, d.facts) == ('request sum id="a"', {"kind": "request", "method": "sum",
                                                            "id": "a"})  # fmt: skip
    assert d.exchanges == (Exchange(Role.REQUEST, 'json-rpc "a"'),)
    d = run("jsonrpc", b'{"jsonrpc":"2.0","error":{"code":-32601,"message":"nope"},"id":"a"}')
    assert d.summary == 'error id="a" nope' and d.exchanges[0].role is Role.RESPONSE
    d = run("jsonrpc", b'[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"b"}]')
    assert d.summary == "batch of 2: notification, request"
    assert [f.name for f in d.fields] == ["[0] request", "[1] notification"]
    assert d.exchanges == (Exchange(Role.REQUEST, "json-rpc 1"),)
    assert run("jsonrpc", b"[]").error == "not valid JSON-RPC: an empty batch"
    assert run("jsonrpc", b'{"method":"x"}').error == (
        'not valid JSON-RPC: a message is not an object with "jsonrpc": "2.0"')  # fmt: skip


def test_graphql_both_protocols() -> None:
    new = DecodeContext(subprotocol="graphql-transport-ws")
    d = run(
        "graphql",
        b'{"id":"1","type":"subscribe","payload":{"query":"subscription '
        b'OnMsg($r: ID!) { msg(room: $r) { text } }","variables":{"r":"7"}}}',
        new,
    )
    assert d.facts == {"type": "subscribe", "id": "1", "operation": "subscription",
                       "operation_name": "OnMsg"}  # fmt: skip
    assert d.summary == 'subscribe id="1" subscription OnMsg {"r": "7"}'
    old = DecodeContext(subprotocol="graphql-ws")
    assert run("graphql", b'{"id":"1","type":"start","payload":{"query":"{ a }"}}', old).facts[
        "operation"] == "query"  # fmt: skip
    assert run("graphql", b'{"id":"1","type":"data","payload":{"data":{"a":1}}}', old
               ).exchanges == (Exchange(Role.ITEM, 'graphql "1"'),)  # fmt: skip (a result)
    assert run("graphql", b'{"id":"1","type":"complete"}', old).exchanges[0].role is Role.RESPONSE
    assert run("graphql", b'{"id":"1","type":"complete"}', new).exchanges[0].role is Role.RESPONSE
    assert (
        run("graphql", b"[1]").error == "not valid GraphQL over WebSocket: not an object "
        'with a "type"'
    )


def mqtt_packet(kind: int, flags: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([kind << 4 | flags, len(body)]) + body


def utf8(text: str) -> bytes:
    return len(text).to_bytes(2, "big") + text.encode()


def test_mqtt5_properties_and_version_from_connect() -> None:
    connect = mqtt_packet(1, 0, utf8("MQTT") + b"\x05\xc2\x00\x1e" + b"\x05\x11\x00\x00\x00\x3c"
                          + utf8("dev-1") + utf8("ann") + utf8("pw"))  # fmt: skip
    d = run("mqtt", connect)
    assert d.facts == {"type": "CONNECT", "mqtt_version": 5, "client_id": "dev-1"}
    names = [f.name for f in d.fields[0].children]
    assert names == ["type", "remaining length", "protocol name", "protocol level",
                     "connect flags", "keep alive", "properties", "client id", "user name",
                     "password"]  # fmt: skip
    expiry = d.fields[0].children[6].children[0]
    assert (expiry.name, expiry.value) == ("session expiry", 60)
    publish = mqtt_packet(3, 0b0011, utf8("a/b") + b"\x00\x09" + b"\x03\x23\x00\x01" + b"hi")
    # As a session: CONNECT says version 5, so the PUBLISH's properties are read.
    session = SessionDecoder("mqtt", DecodeContext())
    rec = [make_record(i, i, Direction.OUT, Kind.MESSAGE, p, p, {})
           for i, p in enumerate((connect, publish))]  # fmt: skip
    results = [session.decode(r) for r in rec]
    pub = results[1]
    assert pub is not None and pub.ok, pub
    assert pub.facts == {"type": "PUBLISH", "qos": 1, "retain": True, "dup": False,
                         "topic": "a/b", "packet_id": 9}  # fmt: skip
    assert pub.exchanges == (Exchange(Role.REQUEST, "mqtt pub 9"),)
    alias = pub.fields[0].children[-2].children[0]
    assert (alias.name, alias.value) == ("topic alias", 1)


def test_mqtt_partial_read_keeps_the_whole_packets() -> None:
    both = mqtt_packet(13, 0, b"") + mqtt_packet(3, 0, utf8("t") + b"x")[:4]
    d = run("mqtt", both)
    assert [f.name for f in d.fields] == ["PINGRESP"]
    assert d.error == "not valid MQTT: PUBLISH at byte 2 needs 2 more bytes"
    assert run("mqtt", b"\x00\x00").error == "not valid MQTT: packet type 0 at byte 0"


def test_stomp_frames_escapes_and_heartbeats() -> None:
    frame = (b"MESSAGE\ndestination:/topic/a\\cb\nmessage-id:9\nsubscription:0\n"
             b"content-length:3\n\na\0b\0\n\n")  # fmt: skip
    d = run("stomp", frame)
    assert d.facts == {"command": "MESSAGE", "destination": "/topic/a:b", "subscription": "0",
                       "message_id": "9"}  # fmt: skip
    body = d.fields[0].children[-1]
    at = frame.index(b"a\0b")
    assert (body.value, body.start, body.end) == ("a\0b", at, at + 3)
    assert run("stomp", b"\n").summary == "heart-beat"
    connect = run("stomp", b"CONNECT\naccept-version:1.2\nlogin:a\\b\n\n\0")
    assert connect.fields[0].children[2].value == "a\\b"  # CONNECT headers are not escaped
    assert connect.exchanges == (Exchange(Role.REQUEST, "stomp connect"),)
    assert run("stomp", b"SEND\nx:\\t\n\n\0").error == (
        "not valid STOMP: undefined escape \\t at byte 5")  # fmt: skip


def test_signalr_messages() -> None:
    d = run("signalr", b'{"protocol":"json","version":1}\x1e')
    assert d.summary == "handshake request json v1"
    two = b'{"type":1,"invocationId":"3","target":"Send","arguments":["hi"]}\x1e{"type":6}\x1e'
    d = run("signalr", two)
    assert d.summary == '2 messages: Invocation Send id=3 ["hi"]; Ping'
    assert d.exchanges == (Exchange(Role.REQUEST, "signalr 3"),)
    assert (d.fields[1].start, d.fields[1].end) == (two.index(b'{"type":6}'), len(two) - 1)
    assert run("signalr", b'{"type":3,"invocationId":"3","result":5}\x1e').exchanges == (
        Exchange(Role.RESPONSE, "signalr 3"),)  # fmt: skip
    assert run("signalr", b'{"type":2,"invocationId":"4","item":0}\x1e').exchanges == (
        Exchange(Role.ITEM, "signalr 4"),)  # a stream's item  # fmt: skip
    assert run("signalr", b'{"type":1}').error == (
        "not valid SignalR JSON: does not end with the record separator 0x1E")  # fmt: skip


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (context_for("ws://h/socket.io/?EIO=4&transport=websocket"), "socketio"),
        (context_for("wss://h:8443/graphql").__class__(subprotocol="graphql-ws"), "graphql"),
        (DecodeContext(subprotocol="v12.stomp"), "stomp"),
        (DecodeContext(subprotocol="mqtt"), "mqtt"),
        (context_for("tcp://broker:1883"), "mqtt"),
        (context_for("tcp://broker:61613"), "stomp"),
        (context_for("ws://h/chathub"), None),
        (context_for("tcp://h:7000"), None),
    ],
)
def test_auto_choice_from_session_facts(context: DecodeContext, expected: str | None) -> None:
    chosen = choose(context)
    assert (chosen.name if chosen else None) == expected


def test_auto_by_content_per_message() -> None:
    session = SessionDecoder("auto", context_for("ws://h/"))
    payloads = [b'{"jsonrpc":"2.0","method":"a","id":1}', b"hello", b'{"a":1}',
                b'{"type":6}\x1e', b"\x1f\x8b" + b"junk"]  # fmt: skip
    got = []
    for seq, payload in enumerate(payloads):
        record = make_record(seq, 0, Direction.IN, Kind.FRAME, b"", payload, {"opcode": "text"})
        decoded = session.decode(record)
        got.append(decoded.decoder if decoded else None)
    assert got == ["jsonrpc", None, "json", "signalr", "gzip"]
    assert session.chosen == "by content"


def test_handshake_subprotocol_chooses() -> None:
    session = SessionDecoder("auto", context_for("ws://h/"))
    session.observe(make_record(0, 0, Direction.IN, Kind.HANDSHAKE, b"", None,
                                {"subprotocol": "graphql-transport-ws"}))  # fmt: skip
    assert session.chosen == "graphql"


@pytest.mark.parametrize(
    ("condition", "passes"),
    [
        ('event == "chat"', True),
        ("event == chat", True),
        ("event != chat", False),
        ("event ~ ^ch", True),
        ("event !~ ^ch", False),
        ("ack_id == 3", True),
        ('ack_id == "3"', True),
        ("topic == x", False),
        ("topic != x", True),
        ("decoder == socketio", True),
    ],
)
def test_where_conditions(condition: str, passes: bool) -> None:
    decoded = run("socketio", b'423["chat","hi"]')
    assert Condition.parse(condition).test(decoded) is passes


def test_where_needs_a_decoded_message() -> None:
    assert Condition.parse("event == chat").test(None) is False
    assert Condition.parse("event != chat").test(None) is True
    with pytest.raises(ValueError, match="bad regular expression"):
        Condition.parse("event ~ (")


frames = st.tuples(
    st.sampled_from([Direction.IN, Direction.OUT]),
    st.sampled_from(["text", "binary", "ping", "close"]),
    st.sampled_from([b"40", b'42["a"]', b'451-["b",{"_placeholder":true,"num":0}]',
                     b'462-3[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
                     b"\x00\x01", b"", b"2"]),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(frames, max_size=40))
def test_decode_all_keeps_every_record_in_order(items: list) -> None:
    session = SessionDecoder("auto", context_for("ws://h/socket.io/?EIO=4&transport=websocket"))
    records = [make_record(seq, seq, d, Kind.FRAME, b"", p, {"opcode": op})
               for seq, (d, op, p) in enumerate(items)]  # fmt: skip
    out = list(session.decode_all(records))
    assert [r.seq for r, _ in out] == list(range(len(items)))
    for record, decoded in out:
        assert (decoded is None) == (record.fields["opcode"] not in ("text", "binary"))


def test_attachments_join_in_their_direction_only() -> None:
    session = SessionDecoder("socketio", DecodeContext())
    items = [(Direction.IN, "text", b'451-["up",{"_placeholder":true,"num":0}]'),
             (Direction.OUT, "binary", b"\x01\x02"), (Direction.OUT, "text", b"2"),
             (Direction.IN, "binary", b"\xaa\xbb")]  # fmt: skip
    records = [make_record(i, i, d, Kind.FRAME, b"", p, {"opcode": op})
               for i, (d, op, p) in enumerate(items)]  # fmt: skip
    out = [decoded for _, decoded in session.decode_all(records)]
    assert next(f for f in out[0].fields if f.name == "arguments").children[0].value == "aabb"
    assert out[1].summary == "binary attachment 2 bytes"
    assert out[3].summary == "attachment 0 of #0, 2 bytes"
