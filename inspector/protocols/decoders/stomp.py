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

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register

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
            raise tree.Malformed(f"undefined escape \\{match.group(1)} at byte {where}") from None

    return _ESCAPE.sub(one, value)


def _frame(data: bytes, pos: int) -> tuple[tree.Field, dict[str, Any], int]:
    """One frame at ``pos`` (after heart-beats): its field, facts and the next offset."""
    start = pos
    line_end = data.find(b"\n", pos)
    if line_end < 0:
        raise tree.Malformed(f"the command at byte {pos} has no end of line")
    command = data[pos:line_end].rstrip(b"\r").decode("utf-8", "replace")
    if command not in COMMANDS:
        raise tree.Malformed(f"unknown command {tree.short(command, 30)!r} at byte {pos}")
    children = [tree.Field("command", command, "enum", command, pos, line_end)]
    headers: dict[str, str] = {}
    pos = line_end + 1
    escaped = command not in ("CONNECT", "CONNECTED")
    while True:
        line_end = data.find(b"\n", pos)
        if line_end < 0:
            raise tree.Malformed(f"{command} headers are cut at byte {pos}")
        line = data[pos:line_end].rstrip(b"\r")
        if not line:
            pos = line_end + 1
            break
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise tree.Malformed(f"a {command} header at byte {pos} is not UTF-8") from None
        name, colon, value = text.partition(":")
        if not colon:
            raise tree.Malformed(f"a {command} header at byte {pos} has no colon")
        if escaped:
            name, value = _unescape(name, pos), _unescape(value, pos)
        headers.setdefault(name, value)  # the first of repeated headers counts (1.2)
        children.append(tree.Field(name, tree.short(value), "header", value, pos, pos + len(line)))
        if len(children) > 1000:
            raise tree.Malformed(f"{command} has more than 1000 headers")
        pos = line_end + 1
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise tree.Malformed(f"content-length {headers['content-length']!r} is not a number"
                                 ) from None  # fmt: skip
        end = pos + length
        if length < 0 or end >= len(data) or data[end] != 0:
            raise tree.Malformed(
                f"{command} body of {length} bytes at byte {pos} has no NUL after it"
            )
    else:
        end = data.find(b"\0", pos)
        if end < 0:
            raise tree.Malformed(f"{command} at byte {start} has no NUL at its end")
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
        summary += f" {tree.short(body.decode('utf-8', 'replace'), 40)!r}"
    return (
        tree.Field(command, summary, "frame", None, start, end + 1, tuple(children)),
        facts,
        end + 1,
    )


def _body(body: bytes, start: int, content_type: str) -> tree.Field:
    from inspector.protocols.decoders.jsontree import JSON

    if "json" in content_type or (JSON.sniff is not None and JSON.sniff(body)):
        decoded = JSON.run(body, DecodeContext())
        if decoded.ok:
            return tree.Field("body", decoded.summary, "json", None, start, start + len(body),
                              tuple(f.shifted(start) for f in decoded.fields))  # fmt: skip
    text = body.decode("utf-8", "replace")
    return tree.Field(
        "body", tree.short(repr(text)), "string", text[:4096], start, start + len(body)
    )


def _frames(payload: bytes) -> tuple[list[tree.Field], list[dict[str, Any]], int, str | None]:
    """The frames of a payload, the heart-beats between them, and why the rest (if any)
    is not a frame."""
    fields: list[tree.Field] = []
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
        except tree.Malformed as exc:
            return fields, facts, beats, str(exc)
        fields.append(field)
        facts.append(fact)
    return fields, facts, beats, None


def decode_stomp(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """The STOMP frames (and heart-beats) in a payload."""
    del context
    if not payload:
        return tree.failure("stomp", "STOMP", "empty payload")
    fields, facts, beats, problem = _frames(payload)
    if problem is not None and not fields:
        return tree.failure("stomp", "STOMP", problem)
    error = None if problem is None else tree.failure("stomp", "STOMP", problem).error
    if not fields:
        beat = tree.Field("heart-beat", f"{beats} EOL", "heart-beat", None, 0, len(payload))
        return tree.Decoded("stomp", "heart-beat", (beat,), facts={"command": "heart-beat"})
    first = dict(facts[0])
    if len(facts) > 1:
        first["frames"] = len(facts)
    summary = fields[0].text if len(fields) == 1 else f"{len(fields)} frames: " + ", ".join(
        f.text for f in fields[:3])  # fmt: skip
    return tree.Decoded("stomp", tree.short(summary, 120), tuple(fields), error=error, facts=first,
                        exchanges=_exchanges(facts))  # fmt: skip


def _exchanges(facts: list[dict[str, Any]]) -> tuple[tree.Exchange, ...]:
    out = []
    for fact in facts:
        command = fact["command"]
        if command in ("CONNECT", "STOMP"):
            out.append(tree.Exchange(tree.Role.REQUEST, "stomp connect"))
        elif command == "CONNECTED":
            out.append(tree.Exchange(tree.Role.RESPONSE, "stomp connect"))
        if "receipt" in fact and command not in _SERVER_FRAMES:
            out.append(tree.Exchange(tree.Role.REQUEST, f"stomp receipt {fact['receipt']}"))
        if "receipt_id" in fact and command in ("RECEIPT", "ERROR"):
            out.append(tree.Exchange(tree.Role.RESPONSE, f"stomp receipt {fact['receipt_id']}"))
    return tuple(out)


def _sniff(payload: bytes) -> bool:
    head = payload.lstrip(b"\r\n")[:12]
    return head.startswith((b"CONNECT\n", b"CONNECT\r\n", b"STOMP\n", b"CONNECTED\n")) and (
        payload.endswith(b"\0") or payload.endswith(b"\0\n"))  # fmt: skip


STOMP = register(Decoder(
    "stomp", "STOMP", decode_stomp, subprotocols=("v12.stomp", "v11.stomp", "v10.stomp", "stomp"),
    ports=(61613, 61614), sniff=_sniff,
))  # fmt: skip
