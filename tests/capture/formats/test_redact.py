"""Redaction of credentials in headers, URLs and raw HTTP heads."""

from __future__ import annotations

import pytest

from inspector.capture.formats.redact import (
    is_secret_header,
    redact_headers,
    redact_http_head,
    redact_record,
    redact_target,
)
from inspector.core.records import Direction, Kind, Record


@pytest.mark.parametrize(
    "name",
    ["Authorization", "proxy-authorization", "COOKIE", "Set-Cookie", "X-Api-Key", "X-Auth-Token"],
)
def test_secret_headers(name: str) -> None:
    assert is_secret_header(name)


@pytest.mark.parametrize("name", ["Sec-WebSocket-Key", "Host", "Origin", "Sec-WebSocket-Accept"])
def test_ordinary_headers(name: str) -> None:
    assert not is_secret_header(name)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/p?access_token=abc&room=1", "/p?access_token=[redacted]&room=1"),
        ("/p?API_KEY=k&Password=p&x=", "/p?API_KEY=[redacted]&Password=[redacted]&x="),
        ("wss://h/p?auth=1#frag", "wss://h/p?auth=[redacted]#frag"),
        ("/p?client%5Fsecret=s", "/p?client%5Fsecret=[redacted]"),
        ("/p?room=1&flag", "/p?room=1&flag"),
        ("/plain", "/plain"),
    ],
)
def test_redact_target(target: str, expected: str) -> None:
    assert redact_target(target) == (expected, expected != target)


def test_redact_headers_keeps_order_and_other_values() -> None:
    headers = [["Host", "h"], ["Cookie", "a=b"], ["authorization", "Basic eDp5"], "junk"]
    assert redact_headers(headers) == (
        [["Host", "h"], ["Cookie", "[redacted]"], ["authorization", "[redacted]"], "junk"],
        True,
    )
    assert redact_headers("not a list") == ("not a list", False)


def test_redact_raw_request_head_and_keep_body() -> None:
    raw = (
        b"GET /ws?token=t0k&x=1 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer abc\r\n"
        b" folded-continuation\r\nCookie:a=b\r\nSec-WebSocket-Key: k==\r\n\r\nbody token=1"
    )
    out, changed = redact_http_head(raw)
    assert changed
    assert out == (
        b"GET /ws?token=[redacted]&x=1 HTTP/1.1\r\nHost: h\r\nAuthorization: [redacted]\r\n"
        b"Cookie: [redacted]\r\nSec-WebSocket-Key: k==\r\n\r\nbody token=1"
    )
    assert redact_http_head(out) == (out, False)


def test_redact_response_head() -> None:
    raw = b"HTTP/1.1 101 Switching Protocols\r\nSet-Cookie: s=1; Path=/\r\n\r\n"
    assert redact_http_head(raw) == (
        b"HTTP/1.1 101 Switching Protocols\r\nSet-Cookie: [redacted]\r\n\r\n",
        True,
    )


def test_redact_record_touches_handshakes_only() -> None:
    frame = Record(5, 0, Direction.OUT, Kind.FRAME, b"\x81\x05token", b"token")
    assert redact_record(frame) == (frame, False)
    request = Record(
        0,
        0,
        Direction.OUT,
        Kind.HANDSHAKE,
        b"GET /?key=1 HTTP/1.1\r\nCookie: c\r\n\r\n",
        None,
        {"target": "/?key=1", "headers": [["Cookie", "c"]], "method": "GET"},
    )
    redacted, changed = redact_record(request)
    assert changed
    assert redacted.wire == b"GET /?key=[redacted] HTTP/1.1\r\nCookie: [redacted]\r\n\r\n"
    assert redacted.fields["target"] == "/?key=[redacted]"
    assert redacted.fields["headers"] == [["Cookie", "[redacted]"]]
    assert redacted.fields["method"] == "GET"
    assert request.fields["headers"] == [["Cookie", "c"]]  # the original is untouched
