"""Socket.IO v4/v5 over Engine.IO v4, as sent in WebSocket messages.

An Engine.IO text message is one type digit (0 open, 1 close, 2 ping, 3 pong,
4 message, 5 upgrade, 6 noop) and data; a "4" message carries a Socket.IO packet:
``<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]``, types 0 CONNECT,
1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK. The
binary attachments of types 5 and 6 follow as binary WebSocket messages (Engine.IO 4
sends them without a prefix); their placeholders ``{"_placeholder": true, "num": N}``
are joined to the attachments the session decoder collected in
``DecodeContext.attachments``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.jsontree import json_fields, parse_json
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register

ENGINE_TYPES = {"0": "open", "1": "close", "2": "ping", "3": "pong", "4": "message",
                "5": "upgrade", "6": "noop"}  # fmt: skip
SOCKET_TYPES = {"0": "CONNECT", "1": "DISCONNECT", "2": "EVENT", "3": "ACK",
                "4": "CONNECT_ERROR", "5": "BINARY_EVENT", "6": "BINARY_ACK"}  # fmt: skip

_HEAD = re.compile(rb"4([0-6])(?:(\d+)-)?(/[^,]*,)?(\d+)?")


@dataclass(frozen=True, slots=True)
class PacketHead:
    """The parts of a Socket.IO packet before its JSON data, with the data's offset."""

    type: str
    attachments: int
    namespace: str
    ack_id: int | None
    data_start: int


def packet_head(payload: bytes) -> PacketHead | None:
    """The head of an Engine.IO "4" message holding a Socket.IO packet, else None."""
    match = _HEAD.match(payload)
    if match is None:
        return None
    ns = match.group(3)
    return PacketHead(
        SOCKET_TYPES[match.group(1).decode()],
        int(match.group(2)) if match.group(2) else 0,
        ns[:-1].decode("utf-8", "replace") if ns else "/",
        int(match.group(4)) if match.group(4) else None,
        match.end(),
    )


def attachments_expected(payload: bytes) -> int:
    """How many binary messages follow this one (0 unless a binary event or ack)."""
    head = packet_head(payload)
    return head.attachments if head is not None and head.type.startswith("BINARY") else 0


#: The head of a packet that carries an ack id and can pair: an event or ack (binary
#: or not), its attachment count, namespace and the id (the fast path of statistics).
#: The optional parts are atomic: read as _HEAD reads them, never given back to the id.
_PAIRING_HEAD = re.compile(rb"4([2356])(?>(?:\d+-)?)(?>(/[^,]*,)?)(\d+)")
_REQUEST_TYPES = b"25"


def exchanges(payload: bytes, context: DecodeContext) -> tuple[tree.Exchange, ...]:
    """The ack id of an event (a request) or of an ack (its response), from the
    packet's head alone: the decoded tree carries the same ids, also when the data
    after the head is not valid (the id is in the head; the tree says what is wrong)."""
    del context
    match = _PAIRING_HEAD.match(payload)
    if match is None:
        return ()
    kind, ns, ack = match.groups()
    role = tree.Role.REQUEST if kind in _REQUEST_TYPES else tree.Role.RESPONSE
    if ns is None:
        return (tree.Exchange(role, f"socket.io / {int(ack)}"),)
    return (tree.Exchange(role, f"socket.io {ns[:-1].decode('utf-8', 'replace')} {int(ack)}"),)


_new_tuple = tuple.__new__  # an Exchange without the Python-level NamedTuple __new__
_REQUEST, _RESPONSE = tree.Role.REQUEST, tree.Role.RESPONSE


