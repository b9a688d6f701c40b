"""JSON-RPC 2.0: requests, notifications, responses and batches of them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.jsontree import json_fields, parse_json
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register


def _kind(message: Any) -> str:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise tree.Malformed('a message is not an object with "jsonrpc": "2.0"')
    if "method" in message:
        return "request" if "id" in message else "notification"
    if "result" in message or "error" in message:
        return "response" if "error" not in message else "error"
    raise tree.Malformed("neither a request (method) nor a response (result or error)")


def _key(message: dict[str, Any]) -> str:
    """The pairing key of a message's id: its JSON text (objects with sorted keys)."""
    ident = message.get("id")
    if type(ident) is int:  # the common ids first: the same text, without an encoder
        return "json-rpc " + str(ident)
    if type(ident) is str:
        return "json-rpc " + json.dumps(ident)
    return "json-rpc " + json.dumps(ident, sort_keys=True)


def _exchanges(messages: list[Any]) -> tuple[tree.Exchange, ...]:
    out = []
    for message in messages:
        kind = _kind(message)
        if kind == "request":
            out.append(tree.Exchange(tree.Role.REQUEST, _key(message)))
        elif kind in ("response", "error") and message.get("id") is not None:
            out.append(tree.Exchange(tree.Role.RESPONSE, _key(message)))
    return tuple(out)


def exchanges(payload: bytes, context: DecodeContext) -> tuple[tree.Exchange, ...]:
    """The ids of the requests or responses in a message or batch."""
    del context
    value = json.loads(payload.decode("utf-8"))  # as parse_json reads it: UTF-8 only
    return _exchanges(value if isinstance(value, list) else [value])


def _summary(message: dict[str, Any], kind: str) -> str:
    ident = f" id={json.dumps(message.get('id'))}" if "id" in message else ""
    if kind in ("request", "notification"):
        return f"{kind} {message.get('method')}{ident}"
    if kind == "error":
        error = message.get("error")
        text = error.get("message") if isinstance(error, dict) else error
        return f"error{ident} {tree.short(str(text), 50)}"
    return f"response{ident} {tree.short(json.dumps(message.get('result')), 50)}"


def decode_jsonrpc(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """A JSON-RPC message or batch: kind, method, id, params or result per message."""
    del context
    try:
        value = parse_json(payload)
        batch = isinstance(value, list)
        messages = value if batch else [value]
        if batch and not messages:
            raise tree.Malformed("an empty batch")
        kinds = [_kind(m) for m in messages]
    except tree.Malformed as exc:
        return tree.failure("jsonrpc", "JSON-RPC", str(exc))
    parsed = json_fields(payload, name="batch" if batch else "JSON-RPC")
    items = parsed.children if batch else (parsed,)
    fields: list[tree.Field] = []
    for index, (message, kind, item) in enumerate(zip(messages, kinds, items, strict=False)):
        name = f"[{index}] {kind}" if batch else kind
        fields.append(replace(item, name=name, text=_summary(message, kind)))
    first = messages[0]
    facts: dict[str, Any] = {"kind": kinds[0] if not batch else "batch"}
    if not batch:
        if "method" in first:
            facts["method"] = first["method"]
        if "id" in first:
            facts["id"] = first["id"]
    summary = (_summary(first, kinds[0]) if not batch else
               f"batch of {len(messages)}: " + ", ".join(sorted(set(kinds))))  # fmt: skip
    return tree.Decoded("jsonrpc", summary, tuple(fields), facts=facts,
                        exchanges=_exchanges(messages))  # fmt: skip


def _sniff(payload: bytes) -> bool:
    return b'"jsonrpc"' in payload[:256] and b'"2.0"' in payload[:512]


JSONRPC = register(Decoder("jsonrpc", "JSON-RPC", decode_jsonrpc, subprotocols=("jsonrpc",),
                           sniff=_sniff, exchange=exchanges))  # fmt: skip
