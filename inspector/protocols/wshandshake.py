"""The upgrade's pieces that hold no connection state: websockets' protocol objects for
each role, the request a client sends, a server's answer, and one-line reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidURI
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.http11 import Request
from websockets.uri import parse_uri

from inspector.core.endpoints import Endpoint
from inspector.core.errors import EndpointError
from inspector.core.options import ServerOptions, SessionOptions
from inspector.protocols.deflate import parse_deflate_offer
from inspector.protocols.wsclient import InspectedClientProtocol, InspectedServerProtocol
from inspector.protocols.wsfields import one_line
from inspector.protocols.wssend import WebSocketSendError
from inspector.protocols.wsstate import Role


@dataclass(frozen=True, slots=True)
class Refusal:
    """How a server-side connection refuses an upgrade: the HTTP status, body text and
    extra headers (the first of a name replaces the library's, the next are added)."""

    status: int
    text: str = ""
    headers: tuple[tuple[str, str], ...] = ()


#: A server-side connection's answer to an upgrade request: None accepts it
#: (negotiating subprotocol and extensions), a Refusal refuses it.
Answer = Callable[[Request], Refusal | None]


def upgrade_request(protocol: ClientProtocol, headers: tuple[tuple[str, str], ...]) -> Request:
    """The client's upgrade request (RFC 6455 §4.1) with the user's headers: the first
    header of a name replaces the library's, the next ones are added."""
    request = protocol.connect()
    replaced: set[str] = set()
    for name, value in headers:
        if any(ch in name + value for ch in "\r\n\0") or not name.strip():
            raise WebSocketSendError(f"header {name!r} is empty or contains a line break")
        key = name.lower()
        if key not in replaced and name in request.headers:
            del request.headers[name]
        replaced.add(key)
        request.headers[name] = value
    return request


def unreadable_line(role: Role, raw: bytes, exc: BaseException) -> str:
    """Why the peer's side of the upgrade could not be read, as one line."""
    if role is Role.SERVER:
        if not raw:
            return "client closed the connection before sending the upgrade request"
        detail = one_line(exc.__cause__ if exc.__cause__ is not None else exc)
        return f"client's upgrade request is not a valid HTTP request: {detail}"
    if not raw:
        return "server closed the connection before answering the upgrade"
    detail = one_line(exc.__cause__ if exc.__cause__ is not None else exc)
    if not raw.startswith(b"HTTP/"):
        first = raw.split(b"\n", 1)[0].strip()[:80]
        shown = first.decode("ascii", "backslashreplace")
        detail = f"it began with {shown!r}; is this a WebSocket server?"
        if raw[0] in (0x15, 0x16):  # a TLS alert or handshake record
            detail = "it answered in TLS; use wss:// for this port"
    return f"server's answer is not a valid HTTP response: {detail}"


def client_protocol(endpoint: Endpoint | None, options: SessionOptions) -> InspectedClientProtocol:
    """websockets' client protocol object for ``endpoint`` with the session's options."""
    if endpoint is None:
        raise EndpointError("a client connection needs an endpoint")
    try:
        uri = parse_uri(endpoint.url)
    except (InvalidURI, ValueError) as exc:
        raise EndpointError(f"{endpoint.url} is not a usable WebSocket URL: {exc}") from None
    extensions = [deflate_offer(options)] if options.compression else None
    return InspectedClientProtocol(
        uri,
        origin=options.origin,  # type: ignore[arg-type]
        extensions=extensions,
        subprotocols=list(options.subprotocols) or None,  # type: ignore[arg-type]
        max_size=options.max_size,
        auto_pong=options.auto_pong,
    )


def server_protocol(options: SessionOptions, deflate: str | None = None) -> InspectedServerProtocol:
    """websockets' server protocol object: accepts the session's subprotocols and, with
    compression on, permessage-deflate with the ``deflate`` parameters (RFC 7692 §7.1)."""
    level = options.compression_level
    settings = None if level is None else {"level": max(0, min(9, int(level)))}
    extensions = (
        [ServerPerMessageDeflateFactory(**deflate_params(deflate), compress_settings=settings)]
        if options.compression
        else None
    )
    accepted = list(options.subprotocols)

    def select(_protocol: object, offered: Sequence[str]) -> Any:
        """The first offered subprotocol that is accepted; None goes on without one
        (refusing a client without one is the answer's choice, ServerOptions)."""
        return next((name for name in offered if name in accepted), None)

    return InspectedServerProtocol(
        extensions=extensions,
        subprotocols=accepted or None,  # type: ignore[arg-type]
        select_subprotocol=select,
        max_size=options.max_size,
        auto_pong=options.auto_pong,
    )


def deflate_offer(options: SessionOptions) -> ClientPerMessageDeflateFactory:
    """websockets' permessage-deflate offer for the session's options."""
    level = options.compression_level
    settings = None if level is None else {"level": max(0, min(9, int(level)))}
    if options.deflate_offer is None:
        return ClientPerMessageDeflateFactory(compress_settings=settings)
    try:
        params = parse_deflate_offer(options.deflate_offer)
    except ValueError as exc:
        raise WebSocketSendError(f"invalid permessage-deflate offer: {exc}") from None
    return ClientPerMessageDeflateFactory(**params, compress_settings=settings)


def deflate_params(text: str | None) -> dict[str, Any]:
    """Keyword arguments of websockets' ``ServerPerMessageDeflateFactory`` for the
    parameters a server asks for; WebSocketSendError (one line) when they are invalid."""
    if not text:
        return {}
    try:
        params = parse_deflate_offer(text)
    except ValueError as exc:
        raise WebSocketSendError(f"invalid permessage-deflate parameters: {exc}") from None
    if params.get("client_max_window_bits") in (None, True):  # an offer's word only
        params.pop("client_max_window_bits", None)
    return params


def server_answer(server: ServerOptions, subprotocols: Sequence[str]) -> Answer:
    """The answer to upgrade requests that ``server`` asks for: refuse them all, refuse
    a wrong path (404) or a client without an accepted subprotocol (400), else accept."""

    def answer(request: Request) -> Refusal | None:
        if server.refuse_status is not None:
            return Refusal(server.refuse_status, server.refuse_body, server.refuse_headers)
        if server.path is not None and request.path.split("?", 1)[0] != server.path:
            return Refusal(404, f"No WebSocket endpoint at {request.path}; try {server.path}\n")
        if server.require_subprotocol:
            offered = [
                name.strip()
                for value in request.headers.get_all("Sec-WebSocket-Protocol")
                for name in value.split(",")
            ]
            if not any(name in subprotocols for name in offered):
                wanted = ", ".join(subprotocols) or "(none configured)"
                return Refusal(400, f"This server requires a subprotocol: {wanted}\n")
        return None

    return answer
