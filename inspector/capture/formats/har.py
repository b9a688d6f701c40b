"""HAR 1.2 export and import of WebSocket sessions, with Chrome's ``_webSocketMessages``.

Export: one entry per session; the upgrade request and the 101 answer are the entry's
request and response, the timing phases its ``timings``, and every whole message (data
frames reassembled, control frames as they are) one item of ``_webSocketMessages``:
``{"type": "send"|"receive", "time": <epoch s>, "opcode": n, "data": …}``, text as is,
binary and control payloads base64, as Chrome and mitmproxy write them. The output is
streamed: a million messages are never held in memory.

Import (import_har): Chrome, Firefox and mitmproxy exports. Each WebSocket entry becomes
a session of handshake records (raw request/response text rebuilt from the header lists)
and one frame record per message, whose ``wire`` is a frame made by websockets (masked
with an all-zero key when sent, the same on every read) so the hex view has bytes; such
records say ``synthesised: true`` and ``rebuilt_from: "HAR"``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from inspector import __version__
from inspector.capture.formats.common import (
    ImportedSession,
    Progress,
    SessionLike,
    json_default,
    loads_json,
    read_input,
    session_endpoint,
    session_scheme,
    started_ns,
    with_progress,
)
from inspector.capture.formats.har_import import entry_to_session, is_websocket_entry
from inspector.capture.formats.redact import (
    REDACTED,
    is_secret_header,
    redact_record,
    redact_target,
)
from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record

__all__ = ["export_har", "import_har", "load_har"]

_CONTROL = {8, 9, 10}
_SENTINEL = "\x00inspector-messages\x00"


def _iso(ns: int) -> str:
    """Wall-clock ns as ISO 8601 UTC with milliseconds, the way browsers write it."""
    try:
        stamp = datetime.fromtimestamp(ns / 1e9, UTC)
    except (OverflowError, OSError, ValueError):
        stamp = datetime.fromtimestamp(0, UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(value: object) -> float:
    """A duration field in ns as HAR milliseconds, -1 when it is missing."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return round(value / 1e6, 3)
    return -1


def _name_values(headers: object) -> list[dict[str, str]]:
    """``[[name, value], …]`` as HAR's ``[{"name": …, "value": …}, …]``."""
    out: list[dict[str, str]] = []
    if isinstance(headers, list | tuple):
        for item in headers:
            if isinstance(item, list | tuple) and len(item) == 2:
                out.append({"name": str(item[0]), "value": str(item[1])})
    return out


def _headers_from_wire(wire: bytes) -> list[list[str]]:
    """Header lines of a raw HTTP head, for records made without a ``headers`` field."""
    head = wire.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    out: list[list[str]] = []
    for line in head.split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        if colon:
            out.append([name.strip(), value.strip()])
    return out


def _cookies(headers: list[dict[str, str]], name: str) -> list[dict[str, str]]:
    """HAR cookies from Cookie (``a=b; c=d``) or Set-Cookie (``a=b; Path=/``) headers."""
    out: list[dict[str, str]] = []
    for header in headers:
        if header["name"].lower() != name:
            continue
        pairs = header["value"].split(";") if name == "cookie" else header["value"].split(";")[:1]
        for pair in pairs:
            key, eq, value = pair.strip().partition("=")
            if eq:
                out.append({"name": key, "value": value})
            elif header["value"] == REDACTED:
                out.append({"name": "", "value": REDACTED})
    return out


def _query(target: str) -> list[dict[str, str]]:
    """HAR queryString of a request target (values as written, not decoded)."""
    _, sep, query = target.partition("?")
    if not sep:
        return []
    out = []
    for part in query.split("#", 1)[0].split("&"):
        if part:
            name, _, value = part.partition("=")
            out.append({"name": name, "value": value})
    return out


def _timings(metas: Mapping[Kind, Record], response: Record | None) -> dict[str, float]:
    """HAR timings (ms) from the resolve, connect, tls and handshake phases."""

    def phase(kind: Kind) -> float:
        record = metas.get(kind)
        return _ms(record.fields.get("duration_ns")) if record is not None else -1

    wait = _ms(response.fields.get("duration_ns")) if response is not None else -1
    connect, ssl = phase(Kind.CONNECT), phase(Kind.TLS)
    return {
        "blocked": -1,
        "dns": phase(Kind.RESOLVE),
        # HAR 1.2: "connect" includes the time of "ssl".
        "connect": connect + ssl if connect >= 0 and ssl >= 0 else connect,
        "ssl": ssl,
        "send": 0,
        "wait": max(wait, 0),
        "receive": 0,
    }


