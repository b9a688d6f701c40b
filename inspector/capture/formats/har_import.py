"""One HAR entry (Chrome, Firefox or mitmproxy) as a session of records.

Every value is checked before use: HAR files come from anywhere, so a wrong type, a
missing object or an absurd number is a :class:`CaptureError` naming the entry, and an
optional field that is missing takes a default.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime
from types import MappingProxyType
from typing import Any

from websockets.exceptions import ProtocolError
from websockets.frames import Close, Frame, Opcode

from inspector.capture.formats.common import ImportedSession
from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import CaptureError, EndpointError
from inspector.core.records import Direction, Kind, Record
from inspector.protocols.wireframes import opcode_name, parse_frame, range_lists

_WS_SCHEMES = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}
_OPCODES = {1: Opcode.TEXT, 2: Opcode.BINARY, 8: Opcode.CLOSE, 9: Opcode.PING, 10: Opcode.PONG}
#: Times beyond this (year 2286 in seconds) are not believable; larger ones are ms.
_MAX_SECONDS = 1e10
_MAX_MESSAGES = 10_000_000


def is_websocket_entry(entry: dict[str, Any]) -> bool:
    """True for an entry that describes a WebSocket: it has messages, is typed
    "websocket", answered 101, or its URL is ws:// or wss://."""
    if isinstance(entry.get("_webSocketMessages"), list):
        return True
    if entry.get("_resourceType") == "websocket":
        return True
    request, response = entry.get("request"), entry.get("response")
    if isinstance(response, dict) and response.get("status") == 101:
        return True
    url = request.get("url") if isinstance(request, dict) else None
    return isinstance(url, str) and url.lower().startswith(("ws://", "wss://"))


