"""Records turned into text: a JSON object, one readable line, a payload preview.

Shared by ``inspector probe``, ``inspector show`` and the GUI's record list, so a
record reads the same wherever it is shown. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from inspector.core.evenruns import EvenRun, Item
from inspector.core.records import Direction, Kind, Record
from inspector.core.runs import MessageRun

#: The arrow shown for each direction in one-line output.
ARROWS: dict[Direction, str] = {Direction.OUT: "→", Direction.IN: "←", Direction.META: "·"}

#: Keys of :func:`record_to_json` that a record field never overrides.
_BASE_KEYS = frozenset({"seq", "t", "dir", "kind", "size", "wire", "text", "hex"})

_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "\\": "\\\\"}

DEFAULT_PREVIEW = 64


def counted(count: int, word: str) -> str:
    """``1 connection``, ``2 connections``: a count and its noun (plural with an s)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def escape_text(text: str) -> str:
    """Make control characters visible: ``\\r \\n \\t \\\\`` and ``\\xNN``/``\\uNNNN``."""
    if text.isprintable() and "\\" not in text:
        return text
    out: list[str] = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def hex_preview(data: bytes, limit: int = DEFAULT_PREVIEW) -> str:
    """Space-separated hex of the first bytes, "…" when cut."""
    shown = max(1, limit // 3)
    text = data[:shown].hex(" ")
    return text + " …" if len(data) > shown else text


def payload_preview(data: bytes, limit: int = DEFAULT_PREVIEW) -> str:
    """A short one-line view of a payload: escaped text when it is UTF-8, else hex.

    Only the first few hundred bytes are decoded, so a large payload costs no more
    than a small one. Text is shown in double quotes to tell it from hex.
    """
    if not data:
        return '""'
    if len(data) <= limit:  # the common short message: whole, printable text
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if text.isprintable() and "\\" not in text:
                return '"' + text + '"'
    head = data[: limit * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a character is still text; anything else is binary.
        if (
            len(head) < len(data)
            and exc.start >= len(head) - 3
            and exc.reason.startswith("unexpected end")
        ):
            text = head[: exc.start].decode("utf-8")
        else:
            return hex_preview(data, limit)
    shown = escape_text(text)
    if len(shown) > limit:
        return '"' + shown[:limit] + '"…'
    return '"' + shown + ('"…' if len(head) < len(data) else '"')


def kind_label(record: Record) -> str:
    """The kind column: the opcode for a frame, the kind otherwise; "auto" when automatic."""
    fields = record.fields
    label = str(fields.get("opcode", record.kind) if record.kind is Kind.FRAME else record.kind)
    if record.automatic:
        label += " auto"
    return label


def summary_text(record: Record) -> str:
    """What a record without a payload to preview says, in a few words."""
    fields = record.fields
    message = record.message
    kind = record.kind
    if kind is Kind.HANDSHAKE:
        # The request is the client's: outbound in a client session, inbound when this
        # side is the server (a listener's connection), so its fields tell, not the arrow.
        if "method" in fields or ("status" not in fields and record.direction is Direction.OUT):
            return f"{fields.get('method', 'GET')} {fields.get('target', '/')}"
        text = f"{fields.get('status', '')} {fields.get('reason', '')}".strip()
        extras = [
            f"{name}={_listed(fields[name])}"
            for name in ("subprotocol", "extensions")
            if fields.get(name)
        ]
        return " ".join([text, *extras])
    if kind is Kind.FRAME and fields.get("opcode") == "close":
        code = fields.get("close_code")
        reason = fields.get("close_reason") or ""
        text = "" if code is None else str(code)
        return f"{text} {escape_text(reason)}".strip() if reason else text
    if message is not None:
        return escape_text(message)
    if kind is Kind.CONNECT:
        if fields.get("accepted"):
            return f"{fields.get('local', '?')} ← {fields.get('peer', '?')} (accepted)"
        return f"{fields.get('local', '?')} → {fields.get('peer', '?')}"
    if kind is Kind.LISTENING:
        return f"listening on {fields.get('url', '?')}"
    if kind is Kind.ACCEPTED:
        return f"connection {fields.get('conn', '?')} from {fields.get('peer', '?')}"
    if kind is Kind.RESOLVE:
        return f"{fields.get('host', '')} → {', '.join(map(str, fields.get('addresses', [])))}"
    if kind is Kind.TLS:
        parts = [str(fields.get(name)) for name in ("version", "cipher") if fields.get(name)]
        if fields.get("alpn"):
            parts.append(f"alpn={fields['alpn']}")
        return " ".join(parts)
    return ""


def _listed(value: object) -> str:
    """A field value for a summary: a list as ``a, b`` (not Python's ``['a', 'b']``)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def record_line(record: Record, limit: int = DEFAULT_PREVIEW) -> str:
    """One readable line: relative time, arrow, kind, size and a preview."""
    if record.payload is not None and record.kind is not Kind.HANDSHAKE:
        preview = payload_preview(record.payload, limit)
        if record.kind is Kind.FRAME and record.fields.get("opcode") == "close":
            preview = summary_text(record)
    elif record.kind in (Kind.DATA, Kind.MESSAGE, Kind.DATAGRAM) and record.wire:
        preview = payload_preview(record.wire, limit)
    else:
        preview = summary_text(record)
    if record.fields.get("error"):
        preview = f"{preview}  [{escape_text(str(record.fields['error']))}]".lstrip()
    rtt = record.fields.get("rtt_ns")
    if isinstance(rtt, int) and not isinstance(rtt, bool):
        preview = f"{preview}  rtt {rtt / 1e6:.3g} ms"
    return (
        f"{record.t_ns / 1e9:10.6f} {ARROWS[record.direction]} "
        f"{kind_label(record):<14} {record.size:>7}  {preview}"
    )


def record_to_json(record: Record) -> dict[str, Any]:
    """A JSON-ready dict: seq, t (s), dir, kind, size, wire (hex), text or hex, and
    every field of the record (a field never hides one of those keys)."""
    out: dict[str, Any] = {
        "seq": record.seq,
        "t": record.t_ns / 1e9,
        "dir": str(record.direction),
        "kind": str(record.kind),
        "size": record.size,
        "wire": record.wire.hex(),
    }
    if record.payload is not None:
        text = record.text()
        if text is not None:
            out["text"] = text
        else:
            out["hex"] = record.payload.hex()
    for name, value in record.fields.items():
        if name not in _BASE_KEYS:
            out[name] = value
    return out


# -- batches -------------------------------------------------------------------------
#
# A flood makes many records whose fields are one shared mapping (the protocols and
# the capture reader hand out one dict per shape of frame or message). Whatever of a
# line follows from the fields alone is made once per such mapping and reused; the
# result is exactly what record_line / json.dumps(record_to_json(...)) give.

#: Shapes remembered per cache before it is emptied (bounds memory for unique fields).
_SHAPES_MAX = 4096
#: (id(fields), kind, direction) -> (fields, middle of the line or None: not plain).
_LINE_SHAPES: dict[tuple[int, Kind, Direction], tuple[Mapping[str, Any], str | None]] = {}
#: id(fields) -> (fields, the JSON text of the fields' own keys, closing brace included).
_JSON_TAILS: dict[int, tuple[Mapping[str, Any], str]] = {}
_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _line_middle(record: Record) -> str | None:
    """The part of a record's line between its time and its size, when the rest of the
    line is only the payload preview (None: the line needs :func:`record_line`)."""
    fields = record.fields
    kind = record.kind
    if kind is Kind.HANDSHAKE or fields.get("error") or "rtt_ns" in fields:
        return None
    if kind is Kind.FRAME and fields.get("opcode") == "close":
        return None
    return f" {ARROWS[record.direction]} {kind_label(record):<14} "


def _middle_of(record: Record) -> str | None:
    """:func:`_line_middle`, remembered per shape (shared fields, kind, direction)."""
    fields = record.fields
    key = (id(fields), record.kind, record.direction)
    shape = _LINE_SHAPES.get(key)
    if shape is None or shape[0] is not fields:
        if len(_LINE_SHAPES) >= _SHAPES_MAX:
            _LINE_SHAPES.clear()
        shape = _LINE_SHAPES[key] = (fields, _line_middle(record))
    return shape[1]


def record_lines(records: Iterable[Item], limit: int = DEFAULT_PREVIEW) -> list[str]:
    """:func:`record_line` of each record, the work that depends only on shared fields
    done once per shape, and once per run of records alike in everything but their
    payload (the records of one read share time, shape and often size). The lines of
    an even run come as one string, joined by "\n" (see :func:`even_lines`)."""
    preview = payload_preview
    out: list[str] = []
    append = out.append
    fields: object = None
    kind: object = None
    direction: object = None
    middle: str | None = None
    t_ns, size, head = -1, -1, ""  # the line before the preview, for this time and size
    for record in records:
        if type(record) is EvenRun:
            append(even_lines(record, limit))
            fields = None
            continue
        if (
            record.fields is not fields
            or record.kind is not kind
            or record.direction is not direction
        ):
            fields, kind, direction = record.fields, record.kind, record.direction
            middle = _middle_of(record)
            t_ns = -1
        payload = record.payload
        if middle is None or payload is None:
            append(record_line(record, limit))
            continue
        if record.t_ns != t_ns or len(payload) != size:
            t_ns, size = record.t_ns, len(payload)
            head = f"{t_ns / 1e9:10.6f}{middle}{size:>7}  "
        append(head + preview(payload, limit))
    return out


def json_tail(fields: Mapping[str, Any]) -> str:
    """The JSON of a record's own fields as they follow the base keys of
    :func:`record_to_json` (", " and the pairs, then "}"), made once per shared mapping.

    Raises TypeError, as ``json.dumps`` does, for a value that is not JSON."""
    entry = _JSON_TAILS.get(id(fields))
    if entry is not None and entry[0] is fields:
        return entry[1]
    rest = {name: value for name, value in fields.items() if name not in _BASE_KEYS}
    tail = ", " + json.dumps(rest, ensure_ascii=False)[1:] if rest else "}"
    if len(_JSON_TAILS) >= _SHAPES_MAX:
        _JSON_TAILS.clear()
    _JSON_TAILS[id(fields)] = (fields, tail)
    return tail


def json_head(record: Record) -> str:
    """The JSON of :func:`record_to_json`'s base keys, opening brace included and no
    closing one: what :func:`json_tail` continues."""
    payload = record.payload
    if payload is None:
        size = len(record.wire)
        body = ""
    else:
        size = len(payload)
        body = _payload_json(payload)
    return (
        f'{{"seq": {record.seq!r}, "t": {record.t_ns / 1e9!r}, '
        f'"dir": "{record.direction.value}", "kind": "{record.kind.value}", '
        f'"size": {size}, "wire": "{record.wire.hex()}"{body}'
    )


def _payload_json(payload: bytes) -> str:
    """The payload's keys of a JSON line: ``, "text": …`` when it is UTF-8, else hex."""
    try:
        return ', "text": ' + _encode_string(payload.decode("utf-8"))
    except UnicodeDecodeError:
        return ', "hex": "' + payload.hex() + '"'


def json_lines(records: Iterable[Item]) -> list[str]:
    """Each record as the line ``json.dumps(record_to_json(record), ensure_ascii=False)``
    gives, its fields encoded once per shared mapping and the keys a run of records
    shares (time, direction, kind) once per run, and an even run's from its whole bytes
    (see :func:`even_json_lines`)."""
    out: list[str] = []
    append = out.append
    fields: object = None
    t_ns: int = -1
    direction: object = None
    kind: object = None
    tail = "}"
    middle = ""
    for record in records:
        if type(record) is EvenRun:
            out.extend(even_json_lines(record, json_tail(record.fields)))
            t_ns = -1
            continue
        if record.fields is not fields:
            fields = record.fields
            tail = json_tail(record.fields)
        if record.t_ns != t_ns or record.direction is not direction or record.kind is not kind:
            t_ns, direction, kind = record.t_ns, record.direction, record.kind
            middle = _json_middle(record)
        payload = record.payload
        if payload is None:
            append(f'{{"seq": {record.seq!r}{middle}{len(record.wire)}, '
                   f'"wire": "{record.wire.hex()}"{tail}')  # fmt: skip
            continue
        append(
            f'{{"seq": {record.seq!r}{middle}{len(payload)}, '
            f'"wire": "{record.wire.hex()}"{_payload_json(payload)}{tail}'
        )
    return out


def _json_middle(record: Record | MessageRun) -> str:
    """The keys of a JSON line between seq and the size's value (time, direction, kind)."""
    return (
        f', "t": {record.t_ns / 1e9!r}, "dir": "{record.direction.value}", '
        f'"kind": "{record.kind.value}", "size": '
    )


# -- even runs -------------------------------------------------------------------------
#
# The records of an even run differ only in seq, wire and payload; a flood's payloads
# are mostly short printable ASCII. Their lines are made from the whole run's bytes: one
# check over all payloads (bytes.translate in C), one hex of the whole wire, then one
# slice each, with no Record made.

#: Bytes a payload may hold for its preview to be itself: printable ASCII but "\".
_PLAIN_TEXT = bytes(set(range(0x20, 0x7F)) - {0x5C})
#: Bytes a payload may hold for its JSON string to be itself: also no double quote.
_PLAIN_JSON = bytes(set(range(0x20, 0x7F)) - {0x5C, 0x22})


def _plain_texts(run: EvenRun, allowed: bytes) -> list[str] | None:
    """Each payload of ``run`` as text when all of them hold only ``allowed`` bytes."""
    size = run.size
    joined = b"".join(run.payloads())
    if joined.translate(None, allowed):
        return None
    if not size:
        return [""] * run.run.count
    text = joined.decode("ascii")
    return [text[pos : pos + size] for pos in range(0, len(text), size)]


def even_lines(run: EvenRun, limit: int = DEFAULT_PREVIEW) -> str:
    """The :func:`record_line` of every record of ``run``, joined by "\n" (no newline
    at the end)."""
    middle = _middle_of(run.first())
    if middle is None:  # a line with more than a preview: record by record
        return "\n".join(record_lines(run.records(), limit))
    head = f"{run.run.t_ns / 1e9:10.6f}{middle}{run.size:>7}  "
    texts = _plain_texts(run, _PLAIN_TEXT) if run.size <= limit else None
    if texts is not None:
        return head + '"' + ('"\n' + head + '"').join(texts) + '"'
    preview = payload_preview
    return "\n".join([head + preview(payload, limit) for payload in run.payloads()])


def even_json_lines(
    run: EvenRun, tail: str, extras: Sequence[str] | None = None, close: str = ""
) -> list[str]:
    """The JSON line of each record of ``run`` as :func:`json_lines` makes it, ``tail``
    (:func:`json_tail` of its fields, or more) after the payload's keys, then each of
    ``extras`` and ``close`` (the JSON Lines export adds the wire's base64 that way)."""
    middle = f'{_json_middle(run.run)}{run.size}, "wire": "'
    step = 2 * run.stride
    hexes = run.run.wire.hex()
    wires = [hexes[pos : pos + step] for pos in range(0, len(hexes), step)]
    texts = _plain_texts(run, _PLAIN_JSON)
    if texts is not None:  # each line: ..."wire": "HEX", "text": "TEXT"TAIL
        opened, after = '", "text": "', '"' + tail
    else:
        texts = ['"' + _payload_json(payload) for payload in run.payloads()]
        opened, after = "", tail
    seqs = range(run.run.seq, run.run.end)
    if extras is None:
        return [
            f'{{"seq": {seq}{middle}{wire}{opened}{text}{after}'
            for seq, wire, text in zip(seqs, wires, texts, strict=True)
        ]
    return [
        f'{{"seq": {seq}{middle}{wire}{opened}{text}{after}{extra}{close}'
        for seq, wire, text, extra in zip(seqs, wires, texts, extras, strict=True)
    ]


def even_json_block(run: EvenRun, tail: str, extras: Sequence[bytes], close: str) -> bytes | None:
    """The lines of :func:`even_json_lines` for ``run``, each ending in a newline, as
    UTF-8 bytes in one block (``extras`` given as ASCII bytes), when every payload is
    plain JSON text; else None. Joined once from the run's slices, with no line made
    as a string of its own: what a big export writes."""
    size = run.size
    joined = b"".join(run.payloads())
    if joined.translate(None, _PLAIN_JSON):
        return None
    count = run.run.count
    texts = (
        [joined[pos : pos + size] for pos in range(0, len(joined), size)] if size else [b""] * count
    )
    step = 2 * run.stride
    hexes = run.run.wire.hex().encode("ascii")
    middle = f'{_json_middle(run.run)}{size}, "wire": "'.encode("utf-8", "surrogatepass")
    after = ('"' + tail).encode("utf-8", "surrogatepass")
    parts: list[bytes] = [b""] * (8 * count)
    parts[0::8] = [b'{"seq": %d' % seq for seq in range(run.run.seq, run.run.end)]
    parts[1::8] = [middle] * count
    parts[2::8] = [hexes[pos : pos + step] for pos in range(0, len(hexes), step)]
    parts[3::8] = [b'", "text": "'] * count
    parts[4::8] = texts
    parts[5::8] = [after] * count
    parts[6::8] = extras
    parts[7::8] = [close.encode("utf-8", "surrogatepass") + b"\n"] * count
    return b"".join(parts)
