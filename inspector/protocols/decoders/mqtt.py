"""MQTT 3.1.1 and 5.0 control packets (over WebSocket subprotocol ``mqtt``, or TCP 1883).

One payload may hold several packets (a TCP read often does); each becomes a field
with its byte range. The version decides how packets after CONNECT are read (5.0 adds
properties); it comes from the session's CONNECT (remembered by the session decoder),
else 3.1.1 is assumed and 5.0 tried when 3.1.1 does not fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register, sniff

TYPES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL",
         7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK",
         12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH"}  # fmt: skip
VERSION_OPTION = "mqtt_version"
#: (request type, response type, key prefix): how MQTT pairs its packets.
_REQ, _RESP = tree.Role.REQUEST, tree.Role.RESPONSE
_PAIRS = {"CONNECT": ("connect", _REQ), "CONNACK": ("connect", _RESP),
          "SUBSCRIBE": ("sub", _REQ), "SUBACK": ("sub", _RESP),
          "UNSUBSCRIBE": ("unsub", _REQ), "UNSUBACK": ("unsub", _RESP),
          "PUBACK": ("pub", _RESP), "PUBREC": ("pub", _RESP),
          "PUBREL": ("rel", _REQ), "PUBCOMP": ("rel", _RESP),
          "PINGREQ": ("ping", _REQ), "PINGRESP": ("ping", _RESP)}  # fmt: skip

# MQTT 5 properties: id -> (name, reader kind)
_PROPS = {0x01: ("payload format", "byte"), 0x02: ("message expiry", "u32"),
          0x03: ("content type", "str"), 0x08: ("response topic", "str"),
          0x09: ("correlation data", "bin"), 0x0B: ("subscription id", "varint"),
          0x11: ("session expiry", "u32"), 0x12: ("assigned client id", "str"),
          0x13: ("server keep alive", "u16"), 0x15: ("auth method", "str"),
          0x16: ("auth data", "bin"), 0x17: ("request problem info", "byte"),
          0x18: ("will delay", "u32"), 0x19: ("request response info", "byte"),
          0x1A: ("response info", "str"), 0x1C: ("server reference", "str"),
          0x1F: ("reason string", "str"), 0x21: ("receive maximum", "u16"),
          0x22: ("topic alias maximum", "u16"), 0x23: ("topic alias", "u16"),
          0x24: ("maximum qos", "byte"), 0x25: ("retain available", "byte"),
          0x26: ("user property", "pair"), 0x27: ("maximum packet size", "u32"),
          0x28: ("wildcard subscriptions", "byte"), 0x29: ("subscription ids", "byte"),
          0x2A: ("shared subscriptions", "byte")}  # fmt: skip


class _Reader:
    """Reads MQTT's data types from ``data[pos:end]``, each as a field with its bytes."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def need(self, count: int, what: str) -> int:
        start = self.pos
        if start + count > self.end:
            raise tree.Malformed(f"{what} is cut at byte {start}")
        self.pos += count
        return start

    def byte(self, what: str) -> int:
        return self.data[self.need(1, what)]

    def u16(self, what: str) -> int:
        at = self.need(2, what)
        return int.from_bytes(self.data[at : at + 2], "big")

    def u32(self, what: str) -> int:
        at = self.need(4, what)
        return int.from_bytes(self.data[at : at + 4], "big")

    def varint(self, what: str) -> int:
        value, shift = 0, 0
        for _ in range(4):
            byte = self.byte(what)
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        raise tree.Malformed(f"{what} is longer than four bytes")

    def binary(self, what: str) -> bytes:
        length = self.u16(what)
        at = self.need(length, what)
        return self.data[at : at + length]

    def string(self, what: str) -> str:
        raw = self.binary(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise tree.Malformed(f"{what} is not UTF-8") from None

    def field(self, name: str, read: Callable[[str], Any]) -> tuple[Any, tree.Field]:
        start = self.pos
        value = read(name)
        shown = tree.short(repr(value)) if isinstance(value, str) else (
            value.hex(" ") if isinstance(value, bytes) else str(value))  # fmt: skip
        kept = value.hex() if isinstance(value, bytes) else value
        return value, tree.Field(name, shown, type(value).__name__, kept, start, self.pos)

    def properties(self) -> tree.Field:
        start = self.pos
        length = self.varint("properties length")
        end = self.pos + length
        if end > self.end:
            raise tree.Malformed(f"properties run past the packet at byte {start}")
        children: list[tree.Field] = []
        while self.pos < end:
            prop_start = self.pos
            ident = self.varint("property id")
            name, kind = _PROPS.get(ident, (None, None))
            if name is None:
                raise tree.Malformed(f"unknown property 0x{ident:02x} at byte {prop_start}")
            if kind == "pair":
                value: Any = [self.string(name), self.string(name)]
                shown = f"{value[0]}={value[1]}"
            elif kind == "str":
                value = self.string(name)
                shown = tree.short(repr(value))
            elif kind == "bin":
                value = self.binary(name).hex()
                shown = value
            else:
                value = {"byte": self.byte, "u16": self.u16, "u32": self.u32,
                         "varint": self.varint}[str(kind)](name)  # fmt: skip
                shown = str(value)
            if self.pos > end:
                raise tree.Malformed(
                    f"property {name} runs past the properties at byte {prop_start}"
                )
            children.append(tree.Field(name, shown, str(kind), value, prop_start, self.pos))
        return tree.Field("properties", f"{len(children)}", "properties", None, start, end,
                          tuple(children))  # fmt: skip


def _packet(data: bytes, pos: int, version: int) -> tuple[tree.Field, dict[str, Any], int]:
    """One packet at ``pos``: its field, its facts and where the next one starts."""
    start = pos
    head = data[pos]
    kind = TYPES.get(head >> 4)
    if kind is None:
        raise tree.Malformed(f"packet type 0 at byte {pos}")
    flags = head & 0x0F
    reader = _Reader(data, pos + 1, len(data))
    length = reader.varint("remaining length")
    body = reader.pos
    if body + length > len(data):
        raise tree.Malformed(f"{kind} at byte {start} needs {body + length - len(data)} more bytes")
    end = body + length
    r = _Reader(data, body, end)
    children = [
        tree.Field("type", f"{kind} (flags {flags:04b})", "enum", kind, start, start + 1),
        tree.Field("remaining length", str(length), "int", length, start + 1, body),
    ]
    facts: dict[str, Any] = {"type": kind}

    def add(name: str, read: Callable[[str], Any]) -> Any:
        value, field = r.field(name, read)
        children.append(field)
        return value

    v5 = version == 5
    if kind == "CONNECT":
        add("protocol name", r.string)
        level = add("protocol level", r.byte)
        v5 = level == 5
        facts[VERSION_OPTION] = level
        connect_flags = add("connect flags", r.byte)
        add("keep alive", r.u16)
        if v5:
            children.append(r.properties())
        facts["client_id"] = add("client id", r.string)
        if connect_flags & 0x04:
            if v5:
                children.append(r.properties())
            facts["topic"] = add("will topic", r.string)
            add("will payload", r.binary)
        if connect_flags & 0x80:
            add("user name", r.string)
        if connect_flags & 0x40:
            add("password", r.binary)
    elif kind == "CONNACK":
        add("acknowledge flags", r.byte)
        facts["reason_code"] = add("reason code" if v5 else "return code", r.byte)
        if v5 and r.pos < end:
            children.append(r.properties())
    elif kind == "PUBLISH":
        qos = (flags >> 1) & 3
        facts.update(qos=qos, retain=bool(flags & 1), dup=bool(flags & 8))
        if qos == 3:
            raise tree.Malformed(f"PUBLISH with QoS 3 at byte {start}")
        facts["topic"] = add("topic", r.string)
        if qos:
            facts["packet_id"] = add("packet id", r.u16)
        if v5:
            children.append(r.properties())
        children.append(_payload(data, r.pos, end))
        r.pos = end
    elif kind in ("PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "UNSUBACK", "SUBACK", "SUBSCRIBE",
                  "UNSUBSCRIBE"):  # fmt: skip
        facts["packet_id"] = add("packet id", r.u16)
        if kind in ("PUBACK", "PUBREC", "PUBREL", "PUBCOMP"):
            if v5 and r.pos < end:
                add("reason code", r.byte)
                if r.pos < end:
                    children.append(r.properties())
        else:
            if v5:
                children.append(r.properties())
            index = 0
            while r.pos < end:
                if kind == "SUBSCRIBE":
                    topic = add(f"topic filter {index}", r.string)
                    add(f"options {index}", r.byte)
                    facts.setdefault("topic", topic)
                elif kind == "UNSUBSCRIBE":
                    facts.setdefault("topic", add(f"topic filter {index}", r.string))
                else:
                    add(f"{'reason' if v5 else 'return'} code {index}", r.byte)
                index += 1
    elif kind in ("DISCONNECT", "AUTH") and v5 and r.pos < end:
        facts["reason_code"] = add("reason code", r.byte)
        if r.pos < end:
            children.append(r.properties())
    if r.pos != end:
        raise tree.Malformed(f"{kind} at byte {start} has {end - r.pos} bytes left over")
    summary = kind
    if "topic" in facts:
        summary += f" {facts['topic']!r}"
    if "packet_id" in facts:
        summary += f" id={facts['packet_id']}"
    if kind == "PUBLISH":
        summary += f" qos={facts['qos']}" + (" retain" if facts["retain"] else "")
    return tree.Field(kind, summary, "packet", None, start, end, tuple(children)), facts, end


def _payload(data: bytes, start: int, end: int) -> tree.Field:
    """A PUBLISH payload: decoded when it looks like JSON (or another known format)."""
    body = data[start:end]
    inner = sniff(body) if body else None
    if inner is not None:
        decoded = inner.run(body, DecodeContext())
        if decoded.ok and decoded.fields:
            return tree.Field("payload", f"{inner.name}: {decoded.summary}", "payload", None, start,
                              end, tuple(f.shifted(start) for f in decoded.fields))  # fmt: skip
    try:
        text = body.decode("utf-8")
        return tree.Field("payload", tree.short(repr(text)), "string", text[:4096], start, end)
    except UnicodeDecodeError:
        return tree.Field("payload", f"bytes[{len(body)}] {body[:16].hex(' ')}", "bytes",
                          body[:4096].hex(), start, end)  # fmt: skip


def _packets(
    payload: bytes, version: int
) -> tuple[list[tree.Field], list[dict[str, Any]], str | None]:
    """The packets of a payload and why the rest (if any) is not a packet; Malformed when
    not even the first one is."""
    fields: list[tree.Field] = []
    facts: list[dict[str, Any]] = []
    pos = 0
    while pos < len(payload) and len(fields) < 1000:
        try:
            field, fact, pos = _packet(payload, pos, version)
        except tree.Malformed as exc:
            if not fields:
                raise
            return fields, facts, str(exc)
        fields.append(field)
        facts.append(fact)
        if VERSION_OPTION in fact:
            version = fact[VERSION_OPTION]
    return fields, facts, None


def decode_mqtt(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """The MQTT packets in a payload."""
    if not payload:
        return tree.failure("mqtt", "MQTT", "empty payload")
    known = context.options.get(VERSION_OPTION)
    tries = [known] if known in (3, 4, 5) else [4, 5]
    error = ""
    for version in tries:
        try:
            fields, facts, problem = _packets(payload, int(version))  # type: ignore[arg-type]
        except tree.Malformed as exc:
            error = error or str(exc)
            continue
        first = dict(facts[0])
        if len(facts) > 1:
            first["packets"] = len(facts)
        summary = fields[0].text if len(fields) == 1 else (
            f"{len(fields)} packets: " + ", ".join(f.text for f in fields[:4])
            + (" …" if len(fields) > 4 else ""))  # fmt: skip
        error = None if problem is None else tree.failure("mqtt", "MQTT", problem).error
        return tree.Decoded("mqtt", tree.short(summary, 120), tuple(fields), error=error,
                            facts=first, exchanges=_exchanges(facts))  # fmt: skip
    return tree.failure("mqtt", "MQTT", error)


def _exchanges(facts: list[dict[str, Any]]) -> tuple[tree.Exchange, ...]:
    out = []
    for fact in facts:
        kind = fact["type"]
        if kind == "PUBLISH":
            if fact.get("qos"):
                out.append(tree.Exchange(tree.Role.REQUEST, f"mqtt pub {fact['packet_id']}"))
            continue
        pair = _PAIRS.get(kind)
        if pair is None:
            continue
        prefix, role = pair
        ident = fact.get("packet_id")
        out.append(
            tree.Exchange(role, f"mqtt {prefix}" + (f" {ident}" if ident is not None else ""))
        )
    return tuple(out)


MQTT = register(Decoder(
    "mqtt", "MQTT", decode_mqtt, subprotocols=("mqtt", "mqttv3.1", "mqttv3.1.1", "mqttv5"),
    ports=(1883, 8883), remembers=(VERSION_OPTION,),
))  # fmt: skip
