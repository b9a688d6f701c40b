"""Per-session options, shared by the command line, the GUI and the engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_SIZE = 16 * 1024 * 1024


class Framing(StrEnum):
    """How a TCP/TLS byte stream is cut into messages."""

    RAW = "raw"  # each read is one record
    LINES = "lines"  # up to and including "\n" (so "\r\n" too)
    LEN16 = "len16"  # 2-byte big-endian length prefix, then that many bytes
    LEN32 = "len32"  # 4-byte big-endian length prefix, then that many bytes


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Everything a session can be told before it opens."""

    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()
    origin: str | None = None
    compression: bool = True
    #: zlib level (0-9) for the messages this side compresses; None: zlib's default (6).
    #: 1 is several times faster for large messages, at a somewhat bigger size.
    compression_level: int | None = None
    #: The permessage-deflate parameters to offer, as in the header (RFC 7692 §7.1),
    #: e.g. "client_no_context_takeover; server_max_window_bits=10"; None: websockets'
    #: default offer ("client_max_window_bits"), as browsers send.
    deflate_offer: str | None = None
    max_size: int | None = DEFAULT_MAX_SIZE
    auto_pong: bool = True
    framing: Framing = Framing.RAW
    verify: bool = True
    cafile: str | None = None
    connect_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How a ws:// or wss:// listener answers upgrade requests (beside SessionOptions:
    subprotocols, compression, max_size and auto_pong apply to both roles)."""

    #: The only request path accepted (others get 404); None accepts every path.
    path: str | None = None
    #: Refuse (400) a client that offers none of SessionOptions.subprotocols.
    require_subprotocol: bool = False
    #: permessage-deflate parameters the server asks for, as in the header (RFC 7692
    #: §7.1), e.g. "server_no_context_takeover; server_max_window_bits=10"; None: none.
    deflate: str | None = None
    #: Refuse every upgrade with this HTTP status (to test a client's failure handling).
    refuse_status: int | None = None
    refuse_headers: tuple[tuple[str, str], ...] = ()
    refuse_body: str = ""
