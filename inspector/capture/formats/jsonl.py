"""JSON Lines export and import: one record per line, for scripts (jq, pandas, grep).

Each line is what ``inspector probe --json`` prints for the record
(:func:`inspector.core.render.record_to_json`: seq, t, dir, kind, size, wire hex, text or
hex of the payload, and every field) plus ``t_ns`` (the exact time in ns) and
``wire_b64`` (the wire bytes in base64). A line whose handshake had credentials
replaced by ``[redacted]`` carries ``"_redacted": true``. No line describes the session:
every line is a record.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from inspector.capture.formats.common import (
    Progress,
    SessionLike,
    json_default,
    loads_json,
    read_input,
    with_progress,
)
from inspector.capture.formats.redact import redact_record
from inspector.core.errors import CaptureError
from inspector.core.evenruns import EvenRun, Item
from inspector.core.records import Direction, Kind, Record
from inspector.core.render import (
    even_json_block,
    even_json_lines,
    json_head,
    json_tail,
    record_to_json,
)

#: Keys of a line that are not record fields.
_RECORD_KEYS = frozenset(
    {"seq", "t", "t_ns", "dir", "kind", "size", "wire", "wire_b64", "text", "hex", "_redacted"}
)
_MAX_INT = 1 << 63


def jsonl_line(record: Record, include_secrets: bool = False) -> str:
    """One record as one JSON line (without the newline)."""
    redacted = False
    if not include_secrets and record.kind is Kind.HANDSHAKE:
        record, redacted = redact_record(record)
    obj = record_to_json(record)
    obj["t_ns"] = record.t_ns
    obj["wire_b64"] = base64.b64encode(record.wire).decode("ascii")
    if redacted:
        obj["_redacted"] = True
    return json.dumps(obj, ensure_ascii=False, default=json_default)


_b64 = base64.b64encode


def jsonl_lines(records: Iterable[Record], include_secrets: bool = False) -> list[str]:
    """:func:`jsonl_line` of each record; the fields of records sharing one mapping are
    encoded once (the text is the same)."""
    out: list[str] = []
    append = out.append
    for record in records:
        fields = record.fields
        # A handshake may be redacted; a field named like a key added here takes the
        # place of that key: both go the one-record way, which decides as it always did.
        if (
            record.kind is Kind.HANDSHAKE
            or "t_ns" in fields
            or "wire_b64" in fields
            or "_redacted" in fields
        ):
            append(jsonl_line(record, include_secrets))
            continue
        try:
            tail = json_tail(fields)
        except (TypeError, ValueError):  # a stray non-JSON value: json_default decides
            append(jsonl_line(record, include_secrets))
            continue
        append(
            f'{json_head(record)}{tail[:-1]}, "t_ns": {record.t_ns!r}, '
            f'"wire_b64": "{_b64(record.wire).decode("ascii")}"}}'
        )
    return out


def even_jsonl(run: EvenRun, include_secrets: bool = False) -> list[str]:
    """:func:`jsonl_lines` of the records of an even run, from one hex and (when its
    messages are a multiple of 3 bytes) one base64 of the whole run."""
    fields = run.fields
    if "t_ns" in fields or "wire_b64" in fields or "_redacted" in fields:
        return jsonl_lines(run.records(), include_secrets)
    try:
        tail = json_tail(fields)
    except (TypeError, ValueError):  # a stray non-JSON value: json_default decides
        return jsonl_lines(run.records(), include_secrets)
    stride = run.stride
    if stride % 3 == 0:
        whole = _b64(run.run.wire).decode("ascii")
        step = stride // 3 * 4
        b64s = [whole[pos : pos + step] for pos in range(0, len(whole), step)]
    else:
        b64s = [_b64(wire).decode("ascii") for wire in run.wires()]
    after = f'{tail[:-1]}, "t_ns": {run.run.t_ns!r}, "wire_b64": "'
    return even_json_lines(run, after, b64s, '"}')


def even_jsonl_block(run: EvenRun, include_secrets: bool = False) -> bytes | None:
    """:func:`even_jsonl`'s lines, each with its newline, as UTF-8 bytes in one block,
    when the run's payloads are plain JSON text (else None: use :func:`even_jsonl`)."""
    del include_secrets  # an even run holds no handshake: nothing to redact
    fields = run.fields
    if "t_ns" in fields or "wire_b64" in fields or "_redacted" in fields:
        return None
    try:
        tail = json_tail(fields)
    except (TypeError, ValueError):
        return None
    stride = run.stride
    if stride % 3 == 0:
        whole = _b64(run.run.wire)
        step = stride // 3 * 4
        b64s = [whole[pos : pos + step] for pos in range(0, len(whole), step)]
    else:
        b64s = [_b64(wire) for wire in run.wires()]
    after = f'{tail[:-1]}, "t_ns": {run.run.t_ns!r}, "wire_b64": "'
    return even_json_block(run, after, b64s, '"}')


