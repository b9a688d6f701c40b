"""GraphQL over WebSocket: ``graphql-transport-ws`` (graphql-ws library) and the older
``graphql-ws`` protocol of subscriptions-transport-ws.

Every message is a JSON object with a ``type``; operations carry an ``id`` that the
results (``next`` / ``data``), errors and ``complete`` repeat, which pairs them.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.jsontree import json_fields, parse_json
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register

#: Message types that start an operation, and those that answer one.
STARTS = frozenset({"subscribe", "start"})
ANSWERS = frozenset({"next", "data", "error", "complete"})
#: An operation's results: a subscription has many, then "complete" (or "error") ends it.
RESULTS = frozenset({"next", "data"})
KNOWN = STARTS | ANSWERS | frozenset({
    "connection_init", "connection_ack", "connection_error", "connection_terminate",
    "ping", "pong", "ka", "stop",
})  # fmt: skip

_OPERATION = re.compile(r"^\s*(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?")


def _exchanges(message: dict[str, Any], context: DecodeContext) -> tuple[tree.Exchange, ...]:
    del context
    kind = message.get("type")
    ident = message.get("id")
    if ident is None or kind not in STARTS | ANSWERS:
        return ()
    if kind in STARTS:
        role = tree.Role.REQUEST
    else:
        role = tree.Role.ITEM if kind in RESULTS else tree.Role.RESPONSE
    return (tree.Exchange(role, f"graphql {json.dumps(ident)}"),)


def exchanges(payload: bytes, context: DecodeContext) -> tuple[tree.Exchange, ...]:
    """The operation id of a subscribe/start (request), of a result (an item: the first
    pairs, the others stream), or of what ends it (complete, error)."""
    value = json.loads(payload.decode("utf-8"))  # as parse_json reads it: UTF-8 only
    return _exchanges(value, context) if isinstance(value, dict) else ()


def operation(query: Any) -> tuple[str, str | None]:
    """(kind, name) of a GraphQL document: "query" for the shorthand ``{ … }``."""
    if not isinstance(query, str):
        return "?", None
    match = _OPERATION.match(re.sub(r"#[^\n]*", "", query))
    return (match.group(1), match.group(2)) if match else ("query", None)


def decode_graphql(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """One GraphQL-over-WebSocket message: type, id, operation and its payload tree."""
    try:
        message = parse_json(payload)
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise tree.Malformed('not an object with a "type"')
    except tree.Malformed as exc:
        return tree.failure("graphql", "GraphQL over WebSocket", str(exc))
    kind = message["type"]
    parsed = json_fields(payload, name="message")
    facts: dict[str, Any] = {"type": kind}
    summary = kind
    if "id" in message:
        facts["id"] = message["id"]
        summary += f" id={json.dumps(message['id'])}"
    body = message.get("payload")
    if kind in STARTS and isinstance(body, dict):
        op_kind, op_name = operation(body.get("query"))
        name = body.get("operationName") or op_name
        facts["operation"] = op_kind
        if name:
            facts["operation_name"] = name
        summary += f" {op_kind}{' ' + name if name else ''}"
        if body.get("variables"):
            summary += f" {tree.short(json.dumps(body['variables']), 40)}"
    elif kind in ("next", "data") and isinstance(body, dict):
        summary += f" {tree.short(json.dumps(body.get('data', body.get('errors'))), 60)}"
    elif kind == "error" or (isinstance(body, dict) and body.get("errors")):
        summary += f" {tree.short(json.dumps(body), 60)}"
    if kind not in KNOWN:
        summary += " (unknown type)"
    fields = tuple(replace(child, name=child.name) for child in parsed.children)
    return tree.Decoded("graphql", summary, fields, facts=facts,
                        exchanges=_exchanges(message, context))  # fmt: skip


def _sniff(payload: bytes) -> bool:
    head = payload[:64]
    return head.startswith(b'{"type":"connection_init"') or head.startswith(
        b'{"type": "connection_init"')  # fmt: skip


GRAPHQL = register(Decoder(
    "graphql", "GraphQL over WebSocket", decode_graphql,
    subprotocols=("graphql-transport-ws", "graphql-ws"), sniff=_sniff, exchange=exchanges,
))  # fmt: skip

__all__ = ["GRAPHQL", "decode_graphql", "exchanges", "operation"]
