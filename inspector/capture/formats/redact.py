"""Redaction of credentials in exports: header values and URL query values that carry
secrets, replaced by ``[redacted]`` in parsed fields and in the raw handshake bytes alike.

Redacted are the values of Authorization, Proxy-Authorization, Cookie and Set-Cookie,
of any header whose name contains token, secret, password or api-key/apikey (but not
Sec-WebSocket-Key, which is a nonce), and of URL query parameters whose names contain
token, key, secret, passw, pwd, auth, credential, session or signature (any case).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote_plus

from inspector.core.records import Kind, Record

REDACTED = "[redacted]"
_REDACTED_BYTES = REDACTED.encode("ascii")

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_HEADER_PARTS = re.compile(r"token|secret|passw|api-?key", re.IGNORECASE)
_SECRET_QUERY_NAME = re.compile(
    r"token|key|secret|passw|pwd|auth|credential|session|signature|^sig$", re.IGNORECASE
)


def is_secret_header(name: str) -> bool:
    """True when the value of header ``name`` is a credential."""
    lowered = name.strip().lower()
    if lowered in _SECRET_HEADERS:
        return True
    return not lowered.startswith("sec-websocket-") and bool(_SECRET_HEADER_PARTS.search(lowered))


def is_secret_query_name(name: str) -> bool:
    """True when a URL query parameter called ``name`` carries a secret."""
    return bool(_SECRET_QUERY_NAME.search(name))


def redact_query(query: str) -> tuple[str, bool]:
    """A query string (without "?") with secret values replaced; and whether any was."""
    if not query:
        return query, False
    changed = False
    parts = query.split("&")
    for index, part in enumerate(parts):
        name, sep, value = part.partition("=")
        if sep and value and value != REDACTED and is_secret_query_name(unquote_plus(name)):
            parts[index] = f"{name}={REDACTED}"
            changed = True
    return "&".join(parts), changed


def redact_target(target: str) -> tuple[str, bool]:
    """A request target or URL with secret query values replaced; and whether any was."""
    head, sep, rest = target.partition("?")
    if not sep:
        return target, False
    query, hash_sep, fragment = rest.partition("#")
    query, changed = redact_query(query)
    return head + sep + query + hash_sep + fragment, changed


def redact_headers(headers: Any) -> tuple[Any, bool]:
    """A ``[[name, value], …]`` list with secret values replaced; and whether any was.

    Anything that is not such a list is returned as it is.
    """
    if not isinstance(headers, list | tuple):
        return headers, False
    changed = False
    out: list[Any] = []
    for item in headers:
        if (
            isinstance(item, list | tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and is_secret_header(item[0])
            and item[1] != REDACTED
        ):
            out.append([item[0], REDACTED])
            changed = True
        else:
            out.append(item)
    return out, changed


def redact_http_head(data: bytes) -> tuple[bytes, bool]:
    """Raw HTTP/1.1 request or response bytes with secret header values and query values
    replaced (RFC 9112 §3: request-line; §5: field lines), the body untouched."""
    end = data.find(b"\r\n\r\n")
    head, body = (data, b"") if end < 0 else (data[:end], data[end:])
    lines = head.split(b"\r\n")
    changed = False
    first = lines[0].split(b" ")
    if len(first) == 3 and not first[0].startswith(b"HTTP/"):
        target, target_changed = redact_target(first[1].decode("latin-1"))
        if target_changed:
            lines[0] = b" ".join([first[0], target.encode("latin-1"), first[2]])
            changed = True
    out = [lines[0]]
    secret = False
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            # obs-fold (RFC 9112 §5.2): a continuation of the previous field's value.
            if secret:
                changed = True
                continue
            out.append(line)
            continue
        name, colon, _ = line.partition(b":")
        secret = bool(colon) and is_secret_header(name.decode("latin-1"))
        if secret:
            out.append(name + b": " + _REDACTED_BYTES)
            changed = changed or line != out[-1]
        else:
            out.append(line)
    if not changed:
        return data, False
    return b"\r\n".join(out) + body, True


def redact_record(record: Record) -> tuple[Record, bool]:
    """The record with its credentials redacted (handshakes only); and whether any were."""
    if record.kind is not Kind.HANDSHAKE:
        return record, False
    fields: dict[str, Any] = dict(record.fields)
    changed = False
    headers, headers_changed = redact_headers(fields.get("headers"))
    if headers_changed:
        fields["headers"] = headers
        changed = True
    for name in ("target", "url"):
        value = fields.get(name)
        if isinstance(value, str):
            value, value_changed = redact_target(value)
            if value_changed:
                fields[name] = value
                changed = True
    wire, wire_changed = redact_http_head(record.wire)
    if not (changed or wire_changed):
        return record, False
    new_fields: Mapping[str, Any] = MappingProxyType(fields) if changed else record.fields
    return replace(record, wire=wire, fields=new_fields), True
