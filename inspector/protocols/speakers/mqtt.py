"""MQTT 3.1.1 and 5.0 as a client: its control packets, and the client's side.

The client opens with CONNECT and is ready once CONNACK accepts it (a non-zero return
or reason code is the broker's refusal, one line); it sends PINGREQ every keep-alive
interval, and acknowledges what the broker publishes to it (PUBACK for QoS 1, PUBREC
then PUBCOMP for QoS 2) and its own QoS 2 publishes (PUBREL after PUBREC). Over TCP
the packets of a read are cut by their remaining length, whatever the session's framing.
"""

from __future__ import annotations

import os

from inspector.core.errors import UsageError
from inspector.protocols.framing import mqtt_packet_size
from inspector.protocols.speakers.base import NOTHING, Heard, Outgoing, SpeakOptions

OPTIONS = ("client_id", "keepalive", "version", "username", "password", "clean")

#: CONNACK return codes of 3.1.1 (§3.2.2.3) and reason codes of 5.0 (§3.2.2.2).
REFUSALS = {1: "unacceptable protocol version", 2: "client identifier rejected",
            3: "server unavailable", 4: "bad user name or password", 5: "not authorized",
            0x80: "unspecified error", 0x81: "malformed packet", 0x82: "protocol error",
            0x83: "implementation specific error", 0x84: "unsupported protocol version",
            0x85: "client identifier not valid", 0x86: "bad user name or password",
            0x87: "not authorized", 0x88: "server unavailable", 0x89: "server busy",
            0x8A: "banned", 0x8C: "bad authentication method", 0x95: "packet too large",
            0x97: "quota exceeded", 0x9F: "connection rate exceeded"}  # fmt: skip
#: The most bytes held of an unfinished packet before the conversation is given up.
MAX_PENDING = 1 << 20


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        value, low = divmod(value, 128)
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise UsageError(f"an MQTT string is at most 65535 bytes (this one is {len(raw)})")
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    if len(body) >= 1 << 28:
        raise UsageError("an MQTT packet is at most 256 MB")
    return bytes((first,)) + _varint(len(body)) + body


def _version(version: int) -> bool:
    if version not in (4, 5):
        raise UsageError(f"MQTT version {version} is not 4 (3.1.1) or 5")
    return version == 5


def _packet_id(packet_id: int) -> bytes:
    if not 1 <= packet_id <= 0xFFFF:
        raise UsageError(f"an MQTT packet id is 1 to 65535 (not {packet_id})")
    return packet_id.to_bytes(2, "big")


def connect(client_id: str, keepalive: int = 60, version: int = 4, username: str | None = None,
            password: str | None = None, clean: bool = True) -> bytes:  # fmt: skip
    """A CONNECT packet (§3.1)."""
    v5 = _version(version)
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0) | (
        0x40 if password is not None else 0)  # fmt: skip
    body = _string("MQTT") + bytes((version, flags)) + int(keepalive).to_bytes(2, "big")
    body += (b"\x00" if v5 else b"") + _string(client_id)
    if username is not None:
        body += _string(username)
    if password is not None:
        raw = password.encode("utf-8")
        body += len(raw).to_bytes(2, "big") + raw
    return _packet(0x10, body)


def publish(topic: str, payload: bytes, qos: int = 0, packet_id: int | None = None,
            retain: bool = False, version: int = 4) -> bytes:  # fmt: skip
    """A PUBLISH packet (§3.3); QoS 1 and 2 need a packet id."""
    v5 = _version(version)
    if qos not in (0, 1, 2):
        raise UsageError(f"MQTT QoS is 0, 1 or 2 (not {qos})")
    if not topic or "+" in topic or "#" in topic:
        raise UsageError(f"{topic!r} is not a topic to publish to (no wildcards, not empty)")
    body = _string(topic)
    if qos:
        if packet_id is None:
            raise UsageError("an MQTT QoS 1 or 2 PUBLISH needs a packet id")
        body += _packet_id(packet_id)
    body += (b"\x00" if v5 else b"") + bytes(payload)
    return _packet(0x30 | qos << 1 | (1 if retain else 0), body)


def subscribe(topic: str, qos: int = 0, packet_id: int = 1, version: int = 4) -> bytes:
    """A SUBSCRIBE packet for one topic filter (§3.8)."""
    v5 = _version(version)
    if qos not in (0, 1, 2):
        raise UsageError(f"MQTT QoS is 0, 1 or 2 (not {qos})")
    if not topic:
        raise UsageError("an MQTT topic filter cannot be empty")
    body = _packet_id(packet_id) + (b"\x00" if v5 else b"") + _string(topic) + bytes((qos,))
    return _packet(0x82, body)


