"""Raw WebSocket frames built bit by bit, to test how a server treats broken input.

A :class:`RawFrame` says every field of the RFC 6455 §5.2 header on purpose: any
opcode (reserved ones too), FIN and the three RSV bits, masked or not with any key,
a payload length that may differ from the payload actually sent, and the length's
encoding (the shortest form, or a 16/64-bit form where a shorter one would do).
:func:`build` turns it into exactly those bytes, with no check and no correction;
:func:`violations` lists, one line each, what in it breaks RFC 6455 for the side that
sends it, so the window can mark the frame as deliberately invalid.

Pure functions over bytes: no sockets, no state, nothing random unless asked
(:func:`random_mask_key`).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from enum import Enum

from inspector.core.records import is_utf8
from inspector.protocols.wireframes import opcode_name, unmask
from inspector.protocols.wsstate import Role as Role  # the side that sends the frame

#: Close codes an endpoint must not send in a close frame (RFC 6455 §7.4.1).
NOT_SENDABLE_CLOSE = frozenset({1004, 1005, 1006, 1015})
MAX_CONTROL_PAYLOAD = 125


class LengthForm(Enum):
    """How the payload length is written (RFC 6455 §5.2)."""

    SHORTEST = "shortest"  # 7 bits up to 125, else 16 bits up to 65535, else 64 bits
    BITS16 = "16-bit"  # 126 then two bytes
    BITS64 = "64-bit"  # 127 then eight bytes


@dataclass(frozen=True, slots=True)
class RawFrame:
    """Every header field of one frame, as the user chose it."""

    opcode: int = 0x1
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    masked: bool = True
    mask_key: bytes = b"\x00\x00\x00\x00"
    #: The payload length written in the header; None writes the true length.
    declared_length: int | None = None
    length_form: LengthForm = LengthForm.SHORTEST

    @property
    def length(self) -> int:
        """The payload length the header states."""
        return len(self.payload) if self.declared_length is None else self.declared_length


_FORM_ORDER = {LengthForm.SHORTEST: 0, LengthForm.BITS16: 1, LengthForm.BITS64: 2}


def shortest_form(length: int) -> LengthForm:
    """The encoding RFC 6455 §5.2 asks for: 7 bits up to 125, 16 bits up to 65535."""
    if length <= 125:
        return LengthForm.SHORTEST
    return LengthForm.BITS16 if length <= 0xFFFF else LengthForm.BITS64


def random_mask_key() -> bytes:
    """A fresh unpredictable masking key, as RFC 6455 §5.3 asks of clients."""
    return os.urandom(4)


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    """A close frame's payload: a two-byte code (any 0-65535, reserved ones too) and the
    reason bytes as given; no code gives the reason alone (empty for a bare close)."""
    if code is None:
        return reason
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"a close code is two bytes: {code} is out of 0-65535")
    return struct.pack("!H", code) + reason


def header(frame: RawFrame) -> bytes:
    """The frame's header bytes, mask key included."""
    if not 0 <= frame.opcode <= 0xF:
        raise ValueError(f"an opcode is four bits: {frame.opcode} is out of 0-15")
    length = frame.length
    if not 0 <= length < 1 << 63:
        raise ValueError(f"a payload length is 0 to 2^63-1, not {length}")
    if frame.masked and len(frame.mask_key) != 4:
        raise ValueError("a masking key is four bytes")
    first = (
        (0x80 if frame.fin else 0)
        | (0x40 if frame.rsv1 else 0)
        | (0x20 if frame.rsv2 else 0)
        | (0x10 if frame.rsv3 else 0)
        | frame.opcode
    )
    mask_bit = 0x80 if frame.masked else 0
    form = frame.length_form
    if form is LengthForm.SHORTEST:
        form = shortest_form(length)
    if form is LengthForm.SHORTEST:
        head = bytes([first, mask_bit | length])
    elif form is LengthForm.BITS16:
        if length > 0xFFFF:
            raise ValueError(f"{length} does not fit a 16-bit length")
        head = bytes([first, mask_bit | 126]) + struct.pack("!H", length)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack("!Q", length)
    return head + (frame.mask_key if frame.masked else b"")


def build(frame: RawFrame) -> bytes:
    """The frame exactly as described: header, then the payload (masked with the key
    when MASK is set). A declared length that lies is written as it is."""
    body = unmask(frame.payload, frame.mask_key) if frame.masked else frame.payload
    return header(frame) + body


def violations(frame: RawFrame, role: Role = Role.CLIENT, extensions: bool = False) -> list[str]:
    """What in ``frame`` breaks RFC 6455 when ``role`` sends it, one line each (empty
    for a valid frame). ``extensions`` is True when an extension (permessage-deflate)
    was negotiated, which gives RSV1 a meaning on data frames."""
    out: list[str] = []
    op = frame.opcode
    control = op >= 0x8
    if op in (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF):
        out.append(f"opcode 0x{op:X} is reserved (RFC 6455 §5.2)")
    if frame.rsv1 and not (extensions and op in (0x1, 0x2)):
        out.append("RSV1 is set but no extension gives it a meaning (RFC 6455 §5.2)")
    for name, bit in (("RSV2", frame.rsv2), ("RSV3", frame.rsv3)):
        if bit:
            out.append(f"{name} is set but no extension gives it a meaning (RFC 6455 §5.2)")
    if role is Role.CLIENT and not frame.masked:
        out.append("a client frame must be masked (RFC 6455 §5.1)")
    if role is Role.SERVER and frame.masked:
        out.append("a server frame must not be masked (RFC 6455 §5.1)")
    if frame.length != len(frame.payload):
        out.append(f"the header says {frame.length} payload bytes but {len(frame.payload)} follow")
    if _FORM_ORDER[frame.length_form] > _FORM_ORDER[shortest_form(frame.length)]:
        out.append("the length is not written in its shortest form (RFC 6455 §5.2)")
    if control and not frame.fin:
        out.append(f"a {opcode_name(op)} frame must not be fragmented (RFC 6455 §5.5)")
    if control and frame.length > MAX_CONTROL_PAYLOAD:
        out.append(f"a {opcode_name(op)} payload is at most 125 bytes (RFC 6455 §5.5)")
    if op == 0x8:
        out.extend(_close_violations(frame.payload))
    if op == 0x1 and frame.fin and not is_utf8(frame.payload):
        out.append("a text message must be UTF-8 (RFC 6455 §5.6)")
    return out


def _close_violations(payload: bytes) -> list[str]:
    """RFC 6455 §5.5.1 and §7.4: a close payload is empty or a code and a UTF-8 reason."""
    if len(payload) == 1:
        return ["a close payload of one byte has no whole code (RFC 6455 §5.5.1)"]
    if not payload:
        return []
    out = []
    (code,) = struct.unpack("!H", payload[:2])
    if code in NOT_SENDABLE_CLOSE or code < 1000 or 1016 <= code <= 2999 or code >= 5000:
        out.append(f"close code {code} must not be sent (RFC 6455 §7.4)")
    if not is_utf8(payload[2:]):
        out.append("a close reason must be UTF-8 (RFC 6455 §5.5.1)")
    return out
