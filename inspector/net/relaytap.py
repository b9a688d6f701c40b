"""The relay's tap: what one direction of a relayed WebSocket carries, decoded after the fact.

Nothing here touches a socket: the relay forwards the bytes of a read first and hands the
same bytes to a tap afterwards. For WebSocket the tap reads the HTTP/1.1 upgrade (the
request is rewritten — ``Host``, and ``Origin`` when asked — and nothing else), then cuts
each direction into frames with the wire-frame parser and inflates permessage-deflate
with websockets' own :class:`PerMessageDeflate`, configured per direction with the
parameters the server's 101 answer negotiated (context takeover and window bits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode

from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind
from inspector.protocols.wireframes import WireFrame, WireFrameParser
from inspector.protocols.wsfast import take_plain_frames
from inspector.protocols.wsfields import frame_fields

#: The largest HTTP head (request or response) the relay reads before giving up.
MAX_HEAD = 64 * 1024
#: The largest message the tap inflates for display (the bytes are forwarded regardless).
MAX_INFLATE = 64 << 20


class HeadError(ValueError):
    """An HTTP head the relay cannot read (too long, not HTTP/1.1): one line."""


@dataclass(frozen=True, slots=True)
class HttpHead:
    """One HTTP/1.1 request or response head as it crossed the wire."""

    wire: bytes
    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None

    def values(self, name: str) -> list[str]:
        """Every value of header ``name``, in wire order."""
        low = name.lower()
        return [value for key, value in self.headers if key.lower() == low]


def take_head(buf: bytearray) -> HttpHead | None:
    """Cut a complete head off the front of ``buf``; None while it is incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise HeadError(f"no end of the HTTP head within {MAX_HEAD} bytes")
        return None
    wire = bytes(buf[: end + 4])
    del buf[: end + 4]
    lines = wire[:end].decode("latin-1").split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return HttpHead(wire, lines[0], headers)


def host_header(scheme_default: int, host: str, port: int) -> str:
    """The ``Host`` value for an upstream (RFC 7230 §5.4: no port when it is the default)."""
    name = f"[{host}]" if ":" in host else host
    return name if port == scheme_default else f"{name}:{port}"


def rewrite_request(
    head: HttpHead, host: str, origin: str | None, strip_extensions: bool = False
) -> tuple[bytes, dict[str, str]]:
    """The request to send upstream: ``Host`` (and ``Origin`` when given) replaced, every
    other byte as the client sent it; returns the bytes and the headers changed.

    ``strip_extensions`` removes the extension offer (the relay drops or cuts single
    messages, which a shared compression context would not survive)."""
    lines = head.wire[:-4].split(b"\r\n")
    changed: dict[str, str] = {}
    wanted = {b"host": host}
    if origin is not None:
        wanted[b"origin"] = origin
    seen: set[bytes] = set()
    out = [lines[0]]
    for line in lines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if strip_extensions and name == b"sec-websocket-extensions":
            changed["Sec-WebSocket-Extensions"] = ""
            continue
        if name in wanted and name not in seen:
            seen.add(name)
            value = wanted[name]
            title = "Host" if name == b"host" else "Origin"
            out.append(f"{title}: {value}".encode("latin-1"))
            changed[title] = value
            continue
        out.append(line)
    for name, value in wanted.items():
        if name not in seen:
            title = "Host" if name == b"host" else "Origin"
            out.append(f"{title}: {value}".encode("latin-1"))
            changed[title] = value
    return b"\r\n".join(out) + b"\r\n\r\n", changed


def request_fields(head: HttpHead) -> dict[str, Any]:
    """The fields of the upgrade request's HANDSHAKE record."""
    method, _, rest = head.start_line.partition(" ")
    target = rest.rpartition(" ")[0] or rest
    return {"method": method, "target": target, "headers": [list(h) for h in head.headers]}


def response_fields(head: HttpHead) -> dict[str, Any]:
    """The fields of the upstream's answer: status, reason, headers, what was agreed."""
    parts = head.start_line.split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        status = 0
    return {
        "status": status,
        "reason": parts[2] if len(parts) > 2 else "",
        "headers": [list(h) for h in head.headers],
        "accepted": status == 101,
        "subprotocol": head.get("Sec-WebSocket-Protocol"),
        "extensions": ", ".join(head.values("Sec-WebSocket-Extensions")) or None,
    }


@dataclass(frozen=True, slots=True)
class DeflateAgreement:
    """The permessage-deflate parameters a 101 answer agreed (RFC 7692 §7.1)."""

    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False
    client_max_window_bits: int = 15
    server_max_window_bits: int = 15

    def decoder(self, client_to_server: bool) -> PerMessageDeflate:
        """A decoder for what one side compresses (the client's or the server's)."""
        c_nct, s_nct = self.client_no_context_takeover, self.server_no_context_takeover
        c_bits, s_bits = self.client_max_window_bits, self.server_max_window_bits
        if client_to_server:  # decode as the server does: the remote is the client
            return PerMessageDeflate(c_nct, s_nct, c_bits, s_bits)
        return PerMessageDeflate(s_nct, c_nct, s_bits, c_bits)

    def encoder(self, client_to_server: bool) -> PerMessageDeflate:
        """An encoder for what the relay sends on: to the server as the client does
        (``client_to_server``), to the client as the server does."""
        return self.decoder(not client_to_server)


