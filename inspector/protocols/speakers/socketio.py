"""Socket.IO v5 over Engine.IO 4 as a client: its packets, and the client's side.

The server opens with an Engine.IO open packet (``0{"sid":…,"pingInterval":…}``); the
client answers with a namespace CONNECT (``40`` or ``40/chat,{auth}``) and is ready once
the server's CONNECT comes back. Engine.IO 4 servers ping (``2``) and the client answers
each with a pong (``3``); when the pings stop for pingInterval + pingTimeout the session is
dead (:meth:`SocketIOSpeaker.heartbeat_timeout`, watched by ``net.speaking``); a
CONNECT_ERROR (``44``) is the server refusing the namespace.
"""

from __future__ import annotations

import json
import re
from typing import Any

from inspector.core.errors import UsageError
from inspector.protocols.speakers.base import NOTHING, Heard, Outgoing, SpeakOptions, json_bytes

OPTIONS = ("namespace", "auth")
#: A Socket.IO packet's type and namespace (the decoder reads the rest; this module
#: stays light enough for the command line's argument parser to import).
_HEAD = re.compile(rb"4([0-6])(?:\d+-)?(/[^,]*,)?\d*")
_TYPES = {b"0": "CONNECT", b"1": "DISCONNECT", b"4": "CONNECT_ERROR"}


def _prefix(kind: str, namespace: str, ack: int | None = None) -> bytes:
    if not namespace.startswith("/"):
        raise UsageError(f"a Socket.IO namespace starts with '/' (not {namespace!r})")
    ns = "" if namespace == "/" else f"{namespace},"
    return f"4{kind}{ns}{'' if ack is None else ack}".encode()


def connect(namespace: str = "/", auth: Any = None) -> bytes:
    """A namespace CONNECT packet (``40``), with the auth object when given."""
    return _prefix("0", namespace) + (b"" if auth is None else json_bytes(auth))


def disconnect(namespace: str = "/") -> bytes:
    """A namespace DISCONNECT packet (``41``)."""
    return _prefix("1", namespace)


def event(name: str, args: list[Any] | tuple[Any, ...] = (), namespace: str = "/",
          ack: int | None = None) -> bytes:  # fmt: skip
    """An EVENT packet: ``42["name",arg…]``, with the namespace and ack id when given."""
    if not name:
        raise UsageError("a Socket.IO event needs a name")
    return _prefix("2", namespace, ack) + json_bytes([name, *args])


def ack(ack_id: int, args: list[Any] | tuple[Any, ...] = (), namespace: str = "/") -> bytes:
    """An ACK packet answering the event with ``ack_id``: ``43<id>[arg…]``."""
    return _prefix("3", namespace, ack_id) + json_bytes(list(args))


class SocketIOSpeaker:
    """The client side of Engine.IO 4 and Socket.IO 5 (see the module docstring)."""

    name = "socketio"

    def __init__(self, options: SpeakOptions) -> None:
        self.namespace = options.text("namespace", "/")
        self.auth = options.json("auth")
        if self.auth is not None and not isinstance(self.auth, dict):
            raise UsageError("--speak socketio: auth must be a JSON object")
        connect(self.namespace)  # checks the namespace now, not when the server opens
        self.ready = False
        #: The server's announced ping interval and timeout (seconds), once open.
        self.ping_interval: float | None = None
        self.ping_timeout: float | None = None
        #: Heartbeats heard from the server (its open packet, then each ping): the
        #: session's watchdog counts the silence from the last one.
        self.heartbeats = 0

    def opening(self) -> list[Outgoing]:
        """Nothing: Engine.IO's server speaks first (its open packet)."""
        return []

    def receive(self, payload: bytes, text: bool) -> Heard:
        """Answer the open packet with CONNECT and each ping with a pong."""
        if not text or not payload:
            return NOTHING  # a binary attachment
        kind = payload[:1]
        if kind == b"0":
            self._opened(payload[1:])
            self.heartbeats += 1
            return Heard((Outgoing(connect(self.namespace, self.auth)),))
        if kind == b"2":
            self.heartbeats += 1
            return Heard((Outgoing(b"3" + payload[1:]),))
        if kind == b"1":
            return Heard(error="the Engine.IO server closed the session (close packet)")
        if kind != b"4":
            return NOTHING
        head = _HEAD.match(payload)
        namespace = head.group(2)[:-1].decode("utf-8", "replace") if head and head.group(2) else "/"
        if head is None or namespace != self.namespace:
            return NOTHING
        kind = _TYPES.get(head.group(1))
        if kind == "CONNECT":
            self.ready = True
        elif kind == "CONNECT_ERROR":
            return Heard(error=f"Socket.IO refused the namespace {self.namespace}: "
                         f"{_message(payload[head.end() :])}")  # fmt: skip
        elif kind == "DISCONNECT":
            return Heard(error=f"the Socket.IO server disconnected the namespace {self.namespace}")
        return NOTHING

    def _opened(self, data: bytes) -> None:
        try:
            value = json.loads(data)
        except ValueError:
            return
        if isinstance(value, dict):
            for key, attr in (("pingInterval", "ping_interval"), ("pingTimeout", "ping_timeout")):
                if isinstance(value.get(key), int | float):
                    setattr(self, attr, value[key] / 1000)

    def heartbeat_timeout(self) -> float | None:
        """Seconds the server may stay silent after its last heartbeat before the
        session counts as dead: pingInterval + pingTimeout of its open packet, as the
        Engine.IO 4 client counts them; None until the server opened the session."""
        if self.ping_interval is None or self.ping_timeout is None:
            return None
        return self.ping_interval + self.ping_timeout

    def heartbeat_lost(self, limit: float) -> str:
        """The one line for a server whose pings stopped."""
        return (
            f"Engine.IO ping timeout: no ping from the server for {limit:g} s "
            f"(pingInterval {self.ping_interval:g} s + pingTimeout {self.ping_timeout:g} s)"
        )

    def sent(self, payload: bytes) -> None:
        """Nothing the user sends changes this client's part."""

    def keepalive_interval(self) -> float | None:
        """None: an Engine.IO 4 server pings and the client answers."""
        return None

    def keepalive(self) -> list[Outgoing]:
        """Nothing of its own (see :meth:`keepalive_interval`)."""
        return []


def _message(data: bytes) -> str:
    """The ``message`` of a CONNECT_ERROR's data (or the data as text)."""
    try:
        value = json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace") or "no reason given"
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return json.dumps(value)