class _Messages:
    """Whole messages out of frame records: fragments reassembled per direction
    (RFC 6455 §5.4), control frames passed through (they may come between fragments)."""

    def __init__(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self.partial: dict[Direction, tuple[int, list[bytes]]] = {}

    def add(self, record: Record) -> dict[str, Any] | None:
        fields = record.fields
        opcode = fields.get("opcode_value")
        if not isinstance(opcode, int) or record.payload is None or fields.get("error"):
            return None
        direction = record.direction
        payload = record.payload
        if opcode in (1, 2):
            if not fields.get("fin", True):
                self.partial[direction] = (opcode, [payload])
                return None
        elif opcode == 0:
            pending = self.partial.get(direction)
            if pending is None:
                return None
            pending[1].append(payload)
            if not fields.get("fin", True):
                return None
            del self.partial[direction]
            opcode, payload = pending[0], b"".join(pending[1])
        elif opcode not in _CONTROL:
            return None
        if opcode == 1:
            data = payload.decode("utf-8", "replace")
        else:
            data = base64.b64encode(payload).decode("ascii")
        return {
            "type": "send" if direction is Direction.OUT else "receive",
            "time": (self.start_ns + record.t_ns) / 1e9,
            "opcode": opcode,
            "data": data,
        }


def export_har(
    out: BinaryIO,
    session: SessionLike,
    records: Iterable[Record],
    *,
    include_secrets: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write a WebSocket session as HAR 1.2 to ``out``; return the number of messages.

    Raises :class:`CaptureError` for a session that is not WebSocket or an unwritable
    ``out``, and :class:`ExportCancelled` when ``progress`` returns False.
    """
    scheme = session_scheme(session)
    if scheme not in ("ws", "wss"):
        raise CaptureError(
            f"HAR holds only WebSocket sessions, not {scheme or 'this'}://: "
            "export it as pcapng or JSON Lines"
        )
    try:
        return _export(out, session, scheme, records, include_secrets, progress)
    except OSError as exc:
        raise CaptureError(f"cannot write the HAR file: {exc.strerror or exc}") from None


def _export(
    out: BinaryIO,
    session: SessionLike,
    scheme: str,
    records: Iterable[Record],
    include_secrets: bool,
    progress: Progress | None,
) -> int:
    start = started_ns(session)
    metas: dict[Kind, Record] = {}
    handshakes: dict[Direction, Record] = {}
    messages = _Messages(start)
    written = 0
    tail: str | None = None
    for record in with_progress(records, progress):
        if record.kind is Kind.FRAME:
            if tail is None:
                tail = _write_head(out, session, scheme, metas, handshakes, include_secrets, start)
            message = messages.add(record)
            if message is not None:
                text = json.dumps(message, ensure_ascii=False, default=json_default)
                out.write(((",\n" if written else "\n") + text).encode("utf-8"))
                written += 1
        elif record.kind is Kind.HANDSHAKE and record.direction is not Direction.META:
            handshakes.setdefault(record.direction, record)
        elif record.direction is Direction.META:
            metas.setdefault(record.kind, record)
    if tail is None:
        tail = _write_head(out, session, scheme, metas, handshakes, include_secrets, start)
    out.write(("\n]" + tail + "\n").encode("utf-8"))
    return written


def _write_head(
    out: BinaryIO,
    session: SessionLike,
    scheme: str,
    metas: dict[Kind, Record],
    handshakes: dict[Direction, Record],
    include_secrets: bool,
    start: int,
) -> str:
    """Write the document up to the first message; return the text that closes it."""
    request, response = handshakes.get(Direction.OUT), handshakes.get(Direction.IN)
    if not include_secrets:
        if request is not None:
            request = redact_record(request)[0]
        if response is not None:
            response = redact_record(response)[0]
    endpoint = session_endpoint(session)
    url = endpoint.url if endpoint is not None else str(getattr(session, "endpoint", ""))
    if request is not None and isinstance(request.fields.get("target"), str) and endpoint:
        base = url[: len(url) - len(endpoint.target)] if url.endswith(endpoint.target) else url
        url = base + request.fields["target"]
    if not include_secrets:
        url = redact_target(url)[0]
    entry = _entry(url, request, response, metas, start)
    if not include_secrets:
        for header in entry["request"]["headers"] + entry["response"]["headers"]:
            if is_secret_header(header["name"]):
                header["value"] = REDACTED
    entry["_webSocketMessages"] = _SENTINEL
    comment = (
        "Secrets included: header and query values are as recorded."
        if include_secrets
        else "Credentials redacted: values of Authorization, Proxy-Authorization, Cookie, "
        f"Set-Cookie and of secret-looking query parameters read {REDACTED}."
    )
    if scheme == "wss":
        comment += " The session ran over TLS; its messages are shown decrypted."
    log: dict[str, Any] = {
        "version": "1.2",
        "creator": {"name": "Socket Inspector", "version": __version__},
        "comment": comment,
        "pages": [],
        "entries": [entry],
    }
    text = json.dumps({"log": log}, indent=2, ensure_ascii=False, default=json_default)
    head, _, tail = text.partition(json.dumps(_SENTINEL))
    out.write(head.encode("utf-8") + b"[")
    return tail


def _entry(
    url: str,
    request: Record | None,
    response: Record | None,
    metas: dict[Kind, Record],
    start: int,
) -> dict[str, Any]:
    """The HAR entry of the session, without its messages."""
    req_fields = request.fields if request is not None else MappingProxyType({})
    resp_fields = response.fields if response is not None else MappingProxyType({})
    req_headers = _name_values(
        req_fields.get("headers")
        if "headers" in req_fields
        else _headers_from_wire(request.wire if request else b"")
    )
    resp_headers = _name_values(
        resp_fields.get("headers")
        if "headers" in resp_fields
        else _headers_from_wire(response.wire if response else b"")
    )
    target = str(req_fields.get("target", "/"))
    timings = _timings(metas, response)
    started = start + (request.t_ns if request is not None else 0)
    connect = metas.get(Kind.CONNECT)
    peer = str(connect.fields.get("peer", "")) if connect is not None else ""
    body = response.payload if response is not None and response.payload else b""
    entry: dict[str, Any] = {
        "startedDateTime": _iso(started),
        "time": round(sum(v for v in timings.values() if v > 0), 3),
        "request": {
            "method": str(req_fields.get("method", "GET")),
            "url": url,
            "httpVersion": "HTTP/1.1",
            "cookies": _cookies(req_headers, "cookie"),
            "headers": req_headers,
            "queryString": _query(target if "?" in target else url),
            "headersSize": len(request.wire) if request is not None else -1,
            "bodySize": 0,
        },
        "response": {
            "status": int(resp_fields.get("status", 0) or 0),
            "statusText": str(resp_fields.get("reason", "")),
            "httpVersion": "HTTP/1.1",
            "cookies": _cookies(resp_headers, "set-cookie"),
            "headers": resp_headers,
            "content": {"size": len(body), "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": len(response.wire) - len(body) if response is not None else -1,
            "bodySize": len(body),
        },
        "cache": {},
        "timings": timings,
        "serverIPAddress": peer.rpartition(":")[0].strip("[]") if ":" in peer else peer,
        "_resourceType": "websocket",
    }
    if body:
        try:
            entry["response"]["content"]["text"] = body.decode("utf-8")
        except UnicodeDecodeError:
            entry["response"]["content"]["text"] = base64.b64encode(body).decode("ascii")
            entry["response"]["content"]["encoding"] = "base64"
    return entry


def import_har(path: str | Path) -> list[tuple[ImportedSession, list[Record]]]:
    """Read a HAR file: one session per WebSocket entry; other entries are skipped.

    Raises :class:`CaptureError` with one line when the file is not a usable HAR.
    """
    return load_har(read_input(path, "HAR file"), f"HAR file {str(path)!r}")


def load_har(data: bytes, where: str = "HAR") -> list[tuple[ImportedSession, list[Record]]]:
    """Parse HAR bytes (see :func:`import_har`)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    document = loads_json(data, where)
    if not isinstance(document, dict) or not isinstance(document.get("log"), dict):
        raise CaptureError(f'{where}: not a HAR file (no "log" object)')
    log = document["log"]
    entries = log.get("entries", [])
    if not isinstance(entries, list):
        raise CaptureError(f'{where}: "log.entries" is not a list')
    creator = log.get("creator")
    creator_name = ""
    if isinstance(creator, dict):
        creator_name = " ".join(
            str(creator[k]) for k in ("name", "version") if isinstance(creator.get(k), str)
        )
    sessions = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise CaptureError(f"{where}: entry {index + 1} is not an object")
        if is_websocket_entry(entry):
            sessions.append(entry_to_session(entry, f"{where}: entry {index + 1}", creator_name))
    return sessions
