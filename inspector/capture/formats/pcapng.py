"""pcapng export: a session as packets that Wireshark and tshark dissect.

The recorded bytes are wrapped in synthetic Ethernet + IPv4/IPv6 + TCP or UDP packets
(packets.py) stamped with the recorded times: a ws:// session reads as an HTTP Upgrade
followed by WebSocket frames, a tcp:// session as a TCP stream, a udp:// session as
datagrams. tls:// and wss:// sessions are written as their plaintext, which the
section comment says. Session facts (endpoint, timing phases, TLS details, errors) go
in comments (opt_comment) of the section, the interface and the packets.

The Section Header and Interface Description blocks are written with python-pcapng.
Enhanced Packet Blocks, the hot loop, are packed here with one ``struct`` call each
(pcapng spec §4.3): python-pcapng's generic block encoder costs ~22 µs per block
(measured), which would make a million-record export spend most of its time there.
The tests read every export back with python-pcapng's scanner and with tshark.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address
from typing import BinaryIO

from pcapng import FileWriter, blocks

from inspector import __version__
from inspector.capture.formats.common import (
    Progress,
    SessionLike,
    session_endpoint,
    session_scheme,
    started_ns,
    with_progress,
)
from inspector.capture.formats.packets import (
    MAX_SEGMENT,
    Endpoints,
    IPAddress,
    PacketMaker,
    TcpConversation,
    parse_host_port,
    to_ip,
)
from inspector.capture.formats.redact import REDACTED, redact_record, redact_target
from inspector.core.errors import CaptureError
from inspector.core.evenruns import EvenRun, Item
from inspector.core.records import Direction, Kind, Record

LINKTYPE_ETHERNET = 1
SNAPLEN = 262144
_ENDIAN = "<"
_EPB_HEAD = struct.Struct(_ENDIAN + "IIIIIII")
_U32 = struct.Struct(_ENDIAN + "I")
_OPT_HEAD = struct.Struct(_ENDIAN + "HH")
_OPT_COMMENT = 1
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")

# An error record with a direction holds bytes that crossed the wire but became no
# other record (a frame cut by EOF, bytes after a protocol violation): part of the stream.
_STREAM_KINDS = frozenset({Kind.HANDSHAKE, Kind.FRAME, Kind.DATA, Kind.MESSAGE, Kind.ERROR})
_WS_KINDS = frozenset({Kind.HANDSHAKE, Kind.FRAME, Kind.ERROR})
_TCP_KINDS = frozenset({Kind.DATA, Kind.MESSAGE, Kind.ERROR})
_MADE_UP_PORT = 54321


def _epb(ts_ns: int, data: bytes, comment: str | None) -> bytes:
    """One Enhanced Packet Block (pcapng §4.3) on interface 0, nanosecond timestamps."""
    size = len(data)
    options = b""
    if comment:
        text = comment.encode("utf-8")[:65000]
        options = _OPT_HEAD.pack(_OPT_COMMENT, len(text)) + text + _PAD[len(text) % 4]
        options += b"\0\0\0\0"
    total = 32 + size + len(_PAD[size % 4]) + len(options)
    ts = max(0, ts_ns) & 0xFFFFFFFFFFFFFFFF
    return b"".join(
        (
            _EPB_HEAD.pack(6, total, 0, ts >> 32, ts & 0xFFFFFFFF, size, size),
            data,
            _PAD[size % 4],
            options,
            _U32.pack(total),
        )
    )


def _iso(ns: int) -> str:
    """Wall-clock ns as ISO 8601 UTC, or "unknown"."""
    try:
        return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="microseconds")
    except (OverflowError, OSError, ValueError):
        return "unknown"


def _ms(value: object) -> str:
    """A duration in ns as milliseconds text."""
    return f"{value / 1e6:.3f} ms" if isinstance(value, int | float) else "?"


def rebuilt_note(record: Record) -> str:
    """The comment of a packet whose bytes an import rebuilt (a HAR keeps no frames)."""
    source = record.fields.get("rebuilt_from") or "an import"
    return f"rebuilt from {source}, not captured: these bytes were not on any wire"


def describe_meta(record: Record) -> str | None:
    """One comment line for a resolve/connect/tls/info/error/closed record."""
    fields = record.fields
    kind = record.kind
    if kind is Kind.RESOLVE:
        addresses = ", ".join(map(str, fields.get("addresses") or []))
        return f"resolve {fields.get('host', '')} → {addresses} in {_ms(fields.get('duration_ns'))}"
    if kind is Kind.CONNECT:
        return (
            f"connect {fields.get('local', '?')} → {fields.get('peer', '?')} "
            f"in {_ms(fields.get('duration_ns'))}"
        )
    if kind is Kind.TLS:
        parts = [f"TLS {fields.get('version', '?')} {fields.get('cipher', '?')}"]
        if fields.get("alpn"):
            parts.append(f"ALPN {fields['alpn']}")
        parts.append(f"verified={bool(fields.get('verified'))}")
        if fields.get("server_hostname"):
            parts.append(f"SNI {fields['server_hostname']}")
        cert = fields.get("cert")
        if isinstance(cert, Mapping):
            for name in ("subject", "issuer", "not_after", "sha256"):
                if cert.get(name):
                    parts.append(f"{name.replace('_', ' ')} {cert[name]}")
        parts.append(f"in {_ms(fields.get('duration_ns'))}")
        return "; ".join(parts)
    if kind is Kind.CLOSED:
        text = f"closed: {fields.get('message') or ''}".rstrip()
        extras = [
            f"{name}={fields[name]}"
            for name in ("clean", "close_code", "close_reason", "initiated_by")
            if fields.get(name) is not None
        ]
        if fields.get("duration_ns") is not None:
            extras.append(f"session {_ms(fields['duration_ns'])}")
        return " ".join([text, *extras])
    if kind in (Kind.ERROR, Kind.INFO):
        phase = f" ({fields['phase']})" if fields.get("phase") else ""
        return f"{kind}{phase}: {record.message or ''}"
    if kind is Kind.HANDSHAKE and record.direction is Direction.IN:
        return (
            f"WebSocket handshake: {fields.get('status', '?')} {fields.get('reason', '')} "
            f"after {_ms(fields.get('duration_ns'))}"
        )
    return None


def _choose_endpoints(session: SessionLike, metas: list[Record]) -> tuple[Endpoints, bool]:
    """Client and server addresses from the capture where it has them; True if made up."""
    endpoint = session_endpoint(session)
    connect = next((r for r in metas if r.kind is Kind.CONNECT), None)
    resolve = next((r for r in metas if r.kind is Kind.RESOLVE), None)
    peer_ip, peer_port = parse_host_port(connect.fields.get("peer")) if connect else (None, None)
    local_ip, local_port = parse_host_port(connect.fields.get("local")) if connect else (None, None)
    if connect is not None and connect.fields.get("accepted"):
        # A listener's connection: the peer is the client, this side the server.
        ends = _accepted_endpoints(peer_ip, peer_port, local_ip, local_port)
        if ends is not None:
            return ends, False
    server: IPAddress | None = to_ip(endpoint.host) if endpoint else None
    if server is None:
        server = peer_ip
    if server is None and resolve is not None:
        addresses = resolve.fields.get("addresses") or []
        server = next((a for a in map(to_ip, addresses) if a is not None), None)
    made_up = server is None or local_port is None
    if server is None:
        server = IPv4Address("127.0.0.1")
    if isinstance(server, IPv6Address) and server.ipv4_mapped is not None:
        server = server.ipv4_mapped
    if isinstance(local_ip, IPv6Address) and local_ip.ipv4_mapped is not None:
        local_ip = local_ip.ipv4_mapped
    server_port = endpoint.port if endpoint else (peer_port or 80)
    client = local_ip if local_ip is not None and local_ip.version == server.version else None
    if client is None:
        client = IPv6Address("::1") if server.version == 6 else IPv4Address("127.0.0.1")
        made_up = True
    ends = Endpoints(client, local_port or _MADE_UP_PORT, server, server_port)
    return ends, made_up


def _accepted_endpoints(
    client: IPAddress | None,
    client_port: int | None,
    server: IPAddress | None,
    server_port: int | None,
) -> Endpoints | None:
    """The ends of an accepted connection, or None when the capture lacks them."""
    if client is None or server is None or client_port is None or server_port is None:
        return None
    client, server = (
        ip.ipv4_mapped if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None else ip
        for ip in (client, server)
    )
    if client.version != server.version:
        return None
    return Endpoints(client, client_port, server, server_port)


def _section_comment(
    session: SessionLike, scheme: str, include_secrets: bool, made_up: bool
) -> str:
    """The section's comment: what session this is and how it was turned into packets."""
    endpoint = str(getattr(session, "endpoint", "") or "")
    if not include_secrets:
        endpoint = redact_target(endpoint)[0]
    lines = [
        f"Socket Inspector {__version__} session {endpoint}",
        f"started {_iso(started_ns(session))}",
    ]
    if scheme in ("wss", "tls"):
        plain = "ws://" if scheme == "wss" else "a plain TCP stream"
        lines.append(
            f"The session ran over TLS; its decrypted bytes are shown as {plain} "
            "(no TLS records are in this file)."
        )
    lines.append(
        "Packets carry the recorded bytes; Ethernet, IP and TCP/UDP headers are made here."
    )
    if made_up:
        lines.append("Addresses or ports the capture did not record are made up.")
    if include_secrets:
        lines.append("Secrets are included: header and query values are as recorded.")
    else:
        lines.append(
            "Credentials redacted: values of Authorization, Proxy-Authorization, Cookie, "
            f"Set-Cookie and of secret-looking query parameters read {REDACTED}."
        )
    summary = getattr(session, "summary", None)
    if isinstance(summary, Mapping) and summary:
        lines.append("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return "\n".join(lines)


class _Writer:
    """Writes the header blocks on first use and packet blocks after them."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.packets = 0
        self._pending: list[bytes] = []
        self._pending_size = 0

    def header(self, section_comment: str, interface_comment: str, description: str) -> None:
        shb = blocks.SectionHeader(
            endianness=_ENDIAN,
            options={
                "opt_comment": section_comment,
                "shb_userappl": f"Socket Inspector {__version__}",
            },
        )
        # python-pcapng warns that if_tsresol has no declared type; its raw byte is right.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self._interface(shb, interface_comment, description)
            FileWriter(self.out, shb)

    @staticmethod
    def _interface(shb: blocks.SectionHeader, interface_comment: str, description: str) -> None:
        shb.new_member(
            blocks.InterfaceDescription,
            link_type=LINKTYPE_ETHERNET,
            snaplen=SNAPLEN,
            options={
                "if_name": "inspector",
                "if_description": description,
                "if_tsresol": b"\x09",
                "opt_comment": interface_comment or "no connection details recorded",
            },
        )

    def packet(self, ts_ns: int, frame: bytes, comment: str | None) -> None:
        block = _epb(ts_ns, frame, comment)
        self._pending.append(block)
        self._pending_size += len(block)
        self.packets += 1
        if self._pending_size >= 1 << 20:
            self.flush()

    def packets_of(self, ts_ns: int, frames: list[bytes], comment: str | None) -> None:
        """:meth:`packet` of each frame, all of one time and one size (one header and
        trailer packed for all of them); ``comment`` goes on the first."""
        if comment or not frames:
            for frame in frames:
                self.packet(ts_ns, frame, comment)
                comment = None
            return
        size = len(frames[0])
        total = 32 + size + len(_PAD[size % 4])
        ts = max(0, ts_ns) & 0xFFFFFFFFFFFFFFFF
        head = _EPB_HEAD.pack(6, total, 0, ts >> 32, ts & 0xFFFFFFFF, size, size)
        tail = _PAD[size % 4] + _U32.pack(total)
        self._pending.append(head + (tail + head).join(frames) + tail)
        self._pending_size += total * len(frames)
        self.packets += len(frames)
        if self._pending_size >= 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.out.write(b"".join(self._pending))
            self._pending.clear()
            self._pending_size = 0


def export_pcapng(
    out: BinaryIO,
    session: SessionLike,
    records: Iterable[Item],
    *,
    include_secrets: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write ``records`` of ``session`` to ``out`` as pcapng; return the packet count.

    Raises :class:`CaptureError` when ``out`` cannot be written, and
    :class:`ExportCancelled` when ``progress`` returns False.
    """
    try:
        return _export(out, session, records, include_secrets, progress)
    except OSError as exc:
        raise CaptureError(f"cannot write the pcapng file: {exc.strerror or exc}") from None


def _export(
    out: BinaryIO,
    session: SessionLike,
    records: Iterable[Item],
    include_secrets: bool,
    progress: Progress | None,
) -> int:
    export = _PcapngExport(out, session, include_secrets)
    for record in with_progress(records, progress):
        if type(record) is EvenRun:
            export.add_even(record)
        else:
            export.add(record)  # type: ignore[arg-type]
    export.finish()
    return export.writer.packets


class _PcapngExport:
    """One export run: holds the connection details until the first packet, then streams."""

    def __init__(self, out: BinaryIO, session: SessionLike, include_secrets: bool) -> None:
        self.session = session
        self.include_secrets = include_secrets
        self.scheme = session_scheme(session)
        self.udp = self.scheme == "udp"
        if self.scheme in ("ws", "wss"):
            self.stream_kinds = _WS_KINDS
        elif self.scheme in ("tcp", "tls"):
            self.stream_kinds = _TCP_KINDS
        else:
            self.stream_kinds = _STREAM_KINDS
        self.writer = _Writer(out)
        self.start = started_ns(session)
        self.last_ts = self.start
        self.metas: list[Record] = []
        self.comments: list[str] = []
        self.maker: PacketMaker | None = None
        self.conv: TcpConversation | None = None
        self.closed: Record | None = None
        self.last_wire: dict[Direction, bytes] = {}
        #: A listener's connection: what this side sent goes from the server.
        self.accepted = False
        #: A relay pair: the upstream leg is a second conversation (relay → server).
        self.upstream_maker: PacketMaker | None = None
        self.upstream_conv: TcpConversation | None = None

    def _carries(self, record: Record) -> bool:
        """True when the record's wire bytes go into a packet."""
        if record.direction is Direction.META:
            return False
        if self.udp:
            return record.kind is Kind.DATAGRAM or (record.kind is Kind.ERROR and bool(record.wire))
        return bool(record.wire) and record.kind in self.stream_kinds

    def begin(self, first_ts: int | None) -> None:
        """Write the header blocks and, for TCP with a first packet time, the handshake."""
        ends, made_up = _choose_endpoints(self.session, self.metas)
        self.accepted = any(r.kind is Kind.CONNECT and r.fields.get("accepted") for r in self.metas)
        lines = [line for r in self.metas if (line := describe_meta(r))]
        endpoint = str(getattr(self.session, "endpoint", "") or "")
        if not self.include_secrets:
            endpoint = redact_target(endpoint)[0]
        self.writer.header(
            _section_comment(self.session, self.scheme, self.include_secrets, made_up),
            "\n".join(lines),
            endpoint,
        )
        self.maker = PacketMaker(ends)
        self._begin_upstream(first_ts)
        if self.udp or first_ts is None:
            return
        self.conv = TcpConversation(self.maker, self.writer.packet, self.writer.packets_of)
        connect = next((r for r in self.metas if r.kind is Kind.CONNECT), None)
        t_ack = self.start + connect.t_ns if connect is not None else first_ts
        duration = connect.fields.get("duration_ns") if connect is not None else None
        t_syn = t_ack - duration if isinstance(duration, int) and duration >= 0 else t_ack
        self.conv.open(min(t_syn, first_ts), min(t_ack, first_ts))

    def add(self, record: Record) -> None:
        ts = self.start + record.t_ns
        carries = self._carries(record)
        if carries and record.kind is Kind.ERROR:
            # The engine may record a rejected frame both as a frame (with "error") and
            # as an error holding the same bytes: they crossed the wire once.
            carries = record.wire != self.last_wire.get(record.direction)
        if carries:
            self.last_wire[record.direction] = record.wire
        if self.maker is None:
            if not carries:
                self.metas.append(record)
                return
            self.begin(ts)
        if not self.include_secrets and record.kind is Kind.HANDSHAKE:
            record, changed = redact_record(record)
            if changed:
                self.comments.append("credentials redacted in this message")
        if not carries:
            line = describe_meta(record)
            if line:
                self.comments.append(line)
            if record.kind is Kind.CLOSED:
                self.closed = record
            return
        if record.kind is Kind.ERROR or (
            record.kind is Kind.HANDSHAKE and record.direction is Direction.IN
        ):
            line = describe_meta(record)
            if line:
                self.comments.append(line)
        if record.fields.get("synthesised"):
            self.comments.append(rebuilt_note(record))
        comment = None
        if self.comments:
            comment = "\n".join(self.comments) or None
            self.comments.clear()
        from_client = (record.direction is Direction.OUT) is not self.accepted
        if self.upstream_maker is not None:
            self._relayed(record, ts, comment)
            return
        if self.conv is not None:
            self.conv.send(from_client, record.wire, ts, comment)
        else:
            assert self.maker is not None
            self.writer.packet(ts, self.maker.udp(from_client, record.wire), comment)
        if ts > self.last_ts:
            self.last_ts = ts

    def add_even(self, run: EvenRun) -> None:
        """:meth:`add` of each record of ``run``: its frames made in one batch when they
        are plain data on an open TCP conversation (the common case of a flood)."""
        first = run.first()
        if self.maker is None and run.run.count > 1 and self._carries(first):
            self.add(first)  # the first packet: the headers and the TCP handshake first
            run = run.rest()
            first = run.first()
        if (
            self.conv is None
            or self.upstream_maker is not None
            or not self._carries(first)
            or first.kind is Kind.ERROR
            or first.kind is Kind.HANDSHAKE
            or first.fields.get("synthesised")
            or not 0 < run.stride <= MAX_SEGMENT
        ):
            for record in run.records():
                self.add(record)
            return
        ts = self.start + first.t_ns
        comment = "\n".join(self.comments) or None
        self.comments.clear()
        from_client = (first.direction is Direction.OUT) is not self.accepted
        wire = run.run.wire
        self.conv.send_even(from_client, wire, run.stride, ts, comment)
        self.last_wire[first.direction] = wire[-run.stride :]
        if ts > self.last_ts:
            self.last_ts = ts

    def _begin_upstream(self, first_ts: int | None) -> None:
        """A relay pair (a CONNECT with ``leg: upstream``): its second conversation."""
        connect = next(
            (r for r in self.metas if r.kind is Kind.CONNECT and r.fields.get("leg") == "upstream"),
            None,
        )
        if connect is None:
            return
        local_ip, local_port = parse_host_port(connect.fields.get("local"))
        peer_ip, peer_port = parse_host_port(connect.fields.get("peer"))
        ends = _accepted_endpoints(local_ip, local_port, peer_ip, peer_port)
        if ends is None:
            return
        self.accepted = True  # the first CONNECT is the client's, accepted by the relay
        self.upstream_maker = PacketMaker(ends)
        if self.udp or first_ts is None:
            return
        self.upstream_conv = TcpConversation(self.upstream_maker, self.writer.packet)
        t_ack = self.start + connect.t_ns
        duration = connect.fields.get("duration_ns")
        t_syn = t_ack - duration if isinstance(duration, int) and duration >= 0 else t_ack
        self.upstream_conv.open(min(t_syn, first_ts), min(t_ack, first_ts))

    def _relayed(self, record: Record, ts: int, comment: str | None) -> None:
        """A relay pair's record: on the leg it was read from, then (unless a fault
        dropped it) on the leg it was written to, ``held_ms`` later. What the relay did
        not pass on as read (held, re-framed, taken by a rule: ``forwarded: false`` or
        ``reframed``) is on the first leg only; what the relay wrote itself
        (``injected``) on the second only."""
        assert self.maker is not None and self.upstream_maker is not None
        c2s = record.direction is Direction.OUT
        wire = record.wire
        sent = wire
        fields = record.fields
        if fields.get("lost") or fields.get("forwarded") is False or fields.get("reframed"):
            sent = b""
        elif record.fields.get("cut"):
            sent = wire[: int(record.fields.get("sent_bytes") or 0)]
        held = record.fields.get("held_ms")
        later = ts + int(held * 1_000_000) if isinstance(held, (int, float)) else ts
        legs = [
            (self.maker, self.conv, wire, ts),
            (self.upstream_maker, self.upstream_conv, sent, later),
        ]
        if not c2s:
            legs = [
                (self.upstream_maker, self.upstream_conv, wire, ts),
                (self.maker, self.conv, sent, later),
            ]
        if fields.get("injected"):
            legs = [(legs[1][0], legs[1][1], wire, later)]
        for index, (maker, conv, data, at) in enumerate(legs):
            if not data and index:
                continue
            note = comment if index == 0 else None
            if conv is not None:
                conv.send(c2s, data, at, note)
            else:
                self.writer.packet(at, maker.udp(c2s, data), note)
            self.last_ts = max(self.last_ts, at)

    def finish(self) -> None:
        """Close the TCP connection (FIN both ways) and flush."""
        if self.maker is None:
            connected = any(r.kind is Kind.CONNECT for r in self.metas)
            if connected and not self.udp:
                connect_ts = max(self.start + r.t_ns for r in self.metas)
                self.begin(connect_ts)
                self.last_ts = max(self.last_ts, connect_ts)
            else:
                self.begin(None)
        if self.conv is not None:
            closed = self.closed
            end_ts = self.last_ts if closed is None else max(self.last_ts, self.start + closed.t_ns)
            client_first = closed is None or closed.fields.get("initiated_by") != "server"
            self.conv.close(end_ts, client_first, "\n".join(self.comments) or None)
            if self.upstream_conv is not None:
                self.upstream_conv.close(end_ts, client_first, None)
        self.writer.flush()
