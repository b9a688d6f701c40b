"""Synthetic Ethernet/IPv4/IPv6/TCP/UDP packets around recorded bytes, with valid
checksums, so that a packet analyser dissects a session as if it had been sniffed."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

#: Made-up, locally administered MAC addresses (IEEE 802: second bit of the first octet).
CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
PROTO_TCP, PROTO_UDP = 6, 17

#: Largest TCP payload per segment: an IPv4 packet's total length must fit 16 bits.
MAX_SEGMENT = 65000
#: The receiver acknowledges at least this often when only one side talks.
ACK_EVERY = 1 << 20
#: Window scale shift announced in SYN and SYN-ACK (RFC 7323 §2): 65535 << 7 ≈ 8 MiB.
WINDOW_SHIFT = 7
WINDOW = 65535
#: SYN options (RFC 9293 §3.2, RFC 7323 §2.2): MSS 65495, NOP, window scale.
SYN_OPTIONS = struct.pack("!BBHBBBB", 2, 4, 65495, 1, 3, 3, WINDOW_SHIFT)

_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_TCP = struct.Struct("!HHIIBBHHH")
#: An IPv4 header and a TCP header without options, packed at once (the data path).
_IPV4_TCP = struct.Struct("!BBHHHBBH4s4sHHIIBBHHH")
_UDP = struct.Struct("!HHHH")

IPAddress = IPv4Address | IPv6Address
#: Where packets go: (timestamp in ns since the epoch, Ethernet frame, comment or None).
Emit = Callable[[int, bytes, "str | None"], None]
#: Where packets of one time and one size go at once (Ethernet frames; comment on the first).
EmitMany = Callable[[int, list[bytes], "str | None"], None]


def parse_host_port(text: object) -> tuple[IPAddress | None, int | None]:
    """``"1.2.3.4:5"`` or ``"[::1]:5"`` as an IP address and a port; None for what is not."""
    if not isinstance(text, str) or not text:
        return None, None
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, ""
    host = host.strip("[]").split("%", 1)[0]
    address = to_ip(host)
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
    return address, port


def to_ip(text: object) -> IPAddress | None:
    """An IP address from text, or None when it is not an IP literal."""
    if not isinstance(text, str):
        return None
    try:
        return ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _sum16(data: bytes) -> int:
    """The 16-bit one's complement sum of ``data`` modulo 0xFFFF (RFC 1071 §2: since
    2**16 ≡ 1 mod 0xFFFF, a big-endian integer is congruent to the sum of its words)."""
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    return value % 0xFFFF


def _fold(total: int) -> int:
    """The checksum field for a congruent sum: its one's complement, never 0 (so UDP's
    "no checksum" value is never produced; 0xFFFF is the same as 0 in one's complement)."""
    return 0xFFFF - (total % 0xFFFF)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The two ends of a synthesised conversation."""

    client_ip: IPAddress
    client_port: int
    server_ip: IPAddress
    server_port: int


class PacketMaker:
    """Builds Ethernet frames carrying TCP segments or UDP datagrams between two ends."""

    def __init__(self, ends: Endpoints) -> None:
        self.ends = ends
        self.v6 = ends.server_ip.version == 6
        client, server = ends.client_ip.packed, ends.server_ip.packed
        ethertype = b"\x86\xdd" if self.v6 else b"\x08\x00"
        self._eth = {
            True: SERVER_MAC + CLIENT_MAC + ethertype,
            False: CLIENT_MAC + SERVER_MAC + ethertype,
        }
        self._addrs = {True: (client, server), False: (server, client)}
        self._ports = {
            True: (ends.client_port, ends.server_port),
            False: (ends.server_port, ends.client_port),
        }
        # Address part of the pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1), same both ways.
        self._pseudo = _sum16(client + server)
        self._ident = {True: 0, False: 0}

    def _ip(self, from_client: bool, proto: int, length: int) -> bytes:
        src, dst = self._addrs[from_client]
        if self.v6:
            return _IPV6.pack(0x60000000, length, proto, 64, src, dst)
        ident = self._ident[from_client]
        self._ident[from_client] = (ident + 1) & 0xFFFF
        # RFC 791 §3.1: version 4, IHL 5, DF set, TTL 64, header checksum: the header's
        # 16-bit words summed with the checksum field as 0 (the addresses' sum is _pseudo).
        words = 0x4500 + 20 + length + ident + 0x4000 + (64 << 8 | proto) + self._pseudo
        return _IPV4.pack(0x45, 0, 20 + length, ident, 0x4000, 64, proto, _fold(words), src, dst)

    def tcp(
        self,
        from_client: bool,
        seq: int,
        ack: int,
        flags: int,
        payload: bytes = b"",
        options: bytes = b"",
        window: int = WINDOW,
    ) -> bytes:
        """One Ethernet frame with a TCP segment (RFC 9293 §3.1) and a valid checksum."""
        sport, dport = self._ports[from_client]
        offset = (20 + len(options)) // 4
        length = offset * 4 + len(payload)
        # The pseudo-header and the header's 16-bit words, the checksum field as 0.
        total = (
            self._pseudo + PROTO_TCP + length + sport + dport + (seq >> 16) + (seq & 0xFFFF)
            + (ack >> 16) + (ack & 0xFFFF) + (offset << 12 | flags) + window
        )  # fmt: skip
        if options:
            total += _sum16(options)
        if payload:
            total += _sum16(payload)
        header = _TCP.pack(sport, dport, seq, ack, offset << 4, flags, window, _fold(total), 0)
        return b"".join(
            (self._eth[from_client], self._ip(from_client, PROTO_TCP, length), header, options,
             payload)
        )  # fmt: skip

    def udp(self, from_client: bool, payload: bytes) -> bytes:
        """One Ethernet frame with a UDP datagram (RFC 768) and a valid checksum."""
        sport, dport = self._ports[from_client]
        length = 8 + len(payload)
        header = _UDP.pack(sport, dport, length, 0)
        total = self._pseudo + PROTO_UDP + length + _sum16(header) + _sum16(payload)
        return b"".join(
            (
                self._eth[from_client],
                self._ip(from_client, PROTO_UDP, length),
                header[:6],
                _fold(total).to_bytes(2, "big"),
                payload,
            )
        )

    def tcp_data(
        self, from_client: bool, seq: int, ack: int, wire: bytes, stride: int
    ) -> list[bytes]:
        """:meth:`tcp` of each ``stride`` bytes of ``wire`` (at most MAX_SEGMENT each) as
        ACK+PSH segments numbered on from ``seq``: the same frames, with what they share
        (ends, lengths, the acknowledgement) summed once."""
        sport, dport = self._ports[from_client]
        length = 20 + stride
        flags = TCP_ACK | TCP_PSH
        shared = (
            self._pseudo + PROTO_TCP + length + sport + dport + (ack >> 16) + (ack & 0xFFFF)
            + (5 << 12 | flags) + WINDOW
        )  # fmt: skip
        odd = stride & 1
        frames: list[bytes] = []
        append = frames.append
        if self.v6:
            head = self._eth[from_client] + self._ip(from_client, PROTO_TCP, length)
            pack = _TCP.pack
            for pos in range(0, len(wire), stride):
                chunk = wire[pos : pos + stride]
                total = shared + (seq >> 16) + (seq & 0xFFFF) + (int.from_bytes(chunk) << 8 * odd)
                append(head + pack(sport, dport, seq, ack, 0x50, flags, WINDOW,
                                   0xFFFF - total % 0xFFFF, 0) + chunk)  # fmt: skip
                seq = (seq + stride) & 0xFFFFFFFF
            return frames
        eth = self._eth[from_client]
        src, dst = self._addrs[from_client]
        ident = self._ident[from_client]
        # RFC 791 §3.1 as in _ip: the header's words but the identification, summed once.
        words = 0x4500 + 20 + length + 0x4000 + (64 << 8 | PROTO_TCP) + self._pseudo
        pack = _IPV4_TCP.pack
        for pos in range(0, len(wire), stride):
            chunk = wire[pos : pos + stride]
            total = shared + (seq >> 16) + (seq & 0xFFFF) + (int.from_bytes(chunk) << 8 * odd)
            append(eth + pack(0x45, 0, 20 + length, ident, 0x4000, 64, PROTO_TCP,
                              0xFFFF - (words + ident) % 0xFFFF, src, dst, sport, dport, seq,
                              ack, 0x50, flags, WINDOW, 0xFFFF - total % 0xFFFF, 0)
                   + chunk)  # fmt: skip
            ident = (ident + 1) & 0xFFFF
            seq = (seq + stride) & 0xFFFFFFFF
        self._ident[from_client] = ident
        return frames


class TcpConversation:
    """Sequence and acknowledgement numbers of one TCP connection, emitting packets to
    ``emit(ts_ns, frame, comment)``: handshake, data segments, pure ACKs and the close."""

    def __init__(self, maker: PacketMaker, emit: Emit, emit_many: EmitMany | None = None) -> None:
        self.maker = maker
        self.emit = emit
        self.emit_many = emit_many
        # Fixed initial sequence numbers keep exports reproducible.
        self.next_seq = {True: 0x10000000, False: 0x20000000}
        self.acked = {True: 0x10000000, False: 0x20000000}

    def open(self, t_syn: int, t_ack: int, comment: str | None = None) -> None:
        """SYN, SYN-ACK, ACK (RFC 9293 §3.5), the SYN-ACK half way between."""
        maker, seq = self.maker, self.next_seq
        self.emit(t_syn, maker.tcp(True, seq[True], 0, TCP_SYN, options=SYN_OPTIONS), comment)
        seq[True] += 1
        t_mid = t_syn + max(0, t_ack - t_syn) // 2
        frame = maker.tcp(False, seq[False], seq[True], TCP_SYN | TCP_ACK, options=SYN_OPTIONS)
        self.emit(t_mid, frame, None)
        seq[False] += 1
        self.emit(t_ack, maker.tcp(True, seq[True], seq[False], TCP_ACK), None)
        self.acked[True], self.acked[False] = seq[True], seq[False]

    def send(self, from_client: bool, data: bytes, ts: int, comment: str | None = None) -> None:
        """``data`` as one or more segments, then a pure ACK when much is unacknowledged."""
        seq, maker = self.next_seq, self.maker
        view = memoryview(data)
        size = len(data)
        for start in range(0, size, MAX_SEGMENT):
            chunk = (
                data
                if size <= MAX_SEGMENT and type(data) is bytes
                else bytes(view[start : start + MAX_SEGMENT])
            )
            flags = TCP_ACK | (TCP_PSH if start + MAX_SEGMENT >= size else 0)
            frame = maker.tcp(from_client, seq[from_client], seq[not from_client], flags, chunk)
            self.emit(ts, frame, comment)
            comment = None
            seq[from_client] = (seq[from_client] + len(chunk)) & 0xFFFFFFFF
        self.acked[not from_client] = seq[not from_client]
        if (seq[from_client] - self.acked[from_client]) & 0xFFFFFFFF >= ACK_EVERY:
            self.ack(not from_client, ts)

    def send_even(
        self, from_client: bool, wire: bytes, stride: int, ts: int, comment: str | None = None
    ) -> None:
        """:meth:`send` of each ``stride`` bytes of ``wire`` in turn (each at most
        MAX_SEGMENT), the segments between pure ACKs made and emitted as one batch."""
        seq, acked, other = self.next_seq, self.acked, not from_client
        acked[other] = seq[other]
        pos, size = 0, len(wire)
        while pos < size:
            # Messages until the one after which send() would acknowledge.
            unacked = (seq[from_client] - acked[from_client]) & 0xFFFFFFFF
            take = max(1, -(-(ACK_EVERY - unacked) // stride))
            end = min(size, pos + take * stride)
            frames = self.maker.tcp_data(from_client, seq[from_client], seq[other],
                                         wire[pos:end], stride)  # fmt: skip
            if self.emit_many is not None:
                self.emit_many(ts, frames, comment)
            else:
                for frame in frames:
                    self.emit(ts, frame, comment)
                    comment = None
            comment = None
            seq[from_client] = (seq[from_client] + (end - pos)) & 0xFFFFFFFF
            pos = end
            if (seq[from_client] - acked[from_client]) & 0xFFFFFFFF >= ACK_EVERY:
                self.ack(other, ts)

    def ack(self, from_client: bool, ts: int) -> None:
        """A pure ACK from one side of everything the other side sent."""
        seq = self.next_seq
        frame = self.maker.tcp(from_client, seq[from_client], seq[not from_client], TCP_ACK)
        self.emit(ts, frame, None)
        self.acked[not from_client] = seq[not from_client]

    def close(self, ts: int, client_first: bool = True, comment: str | None = None) -> None:
        """FIN from one side, FIN from the other, last ACK (RFC 9293 §3.6)."""
        seq, maker = self.next_seq, self.maker
        first = client_first
        for side in (first, not first):
            frame = maker.tcp(side, seq[side], seq[not side], TCP_FIN | TCP_ACK)
            self.emit(ts, frame, comment)
            comment = None
            seq[side] = (seq[side] + 1) & 0xFFFFFFFF
        self.emit(ts, maker.tcp(first, seq[first], seq[not first], TCP_ACK), None)