def exchanges_many(
    payloads: Sequence[bytes], context: DecodeContext
) -> list[tuple[tree.Exchange, ...]]:
    """:func:`exchanges` of many payloads (a page of a capture) in one loop, none for a
    payload over the limit or whose id ``int`` refuses; an ack id in its own digits
    where they are already ``int``'s text (no leading zero, short)."""
    del context
    match, limit, exchange = _PAIRING_HEAD.match, tree.MAX_PAYLOAD, tree.Exchange
    out: list[tuple[tree.Exchange, ...]] = []
    append = out.append
    for payload in payloads:
        found = match(payload)
        if found is None or len(payload) > limit:
            append(())
            continue
        kind, ns, ack = found.groups()
        role = _REQUEST if kind in _REQUEST_TYPES else _RESPONSE
        if len(ack) < 19 and (ack[0] != 0x30 or len(ack) == 1):
            number = ack.decode("ascii")
        else:
            try:
                number = str(int(ack))
            except ValueError:  # past int()'s digits: no ids, as exchanges_of says
                append(())
                continue
        if ns is None:
            append((_new_tuple(exchange, (role, "socket.io / " + number)),))
        else:
            space = ns[:-1].decode("utf-8", "replace")
            append((_new_tuple(exchange, (role, f"socket.io {space} {number}")),))
    return out


def _failure(what: str, reason: str, payload: bytes) -> tree.Decoded:
    """A packet whose head was read but not its data: the error, with the head's ack id."""
    failed = tree.failure("socketio", what, reason)
    return replace(failed, exchanges=exchanges(payload, DecodeContext()))


