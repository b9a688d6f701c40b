"""Protocol message templates: a few named fields in, the exact bytes of one message out.

The window's composer and ``probe --send-as TEMPLATE JSON`` share them. A template
names its fields (with defaults) and builds an :class:`Outgoing` from their values, the
session's facts (:class:`ComposeContext`: the negotiated subprotocol, WebSocket or
stream, the MQTT version) and a per-session :class:`Ids` counter that gives requests
their automatic ids (GraphQL operation ids, MQTT packet ids, JSON-RPC ids, …).
Bad values are a one-line ``UsageError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from inspector.core.errors import UsageError
from inspector.protocols.speakers import graphql, jsonrpc, mqtt, signalr, socketio, stomp
from inspector.protocols.speakers.base import Outgoing


@dataclass(frozen=True, slots=True)
class ComposeContext:
    """The session's facts a template may need."""

    subprotocol: str | None = None
    websocket: bool = True
    mqtt_version: int = 4


class Ids:
    """Per-session counters for automatic ids, one sequence per protocol."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def next(self, key: str, wrap: int = 1 << 31) -> int:
        """The next id of ``key``'s sequence, from 1 (back to 1 after ``wrap``)."""
        value = self._last.get(key, 0) % wrap + 1
        self._last[key] = value
        return value


@dataclass(frozen=True, slots=True)
class TemplateField:
    """One field of a template: its name, kind ("text", "json", "int", "bool"), default
    and a short hint for the form."""

    name: str
    kind: str = "text"
    default: Any = None
    hint: str = ""


Build = Callable[[Mapping[str, Any], ComposeContext, Ids], Outgoing]


@dataclass(frozen=True, slots=True)
class Template:
    """A named message template: ``protocol:kind``, its fields and its builder."""

    name: str
    title: str
    fields: tuple[TemplateField, ...]
    build_with: Build = field(repr=False)

    @property
    def protocol(self) -> str:
        """The protocol (the decoder's name) before the colon."""
        return self.name.partition(":")[0]

    def build(self, values: Mapping[str, Any], context: ComposeContext, ids: Ids) -> Outgoing:
        """The message for ``values`` (defaults filled in); UsageError for bad ones."""
        known = {f.name for f in self.fields}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"{self.name}: no field {unknown[0]!r} (fields: "
                             f"{', '.join(f.name for f in self.fields)})")  # fmt: skip
        filled = {f.name: values.get(f.name, f.default) for f in self.fields}
        for spec in self.fields:
            filled[spec.name] = _checked(self.name, spec, filled[spec.name])
        return self.build_with(filled, context, ids)


def _checked(template: str, spec: TemplateField, value: Any) -> Any:
    """``value`` as the field's kind says (a form gives text; JSON gives typed values)."""
    if value is None:
        return None
    if spec.kind == "int":
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{template}: {spec.name} is a whole number (not {value!r})")
    elif spec.kind == "bool":
        if isinstance(value, str):
            value = value.strip().lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise UsageError(f"{template}: {spec.name} is true or false (not {value!r})")
    elif spec.kind == "text" and not isinstance(value, str):
        raise UsageError(f"{template}: {spec.name} is text (not {json.dumps(value)})")
    return value


