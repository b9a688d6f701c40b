"""Hand-made records with realistic fields for the detail-pane tests."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from websockets.frames import Close, Frame, Opcode

from inspector.core.records import Direction, Kind, Record
from inspector.protocols.wireframes import WireFrameParser

REQUEST = (
    b"GET /chat?room=1 HTTP/1.1\r\n"
    b"Host: 127.0.0.1:8765\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"X-Trace: one\r\n"
    b"X-Trace: two\r\n"
    b"\r\n"
)
RESPONSE_101 = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"\r\n"
)
FORBIDDEN_BODY = b"Forbidden: no chat for you\n"
RESPONSE_403 = (
    b"HTTP/1.1 403 Forbidden\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 27\r\n"
    b"\r\n" + FORBIDDEN_BODY
)

MakeFrame = Callable[..., Record]


def _headers_of(wire: bytes) -> list[list[str]]:
    head = wire.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return [[p.strip() for p in line.split(":", 1)] for line in head]


def frame_record(
    opcode: Opcode = Opcode.TEXT,
    payload: bytes = b"Hello",
    *,
    direction: Direction = Direction.OUT,
    seq: int = 5,
    t_ns: int = 2_000_000_000,
) -> Record:
    """A frame record as the protocol layer makes it: real wire bytes, tap ranges."""
    masked = direction is Direction.OUT
    wire = Frame(opcode, payload).serialize(mask=masked, extensions=[])
    wf = WireFrameParser().feed(wire)[0]
    fields: dict[str, object] = {
        "opcode": opcode.name.lower() if opcode is not Opcode.CONT else "continuation",
        "opcode_value": int(opcode),
        "fin": True,
        "rsv1": False,
        "rsv2": False,
        "rsv3": False,
        "masked": masked,
        "mask_key": wf.mask_key.hex() if wf.mask_key else None,
        "header_len": wf.header_len,
        "payload_len": wf.payload_len,
        "compressed": False,
        "ranges": [list(r) for r in wf.ranges()],
    }
    if opcode is Opcode.CLOSE:
        close = Close.parse(payload)
        fields["close_code"] = close.code
        fields["close_reason"] = close.reason
    return Record(seq, t_ns, direction, Kind.FRAME, wire, payload, fields)


def handshake_records(response: bytes = RESPONSE_101) -> tuple[Record, Record]:
    """The upgrade request and a response (101, or a refusal with a body)."""
    request = Record(
        1,
        3_000_000,
        Direction.OUT,
        Kind.HANDSHAKE,
        REQUEST,
        None,
        {"method": "GET", "target": "/chat?room=1", "headers": _headers_of(REQUEST)},
    )
    status_line = response.split(b"\r\n", 1)[0].decode().split(" ", 2)
    status = int(status_line[1])
    body = response.split(b"\r\n\r\n", 1)[1] or None
    reply = Record(
        2,
        5_500_000,
        Direction.IN,
        Kind.HANDSHAKE,
        response,
        body,
        {
            "status": status,
            "reason": status_line[2],
            "headers": _headers_of(response),
            "duration_ns": 2_500_000,
            "accepted": status == 101,
            "subprotocol": None,
            "extensions": [],
        },
    )
    return request, reply


def phase_records() -> list[Record]:
    """resolve, connect, tls, request, response of a wss:// session."""
    request, response = handshake_records()
    return [
        Record(
            0,
            1_200_000,
            Direction.META,
            Kind.RESOLVE,
            fields={"host": "example.test", "addresses": ["127.0.0.1"], "duration_ns": 1_200_000},
        ),
        Record(
            0,
            2_000_000,
            Direction.META,
            Kind.CONNECT,
            fields={
                "local": "127.0.0.1:50000",
                "peer": "127.0.0.1:8765",
                "family": "IPv4",
                "duration_ns": 800_000,
            },
        ),
        Record(
            0,
            2_900_000,
            Direction.META,
            Kind.TLS,
            fields={
                "version": "TLSv1.3",
                "cipher": "TLS_AES_256_GCM_SHA384",
                "alpn": "http/1.1",
                "verified": True,
                "server_hostname": "example.test",
                "cert": {
                    "subject": "CN=example.test",
                    "issuer": "O=trustme CA",
                    "not_before": "2026-01-01T00:00:00Z",
                    "not_after": "2027-01-01T00:00:00Z",
                    "serial": "1f",
                    "sha256": "ab" * 32,
                    "san": ["example.test"],
                },
                "duration_ns": 900_000,
            },
        ),
        request,
        response,
    ]


@pytest.fixture
def make_frame() -> MakeFrame:
    return frame_record


@pytest.fixture
def make_handshake() -> Callable[..., tuple[Record, Record]]:
    return handshake_records


@pytest.fixture
def make_phases() -> Callable[[], list[Record]]:
    return phase_records


@pytest.fixture
def wire_samples() -> SimpleNamespace:
    """The raw handshake bytes used above."""
    return SimpleNamespace(
        request=REQUEST, ok=RESPONSE_101, forbidden=RESPONSE_403, forbidden_body=FORBIDDEN_BODY
    )