def decode_socketio(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """An Engine.IO message and the Socket.IO packet inside it."""
    if not payload:
        return tree.failure("socketio", "Engine.IO", "empty message")
    first = payload[:1].decode("latin-1")
    if first not in ENGINE_TYPES:
        return _binary(payload, context)
    engine = ENGINE_TYPES[first]
    engine_field = tree.Field("engine.io type", f"{first} {engine}", "enum", engine, 0, 1)
    if engine != "message":
        fields = [engine_field]
        rest = payload[1:]
        summary = f"engine.io {engine}"
        if rest:
            try:
                parse_json(rest) if engine == "open" else None
                data = json_fields(rest, 1, "data") if engine == "open" else tree.Field(
                    "data", tree.short(rest.decode("utf-8", "replace")), "string",
                    rest.decode("utf-8", "replace"), 1, len(payload))  # fmt: skip
            except (tree.Malformed, UnicodeDecodeError) as exc:
                return tree.failure("socketio", "Engine.IO", f"{engine} data: {exc}")
            fields.append(data)
            summary += f" {tree.short(rest.decode('utf-8', 'replace'), 60)}"
        return tree.Decoded("socketio", summary, tuple(fields), facts={"engine": engine})
    head = packet_head(payload)
    if head is None:
        return tree.failure("socketio", "Socket.IO", f"packet type {payload[1:2]!r} is not 0-6")
    fields = [engine_field, tree.Field("type", f"{payload[1:2].decode()} {head.type}", "enum",
                                       head.type, 1, 2)]  # fmt: skip
    facts: dict[str, Any] = {"engine": engine, "type": head.type, "namespace": head.namespace}
    if head.attachments:
        fields.append(tree.Field("attachments", str(head.attachments), "int", head.attachments))
        facts["attachments"] = head.attachments
    fields.append(tree.Field("namespace", head.namespace, "string", head.namespace))
    if head.ack_id is not None:
        fields.append(tree.Field("ack id", str(head.ack_id), "int", head.ack_id))
        facts["ack_id"] = head.ack_id
    data_bytes = payload[head.data_start :]
    summary = f"{head.type} {head.namespace}"
    if data_bytes:
        try:
            value = parse_json(data_bytes)
        except tree.Malformed as exc:
            return _failure("Socket.IO", f"{head.type} data: {exc}", payload)
        data = json_fields(data_bytes, head.data_start, "data")
        if context.attachments:
            data = _join(data, value, context.attachments)
        if head.type in ("EVENT", "BINARY_EVENT"):
            if not isinstance(value, list) or not value or not isinstance(value[0], str):
                return _failure("Socket.IO", "an event's data is not [name, …]", payload)
            facts["event"] = value[0]
            facts["args"] = len(value) - 1
            children = data.children
            fields.append(tree.Field("event", value[0], "string", value[0], children[0].start,
                                     children[0].end))  # fmt: skip
            args = tuple(_rename(c, f"arg {i}") for i, c in enumerate(children[1:]))
            fields.append(tree.Field("arguments", f"{len(args)}", "array", None, data.start,
                                     data.end, args))  # fmt: skip
            shown = _args_text(value[1:], context.attachments)
            summary = f"{head.type} {value[0]!r}" + (f" {tree.short(shown, 60)}" if shown else "")
            if head.namespace != "/":
                summary += f" ns={head.namespace}"
        else:
            fields.append(data)
            shown = _args_text(value, context.attachments) if isinstance(value, list) else (
                json.dumps(value, ensure_ascii=False))  # fmt: skip
            summary += f" {tree.short(shown, 60)}"
    if head.ack_id is not None:
        summary += f" ack={head.ack_id}"
    return tree.Decoded("socketio", summary, tuple(fields), facts=facts,
                        exchanges=exchanges(payload, context))  # fmt: skip


def _args_text(args: list[Any], attachments: tuple[bytes, ...]) -> str:
    """Arguments as JSON, a placeholder shown as ``<N bytes>`` (``<attachment N>`` when
    the binary message it stands for is not known)."""

    def show(value: Any) -> Any:
        if isinstance(value, dict) and value.get("_placeholder") is True and isinstance(
            value.get("num"), int):  # fmt: skip
            num = value["num"]
            return (f"<{len(attachments[num])} bytes>" if 0 <= num < len(attachments)
                    else f"<attachment {num}>")  # fmt: skip
        if isinstance(value, list):
            return [show(v) for v in value]
        if isinstance(value, dict):
            return {k: show(v) for k, v in value.items()}
        return value

    return ", ".join(json.dumps(show(a), ensure_ascii=False) for a in args)


def _rename(field: tree.Field, name: str) -> tree.Field:
    return replace(field, name=name)


def _join(data: tree.Field, value: Any, attachments: tuple[bytes, ...]) -> tree.Field:
    """The data tree with each placeholder object shown as the attachment it stands for."""

    def visit(field: tree.Field, val: Any) -> tree.Field:
        if isinstance(val, dict) and val.get("_placeholder") is True and isinstance(
            val.get("num"), int):  # fmt: skip
            num = val["num"]
            if 0 <= num < len(attachments):
                blob = attachments[num]
                return replace(field, text=f"attachment {num}: bytes[{len(blob)}] "
                               f"{blob[:16].hex(' ')}{' …' if len(blob) > 16 else ''}",
                               type="attachment", value=blob[:4096].hex())  # fmt: skip
            return replace(field, text=f"attachment {num} (missing)", type="attachment")
        if isinstance(val, list):
            return replace(field, children=tuple(
                visit(c, v) for c, v in zip(field.children, val, strict=False)))  # fmt: skip
        if isinstance(val, dict):
            return replace(
                field,
                children=tuple(
                    visit(c, v) for c, v in zip(field.children, val.values(), strict=False)
                ),
            )
        return field

    return visit(data, value)


def _binary(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """A binary message: the attachment of the binary packet before it."""
    owner = context.options.get("socketio_attachment_of")
    text = f"binary attachment {len(payload)} bytes"
    if isinstance(owner, tuple) and len(owner) == 2:
        text = f"attachment {owner[1]} of #{owner[0]}, {len(payload)} bytes"
    field = tree.Field(
        "attachment",
        f"bytes[{len(payload)}] {payload[:16].hex(' ')}{' …' if len(payload) > 16 else ''}",
        "bytes",
        None,
        0,
        len(payload),
    )
    return tree.Decoded("socketio", text, (field,), facts={"engine": "binary"})


SOCKETIO = register(Decoder("socketio", "Socket.IO", decode_socketio,
                            path=r"/socket\.io/?(\?|.*[?&])EIO=4", exchange=exchanges,
                            exchange_many=exchanges_many))  # fmt: skip
