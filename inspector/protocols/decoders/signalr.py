"""SignalR's JSON hub protocol: JSON messages each ended by the record separator 0x1E.

The first message each way is the handshake (``{"protocol":"json","version":1}`` and
``{}`` or an error). Then each message has a ``type``: 1 Invocation, 2 StreamItem,
3 Completion, 4 StreamInvocation, 5 CancelInvocation, 6 Ping, 7 Close; invocations
with an ``invocationId`` are answered by the stream items and completion carrying it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.jsontree import json_fields, parse_json
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register

SEPARATOR = 0x1E
TYPES = {1: "Invocation", 2: "StreamItem", 3: "Completion", 4: "StreamInvocation",
         5: "CancelInvocation", 6: "Ping", 7: "Close", 8: "Ack", 9: "Sequence"}  # fmt: skip


def _messages(payload: bytes) -> list[tuple[int, int, Any]]:
    """(start, end, value) of each message; Malformed when one is not JSON."""
    if not payload.endswith(b"\x1e"):
        raise tree.Malformed("does not end with the record separator 0x1E")
    out = []
    pos = 0
    while pos < len(payload) and len(out) < 1000:
        end = payload.index(b"\x1e", pos)
        try:
            value = parse_json(payload[pos:end])
        except tree.Malformed as exc:
            raise tree.Malformed(f"message at byte {pos}: {exc}") from None
        if not isinstance(value, dict):
            raise tree.Malformed(f"message at byte {pos} is not an object")
        out.append((pos, end, value))
        pos = end + 1
    return out


def _describe(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = value.get("type")
    if kind is None:
        if "protocol" in value:
            return (f"handshake request {value.get('protocol')} v{value.get('version')}",
                    {"type": "Handshake", "protocol": value.get("protocol")})  # fmt: skip
        text = "handshake response" + (f" error {value['error']!r}" if "error" in value else "")
        return text, {"type": "HandshakeResponse"}
    name = TYPES.get(kind, f"type {kind}") if isinstance(kind, int) else f"type {kind!r}"
    facts: dict[str, Any] = {"type": name}
    text = name
    if "target" in value:
        facts["target"] = value["target"]
        text += f" {value['target']}"
    if "invocationId" in value:
        facts["invocation_id"] = value["invocationId"]
        text += f" id={value['invocationId']}"
    if "arguments" in value:
        text += f" {tree.short(json.dumps(value['arguments']), 50)}"
    if "result" in value:
        text += f" result={tree.short(json.dumps(value['result']), 40)}"
    if "error" in value:
        facts["error"] = value["error"]
        text += f" error={value['error']!r}"
    return text, facts


def _exchange(value: dict[str, Any]) -> tree.Exchange | None:
    ident = value.get("invocationId")
    kind = value.get("type")
    if ident is None:
        return None
    if kind in (1, 4):
        return tree.Exchange(tree.Role.REQUEST, f"signalr {ident}")
    if kind == 2:  # StreamItem: the first pairs, the others stream
        return tree.Exchange(tree.Role.ITEM, f"signalr {ident}")
    if kind == 3:  # Completion: the answer, or a stream's end
        return tree.Exchange(tree.Role.RESPONSE, f"signalr {ident}")
    return None


def decode_signalr(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """The hub messages in a payload (:class:`tree.Malformed` for what is not: Decoder.run
    says it in one line)."""
    del context
    messages = _messages(payload)
    fields: list[tree.Field] = []
    texts: list[str] = []
    exchanges: list[tree.Exchange] = []
    first: dict[str, Any] = {}
    for start, end, value in messages:
        text, facts = _describe(value)
        first = first or facts
        parsed = json_fields(payload[start:end], start, "message")
        fields.append(replace(parsed, name=facts["type"], text=text))
        texts.append(text)
        found = _exchange(value)
        if found is not None:
            exchanges.append(found)
    summary = texts[0] if len(texts) == 1 else f"{len(texts)} messages: " + "; ".join(texts[:3])
    if len(messages) > 1:
        first = {**first, "messages": len(messages)}
    return tree.Decoded("signalr", tree.short(summary, 120), tuple(fields), facts=first,
                        exchanges=tuple(exchanges))  # fmt: skip


def _sniff(payload: bytes) -> bool:
    return payload.endswith(b"}\x1e") and payload[:1] == b"{"


SIGNALR = register(Decoder("signalr", "SignalR JSON", decode_signalr, path=r"/hubs?/|signalr",
                           sniff=_sniff))  # fmt: skip
