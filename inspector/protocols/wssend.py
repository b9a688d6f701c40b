"""What a person may send on a WebSocket connection: each rule as one clear line."""

from __future__ import annotations

from inspector.core.errors import InspectorError

#: Close codes an endpoint may put in a close frame (RFC 6455 §7.4.1, IANA registry).
_SENDABLE_CODES = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})


class WebSocketSendError(InspectorError):
    """The user asked to send something the connection cannot send now (or at all)."""


def text_bytes(text: str) -> bytes:
    """``text`` as UTF-8 for a text message (RFC 6455 §5.6); a lone surrogate cannot be."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise WebSocketSendError(
            f"the text has a lone surrogate at position {exc.start}, which UTF-8 cannot "
            "encode; send it as binary instead"
        ) from None


def check_control(data: bytes, what: str) -> None:
    """A ping or pong payload fits a control frame (RFC 6455 §5.5)."""
    if len(data) > 125:
        raise WebSocketSendError(
            f"a {what} payload is limited to 125 bytes (RFC 6455 §5.5), got {len(data)}"
        )


def check_close(code: int | None, reason: str) -> None:
    """A close code and reason may be sent (RFC 6455 §5.5, §7.4)."""
    encoded = reason.encode("utf-8")
    if code is None and reason:
        raise WebSocketSendError("a close reason needs a close code")
    if code is not None and not (code in _SENDABLE_CODES or 3000 <= code < 5000):
        raise WebSocketSendError(
            f"close code {code} cannot be sent (RFC 6455 §7.4: use 1000-1003, "
            "1007-1014 or 3000-4999)"
        )
    if len(encoded) > 123:
        raise WebSocketSendError(
            f"a close reason is limited to 123 bytes (RFC 6455 §5.5), got {len(encoded)}"
        )
