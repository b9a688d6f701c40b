"""Connecting through a proxy: HTTP CONNECT, SOCKS5 and SOCKS5 with remote names.

:func:`parse_proxy` reads ``http://[user:pass@]host:port``, ``socks5://…`` and
``socks5h://…``; :func:`proxy_for` applies the ``env`` choice the way curl reads
``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY``. :func:`negotiate` runs the
proxy's own exchange on a socket already connected to the proxy and records it, so TLS
and the WebSocket upgrade then run on that socket unchanged.

HTTP CONNECT (RFC 9110 §9.3.6) is written here: it is one request and one answer head,
and both are recorded byte for byte (the answer read one byte at a time, so the first
bytes a server speaking first sends are never taken with the answer). SOCKS5 (RFC 1928,
RFC 1929 for user name and password) is python-socks' connector, driven over a stream
that counts the bytes; only the summary is recorded, never the password.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

from inspector.core.endpoints import Endpoint
from inspector.core.errors import InspectorError
from inspector.core.recorder import Recorder
from inspector.core.records import Direction, Kind

#: The longest CONNECT answer head accepted (a proxy's answer is a few hundred bytes).
MAX_ANSWER_HEAD = 16 * 1024

#: What stands in for a proxy password (and a Proxy-Authorization value) in records.
HIDDEN = "[redacted]"

#: The ``proxy`` option that means "as the environment says".
FROM_ENVIRONMENT = "env"

#: Why udp:// does not go through a proxy (HTTP CONNECT carries streams only; SOCKS5
#: UDP ASSOCIATE is not spoken here, and most SOCKS proxies do not offer it either).
UDP_PROXY_REFUSAL = (
    "udp:// cannot go through a proxy: HTTP CONNECT carries TCP only and SOCKS5 UDP "
    "ASSOCIATE is not supported (connect directly, or unset the proxy)"
)

_DEFAULT_PORTS = {"http": 8080, "socks5": 1080, "socks5h": 1080}


class ProxyScheme(StrEnum):
    """How the proxy is spoken to."""

    HTTP = "http"  # HTTP CONNECT
    SOCKS5 = "socks5"  # SOCKS5, the name resolved here
    SOCKS5H = "socks5h"  # SOCKS5, the name resolved by the proxy


class ProxyError(InspectorError):
    """The proxy setting cannot be used, or the proxy refused (one line)."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """One proxy: how to speak to it, where it is, and its credentials."""

    scheme: ProxyScheme
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def netloc(self) -> str:
        """host:port, an IPv6 address in brackets."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def shown(self) -> str:
        """The proxy as a URL without its password (for records and messages)."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.netloc}"

    @property
    def remote_names(self) -> bool:
        """True when the proxy resolves the target's name (socks5h, HTTP CONNECT)."""
        return self.scheme is not ProxyScheme.SOCKS5


