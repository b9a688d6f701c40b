"""Endpoints: the URL a person types, parsed into what the engine needs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from inspector.core.errors import EndpointError


class Scheme(StrEnum):
    """The five kinds of session."""

    TCP = "tcp"
    TLS = "tls"
    UDP = "udp"
    WS = "ws"
    WSS = "wss"


_DEFAULT_PORTS = {Scheme.WS: 80, Scheme.WSS: 443}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a session goes. ``host`` has no brackets; ``target`` is the WebSocket
    request target (path plus query), "/" at least."""

    scheme: Scheme
    host: str
    port: int
    target: str = "/"

    @property
    def is_websocket(self) -> bool:
        return self.scheme in (Scheme.WS, Scheme.WSS)

    @property
    def secure(self) -> bool:
        """True when the session runs over TLS (tls://, wss://)."""
        return self.scheme in (Scheme.TLS, Scheme.WSS)

    @property
    def is_datagram(self) -> bool:
        return self.scheme is Scheme.UDP

    @property
    def netloc(self) -> str:
        """host:port with an IPv6 literal in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The canonical URL of the endpoint."""
        if self.is_websocket:
            host = f"[{self.host}]" if ":" in self.host else self.host
            default = _DEFAULT_PORTS[self.scheme]
            netloc = host if self.port == default else f"{host}:{self.port}"
            return f"{self.scheme}://{netloc}{self.target}"
        return f"{self.scheme}://{self.netloc}"

    def __str__(self) -> str:
        return self.url


def parse_endpoint(text: str, *, listen: bool = False) -> Endpoint:
    """Parse ``tcp://host:port``, ``tls://…``, ``udp://…``, ``ws://host[:port]/path?q``
    or ``wss://…``; raise :class:`EndpointError` with one line saying what is wrong.
    ``listen``: an address to listen on, where port 0 means "pick a free port"."""
    raw = text.strip()
    if not raw:
        raise EndpointError("no endpoint given: type a URL such as ws://127.0.0.1:8765/")
    if any(ch.isspace() for ch in raw):
        raise EndpointError(f"{raw!r} contains white space")
    if "://" not in raw:
        raise EndpointError(
            f"{raw!r} has no scheme: start it with ws://, wss://, tcp://, tls:// or udp://"
        )
    scheme_text = raw.split("://", 1)[0].lower()
    try:
        scheme = Scheme(scheme_text)
    except ValueError:
        raise EndpointError(
            f"unknown scheme {scheme_text!r}: use ws, wss, tcp, tls or udp"
        ) from None
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise EndpointError(f"{raw!r} is not a valid URL: {exc}") from None
    if not host:
        raise EndpointError(f"{raw!r} has no host")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if netloc.startswith("[") and ":" not in host:
        raise EndpointError(f"{host!r} in brackets is not an IPv6 address")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise EndpointError(f"{host!r} is not a valid IPv6 address") from None
    if port is None:
        if netloc.endswith(":"):
            raise EndpointError(f"{raw!r} has an empty port")
        if scheme not in _DEFAULT_PORTS:
            raise EndpointError(f"{scheme}:// needs a port, e.g. {scheme}://{netloc}:7")
        port = _DEFAULT_PORTS[scheme]
    if port == 0 and not listen:
        raise EndpointError("port 0 cannot be connected to")
    if scheme in _DEFAULT_PORTS:
        if parts.fragment:
            raise EndpointError("a WebSocket URL cannot have a #fragment (RFC 6455 §3)")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
    else:
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise EndpointError(f"{scheme}:// takes only host:port, not a path or query")
        target = "/"
    if parts.username is not None or parts.password is not None:
        raise EndpointError("user:password@ in the URL is not supported; send a header")
    return Endpoint(scheme, host, port, target)