def _obj(value: Any, where: str, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CaptureError(f"{where}: {name} is not an object")
    return value


def _str(value: Any, where: str, name: str, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise CaptureError(f"{where}: {name} is not a string")
    return value


def _number(value: Any, where: str, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CaptureError(f"{where}: {name} is not a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e15:
        raise CaptureError(f"{where}: {name} is out of range")
    return number


def _headers(value: Any, where: str, name: str) -> list[list[str]]:
    """HAR ``[{"name", "value"}]`` as ``[[name, value]]``; CR/LF in them become spaces
    so the rebuilt HTTP head stays well formed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise CaptureError(f"{where}: {name} is not a list")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise CaptureError(f"{where}: {name}[{index}] is not an object")
        header_name = _str(item.get("name"), where, f"{name}[{index}].name", "")
        header_value = _str(item.get("value"), where, f"{name}[{index}].value", "")
        if not header_name or header_name.startswith(":"):
            continue  # HTTP/2 pseudo-headers have no HTTP/1.1 line
        clean = [" ".join(text.splitlines()) for text in (header_name, header_value)]
        out.append(clean)
    return out


def _started_ns(text: Any, where: str) -> int | None:
    """``startedDateTime`` (ISO 8601, "Z" or an offset) as ns since the epoch."""
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > 64:
        raise CaptureError(f"{where}: startedDateTime is not a date")
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            raise ValueError("no time zone")
        return int(stamp.timestamp() * 1e6) * 1000
    except (ValueError, OverflowError, OSError):
        raise CaptureError(f"{where}: startedDateTime {text[:40]!r} is not ISO 8601") from None


def _head(first_line: str, headers: list[list[str]]) -> bytes:
    """A raw HTTP/1.1 head from a start line and header pairs (RFC 9112 §2.1)."""
    lines = [first_line, *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("utf-8", "replace")


def _payload(opcode: int, data: str) -> bytes:
    """Message data as bytes: text as UTF-8; other opcodes base64 (Chrome, Firefox and
    mitmproxy write binary that way), or the text itself when it is not base64."""
    if opcode == 1:
        return data.encode("utf-8", "replace")
    try:
        return base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return data.encode("utf-8", "replace")


#: The mask key of a rebuilt client frame. A HAR keeps no mask keys or frame bytes: an
#: all-zero key keeps the frame valid (RFC 6455 §5.3: a client frame is masked), leaves
#: the payload readable in the hex view, and makes every read of the file give the same
#: bytes, where a random key would invent a different "captured" key each time.
REBUILT_MASK_KEY = bytes(4)
#: Where a rebuilt record's bytes came from, as shown by the window and the exports.
REBUILT_NOTE = "rebuilt from HAR, not captured"


def _frame_record(
    seq: int, t_ns: int, direction: Direction, opcode: int, payload: bytes, where: str
) -> Record:
    """A frame record with a rebuilt wire frame: FIN, no extensions, and when sent masked
    with :data:`REBUILT_MASK_KEY` (RFC 6455 §5.3), the same bytes on every read."""
    if opcode >= 8 and len(payload) > 125:
        raise CaptureError(
            f"{where}: a {opcode_name(opcode)} payload of {len(payload)} bytes is longer "
            "than 125 (RFC 6455 §5.5)"
        )
    try:
        wire = Frame(_OPCODES[opcode], payload).serialize(mask=False, extensions=[])
        if direction is Direction.OUT:
            wire = _masked(wire)
    except ProtocolError as exc:
        raise CaptureError(f"{where}: {exc}") from None
    frame = parse_frame(wire)
    assert frame is not None
    fields: dict[str, Any] = {
        "opcode": opcode_name(opcode),
        "opcode_value": opcode,
        "fin": True,
        "rsv1": False,
        "rsv2": False,
        "rsv3": False,
        "masked": frame.masked,
        "mask_key": frame.mask_key.hex() if frame.mask_key else None,
        "header_len": frame.header_len,
        "payload_len": frame.payload_len,
        "compressed": False,
        "automatic": False,
        "ranges": range_lists(frame.header_len, frame.masked, frame.payload_len),
        "synthesised": True,
        "rebuilt_from": "HAR",
    }
    if opcode == 8:
        try:
            close = Close.parse(payload)
            fields["close_code"], fields["close_reason"] = close.code, close.reason
        except (ProtocolError, UnicodeDecodeError, ValueError):
            fields["close_code"], fields["close_reason"] = None, None
    return Record(seq, t_ns, direction, Kind.FRAME, wire, payload, MappingProxyType(fields))


def _masked(wire: bytes) -> bytes:
    """An unmasked frame as a client frame masked with :data:`REBUILT_MASK_KEY` (XOR with
    zero leaves the payload as it is; only the MASK bit and the key are added)."""
    length = wire[1] & 0x7F
    header_len = 2 + {126: 2, 127: 8}.get(length, 0)
    return (
        wire[:1]
        + bytes([wire[1] | 0x80])
        + wire[2:header_len]
        + REBUILT_MASK_KEY
        + wire[header_len:]
    )


def entry_to_session(
    entry: dict[str, Any], where: str, creator: str
) -> tuple[ImportedSession, list[Record]]:
    """The session and records of one WebSocket entry."""
    request = _obj(entry.get("request"), where, "request")
    response = _obj(entry.get("response"), where, "response")
    timings = _obj(entry.get("timings"), where, "timings")
    url = _str(request.get("url"), where, "request.url", "")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _WS_SCHEMES:
        raise CaptureError(f"{where}: request.url {url[:80]!r} is not a WebSocket URL")
    try:
        endpoint = parse_endpoint(f"{_WS_SCHEMES[scheme.lower()]}://{rest.split('#', 1)[0]}")
    except EndpointError as exc:
        raise CaptureError(f"{where}: {exc}") from None
    method = _str(request.get("method"), where, "request.method", "GET")
    version = _str(request.get("httpVersion"), where, "request.httpVersion", "HTTP/1.1")
    if not version.upper().startswith("HTTP/1") or not version.strip():
        version = "HTTP/1.1"  # HTTP/2 and HTTP/3 WebSockets (RFC 8441) shown as HTTP/1.1
    req_headers = _headers(request.get("headers"), where, "request.headers")
    resp_headers = _headers(response.get("headers"), where, "response.headers")
    status_number = _number(response.get("status"), where, "response.status")
    status = int(status_number) if status_number is not None else 101
    reason = _str(response.get("statusText"), where, "response.statusText", "")
    if not reason and status == 101:
        reason = "Switching Protocols"
    started = _started_ns(entry.get("startedDateTime"), where)
    wait = _number(timings.get("wait"), where, "timings.wait")
    wait_ns = int(wait * 1e6) if wait is not None and wait > 0 else 0

    raw_messages = entry.get("_webSocketMessages")
    if raw_messages is None:
        raw_messages = []
    if not isinstance(raw_messages, list):
        raise CaptureError(f"{where}: _webSocketMessages is not a list")
    if len(raw_messages) > _MAX_MESSAGES:
        raise CaptureError(f"{where}: more than {_MAX_MESSAGES} messages")
    parsed = [_message(item, f"{where} message {i + 1}") for i, item in enumerate(raw_messages)]
    if started is None:
        first = next((t for _, t, _, _ in parsed if t is not None), 0.0)
        started = int(first * 1e9)

    def lookup(headers: list[list[str]], name: str) -> str | None:
        return next((v for n, v in headers if n.lower() == name), None)

    records: list[Record] = []
    target = endpoint.target
    records.append(
        Record(
            0,
            0,
            Direction.OUT,
            Kind.HANDSHAKE,
            _head(f"{method} {target} {version}", req_headers),
            None,
            MappingProxyType(
                {
                    "method": method,
                    "target": target,
                    "headers": req_headers,
                    "synthesised": True,
                    "rebuilt_from": "HAR",
                }
            ),
        )
    )
    records.append(
        Record(
            1,
            wait_ns,
            Direction.IN,
            Kind.HANDSHAKE,
            _head(f"HTTP/1.1 {status} {reason}".rstrip(), resp_headers),
            None,
            MappingProxyType(
                {
                    "status": status,
                    "reason": reason,
                    "headers": resp_headers,
                    "duration_ns": wait_ns,
                    "accepted": status == 101,
                    "subprotocol": lookup(resp_headers, "sec-websocket-protocol"),
                    "extensions": lookup(resp_headers, "sec-websocket-extensions"),
                    "synthesised": True,
                    "rebuilt_from": "HAR",
                }
            ),
        )
    )
    last_ns = wait_ns
    for index, (direction, seconds, opcode, payload) in enumerate(parsed):
        if seconds is not None:
            last_ns = max(last_ns, int(seconds * 1e9) - started)
        message_where = f"{where} message {index + 1}"
        records.append(
            _frame_record(len(records), last_ns, direction, opcode, payload, message_where)
        )
    session = ImportedSession(
        endpoint=endpoint.url,
        scheme=str(endpoint.scheme),
        started_wall_ns=started,
        ended_wall_ns=started + last_ns,
        state="closed",
        summary=MappingProxyType(
            {"imported_from": "HAR", "creator": creator, "messages": len(parsed)}
        ),
    )
    return session, records


def _message(item: Any, where: str) -> tuple[Direction, float | None, int, bytes]:
    """One ``_webSocketMessages`` item: direction, epoch seconds, opcode, payload."""
    if not isinstance(item, dict):
        raise CaptureError(f"{where}: not an object")
    kind = item.get("type")
    if kind not in ("send", "receive"):
        raise CaptureError(f'{where}: type is not "send" or "receive"')
    opcode_number = _number(item.get("opcode", 1), where, "opcode")
    if opcode_number is None or opcode_number not in _OPCODES:
        raise CaptureError(f"{where}: opcode {item.get('opcode')!r} is not 1, 2, 8, 9 or 10")
    opcode = int(opcode_number)
    seconds = _number(item.get("time"), where, "time")
    if seconds is not None and seconds > _MAX_SECONDS:
        seconds /= 1000.0  # milliseconds since the epoch
    data = _str(item.get("data"), where, "data", "")
    direction = Direction.OUT if kind == "send" else Direction.IN
    return direction, seconds, opcode, _payload(opcode, data)
