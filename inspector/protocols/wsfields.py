"""The fields of a FRAME record, read from the frame's exact bytes (RFC 6455 §5.2)."""

from __future__ import annotations

import struct
from typing import Any

from inspector.protocols.wireframes import WireFrame, opcode_name, range_lists


def close_payload_fields(payload: bytes) -> tuple[int | None, str | None]:
    """Close code and reason of a close frame's payload (RFC 6455 §5.5.1), never raising."""
    if len(payload) < 2:
        return None, None
    (code,) = struct.unpack_from("!H", payload)
    return code, payload[2:].decode("utf-8", "replace")


def frame_fields(
    wf: WireFrame,
    payload: bytes,
    compressed: bool,
    automatic: bool,
    error: str | None = None,
) -> dict[str, Any]:
    """Every field docs/internals.md lists for a frame record; built once per frame."""
    wire = wf.wire
    first = wire[0]
    opcode = first & 0x0F
    masked = bool(wire[1] & 0x80)
    hl = wf.header_len
    fields: dict[str, Any] = {
        "opcode": opcode_name(opcode),
        "opcode_value": opcode,
        "fin": bool(first & 0x80),
        "rsv1": bool(first & 0x40),
        "rsv2": bool(first & 0x20),
        "rsv3": bool(first & 0x10),
        "masked": masked,
        "mask_key": wire[hl - 4 : hl].hex() if masked else None,
        "header_len": hl,
        "payload_len": wf.payload_len,
        "compressed": compressed,
        "automatic": automatic,
        "ranges": range_lists(hl, masked, wf.payload_len),
    }
    if opcode == 8:
        fields["close_code"], fields["close_reason"] = close_payload_fields(payload)
    if error is not None:
        fields["error"] = error
    return fields
