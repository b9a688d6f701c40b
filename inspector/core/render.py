"""Records turned into text: a JSON object, one readable line, a payload preview.

Shared by ``inspector probe``, ``inspector show`` and the GUI's record list, so a
record reads the same wherever it is shown. Standard library only.
"""

from __future__ import annotations

from typing import Any

from inspector.core.records import Direction, Kind, Record

#: The arrow shown for each direction in one-line output.
ARROWS: dict[Direction, str] = {Direction.OUT: "→", Direction.IN: "←", Direction.META: "·"}

#: Keys of :func:`record_to_json` that a record field never overrides.
_BASE_KEYS = frozenset({"seq", "t", "dir", "kind", "size", "wire", "text", "hex"})

_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "\\": "\\\\"}

DEFAULT_PREVIEW = 64


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
        if record.direction is Direction.OUT:
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
