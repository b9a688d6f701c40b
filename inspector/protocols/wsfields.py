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


#: Fields fixed by the first header byte, the mask bit, the header length and the two
#: flags, built once per combination and copied per frame (the hot path at 100k+ frames/s).
_TEMPLATES: dict[tuple[int, bool, int, bool, bool], dict[str, Any]] = {}


def _template(
    first: int, masked: bool, hl: int, compressed: bool, automatic: bool
) -> dict[str, Any]:
    opcode = first & 0x0F
    template = _TEMPLATES[first, masked, hl, compressed, automatic] = {
        "opcode": opcode_name(opcode),
        "opcode_value": opcode,
        "fin": bool(first & 0x80),
        "rsv1": bool(first & 0x40),
        "rsv2": bool(first & 0x20),
        "rsv3": bool(first & 0x10),
        "masked": masked,
        "mask_key": None,
        "header_len": hl,
        "payload_len": 0,
        "compressed": compressed,
        "automatic": automatic,
        "ranges": None,
    }
    return template


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
    masked = wire[1] > 0x7F
    hl = wf.header_len
    template = _TEMPLATES.get((first, masked, hl, compressed, automatic))
    if template is None:
        template = _template(first, masked, hl, compressed, automatic)
    fields = template.copy()
    pl = wf.payload_len
    fields["payload_len"] = pl
    fields["ranges"] = range_lists(hl, masked, pl)
    if masked:
        fields["mask_key"] = wire[hl - 4 : hl].hex()
    if first & 0x0F == 8:
        fields["close_code"], fields["close_reason"] = close_payload_fields(payload)
    if error is not None:
        fields["error"] = error
    return fields
