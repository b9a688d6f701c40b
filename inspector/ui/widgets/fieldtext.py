"""Text helpers shared by the detail panes: durations, sizes, close codes, HTTP lines,
field labels and byte spans (one wording for the tree, the hex view and its tooltips)."""

from __future__ import annotations

import math

# RFC 6455 §7.4.1 defined status codes, plus the IANA registry entries that followed.
CLOSE_CODES: dict[int, str] = {
    1000: "Normal Closure",
    1001: "Going Away",
    1002: "Protocol Error",
    1003: "Unsupported Data",
    1004: "Reserved",
    1005: "No Status Received",
    1006: "Abnormal Closure",
    1007: "Invalid Frame Payload Data",
    1008: "Policy Violation",
    1009: "Message Too Big",
    1010: "Mandatory Extension",
    1011: "Internal Error",
    1012: "Service Restart",
    1013: "Try Again Later",
    1014: "Bad Gateway",
    1015: "TLS Handshake",
}


def close_code_text(code: int) -> str:
    """``1000 (Normal Closure)``; ranges of RFC 6455 §7.4.2 for codes not in the table."""
    name = CLOSE_CODES.get(code)
    if name is None:
        if 3000 <= code <= 3999:
            name = "registered for libraries and frameworks"
        elif 4000 <= code <= 4999:
            name = "private use"
        else:
            name = "not a valid close code"
    return f"{code} ({name})"


def format_duration(ns: int | float) -> str:
    """Nanoseconds as milliseconds with three significant digits (seconds past 1000 ms)."""
    ms = ns / 1e6
    if ms <= 0:
        return "0 ms"
    text = _sig3(ms)
    if float(text) >= 1000:
        return _sig3(ms / 1000) + " s"
    return text + " ms"


def _sig3(value: float) -> str:
    """``value`` with three significant digits, no exponent: 1.23, 12.3, 123."""
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    if float(text) >= 10 ** (3 - decimals) and decimals > 0:  # 9.995 rounded up to 10.00
        text = f"{value:.{decimals - 1}f}"
    return text


def format_size(n: int) -> str:
    """A byte count: ``5 bytes``, ``1,024 bytes (1.00 KiB)``."""
    unit = "byte" if n == 1 else "bytes"
    if n < 1024:
        return f"{n} {unit}"
    for suffix, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n:,} {unit} ({n / scale:.2f} {suffix})"
    return f"{n:,} {unit}"


def http_lines(head: bytes) -> list[tuple[str, int, int]]:
    """The lines of an HTTP head up to the blank line, with their byte spans (CRLF kept out)."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    end_of_head = head.find(b"\r\n\r\n")
    limit = end_of_head + 2 if end_of_head >= 0 else len(head)
    while pos < limit:
        nl = head.find(b"\r\n", pos, limit)
        stop = nl if nl >= 0 else limit
        out.append((head[pos:stop].decode("latin-1"), pos, stop))
        pos = stop + 2
    return out


def printable(text: str) -> str:
    """Text on one line: control characters shown as ⏎, ⇥ or \\xNN."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("⏎")
        elif ch == "\t":
            out.append("⇥")
        elif ch == "\r":
            continue
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


#: The label of each named byte range, as the decoded tree shows it and the hex view's
#: tooltips repeat it (RFC 6455 §5.2 names for the frame header).
RANGE_LABELS: dict[str, str] = {
    "header": "WebSocket frame",
    "fin": "FIN",
    "rsv1": "RSV1",
    "rsv2": "RSV2",
    "rsv3": "RSV3",
    "opcode": "Opcode",
    "mask": "MASK",
    "payload_len": "Payload length",
    "mask_key": "Masking key",
    "payload": "Payload",
    "terminator": "Terminator",
    "length": "Length prefix",
    "body": "Body",
}

#: Words a field name spells in capitals or another set form, not capitalised mechanically.
_WORDS: dict[str, str] = {
    "tls": "TLS",
    "alpn": "ALPN",
    "sni": "SNI",
    "sha256": "SHA-256",
    "sha1": "SHA-1",
    "san": "Names (SAN)",
    "url": "URL",
    "utf8": "UTF-8",
    "id": "ID",
    "ip": "IP",
    "ns": "",
    "rtt": "RTT",
    "http": "HTTP",
    "cn": "CN",
}


def field_label(key: str) -> str:
    """A record field's name as a label: ``tls_version`` → "TLS version",
    ``sha256`` → "SHA-256", ``not_after`` → "Not after"."""
    if key in RANGE_LABELS:
        return RANGE_LABELS[key]
    words = [_WORDS.get(word.lower(), word) for word in key.split("_")]
    words = [w for w in words if w]
    if not words:
        return key
    first = words[0]
    text = " ".join([first[:1].upper() + first[1:], *words[1:]])
    return text


def range_label(name: str) -> str:
    """The label of a named byte range (the tree's name for the field)."""
    return field_label(name)


def bytes_label(start: int, end: int) -> str:
    """A span ``[start, end)`` as people count bytes: ``byte 0``, or ``bytes 2\u20135`` with
    the last byte included (an en dash, as in the tree's Bytes column and tooltips)."""
    if end - start <= 1:
        return f"byte {start}"
    return f"bytes {start}\u2013{end - 1}"


def plain_value(value: object) -> str:
    """A field value as short text: lists joined by commas (no Python brackets or
    quotes), booleans as yes/no, None as "none"."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_label(str(k))} {plain_value(v)}" for k, v in value.items())
    return str(value)


#: Engine messages that name a command-line flag, as the window says them (the capture
#: and the CLI keep the engine's words; captures made before keep them too).
_WINDOW_WORDS: tuple[tuple[str, str], ...] = (
    ("(--insecure)", "(verification off for this session)"),
)


def window_text(message: str) -> str:
    """An engine message in the window's terms: no command-line flags."""
    for cli, window in _WINDOW_WORDS:
        if cli in message:
            message = message.replace(cli, window)
    return message
