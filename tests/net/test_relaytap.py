"""The relay's tap without sockets: heads, rewriting, deflate agreements, fast = slow."""

from __future__ import annotations

import random
import zlib

from session_helpers import ListSink
from websockets.frames import Frame, Opcode

from inspector.core.recorder import Recorder
from inspector.core.records import Direction
from inspector.net.relaytap import (
    DeflateAgreement,
    FrameTap,
    HttpHead,
    deflate_agreement,
    rewrite_request,
    take_head,
)


def stream() -> bytes:
    """Plain, compressed, fragmented, control and masked frames back to back."""
    compressor = zlib.compressobj(wbits=-15)
    out = b""
    for n in range(300):
        text = f"message {n} ".encode() * (n % 7 + 1)
        if n % 5 == 0:
            data = compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)
            plain = Frame(Opcode.TEXT, data[:-4]).serialize(mask=False)
            out += bytes([plain[0] | 0x40]) + plain[1:]  # RSV1: compressed (RFC 7692)
        elif n % 11 == 0:
            out += Frame(Opcode.TEXT, text[:3], fin=False).serialize(mask=False)
            out += Frame(Opcode.CONT, text[3:]).serialize(mask=False)
        elif n % 13 == 0:
            out += Frame(Opcode.PING, b"p").serialize(mask=False)
        else:
            out += Frame(Opcode.BINARY, text).serialize(mask=False)
    return out


def tap_records(data: bytes, cuts: list[int], fast: bool) -> list[tuple]:
    sink = ListSink()
    tap = FrameTap(Recorder(sink, consumed=False), Direction.IN, DeflateAgreement().decoder(False))
    start = 0
    for cut in [*cuts, len(data)]:
        chunk = data[start:cut]
        start = cut
        if fast:
            tap.take(chunk, 0)
        else:
            tap.record(tap.frames(chunk), 0)
    return [(r.wire, r.payload, dict(r.fields)) for r in sink.records]


def test_the_fast_path_makes_the_records_the_parser_makes() -> None:
    data = stream()
    rng = random.Random(7)
    slow = tap_records(data, [], fast=False)
    assert len(slow) > 300 and not [f for _w, _p, f in slow if f.get("error")]
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 60)))
        assert tap_records(data, cuts, fast=True) == slow
    assert tap_records(data, list(range(1, len(data))), fast=True) == slow  # a byte at a time


def test_head_rewrite_keeps_every_other_byte() -> None:
    buf = bytearray(
        b"GET /chat?x=1 HTTP/1.1\r\nhost: 127.0.0.1:9\r\nUpgrade: websocket\r\n"
        b"Origin: http://a\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\nrest"
    )
    head = take_head(buf)
    assert isinstance(head, HttpHead) and bytes(buf) == b"rest"
    wire, changed = rewrite_request(head, "example.org", None)
    assert wire == head.wire.replace(b"host: 127.0.0.1:9", b"Host: example.org")
    assert changed == {"Host": "example.org"}
    wire, changed = rewrite_request(head, "h", "http://b", strip_extensions=True)
    assert b"Origin: http://b" in wire and b"Extensions" not in wire
    assert set(changed) == {"Host", "Origin", "Sec-WebSocket-Extensions"}
    assert take_head(bytearray(b"GET / HTTP/1.1\r\n")) is None


def test_deflate_agreement_reads_the_answer() -> None:
    agreed = deflate_agreement(
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
    )
    assert agreed == DeflateAgreement(server_no_context_takeover=True, client_max_window_bits=10)
    assert deflate_agreement(None) is None and deflate_agreement("x-other") is None
