"""JSON-RPC 2.0: requests, notifications, responses and batches of them."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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


def _json_grammar() -> tuple[bytes, bytes]:
    """A JSON value (strings ASCII, nesting three deep) and JSON whitespace, as regular
    expressions: every text they match, ``json.loads`` reads the same way."""
    ws = rb"[ \t\n\r]*+"
    string = rb'"(?:[ !#-\[\]-~]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"'
    # An integer past 4,300 digits is refused by int(): those are left to json.loads.
    number = rb"-?+(?:0|[1-9][0-9]{0,299}+)(?:\.[0-9]++)?+(?:[eE][-+]?+[0-9]++)?+"
    value = rb"(?:" + string + rb"|" + number + rb"|true|false|null)"
    for _ in range(3):
        items = value + ws + rb"(?:," + ws + rb"(?=[^\]])|(?=\]))"
        members = string + ws + rb":" + ws + value + ws + rb"(?:," + ws + rb'(?=")|(?=\}))'
        value = (rb"(?>" + string + rb"|" + number + rb"|true|false|null|\[" + ws + rb"(?:"
                 + items + rb")*+\]|\{" + ws + rb"(?:" + members + rb")*+\})")  # fmt: skip
    return value, ws


def _message_pattern() -> re.Pattern[bytes]:
    """One JSON-RPC object in the JSON every library writes, its top-level members read
    by name: the id's text, ``"jsonrpc": "2.0"``, and whether method, result and error
    are there (a repeated member keeps its last value, as in ``json.loads``).

    The members' loop is an atomic group around a greedy repeat, not a possessive
    repeat: CPython before 3.12.1 and 3.11.8 raises SystemError for a possessive repeat
    holding capturing groups (python/cpython#101955)."""
    value, ws = _json_grammar()
    ident = rb'((?:0|-?+[1-9][0-9]{0,299}+)|"[ !#-\[\]-~]*+"|null|true|false)'
    # A top-level name with an escape may spell one of these: those are left to json.loads.
    named = (rb'"(?:(method)"|(result)"|(error)"|(?!(?:id|jsonrpc|method|result|error)")'
             rb'[ !#-\[\]-~]*+")')  # fmt: skip
    member = (rb'(?>"id"' + ws + rb":" + ws + ident + rb'|"jsonrpc"()' + ws + rb":" + ws
              + rb'"2\.0"|' + named + ws + rb":" + ws + value + rb")")  # fmt: skip
    members = rb"(?>(?:" + member + ws + rb"(?:," + ws + rb'(?=")|(?=\})))*)'
    return re.compile(ws + rb"\{" + ws + members + rb"\}" + ws)


#: Compiled on first use (a few milliseconds every command that decodes would pay).
_MESSAGE: re.Pattern[bytes] | None = None
_REQUEST, _RESPONSE = tree.Role.REQUEST, tree.Role.RESPONSE
_new_tuple = tuple.__new__  # an Exchange without the Python-level NamedTuple __new__
Exchange = tree.Exchange


def _message() -> re.Pattern[bytes]:
    global _MESSAGE
    if _MESSAGE is None:
        _MESSAGE = _message_pattern()
    return _MESSAGE


def exchanges(payload: bytes, context: DecodeContext) -> tuple[tree.Exchange, ...]:
    """The ids of the requests or responses in a message or batch.

    A single message in plain JSON (ASCII strings, nesting a few levels deep) is read by
    one regular expression, its id's key being the id's own text (canonical JSON, so
    ``json.dumps`` of the value); anything else — a batch, escapes or non-ASCII text in
    names, a float id, a message that is not valid — by ``json.loads``: the same ids."""
    del context
    found = _message().fullmatch(payload)
    if found is not None:
        ident, version, method, result, error = found.groups()
        if version is not None:
            if method is not None:
                if ident is None:
                    return ()
                return (_new_tuple(Exchange, (_REQUEST, "json-rpc " + ident.decode("ascii"))),)
            if result is not None or error is not None:
                if ident is None or ident == b"null":
                    return ()
                return (_new_tuple(Exchange, (_RESPONSE, "json-rpc " + ident.decode("ascii"))),)
    return _parsed_exchanges(payload)


def _parsed_exchanges(payload: bytes) -> tuple[tree.Exchange, ...]:
    """The ids by ``json.loads`` (raises for a payload that is not JSON-RPC)."""
    value = json.loads(payload.decode("utf-8"))  # as parse_json reads it: UTF-8 only
    return _exchanges(value if isinstance(value, list) else [value])


# -- a page of payloads at once (statistics over a large capture) -------------------------

#: The digits the grammar of :func:`_message_pattern` tells apart are 0 (a number's
#: leading zero) and 2 (in ``"2.0"``); it reads every other digit as it reads 1. A
#: payload with 1 and 3-9 made 1 (its *shape*) therefore matches exactly when the
#: payload matches, with the same groups at the same places.
_SHAPE_OF = bytes.maketrans(b"13456789", b"11111111")
#: What a shape says: (role, start, end) of a message whose id is at ``[start, end)``;
#: () for a message without ids; None when only ``json.loads`` can tell.
Shape = tuple[tree.Role, int, int] | tuple[()] | None
_SHAPES: dict[bytes, Shape] = {}
_MAX_SHAPES = 4096  # the memo is emptied when it holds this many
_MAX_SHAPED = 1024  # longer payloads are not memoised
_UNKNOWN: Any = object()


def _shape(template: bytes) -> Shape:
    """What the regular expression reads in a payload's shape (see :data:`_SHAPE_OF`)."""
    found = _message().fullmatch(template)
    if found is None:
        return None
    ident, version, method, result, error = found.groups()
    if version is not None:
        if method is not None:
            return () if ident is None else (_REQUEST, *found.span(1))
        if result is not None or error is not None:
            return () if ident is None or ident == b"null" else (_RESPONSE, *found.span(1))
    return None


def _ids_or_none(payload: bytes, context: DecodeContext) -> tuple[tree.Exchange, ...]:
    """:func:`exchanges`, with no ids for a payload that is not valid or too long."""
    if len(payload) > tree.MAX_PAYLOAD:
        return ()
    try:
        return exchanges(payload, context)
    except Exception:  # not JSON-RPC: no ids, as its tree has none
        return ()


def exchanges_many(
    payloads: Sequence[bytes], context: DecodeContext
) -> list[tuple[tree.Exchange, ...]]:
    """The ids of many payloads (a page of a capture): each exactly what
    :func:`exchanges` gives, none for a payload that is not valid.

    The messages of a session mostly differ in their numbers (ids, counters,
    parameters): the regular expression's reading of a payload's shape is remembered,
    so a payload whose shape was seen costs a translation and a lookup, its id cut at
    the remembered place. When most shapes of a page are new, the rest of the page is
    read message by message."""
    shapes, shape_of = _SHAPES, _SHAPE_OF
    get = shapes.get
    out: list[tuple[tree.Exchange, ...]] = []
    append = out.append
    misses = 0
    for payload in payloads:
        template = payload.translate(shape_of)
        shape = get(template, _UNKNOWN)
        if shape is _UNKNOWN:
            if len(payload) > _MAX_SHAPED:
                append(_ids_or_none(payload, context))
                continue
            misses += 1
            if len(shapes) >= _MAX_SHAPES:
                shapes.clear()
            shape = shapes[template] = _shape(template)
            if misses >= 512 and misses * 2 > len(out):  # shapes seldom repeat here
                append(_ids_or_none(payload, context))
                out += [_ids_or_none(p, context) for p in payloads[len(out) :]]
                return out
        if shape:
            role, start, end = shape
            key = "json-rpc " + payload[start:end].decode("ascii")
            append((_new_tuple(Exchange, (role, key)),))
        elif shape is None:
            try:
                append(_parsed_exchanges(payload))
            except Exception:  # not JSON-RPC: no ids
                append(())
        else:
            append(())
    return out


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
                           sniff=_sniff, exchange=exchanges,
                           exchange_many=exchanges_many))  # fmt: skip
