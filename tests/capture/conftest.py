"""Fixtures for capture store tests: a recorder writing into a fresh capture file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inspector.capture import CaptureStore
from inspector.core.clock import SessionClock
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind, Record

StoreFactory = Callable[..., tuple[CaptureStore, Recorder]]


@pytest.fixture
def new_store(tmp_path: Path) -> Iterator[StoreFactory]:
    """Make (store, recorder) pairs on files in tmp_path; closes them after the test."""
    made: list[CaptureStore] = []

    def make(name: str = "session.sockcap", **kwargs: object) -> tuple[CaptureStore, Recorder]:
        clock = SessionClock()
        store = CaptureStore.create(
            tmp_path / name,
            endpoint=str(kwargs.pop("endpoint", "ws://127.0.0.1:9000/chat")),
            scheme=str(kwargs.pop("scheme", "ws")),
            options=kwargs.pop("options", {"compression": True}),
            clock=clock,
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(store)
        return store, Recorder(sink=store, clock=clock, consumed=False)

    yield make
    for store in made:
        store.close()


@pytest.fixture
def every_kind() -> Callable[[Recorder], list[Record]]:
    """A function recording one record of each kind and direction; returns them."""
    return record_every_kind


def record_every_kind(recorder: Recorder) -> list[Record]:
    """One record of each kind and direction the protocol layers produce."""
    request = b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\r\n"
    response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    masked = b"\x81\x85\x01\x02\x03\x04" + bytes(
        b ^ k for b, k in zip(b"hello", b"\x01\x02\x03\x04\x01", strict=True)
    )
    record = recorder.record
    return [
        record(
            Direction.META,
            Kind.RESOLVE,
            fields={"host": "localhost", "addresses": ["127.0.0.1", "::1"], "duration_ns": 1200},
        ),
        record(
            Direction.META,
            Kind.CONNECT,
            fields={
                "local": "127.0.0.1:50000",
                "peer": "127.0.0.1:9000",
                "family": "ipv4",
                "duration_ns": 300,
            },
        ),
        record(
            Direction.META,
            Kind.TLS,
            fields={
                "version": "TLSv1.3",
                "cipher": "TLS_AES_256_GCM_SHA384",
                "alpn": None,
                "verified": True,
                "cert": {"subject": "CN=x", "san": ["x"], "serial": "0a"},
            },
        ),
        record(
            Direction.META, Kind.INFO, fields={"message": "certificate not verified (--insecure)"}
        ),
        record(Direction.META, Kind.LISTENING, fields={"url": "tcp://127.0.0.1:9", "local": "x"}),
        record(Direction.META, Kind.ACCEPTED, fields={"conn": 1, "peer": "127.0.0.1:5"}),
        record(Direction.META, Kind.REFUSED, fields={"peer": "127.0.0.1:6", "message": "full"}),
        record(
            Direction.OUT,
            Kind.HANDSHAKE,
            wire=request,
            fields={
                "method": "GET",
                "target": "/chat",
                "headers": [["Host", "127.0.0.1"], ["Upgrade", "websocket"]],
            },
        ),
        record(
            Direction.IN,
            Kind.HANDSHAKE,
            wire=response,
            payload=None,
            fields={
                "status": 101,
                "reason": "Switching Protocols",
                "headers": [["Upgrade", "websocket"]],
                "accepted": True,
                "subprotocol": None,
                "extensions": [],
            },
        ),
        record(
            Direction.OUT,
            Kind.FRAME,
            wire=masked,
            payload=b"hello",
            fields={
                "opcode": "text",
                "opcode_value": 1,
                "fin": True,
                "masked": True,
                "mask_key": "01020304",
                "header_len": 6,
                "payload_len": 5,
                "ranges": [["header", 0, 2], ["mask key", 2, 6], ["payload", 6, 11]],
            },
        ),
        record(
            Direction.IN,
            Kind.FRAME,
            wire=b"\x89\x00",
            payload=b"",
            fields={"opcode": "ping", "fin": True, "automatic": False},
        ),
        record(
            Direction.OUT,
            Kind.FRAME,
            wire=b"\x8a\x80\x00\x00\x00\x00",
            payload=b"",
            fields={"opcode": "pong", "automatic": True},
        ),
        record(
            Direction.IN, Kind.DATA, wire=b"\x00\xffraw bytes\r\n", payload=b"\x00\xffraw bytes\r\n"
        ),
        record(Direction.OUT, Kind.DATA, wire=b"", payload=b""),
        record(
            Direction.IN,
            Kind.MESSAGE,
            wire=b"\x00\x03abc",
            payload=b"abc",
            fields={"framing": "len16", "ranges": [["length", 0, 2], ["body", 2, 5]]},
        ),
        record(
            Direction.IN,
            Kind.DATAGRAM,
            wire="héllo ✓".encode(),
            payload="héllo ✓".encode(),
            fields={"peer": "127.0.0.1:9999"},
        ),
        record(
            Direction.IN,
            Kind.ERROR,
            wire=b"\x8f\x00",
            fields={"message": "invalid opcode 15", "close_code": 1002, "phase": "session"},
        ),
        record(
            Direction.META, Kind.ERROR, fields={"message": "connection refused", "phase": "connect"}
        ),
        record(
            Direction.META,
            Kind.CLOSED,
            fields={
                "message": "closed",
                "clean": True,
                "close_code": 1000,
                "close_reason": "",
                "initiated_by": "client",
                "duration_ns": 10**12,
            },
        ),
    ]