def unsubscribe(topic: str, packet_id: int = 1, version: int = 4) -> bytes:
    """An UNSUBSCRIBE packet for one topic filter (§3.10)."""
    v5 = _version(version)
    return _packet(0xA2, _packet_id(packet_id) + (b"\x00" if v5 else b"") + _string(topic))


def pingreq() -> bytes:
    """PINGREQ (§3.12)."""
    return b"\xc0\x00"


def disconnect() -> bytes:
    """DISCONNECT (§3.14)."""
    return b"\xe0\x00"


def acknowledge(kind: str, packet_id: int) -> bytes:
    """PUBACK, PUBREC, PUBREL or PUBCOMP for ``packet_id`` (§3.4-3.7)."""
    first = {"PUBACK": 0x40, "PUBREC": 0x50, "PUBREL": 0x62, "PUBCOMP": 0x70}[kind]
    return _packet(first, _packet_id(packet_id))


class MqttSpeaker:
    """The client side of MQTT (see the module docstring)."""

    name = "mqtt"

    def __init__(self, options: SpeakOptions) -> None:
        self.version = int(options.number("version", 4, 4, 5))
        _version(self.version)
        self.keepalive_seconds = int(options.number("keepalive", 60, 0, 65535))
        self.client_id = options.text("client_id", f"inspector-{os.urandom(4).hex()}")
        self.username = options.optional("username")
        self.password = options.optional("password")
        self.clean = options.text("clean", "1") not in ("0", "false", "no")
        self.ready = False
        self._buffer = bytearray()

    def opening(self) -> list[Outgoing]:
        """CONNECT."""
        packet = connect(self.client_id, self.keepalive_seconds, self.version, self.username,
                         self.password, self.clean)  # fmt: skip
        return [Outgoing(packet, text=False)]

    def receive(self, payload: bytes, text: bool) -> Heard:
        """Take the packets of a message or read; acknowledge, or report a refusal."""
        del text
        buffer = self._buffer
        buffer += payload
        replies: list[Outgoing] = []
        start = 0
        error: str | None = None
        while start < len(buffer) and error is None:
            try:
                size = mqtt_packet_size(buffer, start)
            except ValueError as exc:
                error = f"the broker sent a broken MQTT packet: {exc}"
                break
            if size is None or len(buffer) - start < size:
                break
            error = self._packet(bytes(buffer[start : start + size]), replies)
            start += size
        del buffer[:start]
        if error is None and len(buffer) > MAX_PENDING:
            error = f"the broker sent over {MAX_PENDING} bytes of an unfinished MQTT packet"
        return Heard(tuple(replies), error) if replies or error else NOTHING

    def _packet(self, packet: bytes, replies: list[Outgoing]) -> str | None:
        kind, flags = packet[0] >> 4, packet[0] & 0x0F
        body = _body(packet)
        if kind == 2 and len(body) >= 2:  # CONNACK
            code = body[1]
            if code:
                reason = REFUSALS.get(code, "refused")
                return f"the MQTT broker refused the connection: {code} {reason}"
            self.ready = True
        elif kind == 3:  # PUBLISH
            qos = (flags >> 1) & 3
            if qos and len(body) >= 2:
                at = 2 + int.from_bytes(body[:2], "big")
                if len(body) >= at + 2:
                    ident = int.from_bytes(body[at : at + 2], "big")
                    if ident:
                        reply = acknowledge("PUBACK" if qos == 1 else "PUBREC", ident)
                        replies.append(Outgoing(reply, text=False))
        elif kind in (5, 6) and len(body) >= 2:  # PUBREC -> PUBREL, PUBREL -> PUBCOMP
            ident = int.from_bytes(body[:2], "big")
            if ident:
                reply = acknowledge("PUBREL" if kind == 5 else "PUBCOMP", ident)
                replies.append(Outgoing(reply, text=False))
        elif kind == 14 and body:  # DISCONNECT with a reason (5.0)
            return f"the MQTT broker disconnected: {body[0]} {REFUSALS.get(body[0], '')}".strip()
        return None

    def sent(self, payload: bytes) -> None:
        """Nothing the user sends changes this client's part."""

    def keepalive_interval(self) -> float | None:
        """The keep-alive announced in CONNECT (None for 0: no keep-alive)."""
        return float(self.keepalive_seconds) or None

    def keepalive(self) -> list[Outgoing]:
        """PINGREQ."""
        return [Outgoing(pingreq(), text=False)]


def _body(packet: bytes) -> bytes:
    """A whole packet less its fixed header (type byte and remaining length)."""
    pos = 1
    while pos < len(packet) and packet[pos] & 0x80:
        pos += 1
    return packet[pos + 1 :]