def parse_proxy(text: str) -> Proxy:
    """A proxy URL into a :class:`Proxy`; ProxyError with one line otherwise."""
    raw = text.strip()
    if "://" not in raw:
        raw = "http://" + raw  # as curl: a bare host:port is an HTTP proxy
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ProxyError(f"proxy {text!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme == "socks":
        scheme = "socks5"
    if scheme not in _DEFAULT_PORTS:
        raise ProxyError(
            f"proxy {text!r}: unknown scheme {parts.scheme!r} (use http://, socks5:// or socks5h://)"
        )
    if not parts.hostname:
        raise ProxyError(f"proxy {text!r} names no host")
    if parts.path not in ("", "/") or parts.query:
        raise ProxyError(f"proxy {text!r}: a proxy URL has no path or query")
    return Proxy(
        ProxyScheme(scheme),
        parts.hostname,
        port or _DEFAULT_PORTS[scheme],
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password is not None else None,
    )


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """A variable as curl reads it: lower case first, then upper case."""
    value = environ.get(name.lower()) or environ.get(name.upper())
    return value.strip() if value and value.strip() else None


def bypassed(host: str, no_proxy: str | None) -> bool:
    """True when ``NO_PROXY`` says ``host`` is reached directly (curl's rules: ``*``,
    names and their subdomains with or without a leading dot, IP addresses and CIDR
    ranges)."""
    if not no_proxy:
        return False
    name = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip(".").rstrip(".")
        if name == entry or name.endswith("." + entry):
            return True
    return False


def proxy_for(
    setting: str | None, endpoint: Endpoint, environ: Mapping[str, str] | None = None
) -> Proxy | None:
    """The proxy a session to ``endpoint`` goes through, or None for a direct one.

    ``setting`` is a proxy URL or ``env``: then ``HTTPS_PROXY`` for wss:// and tls://,
    ``HTTP_PROXY`` for ws:// (lower case only, as curl: ``HTTP_PROXY`` may be set by a
    web server's CGI environment), ``ALL_PROXY`` for anything, unless ``NO_PROXY``
    names the host.
    """
    if not setting:
        return None
    if setting.strip().lower() != FROM_ENVIRONMENT:
        return parse_proxy(setting)
    env = os.environ if environ is None else environ
    if bypassed(endpoint.host, _env(env, "no_proxy")):
        return None
    if endpoint.secure:
        chosen = _env(env, "https_proxy")
    elif endpoint.is_websocket:
        chosen = env.get("http_proxy", "").strip() or None
    else:
        chosen = None
    chosen = chosen or _env(env, "all_proxy")
    return parse_proxy(chosen) if chosen else None


# -- the exchange ---------------------------------------------------------------------


def _target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_request(proxy: Proxy, host: str, port: int, user_agent: str) -> tuple[bytes, bytes]:
    """The CONNECT request as sent, and as recorded (the credentials hidden)."""
    target = _target(host, port)
    head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: {user_agent}\r\n"
    shown = head
    if proxy.username is not None:
        token = f"{proxy.username}:{proxy.password or ''}".encode()
        head += f"Proxy-Authorization: Basic {base64.b64encode(token).decode('ascii')}\r\n"
        shown += f"Proxy-Authorization: Basic {HIDDEN}\r\n"
    return (head + "\r\n").encode("latin-1"), (shown + "\r\n").encode("latin-1")


def parse_answer(head: bytes) -> tuple[int, str, list[list[str]]]:
    """Status, reason and headers of a CONNECT answer head; ProxyError if it is not HTTP."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or len(code) != 3 or not code.isdigit():
        raise ProxyError(f"the proxy's answer is not HTTP: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append([name.strip(), value.strip()])
    return int(code), reason.strip(), headers


async def _read_head(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes:
    """The answer head up to and including the blank line, one byte at a time."""
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        byte = await loop.sock_recv(sock, 1)
        if not byte:
            raise ProxyError(
                "the proxy closed the connection before answering CONNECT"
                + (f" (got {len(head)} bytes)" if head else "")
            )
        head += byte
        if len(head) > MAX_ANSWER_HEAD:
            raise ProxyError(f"the proxy's answer head is longer than {MAX_ANSWER_HEAD} bytes")
    return bytes(head)


async def _http_connect(
    proxy: Proxy, sock: socket.socket, host: str, port: int, recorder: Recorder, agent: str
) -> None:
    loop = asyncio.get_running_loop()
    request, shown = connect_request(proxy, host, port, agent)
    start = recorder.now()
    await loop.sock_sendall(sock, request)
    recorder.record(
        Direction.META,
        Kind.INFO,
        wire=shown,
        fields={
            "message": f"CONNECT {_target(host, port)} sent to the proxy {proxy.netloc}",
            "proxy": str(proxy.scheme),
            "proxy_step": "request",
            "target": _target(host, port),
            "authenticated": proxy.username is not None,
        },
    )
    head = await _read_head(loop, sock)
    duration = recorder.now() - start
    try:
        status, reason, headers = parse_answer(head)
    except ProxyError as exc:
        _record_answer(recorder, proxy, head, str(exc), duration, None, "", [])
        raise
    ok = 200 <= status < 300
    line = f"{status} {reason}".strip()
    if ok:
        message = f"the proxy {proxy.netloc} connected to {_target(host, port)} ({line})"
    else:
        message = f"the proxy {proxy.netloc} refused CONNECT {_target(host, port)}: {line}"
        if status in (401, 407):  # tinyproxy answers CONNECT with 401
            message += (
                " (wrong proxy user name or password?)"
                if proxy.username is not None
                else " (the proxy wants a user name and password: http://user:pass@host:port)"
            )
    _record_answer(recorder, proxy, head, message, duration, status, reason, headers)
    if not ok:
        raise ProxyError(message)


def _record_answer(
    recorder: Recorder,
    proxy: Proxy,
    head: bytes,
    message: str,
    duration: int,
    status: int | None,
    reason: str,
    headers: list[list[str]],
) -> None:
    recorder.record(
        Direction.META,
        Kind.INFO,
        wire=head,
        fields={
            "message": message,
            "proxy": str(proxy.scheme),
            "proxy_step": "answer",
            "status": status,
            "reason": reason,
            "headers": headers,
            "duration_ns": duration,
        },
    )


class _CountingStream:
    """python-socks' stream interface over a connected socket, counting the bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self.sent = 0
        self.received = 0

    async def write(self, data: bytes) -> None:
        await self._loop.sock_sendall(self._sock, data)
        self.sent += len(data)

    async def read(self, max_bytes: int = 65536) -> bytes:
        data = await self._loop.sock_recv(self._sock, max_bytes)
        self.received += len(data)
        return data

    async def read_exactly(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            packet = await self._loop.sock_recv(self._sock, n - len(data))
            if not packet:
                raise ProxyError("the SOCKS proxy closed the connection during the negotiation")
            data += packet
        self.received += n
        return bytes(data)

    async def close(self) -> None:
        """The session owns the socket: nothing to do here."""


class _NoResolver:
    """python-socks asks a resolver only for a name it must send as an address; the
    session resolved it already, so this one is never meant to be asked."""

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> Any:
        raise ProxyError(f"{host!r} was not resolved before the SOCKS request")


async def _socks5_connect(
    proxy: Proxy, sock: socket.socket, host: str, port: int, recorder: Recorder
) -> None:
    # Imported when used: the library is needed only for SOCKS.
    from python_socks._connectors.socks5_async import Socks5AsyncConnector
    from python_socks._errors import IncompleteReadError
    from python_socks._protocols.errors import ReplyError

    stream = _CountingStream(sock)
    connector = Socks5AsyncConnector(
        username=proxy.username,
        password=proxy.password,
        rdns=proxy.scheme is ProxyScheme.SOCKS5H,
        resolver=_NoResolver(),  # type: ignore[arg-type]
    )
    start = recorder.now()
    fields: dict[str, Any] = {
        "proxy": str(proxy.scheme),
        "proxy_step": "negotiation",
        "target": _target(host, port),
        "remote_names": proxy.remote_names,
        "auth": "username/password" if proxy.username is not None else "none",
    }
    try:
        await connector.connect(stream=stream, host=host, port=port)  # type: ignore[arg-type]
    except (ReplyError, IncompleteReadError, ProxyError) as exc:
        code = getattr(exc, "error_code", None)
        message = f"the SOCKS5 proxy {proxy.netloc} refused {_target(host, port)}: {exc}"
        fields.update(message=message, reply_code=code, duration_ns=recorder.now() - start)
        fields.update(bytes_sent=stream.sent, bytes_received=stream.received)
        recorder.record(Direction.META, Kind.INFO, fields=fields)
        raise ProxyError(message) from None
    names = "the proxy resolved the name" if proxy.remote_names else "address resolved here"
    fields.update(
        message=f"the SOCKS5 proxy {proxy.netloc} connected to {_target(host, port)} ({names})",
        reply_code=0,
        duration_ns=recorder.now() - start,
        bytes_sent=stream.sent,
        bytes_received=stream.received,
    )
    recorder.record(Direction.META, Kind.INFO, fields=fields)


async def negotiate(
    proxy: Proxy,
    sock: socket.socket,
    host: str,
    port: int,
    recorder: Recorder,
    user_agent: str = "socket-inspector",
) -> None:
    """Ask the proxy on connected ``sock`` for a tunnel to ``host:port`` and record the
    exchange; ProxyError (one line) when it refuses, OSError when the connection fails."""
    if proxy.scheme is ProxyScheme.HTTP:
        await _http_connect(proxy, sock, host, port, recorder, user_agent)
    else:
        await _socks5_connect(proxy, sock, host, port, recorder)