def _json_field(template: str, name: str, value: Any) -> Any:
    """A JSON field that a form gives as text: parsed here (JSON input is already typed)."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError as exc:
            raise UsageError(f"{template}: {name} is not JSON: {exc}") from None
    return value


def _socketio_event(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    args = _json_field("socketio:event", "args", v["args"])
    if args is None:
        args = []
    if not isinstance(args, list):
        args = [args]
    ack = ids.next(f"socketio {v['namespace']}", 1 << 31) - 1 if v["ack"] else None
    return Outgoing(socketio.event(v["name"] or "", args, v["namespace"], ack))


def _graphql_subscribe(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    ident = v["id"] or str(ids.next("graphql"))
    variables = _json_field("graphql:subscribe", "variables", v["variables"])
    legacy = (c.subprotocol or "").lower() == graphql.LEGACY
    return Outgoing(graphql.subscribe(ident, v["query"] or "", variables,
                                      v["operation_name"], legacy))  # fmt: skip


def _graphql_complete(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    if not v["id"]:
        raise UsageError("graphql:complete needs the id of the operation to stop")
    return Outgoing(graphql.complete(v["id"], (c.subprotocol or "").lower() == graphql.LEGACY))


def _receipt(value: Any, ids: Ids) -> str | None:
    if value in (None, "", False):
        return None
    if value is True or value == "auto":
        return f"receipt-{ids.next('stomp receipt')}"
    return str(value)


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    value = _json_field("stomp", "headers", value)
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise UsageError("STOMP headers are a JSON object of names and values")
    return tuple((str(k), str(v)) for k, v in value.items())


def _stomp_send(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    if not v["destination"]:
        raise UsageError("stomp:send needs a destination")
    body = (v["body"] or "").encode("utf-8")
    data = stomp.send(v["destination"], body, _headers(v["headers"]), _receipt(v["receipt"], ids))
    return Outgoing(data, c.websocket)


def _stomp_subscribe(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    if not v["destination"]:
        raise UsageError("stomp:subscribe needs a destination")
    ident = v["id"] or f"sub-{ids.next('stomp subscription')}"
    data = stomp.subscribe(v["destination"], ident, v["ack"] or "auto", _headers(v["headers"]),
                           _receipt(v["receipt"], ids))  # fmt: skip
    return Outgoing(data, c.websocket)


def _stomp_unsubscribe(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    if not v["id"]:
        raise UsageError("stomp:unsubscribe needs the subscription id")
    return Outgoing(stomp.unsubscribe(v["id"], _receipt(v["receipt"], ids)), c.websocket)


def _stomp_disconnect(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    return Outgoing(stomp.disconnect(_receipt(v["receipt"], ids)), c.websocket)


def _mqtt_publish(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    qos = v["qos"]
    packet_id = ids.next("mqtt packet", 0xFFFF) if qos else None
    payload = (v["payload"] or "").encode("utf-8")
    data = mqtt.publish(v["topic"] or "", payload, qos, packet_id, v["retain"], c.mqtt_version)
    return Outgoing(data, text=False)


def _mqtt_subscribe(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    data = mqtt.subscribe(v["topic"] or "", v["qos"], ids.next("mqtt packet", 0xFFFF),
                          c.mqtt_version)  # fmt: skip
    return Outgoing(data, text=False)


def _mqtt_unsubscribe(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    if not v["topic"]:
        raise UsageError("mqtt:unsubscribe needs a topic filter")
    data = mqtt.unsubscribe(v["topic"], ids.next("mqtt packet", 0xFFFF), c.mqtt_version)
    return Outgoing(data, text=False)


def _jsonrpc_request(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    params = _json_field("jsonrpc:request", "params", v["params"])
    ident = None if v["notification"] else ids.next("jsonrpc")
    return Outgoing(jsonrpc.request(v["method"] or "", params, ident))


def _signalr_invoke(v: Mapping[str, Any], c: ComposeContext, ids: Ids) -> Outgoing:
    arguments = _json_field("signalr:invoke", "arguments", v["arguments"])
    if arguments is None:
        arguments = []
    if not isinstance(arguments, list):
        raise UsageError("signalr:invoke: arguments are a JSON array")
    ident = None if v["no_answer"] else str(ids.next("signalr"))
    return Outgoing(signalr.invocation(v["target"] or "", arguments, ident, v["stream"]))


_F = TemplateField
TEMPLATES: Mapping[str, Template] = {t.name: t for t in (
    Template("socketio:event", "Socket.IO event", (
        _F("name", hint="event name"), _F("args", "json", [], "JSON array of arguments"),
        _F("namespace", default="/"), _F("ack", "bool", False, "ask for an ack (auto id)"),
    ), _socketio_event),
    Template("graphql:subscribe", "GraphQL subscribe / query", (
        _F("query", hint="subscription { … } or query { … }"),
        _F("variables", "json", None, "JSON object"), _F("operation_name"),
        _F("id", hint="empty: the next number"),
    ), _graphql_subscribe),
    Template("graphql:complete", "GraphQL complete (stop)", (_F("id"),), _graphql_complete),
    Template("stomp:send", "STOMP SEND", (
        _F("destination", hint="/queue/name"), _F("body", default=""),
        _F("headers", "json", None, 'JSON object, e.g. {"content-type": "text/plain"}'),
        _F("receipt", hint="a receipt id, or auto"),
    ), _stomp_send),
    Template("stomp:subscribe", "STOMP SUBSCRIBE", (
        _F("destination"), _F("id", hint="empty: sub-N"), _F("ack", default="auto"),
        _F("headers", "json", None, "JSON object"), _F("receipt", hint="a receipt id, or auto"),
    ), _stomp_subscribe),
    Template("stomp:unsubscribe", "STOMP UNSUBSCRIBE", (
        _F("id"), _F("receipt", hint="a receipt id, or auto"),
    ), _stomp_unsubscribe),
    Template("stomp:disconnect", "STOMP DISCONNECT", (
        _F("receipt", default="auto", hint="a receipt id, or auto"),
    ), _stomp_disconnect),
    Template("mqtt:publish", "MQTT PUBLISH", (
        _F("topic"), _F("payload", default=""), _F("qos", "int", 0, "0, 1 or 2"),
        _F("retain", "bool", False),
    ), _mqtt_publish),
    Template("mqtt:subscribe", "MQTT SUBSCRIBE", (
        _F("topic", hint="a filter, e.g. sensors/#"), _F("qos", "int", 0, "0, 1 or 2"),
    ), _mqtt_subscribe),
    Template("mqtt:unsubscribe", "MQTT UNSUBSCRIBE", (_F("topic"),), _mqtt_unsubscribe),
    Template("jsonrpc:request", "JSON-RPC request", (
        _F("method"), _F("params", "json", None, "JSON array or object"),
        _F("notification", "bool", False, "no id: no answer"),
    ), _jsonrpc_request),
    Template("signalr:invoke", "SignalR invocation", (
        _F("target", hint="hub method"), _F("arguments", "json", [], "JSON array"),
        _F("no_answer", "bool", False, "no invocation id"), _F("stream", "bool", False),
    ), _signalr_invoke),
)}  # fmt: skip


def template(name: str) -> Template:
    """The template called ``name``; UsageError naming the known ones."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UsageError(f"no message template {name!r} (known: {', '.join(TEMPLATES)})"
                         ) from None  # fmt: skip


def parse_values(name: str, text: str) -> dict[str, Any]:
    """The JSON object of ``--send-as NAME JSON`` as field values; UsageError otherwise."""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise UsageError(f"--send-as {name}: not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"--send-as {name}: the fields are a JSON object")
    return value