def export_jsonl(
    out: BinaryIO,
    session: SessionLike,
    records: Iterable[Item],
    *,
    include_secrets: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write ``records`` (even runs too) as JSON Lines to ``out``; return the number of
    lines.

    ``session`` is accepted for symmetry with the other exporters; lines hold records only.
    """
    del session
    written = 0
    batch: list[Record] = []
    lines: list[str] = []  # finished lines, written about every 4,096
    try:
        for item in with_progress(records, progress):
            if type(item) is EvenRun:
                if batch:
                    lines.extend(jsonl_lines(batch, include_secrets))
                    batch.clear()
                block = even_jsonl_block(item, include_secrets)
                if block is None:
                    lines.extend(even_jsonl(item, include_secrets))
                else:  # the lines before it first, then the block as it is
                    written += _write_lines(out, lines) + item.run.count
                    out.write(block)
            else:
                batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= 1024:
                    lines.extend(jsonl_lines(batch, include_secrets))
                    batch.clear()
            if len(lines) >= 4096:
                written += _write_lines(out, lines)
        lines.extend(jsonl_lines(batch, include_secrets))
        written += _write_lines(out, lines)
    except OSError as exc:
        raise CaptureError(f"cannot write the JSON Lines file: {exc.strerror or exc}") from None
    return written


def _write_lines(out: BinaryIO, lines: list[str]) -> int:
    """Write the lines, each with its newline, and empty the list; return how many."""
    count = len(lines)
    if count:
        lines.append("")
        out.write("\n".join(lines).encode("utf-8", "surrogatepass"))
        lines.clear()
    return count


def read_jsonl(path: str | Path) -> list[Record]:
    """Read records back from a JSON Lines export; :class:`CaptureError` on bad input."""
    return list(iter_jsonl(read_input(path, "JSON Lines file"), f"{str(path)!r}"))


def iter_jsonl(data: bytes, where: str = "JSON Lines") -> Iterator[Record]:
    """The records of JSON Lines bytes, one per non-blank line."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        yield line_to_record(line, f"{where} line {number}")


def _int(obj: dict[str, Any], name: str, where: str, default: int | None = None) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_INT:
        raise CaptureError(f"{where}: {name!r} is not a non-negative integer")
    return value


def _bytes_field(obj: dict[str, Any], name: str, where: str, b64: bool) -> bytes | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CaptureError(f"{where}: {name!r} is not a string")
    try:
        if b64:
            return base64.b64decode(value.encode("ascii"), validate=True)
        return bytes.fromhex(value)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        kind = "base64" if b64 else "hex"
        raise CaptureError(f"{where}: {name!r} is not {kind}") from None


def line_to_record(line: bytes | str, where: str) -> Record:
    """One JSON line as a Record (the inverse of :func:`jsonl_line`)."""
    obj = loads_json(line, where)
    if not isinstance(obj, dict):
        raise CaptureError(f"{where}: not a JSON object")
    seq = _int(obj, "seq", where)
    if "t_ns" in obj:
        t_ns = _int(obj, "t_ns", where)
    else:
        t = obj.get("t")
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t < 1e9:
            raise CaptureError(f"{where}: 't' is not a time in seconds")
        t_ns = round(t * 1e9)
    try:
        direction = Direction(obj.get("dir"))
        kind = Kind(obj.get("kind"))
    except ValueError:
        raise CaptureError(f"{where}: unknown 'dir' or 'kind'") from None
    wire = _bytes_field(obj, "wire_b64", where, b64=True)
    if wire is None:
        wire = _bytes_field(obj, "wire", where, b64=False) or b""
    payload: bytes | None
    text = obj.get("text")
    if text is not None:
        if not isinstance(text, str):
            raise CaptureError(f"{where}: 'text' is not a string")
        payload = text.encode("utf-8", "surrogatepass")
    else:
        payload = _bytes_field(obj, "hex", where, b64=False)
    fields = {name: value for name, value in obj.items() if name not in _RECORD_KEYS}
    return Record(seq, t_ns, direction, kind, wire, payload, MappingProxyType(fields))
