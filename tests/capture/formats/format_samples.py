"""Realistic sessions for the format tests, made by a real websockets client and server
talking Sans-I/O in memory: the handshake, frames and masks are exactly what they send."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Close, Frame, Opcode
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from inspector.core.records import Direction, Kind, Record

START_NS = 1_763_700_000_123_456_789
_NAMES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What an exporter reads of a session (the store's session info looks like this)."""

    endpoint: str
    scheme: str
    started_wall_ns: int = START_NS
    summary: Mapping[str, Any] = field(default_factory=dict)


def frame_fields(wire: bytes) -> dict[str, Any]:
    """The record fields of one wire frame, read from its header (RFC 6455 §5.2)."""
    b0, b1 = wire[0], wire[1]
    length = b1 & 0x7F
    header = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    if length == 126:
        length = struct.unpack("!H", wire[2:4])[0]
    elif length == 127:
        length = struct.unpack("!Q", wire[2:10])[0]
    masked = bool(b1 & 0x80)
    mask_key = wire[header : header + 4].hex() if masked else None
    return {
        "opcode": _NAMES[b0 & 0x0F],
        "opcode_value": b0 & 0x0F,
        "fin": bool(b0 & 0x80),
        "rsv1": bool(b0 & 0x40),
        "rsv2": False,
        "rsv3": False,
        "masked": masked,
        "mask_key": mask_key,
        "header_len": header + (4 if masked else 0),
        "payload_len": length,
        "compressed": bool(b0 & 0x40),
    }


class WsSession:
    """A client and a server wired together; every frame becomes a Record."""

    def __init__(
        self,
        url: str = "ws://127.0.0.1:8765/chat?access_token=abc123&room=1",
        compress: bool = False,
        headers: Mapping[str, str] | None = None,
        local: str = "127.0.0.1:50123",
        peer: str = "127.0.0.1:8765",
    ) -> None:
        self.url = url
        self.records: list[Record] = []
        self.t_ns = 0
        self.client = ClientProtocol(
            parse_uri(url), extensions=[ClientPerMessageDeflateFactory()] if compress else None
        )
        self.server = ServerProtocol(
            extensions=[ServerPerMessageDeflateFactory()] if compress else None
        )
        self._meta(Kind.RESOLVE, host="127.0.0.1", addresses=["127.0.0.1"], duration_ns=10_000)
        self._meta(
            Kind.CONNECT,
            local=local,
            peer=peer,
            family="ipv6" if local.startswith("[") else "ipv4",
            duration_ns=200_000,
        )
        request = self.client.connect()
        for name, value in (headers or {}).items():
            request.headers[name] = value
        self.client.send_request(request)
        request_bytes = b"".join(self.client.data_to_send())
        self._add(
            Direction.OUT,
            Kind.HANDSHAKE,
            request_bytes,
            None,
            {
                "method": "GET",
                "target": request.path,
                "headers": list(map(list, request.headers.raw_items())),
            },
        )
        self.server.receive_data(request_bytes)
        (parsed,) = self.server.events_received()
        response = self.server.accept(parsed)
        self.server.send_response(response)
        response_bytes = b"".join(self.server.data_to_send())
        self.client.receive_data(response_bytes)
        self.client.events_received()
        self._add(
            Direction.IN,
            Kind.HANDSHAKE,
            response_bytes,
            None,
            {
                "status": 101,
                "reason": "Switching Protocols",
                "headers": list(map(list, response.headers.raw_items())),
                "duration_ns": 500_000,
                "accepted": True,
                "subprotocol": None,
                "extensions": response.headers.get("Sec-WebSocket-Extensions"),
            },
        )

    def _meta(self, kind: Kind, **fields: Any) -> None:
        self._add(Direction.META, kind, b"", None, fields)

    def _add(
        self, direction: Direction, kind: Kind, wire: bytes, payload: bytes | None, fields: dict
    ) -> Record:
        self.t_ns += 1_000_000
        record = Record(len(self.records), self.t_ns, direction, kind, wire, payload, fields)
        self.records.append(record)
        return record

    def _deliver(self, direction: Direction, chunks: list[bytes], automatic: bool) -> None:
        """Record each frame sent one way and feed it to the other side."""
        receiver = self.server if direction is Direction.OUT else self.client
        for wire in chunks:
            receiver.receive_data(wire)
            (event,) = receiver.events_received()
            fields = frame_fields(wire)
            fields["automatic"] = automatic
            if event.opcode is Opcode.CLOSE:
                close = Close.parse(event.data)
                fields["close_code"], fields["close_reason"] = close.code, close.reason
            self._add(direction, Kind.FRAME, wire, bytes(event.data), fields)
        # The other side's automatic answers (pong, close echo).
        answers = receiver.data_to_send()
        answers = [a for a in answers if a]
        if answers:
            self._deliver(
                Direction.IN if direction is Direction.OUT else Direction.OUT, answers, True
            )

    def client_send(self, kind: str, data: bytes | str = b"", fin: bool = True) -> None:
        payload = data.encode() if isinstance(data, str) else data
        if kind == "close":
            self.client.send_close(1000, "bye")
        else:
            getattr(self.client, f"send_{kind}")(
                payload, **({"fin": fin} if kind in ("text", "binary", "continuation") else {})
            )
        self._deliver(Direction.OUT, [c for c in self.client.data_to_send() if c], False)

    def server_send(self, kind: str, data: bytes | str = b"", fin: bool = True) -> None:
        payload = data.encode() if isinstance(data, str) else data
        if kind == "close":
            self.server.send_close(4000, "server bye")
        else:
            getattr(self.server, f"send_{kind}")(
                payload, **({"fin": fin} if kind in ("text", "binary", "continuation") else {})
            )
        self._deliver(Direction.IN, [c for c in self.server.data_to_send() if c], False)

    def finish(self) -> list[Record]:
        self._meta(
            Kind.CLOSED, message="closed", clean=True, close_code=1000, initiated_by="client"
        )
        return self.records


def standard_ws_records(
    compress: bool = False, headers: Mapping[str, str] | None = None
) -> list[Record]:
    """Text, binary, a fragmented text and binary message, ping/pong both ways, a big
    message that spans TCP segments, and a close handshake."""
    session = WsSession(compress=compress, headers=headers)
    session.client_send("text", "hello ✓")
    session.server_send("text", "hello ✓")
    session.client_send("binary", bytes(range(256)))
    session.client_send("text", "frag-", fin=False)
    session.client_send("continuation", "ment", fin=False)
    session.client_send("continuation", "ed", fin=True)
    session.server_send("binary", b"\x00\x01", fin=False)
    session.server_send("continuation", b"\x02\x03", fin=True)
    session.client_send("ping", b"are you there")
    session.server_send("ping", b"ping-me")
    session.server_send("binary", bytes(range(256)) * 400)
    session.client_send("close")
    return session.finish()


def raw_frame(opcode: Opcode, data: bytes, mask: bool, fin: bool = True) -> bytes:
    """One frame as websockets serializes it."""
    return Frame(opcode, data, fin=fin).serialize(mask=mask, extensions=[])
