"""STOMP 1.2 frames (over WebSocket ``v12.stomp`` and over TCP 61613).

A frame is a command line, header lines, an empty line and a body ending in NUL (or
``content-length`` bytes then NUL); EOLs between frames are heart-beats. Header values
are unescaped as STOMP 1.2 says (``\\n \\r \\c \\\\``), except in CONNECT and CONNECTED.
A client frame's ``receipt`` header is answered by a RECEIPT (or ERROR) frame's
``receipt-id``; CONNECT is answered by CONNECTED.
"""

from __future__ import annotations

import re
from typing import Any

from inspector.protocols.decoders.registry import DecodeContext, Decoder, register
from inspector.protocols.decoders.tree import (
    Decoded,
    Exchange,
    Field,
    Malformed,
    Role,
    failure,
    short,
)

COMMANDS = frozenset({
    "CONNECT", "STOMP", "CONNECTED", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK",
    "BEGIN", "COMMIT", "ABORT", "DISCONNECT", "MESSAGE", "RECEIPT", "ERROR",
})  # fmt: skip
#: Frames only a server sends (a MESSAGE may repeat the SEND's receipt header).
_SERVER_FRAMES = frozenset({"CONNECTED", "MESSAGE", "RECEIPT", "ERROR"})
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPE = {"n": "\n", "r": "\r", "c": ":", "\\": "\\"}
#: Header values shown as facts, under these names.
_FACTS = {"destination": "destination", "subscription": "subscription", "id": "id",
          "message-id": "message_id", "receipt": "receipt", "receipt-id": "receipt_id",
          "content-type": "content_type", "message": "message"}  # fmt: skip


def _unescape(value: str, where: int) -> str:
    def one(match: re.Match[str]) -> str:
        try:
            return _UNESCAPE[match.group(1)]
        except KeyError:
            raise Malformed(f"undefined escape \\{match.group(1)} at byte {where}") from None

    return _ESCAPE.sub(one, value)


def _frame(data: bytes, pos: int) -> tuple[Field, dict[str, Any], int]:
    """One frame at ``pos`` (after heart-beats): its field, facts and the next offset."""
    start = pos
    line_end = data.find(b"\n", pos)
    if line_end < 0:
        raise Malformed(f"the command at byte {pos} has no end of line")
    command = data[pos:line_end].rstrip(b"\r").decode("utf-8", "replace")
    if command not in COMMANDS:
        raise Malformed(f"unknown command {short(command, 30)!r} at byte {pos}")
    children = [Field("command", command, "enum", command, pos, line_end)]
    headers: dict[str, str] = {}
    pos = line_end + 1
    escaped = command not in ("CONNECT", "CONNECTED")
    while True:
        line_end = data.find(b"\n", pos)
        if line_end < 0:
            raise Malformed(f"{command} headers are cut at byte {pos}")
        line = data[pos:line_end].rstrip(b"\r")
        if not line:
            pos = line_end + 1
            break
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed(f"a {command} header at byte {pos} is not UTF-8") from None
        name, colon, value = text.partition(":")
        if not colon:
            raise Malformed(f"a {command} header at byte {pos} has no colon")
        if escaped:
            name, value = _unescape(name, pos), _unescape(value, pos)
        headers.setdefault(name, value)  # the first of repeated headers counts (1.2)
        children.append(Field(name, short(value), "header", value, pos, pos + len(line)))
        if len(children) > 1000:
            raise Malformed(f"{command} has more than 1000 headers")
        pos = line_end + 1
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise Malformed(f"content-length {headers['content-length']!r} is not a number"
                            ) from None  # fmt: skip
        end = pos + length
        if length < 0 or end >= len(data) or data[end] != 0:
            raise Malformed(f"{command} body of {length} bytes at byte {pos} has no NUL after it")
    else:
        end = data.find(b"\0", pos)
        if end < 0:
            raise Malformed(f"{command} at byte {start} has no NUL at its end")
    body = data[pos:end]
    if body:
        children.append(_body(body, pos, headers.get("content-type", "")))
    facts: dict[str, Any] = {"command": command}
    for header, fact in _FACTS.items():
        if header in headers:
            facts[fact] = headers[header]
    summary = command + "".join(
        f" {h}={headers[h]}" for h in ("destination", "receipt", "receipt-id") if h in headers
    )
    if body:
        summary += f" {short(body.decode('utf-8', 'replace'), 40)!r}"
    return Field(command, summary, "frame", None, start, end + 1, tuple(children)), facts, end + 1