def deflate_agreement(extensions: str | None) -> DeflateAgreement | None:
    """The permessage-deflate agreement in a Sec-WebSocket-Extensions answer, or None."""
    if not extensions:
        return None
    for item in extensions.split(","):
        name, *params = (p.strip() for p in item.split(";"))
        if name.lower() != "permessage-deflate":
            continue
        values: dict[str, Any] = {}
        for param in params:
            key, _, value = param.partition("=")
            key = key.strip().lower()
            if key.endswith("no_context_takeover"):
                values[key] = True
            elif key.endswith("max_window_bits") and value.strip().strip('"').isdigit():
                values[key] = int(value.strip().strip('"'))
        return DeflateAgreement(**values)
    return None


class FrameTap:
    """Records one direction of an open WebSocket, frame by frame, from the relayed bytes."""

    def __init__(self, recorder: Recorder, direction: Direction, deflate: PerMessageDeflate | None):
        self.recorder = recorder
        self.direction = direction
        self.parser = WireFrameParser()
        self.deflate = deflate
        self.messages = 0
        self._compressed = False  # the message being continued was compressed
        self._broken: str | None = None  # why inflating stopped, if it did
        self._in_fragment = False  # a fragmented message is under way
        #: What the client sends is masked (RFC 6455 §5.1): the fast path takes it so.
        self._masked = direction is Direction.OUT
        #: Server → client frames of one read are kept as one run (one capture row, the
        #: records made only when a consumer asks); the client's masked frames have no
        #: run framing of their direction, so they stay a record each.
        self._runs = direction is Direction.IN
        #: The first close frame this direction carried: (read time, code, reason); code
        #: None when the frame had no status (RFC 6455 §7.1.5: 1005).
        self.close: tuple[int, int | None, str] | None = None

    def take(self, data: bytes, t_ns: int) -> None:
        """Record every frame ``data`` completes. Whole plain frames at a frame boundary
        (FIN text/binary, masked as the client must send them, unmasked from the server)
        are recorded straight from the bytes by the receive fast path, the server's
        uncompressed ones as one run per read; the rest goes through the parser."""
        parser = self.parser
        pos, end = 0, len(data)
        while parser.buffered and pos < end:  # finish the frame a previous read began
            size = parser.partial_size()
            need = 1 if size is None else max(size - parser.buffered, 1)
            done = parser.feed(data[pos : pos + need])
            pos += need
            if done:
                self.record(done, t_ns)
        if pos >= end:
            return
        rest = data[pos:] if pos else data
        if not self._in_fragment and self._broken is None and parser.error is None:
            fast = take_plain_frames(rest, None, self.deflate, False, self._runs, self._masked)
            if fast.count:
                self.messages += fast.count
                if fast.run is not None:
                    self.recorder.record_run(
                        self.direction, Kind.FRAME, t_ns, fast.run, fast.count, fast.framing
                    )
                else:
                    self.recorder.record_many(self.direction, Kind.FRAME, t_ns, fast.items)
            if fast.failure is not None:
                self._broken = f"cannot inflate: {fast.failure}"
            rest = fast.rest
        if rest:
            frames = parser.feed(rest)
            if frames:
                self.record(frames, t_ns)

    @property
    def at_message_boundary(self) -> bool:
        """True when no frame is half read and no fragmented message is under way."""
        return not self.parser.buffered and not self._in_fragment and self.parser.error is None

    def frames(self, data: bytes) -> list[WireFrame]:
        """The whole frames ``data`` completes (the parser keeps the rest)."""
        return self.parser.feed(data)

    def decode(self, frames: list[WireFrame]) -> list[tuple[bytes, bool, str | None]]:
        """Each frame's payload unmasked and inflated, whether compressed, and an error."""
        return [self._decode(wf) for wf in frames]

    def record(
        self,
        frames: list[WireFrame],
        t_ns: int,
        extra: list[dict[str, Any] | None] | None = None,
        decoded: list[tuple[bytes, bool, str | None]] | None = None,
    ) -> None:
        """Record ``frames`` (one read's worth), each with its fields plus ``extra``
        (``decoded``: what :meth:`decode` gave for them, when it was already called)."""
        items = []
        for index, wf in enumerate(frames):
            payload, compressed, error = self._decode(wf) if decoded is None else decoded[index]
            if wf.opcode == 8 and self.close is None:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                self.close = (t_ns, code, payload[2:].decode("utf-8", "replace"))
            fields: Any = frame_fields(wf, payload, compressed, False, error)
            more = extra[index] if extra is not None else None
            if more:
                fields = {**fields, **more}
            items.append((wf.wire, payload, fields))
        self.recorder.record_many(self.direction, Kind.FRAME, t_ns, items)

    def _decode(self, wf: WireFrame) -> tuple[bytes, bool, str | None]:
        """The frame's payload unmasked and inflated, whether it was compressed, an error."""
        opcode = wf.opcode
        payload = wf.unmasked_payload()
        if opcode in (1, 2):
            self._compressed = wf.rsv1
            self._in_fragment = not wf.fin
            if wf.fin:
                self.messages += 1
        elif opcode == 0:
            if wf.fin:
                self.messages += 1
                self._in_fragment = False
        else:
            return payload, False, None
        compressed = self._compressed
        if not compressed or self.deflate is None:
            return payload, compressed, None
        if self._broken is not None:
            return payload, True, self._broken
        try:
            frame = Frame(Opcode(opcode), payload, wf.fin, opcode != 0, wf.rsv2, wf.rsv3)
            data = self.deflate.decode(frame, max_size=MAX_INFLATE).data
        except (WebSocketException, ValueError) as exc:
            self._broken = f"cannot inflate: {exc}"
            return payload, True, self._broken
        return bytes(data), True, None
