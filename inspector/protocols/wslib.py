"""The one adapter over websockets' undocumented protocol state.

The connection engine needs a few things websockets' Sans-I/O objects hold but do not
document: whether the parser waits for the start of a frame, the size of a message in
progress, why the parser stopped, whether a compressed message is half inflated. Every
such read or write goes through this module, so a websockets upgrade that renames one
of them touches this file only; :data:`RELIED_ON` lists them for the test that checks
them against the installed websockets and names the one that changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MethodType
from typing import Any

from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import CloseCode, Frame
from websockets.protocol import OPEN, SERVER, Protocol
from websockets.streams import StreamReader


@dataclass(frozen=True, slots=True)
class Attribute:
    """One undocumented attribute this module relies on, and the types it may hold."""

    owner: str
    path: str
    types: tuple[type, ...]


_NONE = type(None)

#: Every undocumented attribute read or written below (and the one method wsclient
#: overrides), as "owner" (Protocol or PerMessageDeflate), dotted path and the types
#: its value may have.
RELIED_ON: tuple[Attribute, ...] = (
    Attribute("Protocol", "reader", (StreamReader,)),
    Attribute("Protocol", "reader.buffer", (bytearray,)),
    Attribute("Protocol", "current_size", (int, _NONE)),
    Attribute("Protocol", "parser_exc", (BaseException, _NONE)),
    Attribute("Protocol", "events", (list,)),
    Attribute("Protocol", "max_message_size", (int, _NONE)),
    Attribute("Protocol", "max_fragment_size", (int, _NONE)),
    Attribute("Protocol", "close_rcvd_then_sent", (bool, _NONE)),
    # wsclient overrides this method to see every frame before the library handles it.
    Attribute("Protocol", "recv_frame", (MethodType,)),
    Attribute("PerMessageDeflate", "decode_cont_data", (bool,)),
)


def at_frame_start(protocol: Protocol) -> bool:
    """True when the library's parser waits for the first byte of a frame that starts a
    new message and has not stopped on an error."""
    return (
        protocol.current_size is None and protocol.parser_exc is None and not protocol.reader.buffer
    )


def message_in_progress(protocol: Protocol) -> bool:
    """True between the first and the last frame of a fragmented inbound message."""
    return protocol.current_size is not None


def parser_error(protocol: Protocol) -> BaseException | None:
    """Why the library's parser stopped (EOFError at an unexpected end), or None."""
    return protocol.parser_exc


def size_limit(protocol: Protocol) -> int | None:
    """The largest payload the library accepts for a frame starting a message."""
    limit = protocol.max_message_size
    fragment = protocol.max_fragment_size
    if fragment is not None:
        limit = fragment if limit is None else min(limit, fragment)
    return limit


def idle_deflate(protocol: Protocol) -> PerMessageDeflate | None:
    """The negotiated permessage-deflate, when it is the only extension and no
    compressed message is half received."""
    extensions = protocol.extensions
    if len(extensions) != 1:
        return None
    (extension,) = extensions
    if not isinstance(extension, PerMessageDeflate) or extension.decode_cont_data:
        return None
    return extension


def inflate(deflate: PerMessageDeflate, frame: Frame, limit: int | None) -> bytes:
    """A whole compressed message inflated by the library's own decoder (RFC 7692 §6)."""
    return bytes(deflate.decode(frame, max_size=limit).data)


def fail_as_parser(protocol: Protocol, exc: BaseException) -> None:
    """Fail the connection for ``exc`` exactly as websockets' ``Protocol.parse`` does
    when its parser raises it, and hold it as the parser's error."""
    if isinstance(exc, PayloadTooBig):
        exc.set_current_size(protocol.current_size)
        protocol.fail(CloseCode.MESSAGE_TOO_BIG, str(exc))
    elif isinstance(exc, UnicodeDecodeError):
        protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
    elif isinstance(exc, ProtocolError):
        protocol.fail(CloseCode.PROTOCOL_ERROR, str(exc))
    else:  # details may be sensitive: the library sends 1011 without them
        protocol.fail(CloseCode.INTERNAL_ERROR)
    protocol.parser_exc = exc  # type: ignore[assignment]


def deliver(protocol: Protocol, event: Any) -> None:
    """Queue an event for ``events_received`` without the library's handling of it."""
    protocol.events.append(event)


def peer_closed_first(protocol: Protocol) -> bool:
    """True when the peer sent the first close frame (RFC 6455 §7.1.2)."""
    return protocol.close_rcvd_then_sent is True or (
        protocol.close_rcvd is not None and protocol.close_sent is None
    )


def plain_send_ok(protocol: Protocol) -> bool:
    """True when a whole text or binary message may be framed without the library: the
    connection is open, no extension transforms frames, no fragmented message is being
    sent, nothing is queued to write, and frames are not masked (the server side). The
    library would write exactly the frame's header and payload then (RFC 6455 §5.2)."""
    return (
        protocol.state is OPEN
        and not protocol.extensions
        and not protocol.expect_continuation_frame
        and not protocol.writes
        and protocol.side is SERVER
    )
