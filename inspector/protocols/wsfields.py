"""Fields and one-line messages of WebSocket records, built from the library's state."""

from __future__ import annotations

import struct
from typing import Any

from websockets.exceptions import InvalidHeader, InvalidStatus, NegotiationError, PayloadTooBig
from websockets.http11 import Response
from websockets.protocol import Protocol

from inspector.protocols.wireframes import WireFrame, opcode_name, parse_frame, range_lists


def one_line(exc: BaseException) -> str:
    """An exception as one line of text, with its cause when that says more."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause):
        text = f"{text}: {' '.join(str(cause).split())}"
    return text


def violation_line(reason: str, code: int, peer: str = "server") -> str:
    """The one line shown when the peer (the server, or a client) breaks RFC 6455."""
    return f"protocol violation by the {peer}: {reason}; closing with {code}"


def describe_violation(
    exc: BaseException,
    frame_start: bytes,
    *,
    bad_text: bool,
    max_size: int | None,
    peer: str = "server",
) -> str:
    """What the server did wrong, in words a person reads, with the RFC rule it broke.

    ``exc`` is why websockets' parser stopped, ``frame_start`` the first bytes of the
    offending frame (as much as arrived; the close payload when it is a close frame)
    ``bad_text`` whether the UTF-8 check of a text message raised it, and ``peer``
    who sent it ("server", or "client" for a server-side connection).
    """
    reason = one_line(exc)
    first = frame_start[0] if frame_start else None
    if isinstance(exc, UnicodeDecodeError):
        if bad_text:
            return (
                f"invalid UTF-8 in a text message: {exc.reason} (RFC 6455 §8.1: text must be UTF-8)"
            )
        return f"invalid UTF-8 in the close reason: {exc.reason} (RFC 6455 §5.5.1)"
    if reason == "incorrect masking" and peer == "client":
        return "an unmasked frame (RFC 6455 §5.1: a client must mask its frames)"
    if reason == "incorrect masking":
        return "a masked frame (RFC 6455 §5.1: a server must not mask its frames)"
    if reason.startswith("invalid opcode"):
        opcode = f"0x{first & 0x0F:X}" if first is not None else "?"
        return f"a frame with the reserved opcode {opcode} (RFC 6455 §5.2)"
    if reason == "reserved bits must be 0":
        bits = [f"RSV{n}" for n, mask in ((1, 0x40), (2, 0x20), (3, 0x10)) if (first or 0) & mask]
        which = "/".join(bits) or "RSV"
        return f"reserved bits set ({which}) without an extension that defines them (RFC 6455 §5.2)"
    if reason == "control frame too long":
        return "control frame too long: more than 125 bytes of payload (RFC 6455 §5.5)"
    if reason == "fragmented control frame":
        return "fragmented control frame (RFC 6455 §5.5: control frames must have FIN set)"
    if reason == "unexpected continuation frame":
        return "a continuation frame with no message to continue (RFC 6455 §5.4)"
    if reason == "expected a continuation frame":
        return (
            "a new data frame in the middle of a fragmented message "
            "(RFC 6455 §5.4: expected a continuation frame)"
        )
    if reason == "close frame too short":
        return "a close frame with a 1-byte payload (RFC 6455 §5.5.1: the code takes 2 bytes)"
    if reason == "invalid status code":
        code = close_payload_fields(_frame_payload(frame_start))[0]
        shown = f" {code}" if code is not None else ""
        return f"invalid close code{shown} in the close frame (RFC 6455 §7.4)"
    if isinstance(exc, PayloadTooBig):
        limit = f"the {max_size}-byte" if max_size is not None else "the"
        return f"message larger than {limit} size limit ({reason})"
    return reason


def _frame_payload(wire: bytes) -> bytes:
    """The (unmasked) payload of a whole frame, or b"" when it is not whole."""
    frame = parse_frame(wire)
    return frame.unmasked_payload() if frame is not None else b""


def refusal_line(response: Response, exc: BaseException | None) -> str:
    """Why a handshake response was not accepted, as one line (RFC 6455 §4.1)."""
    if exc is None or isinstance(exc, InvalidStatus):
        status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        return f"server refused the upgrade: {status}"
    return f"server's upgrade response is invalid: {_invalid_response(response, exc)}"


def _invalid_response(response: Response, exc: BaseException) -> str:
    """Why a 101 answer is not acceptable, naming the header and the RFC rule."""
    headers = response.headers
    if isinstance(exc, NegotiationError):
        text = str(exc)
        if "subprotocol" in text:
            chosen = headers.get("Sec-WebSocket-Protocol", "")
            return (
                f"it chose the subprotocol {chosen!r}, which the client did not offer "
                "(RFC 6455 §4.1)"
            )
        if "extension" in text.lower():
            chosen = ", ".join(headers.get_all("Sec-WebSocket-Extensions"))
            return (
                f"it chose the extension {chosen!r}, which the client did not offer (RFC 6455 §9.1)"
            )
    if isinstance(exc, InvalidHeader) and exc.name.lower() == "sec-websocket-accept":
        if exc.value is None:
            return (
                "missing Sec-WebSocket-Accept header (RFC 6455 §4.1: it proves the "
                "server read the key)"
            )
        return (
            f"Sec-WebSocket-Accept is {exc.value!r}, not the value the client's key "
            "requires (RFC 6455 §4.1)"
        )
    return one_line(exc)


def response_fields(
    response: Response, protocol: Protocol, duration_ns: int, accepted: bool
) -> dict[str, Any]:
    """The fields of the inbound HANDSHAKE record, headers in their order on the wire."""
    return {
        "status": response.status_code,
        "reason": response.reason_phrase,
        "headers": [[k, v] for k, v in response.headers.raw_items()],
        "duration_ns": duration_ns,
        "accepted": accepted,
        "subprotocol": protocol.subprotocol if accepted else None,
        "extensions": [ext.name for ext in protocol.extensions] if accepted else [],
    }


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


#: Finished field dicts of unmasked frames, shared by every frame of the same shape.
_SHARED: dict[tuple[int, int, int, bool, bool], dict[str, Any]] = {}
_SHARED_MAX = 4096

#: Look up the shared fields of a frame shape, keyed (first header byte, header_len,
#: payload_len, compressed, automatic): None until :func:`frame_fields` made them. The
#: receive fast path calls it per frame before falling back to
#: :func:`plain_frame_fields` (the cache is cleared in place, never replaced).
shared_fields = _SHARED.get

#: The ranges of each frame shape (header_len, masked, payload_len): read-only lists
#: shared by every record of that shape (masked frames cannot share whole field dicts).
_RANGES: dict[tuple[int, bool, int], list[list[Any]]] = {}


def frame_fields(
    wf: WireFrame,
    payload: bytes,
    compressed: bool,
    automatic: bool,
    error: str | None = None,
) -> dict[str, Any]:
    """Every field docs/internals.md lists for a frame record.

    Unmasked data frames of the same header shape get the very same (read-only) dict:
    a flood of equal-sized messages then costs one dict lookup per frame here, and the
    capture store encodes the shared dict to JSON once.
    """
    wire = wf.wire
    first = wire[0]
    masked = wire[1] > 0x7F
    hl = wf.header_len
    shareable = not masked and error is None and first & 0x0F != 8
    if shareable:
        key = (first, hl, wf.payload_len, compressed, automatic)
        shared = _SHARED.get(key)
        if shared is not None:
            return shared
    template = _TEMPLATES.get((first, masked, hl, compressed, automatic))
    if template is None:
        template = _template(first, masked, hl, compressed, automatic)
    fields = template.copy()
    pl = wf.payload_len
    fields["payload_len"] = pl
    ranges = _RANGES.get((hl, masked, pl))
    if ranges is None:
        if len(_RANGES) >= _SHARED_MAX:
            _RANGES.clear()
        ranges = _RANGES[hl, masked, pl] = range_lists(hl, masked, pl)
    fields["ranges"] = ranges
    if masked:
        fields["mask_key"] = wire[hl - 4 : hl].hex()
    if first & 0x0F == 8:
        fields["close_code"], fields["close_reason"] = close_payload_fields(payload)
    if error is not None:
        fields["error"] = error
    if shareable:
        if len(_SHARED) >= _SHARED_MAX:
            _SHARED.clear()
        _SHARED[key] = fields
    return fields


def plain_frame_fields(
    first: int, header_len: int, payload_len: int, compressed: bool = False
) -> dict[str, Any]:
    """The shared fields of an inbound unmasked text or binary frame (the receive fast
    path): the same dict :func:`frame_fields` gives such a frame."""
    shared = _SHARED.get((first, header_len, payload_len, compressed, False))
    if shared is None:
        shape = WireFrame(bytes((first, 0)), header_len, payload_len)
        shared = frame_fields(shape, b"", compressed, False)
    return shared
