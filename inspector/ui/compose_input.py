"""What the composer's input means: modes, checks and the action it asks for (no Qt).

Kept apart from the widget so that other senders (the raw-frame composer) share the
same parsing without importing the composer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MODES = ("text", "json", "hex", "file")
MAX_FILE = 64 * 1024 * 1024
MAX_CONTROL_PAYLOAD = 125  # RFC 6455 §5.5: control frames carry at most 125 bytes
LINE_ENDINGS = {"none": b"", "\\n": b"\n", "\\r\\n": b"\r\n"}
WS_ACTIONS = ("text", "binary", "ping", "pong", "close")
MAX_REPEAT = 100_000  # sends of one repeated run
MAX_INTERVAL_MS = 3_600_000  # an hour between sends at most


class ComposeError(ValueError):
    """The composer's content cannot be sent as it is; ``str()`` says where and why."""


@dataclass(frozen=True, slots=True)
class SendAction:
    """What the user asked to send: ``action`` is one of WS_ACTIONS or "data"."""

    action: str
    payload: bytes = b""
    code: int | None = None
    reason: str = ""


def parse_hex(text: str) -> bytes:
    """Hex digits with optional white space (and 0x / : / , separators) into bytes."""
    cleaned: list[str] = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch.isspace() or ch in ":,":
            index += 1
            continue
        if text.startswith(("0x", "0X"), index) and index + 2 < len(text):
            index += 2
            continue
        if ch not in "0123456789abcdefABCDEF":
            line = text.count("\n", 0, index) + 1
            column = index - (text.rfind("\n", 0, index) + 1) + 1
            raise ComposeError(f"not a hex digit {ch!r} at line {line}, column {column}")
        cleaned.append(ch)
        index += 1
    if len(cleaned) % 2:
        raise ComposeError("odd number of hex digits: each byte needs two")
    return bytes.fromhex("".join(cleaned))


def check_json(text: str) -> bytes:
    """The text as UTF-8 once it parses as JSON; else ComposeError with line and column."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ComposeError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    return text.encode("utf-8")


def read_payload_file(text: str) -> bytes:
    """The bytes of the file named in the composer."""
    path = Path(text.strip()).expanduser()
    if not text.strip():
        raise ComposeError("choose a file to send")
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise ComposeError(f"{path.name} is {size} bytes; the limit is {MAX_FILE}")
        return path.read_bytes()
    except OSError as exc:
        raise ComposeError(f"cannot read {path}: {exc.strerror or exc}") from None


def end_lines(text: str, ending: bytes) -> bytes:
    """The text as UTF-8 with ``ending`` after every line (a final newline typed in the
    editor does not make an extra empty line)."""
    if not ending:
        return text.encode("utf-8")
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return b"".join(line.encode("utf-8") + ending for line in lines)


def encode(mode: str, text: str) -> bytes:
    """The bytes the composer's content stands for in ``mode``."""
    if mode == "json":
        return check_json(text)
    if mode == "hex":
        return parse_hex(text)
    if mode == "file":
        return read_payload_file(text)
    return text.encode("utf-8")
