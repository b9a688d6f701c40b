"""The relay's tap without sockets: heads, rewriting, deflate agreements, fast = slow."""

from __future__ import annotations

import random
import zlib

import pytest
from session_helpers import ListSink
from websockets.frames import Frame, Opcode

from inspector.core.recorder import Recorder
from inspector.core.records import Direction
from inspector.core.runs import MessageRun
from inspector.net.relaytap import (
    DeflateAgreement,
    FrameTap,
    HttpHead,
    deflate_agreement,
    rewrite_request,
    take_head,
)


def stream(masked: bool = False, compress: bool = True) -> bytes:
    """Plain, compressed, fragmented and control frames back to back (masked ones as a
    client sends them with ``masked``; no compressed frame without ``compress``)."""
    compressor = zlib.compressobj(wbits=-15)
    out = b""
    for n in range(300):
        text = f"message {n} ".encode() * (n % 7 + 1)
        if n % 5 == 0 and compress:
            data = compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)
            plain = Frame(Opcode.TEXT, data[:-4]).serialize(mask=masked)
            out += bytes([plain[0] | 0x40]) + plain[1:]  # RSV1: compressed (RFC 7692)
        elif n % 11 == 0:
            out += Frame(Opcode.TEXT, text[:3], fin=False).serialize(mask=masked)
            out += Frame(Opcode.CONT, text[3:]).serialize(mask=masked)
        elif n % 13 == 0:
            out += Frame(Opcode.PING, b"p").serialize(mask=masked)
        elif n % 3 == 0:
            out += Frame(Opcode.TEXT, text).serialize(mask=masked)
        else:
            out += Frame(Opcode.BINARY, text * (60 if n % 17 == 0 else 1)).serialize(mask=masked)
    return out


def tap_records(
    data: bytes,
    cuts: list[int],
    fast: bool,
    direction: Direction = Direction.IN,
    deflate: bool = True,
) -> list[tuple]:
    sink = ListSink()
    decoder = DeflateAgreement().decoder(direction is Direction.OUT) if deflate else None
    tap = FrameTap(Recorder(sink, consumed=False), direction, decoder)
    start = 0
    for cut in [*cuts, len(data)]:
        chunk = data[start:cut]
        start = cut
        if fast:
            tap.take(chunk, 0)
        else:
            tap.record(tap.frames(chunk), 0)
    records = sink.records
    assert [r.seq for r in records] == list(range(len(records)))
    return [(r.direction, r.wire, r.payload, dict(r.fields)) for r in records]


@pytest.mark.parametrize(
    ("direction", "deflate"),
    [(Direction.IN, True), (Direction.IN, False), (Direction.OUT, True), (Direction.OUT, False)],
)
def test_the_fast_path_makes_the_records_the_parser_makes(
    direction: Direction, deflate: bool
) -> None:
    data = stream(masked=direction is Direction.OUT, compress=deflate)
    rng = random.Random(7)
    slow = tap_records(data, [], False, direction, deflate)
    assert len(slow) > 300 and not [f for *_rest, f in slow if f.get("error")]
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 60)))
        assert tap_records(data, cuts, True, direction, deflate) == slow
    # A byte at a time:
    assert tap_records(data, list(range(1, len(data))), True, direction, deflate) == slow


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


class RunSink(ListSink):
    """Counts the runs it is given (and keeps their records, as a store would make them)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def write_run(self, run: MessageRun) -> None:
        self.runs += 1
        super().write_run(run)


def test_a_read_of_plain_server_frames_is_one_run() -> None:
    frames = b"".join(Frame(Opcode.TEXT, b"x" * 64).serialize(mask=False) for _ in range(1000))
    sink = RunSink()
    tap = FrameTap(Recorder(sink, consumed=False), Direction.IN, None)
    tap.take(frames[:40_000], 0)
    tap.take(frames[40_000:], 0)
    assert sink.runs == 2 and tap.messages == 1000
    assert [r.payload for r in sink.records] == [b"x" * 64] * 1000
    assert b"".join(r.wire for r in sink.records) == frames