def _body(body: bytes, start: int, content_type: str) -> Field:
    from inspector.protocols.decoders.jsontree import JSON

    if "json" in content_type or (JSON.sniff is not None and JSON.sniff(body)):
        decoded = JSON.run(body, DecodeContext())
        if decoded.ok:
            return Field("body", decoded.summary, "json", None, start, start + len(body),
                         tuple(f.shifted(start) for f in decoded.fields))  # fmt: skip
    text = body.decode("utf-8", "replace")
    return Field("body", short(repr(text)), "string", text[:4096], start, start + len(body))


def _frames(payload: bytes) -> tuple[list[Field], list[dict[str, Any]], int, str | None]:
    """The frames of a payload, the heart-beats between them, and why the rest (if any)
    is not a frame."""
    fields: list[Field] = []
    facts: list[dict[str, Any]] = []
    pos = 0
    beats = 0
    while pos < len(payload) and len(fields) < 1000:
        if payload[pos] in b"\r\n":
            beats += payload[pos] == 0x0A
            pos += 1
            continue
        try:
            field, fact, pos = _frame(payload, pos)
        except Malformed as exc:
            return fields, facts, beats, str(exc)
        fields.append(field)
        facts.append(fact)
    return fields, facts, beats, None


def decode_stomp(payload: bytes, context: DecodeContext) -> Decoded:
    """The STOMP frames (and heart-beats) in a payload."""
    del context
    if not payload:
        return failure("stomp", "STOMP", "empty payload")
    fields, facts, beats, problem = _frames(payload)
    if problem is not None and not fields:
        return failure("stomp", "STOMP", problem)
    error = None if problem is None else failure("stomp", "STOMP", problem).error
    if not fields:
        return Decoded("stomp", "heart-beat", (Field("heart-beat", f"{beats} EOL", "heart-beat",
                       None, 0, len(payload)),), facts={"command": "heart-beat"})  # fmt: skip
    first = dict(facts[0])
    if len(facts) > 1:
        first["frames"] = len(facts)
    summary = fields[0].text if len(fields) == 1 else f"{len(fields)} frames: " + ", ".join(
        f.text for f in fields[:3])  # fmt: skip
    return Decoded("stomp", short(summary, 120), tuple(fields), error=error, facts=first,
                   exchanges=_exchanges(facts))  # fmt: skip


def _exchanges(facts: list[dict[str, Any]]) -> tuple[Exchange, ...]:
    out = []
    for fact in facts:
        command = fact["command"]
        if command in ("CONNECT", "STOMP"):
            out.append(Exchange(Role.REQUEST, "stomp connect"))
        elif command == "CONNECTED":
            out.append(Exchange(Role.RESPONSE, "stomp connect"))
        if "receipt" in fact and command not in _SERVER_FRAMES:
            out.append(Exchange(Role.REQUEST, f"stomp receipt {fact['receipt']}"))
        if "receipt_id" in fact and command in ("RECEIPT", "ERROR"):
            out.append(Exchange(Role.RESPONSE, f"stomp receipt {fact['receipt_id']}"))
    return tuple(out)


def _sniff(payload: bytes) -> bool:
    head = payload.lstrip(b"\r\n")[:12]
    return head.startswith((b"CONNECT\n", b"CONNECT\r\n", b"STOMP\n", b"CONNECTED\n")) and (
        payload.endswith(b"\0") or payload.endswith(b"\0\n"))  # fmt: skip


STOMP = register(Decoder(
    "stomp", "STOMP", decode_stomp, subprotocols=("v12.stomp", "v11.stomp", "v10.stomp", "stomp"),
    ports=(61613, 61614), sniff=_sniff,
))  # fmt: skip
