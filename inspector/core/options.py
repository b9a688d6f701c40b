"""Per-session options, shared by the command line, the GUI and the engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MAX_SIZE = 16 * 1024 * 1024


class Framing(StrEnum):
    """How a TCP/TLS byte stream is cut into messages."""

    RAW = "raw"  # each read is one record
    LINES = "lines"  # up to and including "\n" (so "\r\n" too)
    LEN16 = "len16"  # 2-byte big-endian length prefix, then that many bytes
    LEN32 = "len32"  # 4-byte big-endian length prefix, then that many bytes
    MQTT = "mqtt"  # MQTT control packets, each cut by its remaining length


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
    #: Connect through a proxy: "http://[user:pass@]host:port" (HTTP CONNECT),
    #: "socks5://…", "socks5h://…" (the proxy resolves the name) or "env" (the
    #: HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY variables, read as curl reads them).
    proxy: str | None = None
    #: Client certificate for mutual TLS: a PEM file (with or without its key) or a
    #: PKCS#12 file (.p12/.pfx); the PEM key when it is apart; the password of either.
    client_cert: str | None = None
    client_key: str | None = None
    client_key_password: str | None = None
    #: WebSocket: send a ping (its payload a counter) every this many seconds.
    ping_interval: float | None = None
    #: WebSocket: close with 1011 when a ping's pong has not come within this many seconds.
    ping_timeout: float | None = None
    #: tcp://, tls://, udp://: send ``keepalive_text`` every this many seconds.
    keepalive: float | None = None
    keepalive_text: str = ""
    #: Open the session again after it ends abnormally (exponential back-off), at most
    #: ``reconnect_max`` times (None: no limit).
    reconnect: bool = False
    reconnect_max: int | None = None
    #: Seconds before the first reconnection (then doubling, at most 30 s).
    reconnect_delay: float = 1.0
    #: "ipv4" or "ipv6" to use only that family's addresses; None: both (Happy Eyeballs).
    family: str | None = None
    #: The source address "ADDR[:PORT]" (IPv6 in brackets with a port); None: any.
    bind: str | None = None
    #: Act as this application protocol's client (``protocols.speakers``): its opening,
    #: answers and keep-alives, sent and recorded as automatic. "auto": the protocol of
    #: the decoder the session's facts choose; None: speak no protocol.
    speak: str | None = None
    #: The speaker's settings (``--speak-option KEY=VALUE``), e.g. (("keepalive", "30"),).
    speak_options: tuple[tuple[str, str], ...] = ()


#: Seconds a udp:// client may stay silent before its connection ends ("idle"): UDP has
#: no goodbye, and a minute is longer than a live client's usual keepalive while still
#: letting a list of clients that went away empty itself.
UDP_IDLE = 60.0


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How a listener treats its clients beyond SessionOptions (subprotocols,
    compression, max_size and auto_pong apply to both roles): how ws:// and wss://
    upgrade requests are answered, and when a silent udp:// client is forgotten.

    The command line (``inspector listen``) and the window build this one value; the
    listener and the WebSocket engine are the one place that acts on it."""

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
    #: udp://: end a client's connection after this many seconds without a datagram
    #: from it (None: never).
    udp_idle: float | None = UDP_IDLE


def header_line(text: str) -> tuple[str, str]:
    """'Name: value' as (name, value); ValueError (one line) when it is not one."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    bad = any(ch in text for ch in "\r\n\0") or not name or any(ch in name for ch in " \t")
    if not sep or bad:
        raise ValueError(f"{text!r} is not 'Name: value'")
    return name, value


def build_server_options(
    target: str,
    *,
    any_path: bool = False,
    subprotocols: Sequence[str] = (),
    require_subprotocol: bool = False,
    compression: bool = True,
    deflate: str | None = None,
    refuse_status: int | None = None,
    refuse_headers: Sequence[tuple[str, str]] = (),
    refuse_body: str = "",
    udp_idle: float | None = UDP_IDLE,
) -> ServerOptions:
    """The ServerOptions a listener on a URL whose path is ``target`` runs with: the
    one translation of what a person chose (``inspector listen``'s options, the
    window's Listen options) into what the listener does. ValueError with one line
    when the choices contradict each other.

    The URL's path is the only one served unless ``any_path``; a bare "/" serves every
    path. ``udp_idle`` 0 or None: a quiet udp:// client is never forgotten.
    """
    if refuse_status is not None and not 200 <= refuse_status <= 599:
        raise ValueError(f"{refuse_status} is not an HTTP status from 200 to 599")
    if (refuse_headers or refuse_body) and refuse_status is None:
        raise ValueError("a refusal's headers and body need a refusal status")
    if require_subprotocol and not subprotocols:
        raise ValueError("requiring a subprotocol needs at least one subprotocol")
    if deflate and not compression:
        raise ValueError("permessage-deflate parameters need compression on")
    if udp_idle is not None and not udp_idle >= 0:
        raise ValueError(f"{udp_idle} is not a number of seconds")
    path = target.split("?", 1)[0] or "/"
    return ServerOptions(
        path=None if any_path or path == "/" else path,
        require_subprotocol=require_subprotocol,
        deflate=deflate or None,
        refuse_status=refuse_status,
        refuse_headers=tuple((str(n), str(v)) for n, v in refuse_headers),
        refuse_body=refuse_body,
        udp_idle=udp_idle or None,
    )


#: Option fields whose values are secrets: never written to a capture as they are.
SECRET_OPTIONS = ("client_key_password",)
#: Protocol-client settings (``speak_options`` keys) that are secrets, likewise.
SECRET_SPEAK_OPTIONS = ("password", "passcode")


def hide_url_password(text: str | None) -> str | None:
    """A URL such as a proxy setting with its password replaced by "[redacted]"."""
    if not text or "@" not in text:
        return text
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    credentials, _, where = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}{sep}{user}{':[redacted]' if colon else ''}@{where}"


def stored_options(mapping: dict[str, object]) -> dict[str, object]:
    """Options as a capture keeps them: the proxy's password and the key's password hidden."""
    out = dict(mapping)
    proxy = out.get("proxy")
    if isinstance(proxy, str):
        out["proxy"] = hide_url_password(proxy)
    for name in SECRET_OPTIONS:
        if out.get(name):
            out[name] = "[redacted]"
    speak = out.get("speak_options")
    if isinstance(speak, list | tuple):
        out["speak_options"] = [
            [pair[0], "[redacted]" if pair[0] in SECRET_SPEAK_OPTIONS else pair[1]]
            for pair in speak
            if isinstance(pair, list | tuple) and len(pair) == 2
        ]
    return out
