"""Endpoint → session, and a composed message → the session's send: one place for both.

The window's composer, the replay and ``inspector probe`` open their sessions with
:func:`create_session` and send through :func:`send_message`, so a message means the
same thing on every road: on WebSocket a text, binary, ping, pong or close frame; on
tcp://, tls:// and udp:// one message of the session (framed as its options say, or one
datagram), where the WebSocket control frames do not exist (:func:`can_send`).
"""

from __future__ import annotations

from enum import StrEnum

from inspector.core.endpoints import Endpoint
from inspector.core.options import SessionOptions
from inspector.core.recorder import Recorder
from inspector.net.datagram import DatagramSession
from inspector.net.session import Session
from inspector.net.stream import StreamSession


class Action(StrEnum):
    """What a person asks to send."""

    TEXT = "text"  # WebSocket: a text message; elsewhere the UTF-8 bytes as one message
    BINARY = "binary"  # WebSocket: a binary message; elsewhere the bytes as one message
    PING = "ping"  # WebSocket only
    PONG = "pong"  # WebSocket only
    CLOSE = "close"  # WebSocket only: the closing handshake with a code and reason
    DATA = "data"  # the session's plain message (a binary message on WebSocket)
    DATAGRAM = "datagram"  # one UDP datagram (the plain message, as DATA)


#: WebSocket control frames: nothing stands for them on tcp://, tls:// or udp://.
CONTROL_ACTIONS = frozenset({Action.PING, Action.PONG, Action.CLOSE})


def create_session(endpoint: Endpoint, options: SessionOptions, recorder: Recorder) -> Session:
    """The session for ``endpoint``'s scheme (not yet open: await ``open()``)."""
    if endpoint.is_websocket:
        # Imported only when asked for: a tcp:// probe never loads websockets.
        from inspector.net.websocket import WebSocketSession

        return WebSocketSession(endpoint, options, recorder)
    if endpoint.is_datagram:
        return DatagramSession(endpoint, options, recorder)
    return StreamSession(endpoint, options, recorder)


def can_send(endpoint: Endpoint, action: str) -> bool:
    """True when a session to ``endpoint`` can send ``action`` (control frames need
    WebSocket; text and binary go everywhere as the session's message)."""
    return endpoint.is_websocket or Action(action) not in CONTROL_ACTIONS


def content_action(endpoint: Endpoint, text: bool) -> Action:
    """How a message's content goes to ``endpoint``: a text or binary message on
    WebSocket, the session's plain message elsewhere."""
    if endpoint.is_websocket:
        return Action.TEXT if text else Action.BINARY
    return Action.DATA


def send_message(
    session: Session,
    action: str,
    payload: bytes = b"",
    code: int | None = None,
    reason: str = "",
) -> bool:
    """Send one message the way a person names it (an :class:`Action` or its value);
    False when nothing went on the wire and nothing was recorded (an empty message on
    a raw tcp:// or tls:// stream, which has no empty message: "nothing to send").

    Raises what the session's send raises: ``SessionNotOpenError``, a one-line
    WebSocket send error, ``NotWebSocketError`` for a control frame off WebSocket.
    """
    what = Action(action)
    speaking = session.speaking
    if speaking is not None and what in (Action.TEXT, Action.BINARY, Action.DATA):
        speaking.sent(payload)
    if what is Action.PING:
        session.send_ping(payload)
    elif what is Action.PONG:
        session.send_pong(payload)
    elif what is Action.CLOSE:
        session.send_close(code or 1000, reason)
    elif what is Action.TEXT and session.endpoint.is_websocket:
        session.send_text(payload.decode("utf-8", errors="replace"))
    else:
        # The plain message: binary on WebSocket, framed data or a datagram elsewhere.
        return session.send(payload)
    return True
