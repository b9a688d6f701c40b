"""Message templates: the bytes they build decode back, through the decoders, to the
fields they were given (hypothesis round trips), and bad fields are one line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.errors import UsageError
from inspector.protocols.decoders import DecodeContext, get
from inspector.protocols.speakers.compose import (
    TEMPLATES,
    ComposeContext,
    Ids,
    parse_values,
    template,
)

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
topics = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="+#\0"),
                 min_size=1, max_size=30)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def decode(name: str, data: bytes, **options: Any) -> Any:
    decoded = get(name).run(data, DecodeContext(options=options))
    assert decoded.ok, decoded.error
    return decoded


@given(names, st.lists(json_values, max_size=4), st.booleans(),
       st.sampled_from(["/", "/chat", "/a/b"]))  # fmt: skip
def test_socketio_event_round_trip(name: str, args: list[Any], ack: bool, ns: str) -> None:
    ids = Ids()
    built = template("socketio:event").build(
        {"name": name, "args": args, "ack": ack, "namespace": ns}, ComposeContext(), ids
    )
    assert built.text
    facts = decode("socketio", built.data).facts
    assert (facts["event"], facts["args"], facts["namespace"]) == (name, len(args), ns)
    assert facts.get("ack_id") == (0 if ack else None)
    assert json.loads(built.data[built.data.index(b"[") :]) == [name, *args]


@given(topics, st.binary(max_size=300), st.sampled_from([0, 1, 2]), st.booleans(),
       st.sampled_from([4, 5]))  # fmt: skip
def test_mqtt_publish_round_trip(topic: str, payload: bytes, qos: int, retain: bool,
                                 version: int) -> None:  # fmt: skip
    ids = Ids()
    values = {"topic": topic, "payload": payload.decode("latin-1"), "qos": qos, "retain": retain}
    built = template("mqtt:publish").build(values, ComposeContext(mqtt_version=version), ids)
    assert not built.text
    facts = decode("mqtt", built.data, mqtt_version=version).facts
    assert (facts["type"], facts["topic"], facts["qos"], facts["retain"]) == (
        "PUBLISH", topic, qos, retain)  # fmt: skip
    assert facts.get("packet_id") == (1 if qos else None)


@given(topics, st.sampled_from([0, 1, 2]))
def test_mqtt_subscribe_ids_count_up(topic: str, qos: int) -> None:
    ids = Ids()
    first = template("mqtt:subscribe").build({"topic": topic, "qos": qos}, ComposeContext(), ids)
    second = template("mqtt:unsubscribe").build({"topic": topic}, ComposeContext(), ids)
    assert decode("mqtt", first.data).facts["packet_id"] == 1
    assert decode("mqtt", second.data).facts == {"type": "UNSUBSCRIBE", "packet_id": 2,
                                                 "topic": topic}  # fmt: skip


header_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                      max_size=12)  # fmt: skip


@given(
    names.filter(lambda s: "\0" not in s),
    st.text(max_size=50),
    st.dictionaries(header_text.filter(bool), header_text, max_size=3),
    st.booleans(),
)
def test_stomp_send_round_trip(destination: str, body: str, headers: dict[str, str],
                               websocket: bool) -> None:  # fmt: skip
    headers.pop("destination", None)
    headers.pop("content-length", None)
    headers.pop("receipt", None)
    built = template("stomp:send").build(
        {"destination": destination, "body": body, "headers": headers, "receipt": "auto"},
        ComposeContext(websocket=websocket),
        Ids(),
    )
    assert built.text is websocket
    decoded = decode("stomp", built.data)
    assert decoded.facts["destination"] == destination
    assert decoded.facts["receipt"] == "receipt-1"
    frame = decoded.fields[0]
    values = {f.name: f.value for f in frame.children if f.type == "header"}
    for name, value in headers.items():
        assert values[name] == value
    assert [e.key for e in decoded.exchanges] == ["stomp receipt receipt-1"]


@given(st.sampled_from(["graphql-transport-ws", "graphql-ws", None]),
       st.dictionaries(st.text(max_size=5), json_values, max_size=2))  # fmt: skip
def test_graphql_subscribe_round_trip(subprotocol: str | None, variables: dict[str, Any]) -> None:
    context = ComposeContext(subprotocol=subprotocol)
    ids = Ids()
    query = "subscription Ticks { count(to: 2) }"
    built = template("graphql:subscribe").build({"query": query, "variables": variables},
                                                context, ids)  # fmt: skip
    facts = decode("graphql", built.data).facts
    legacy = subprotocol == "graphql-ws"
    assert facts == {"type": "start" if legacy else "subscribe", "id": "1",
                     "operation": "subscription", "operation_name": "Ticks"}  # fmt: skip
    stop = template("graphql:complete").build({"id": "1"}, context, ids)
    assert decode("graphql", stop.data).facts["type"] == ("stop" if legacy else "complete")


@given(names, st.one_of(st.none(), st.lists(json_values, max_size=3)), st.booleans())
def test_jsonrpc_request_round_trip(method: str, params: Any, notification: bool) -> None:
    built = template("jsonrpc:request").build(
        {"method": method, "params": params, "notification": notification}, ComposeContext(),
        Ids())  # fmt: skip
    facts = decode("jsonrpc", built.data).facts
    assert facts["method"] == method
    assert facts["kind"] == ("notification" if notification else "request")
    assert facts.get("id") == (None if notification else 1)


@given(names, st.lists(json_values, max_size=3), st.booleans())
def test_signalr_invocation_round_trip(target: str, arguments: list[Any], stream: bool) -> None:
    built = template("signalr:invoke").build(
        {"target": target, "arguments": arguments, "stream": stream}, ComposeContext(), Ids()
    )
    facts = decode("signalr", built.data).facts
    assert facts == {"type": "StreamInvocation" if stream else "Invocation", "target": target,
                     "invocation_id": "1"}  # fmt: skip


def test_form_text_is_read_as_the_field_kind() -> None:
    built = template("mqtt:publish").build({"topic": "a", "qos": "1", "retain": "true"},
                                           ComposeContext(), Ids())  # fmt: skip
    facts = decode("mqtt", built.data).facts
    assert (facts["qos"], facts["retain"]) == (1, True)
    event = template("socketio:event").build({"name": "e", "args": '[1, "two"]'},
                                             ComposeContext(), Ids())  # fmt: skip
    assert event.data == b'42["e",1,"two"]'


@pytest.mark.parametrize(("name", "values", "line"), [
    ("mqtt:publish", {"topic": "a", "qos": 3}, "MQTT QoS is 0, 1 or 2 (not 3)"),
    ("mqtt:publish", {"topic": "a", "qos": "high"}, "mqtt:publish: qos is a whole number"),
    ("socketio:event", {"name": ""}, "a Socket.IO event needs a name"),
    ("socketio:event", {"name": "e", "args": "[1"}, "socketio:event: args is not JSON"),
    ("stomp:send", {"body": "x"}, "stomp:send needs a destination"),
    ("graphql:subscribe", {}, "a GraphQL operation needs a query"),
    ("jsonrpc:request", {"method": "m", "params": 3}, "JSON-RPC params are a JSON array"),
    ("signalr:invoke", {"target": "t", "colour": 1}, "signalr:invoke: no field 'colour'"),
])  # fmt: skip
def test_bad_fields_are_one_line(name: str, values: dict[str, Any], line: str) -> None:
    with pytest.raises(UsageError) as bad:
        template(name).build(values, ComposeContext(), Ids())
    assert str(bad.value).startswith(line)


def test_every_template_builds_from_its_defaults_and_required_fields() -> None:
    required = {"name": "e", "query": "{ a }", "id": "1", "destination": "/q", "topic": "t",
                "method": "m", "target": "T"}  # fmt: skip
    for name, spec in TEMPLATES.items():
        values = {f.name: required[f.name] for f in spec.fields if f.name in required}
        built = template(name).build(values, ComposeContext(), Ids())
        assert get(spec.protocol).run(built.data, DecodeContext()).ok, name
    assert parse_values("x", "") == {}
    with pytest.raises(UsageError, match="not JSON"):
        parse_values("x", "{")
