"""SignalR's JSON hub protocol as a client: its messages, and the client's side.

The client opens with the handshake record ``{"protocol":"json","version":1}`` + 0x1E
and is ready at the empty handshake response ``{}``; a response with ``error``, or a
Close message (type 7) with one, is the server's refusal. The client pings (type 6)
every ``ping`` seconds (15 by default, as SignalR's own clients do).
"""

from __future__ import annotations

from typing import Any

from inspector.core.errors import UsageError
from inspector.protocols.speakers import base

OPTIONS = ("ping",)
SEPARATOR = b"\x1e"


def record(value: dict[str, Any]) -> bytes:
    """One message: compact JSON and the record separator."""
    return base.json_bytes(value) + SEPARATOR


def handshake(protocol: str = "json", version: int = 1) -> bytes:
    """The handshake request."""
    return record({"protocol": protocol, "version": version})


def invocation(target: str, arguments: list[Any] | tuple[Any, ...] = (),
               invocation_id: str | None = None, stream: bool = False) -> bytes:  # fmt: skip
    """An Invocation (type 1) or StreamInvocation (type 4) of the hub method ``target``;
    with an ``invocation_id`` the server answers with a Completion carrying it."""
    if not target:
        raise UsageError("a SignalR invocation needs a target (the hub method)")
    value: dict[str, Any] = {"type": 4 if stream else 1}
    if invocation_id is not None:
        value["invocationId"] = invocation_id
    value.update(target=target, arguments=list(arguments))
    return record(value)


def ping() -> bytes:
    """A Ping (type 6)."""
    return record({"type": 6})


class SignalRSpeaker:
    """The client side of SignalR's JSON hub protocol (see the module docstring)."""

    name = "signalr"

    def __init__(self, options: base.SpeakOptions) -> None:
        self.ping = options.number("ping", 15, 0, 86400) or None
        self.ready = False
        self._answered = False

    def opening(self) -> list[base.Outgoing]:
        """The handshake request."""
        return [base.Outgoing(handshake())]

    def receive(self, payload: bytes, text: bool) -> base.Heard:
        """The handshake response readies (or refuses); a Close with an error ends."""
        del text
        for part in payload.split(SEPARATOR):
            if not part.strip():
                continue
            value = base.json_object(part)
            if value is None:
                continue
            if not self._answered and "type" not in value and "protocol" not in value:
                self._answered = True
                if "error" in value:
                    return base.Heard(error=f"the SignalR server refused the handshake: "
                                      f"{value['error']}")  # fmt: skip
                self.ready = True
            elif value.get("type") == 7 and value.get("error"):
                why = value["error"]
                return base.Heard(error=f"the SignalR server closed the connection: {why}")
        return base.NOTHING

    def sent(self, payload: bytes) -> None:
        """Nothing the user sends changes this client's part."""

    def keepalive_interval(self) -> float | None:
        """The ``ping`` option (15 s by default)."""
        return self.ping

    def keepalive(self) -> list[base.Outgoing]:
        """A Ping."""
        return [base.Outgoing(ping())]
