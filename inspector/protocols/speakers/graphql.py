"""GraphQL over WebSocket as a client: ``graphql-transport-ws`` and the older
``graphql-ws`` (subscriptions-transport-ws); their messages, and the client's side.

The client opens with ``connection_init`` and is ready at ``connection_ack``. In
``graphql-transport-ws`` either side may ``ping`` and the other answers ``pong``; the
old protocol's server sends ``ka`` (keep-alive) messages that need no answer, and
refuses with ``connection_error``.
"""

from __future__ import annotations

from typing import Any

from inspector.core.errors import UsageError
from inspector.protocols.speakers.base import (
    NOTHING,
    Heard,
    Outgoing,
    SpeakOptions,
    json_bytes,
    json_object,
)

OPTIONS = ("payload", "ping")
#: The older protocol's subprotocol name (subscriptions-transport-ws).
LEGACY = "graphql-ws"


def message(kind: str, ident: str | None = None, payload: Any = None) -> bytes:
    """One protocol message: ``{"type": …, "id": …, "payload": …}`` (absent parts left out)."""
    value: dict[str, Any] = {"type": kind}
    if ident is not None:
        value["id"] = ident
    if payload is not None:
        value["payload"] = payload
    return json_bytes(value)


def subscribe(ident: str, query: str, variables: Any = None, operation_name: str | None = None,
              legacy: bool = False) -> bytes:  # fmt: skip
    """An operation: ``subscribe`` (``start`` in the older protocol) with its query."""
    if not query.strip():
        raise UsageError("a GraphQL operation needs a query")
    if variables is not None and not isinstance(variables, dict):
        raise UsageError("GraphQL variables are a JSON object")
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation_name:
        payload["operationName"] = operation_name
    return message("start" if legacy else "subscribe", ident, payload)


def complete(ident: str, legacy: bool = False) -> bytes:
    """Stop an operation: ``complete`` (``stop`` in the older protocol)."""
    return message("stop" if legacy else "complete", ident)


class GraphQLSpeaker:
    """The client side of GraphQL over WebSocket (see the module docstring)."""

    name = "graphql"

    def __init__(self, options: SpeakOptions, subprotocol: str | None) -> None:
        self.legacy = (subprotocol or "").lower() == LEGACY
        self.payload = options.json("payload")
        if self.payload is not None and not isinstance(self.payload, dict):
            raise UsageError("--speak graphql: payload must be a JSON object")
        self.ping = options.number("ping", 0, 0, 86400) or None
        if self.ping and self.legacy:
            raise UsageError("--speak graphql: ping is for graphql-transport-ws (graphql-ws "
                             "has no client ping)")  # fmt: skip
        self.ready = False

    def opening(self) -> list[Outgoing]:
        """``connection_init``."""
        return [Outgoing(message("connection_init", payload=self.payload))]

    def receive(self, payload: bytes, text: bool) -> Heard:
        """``connection_ack`` readies, ``ping`` is answered, ``connection_error`` refuses."""
        del text
        value = json_object(payload)
        kind = value.get("type") if value is not None else None
        if kind == "connection_ack":
            self.ready = True
        elif kind == "ping" and not self.legacy:
            return Heard((Outgoing(message("pong")),))
        elif kind == "connection_error":
            return Heard(error=f"the GraphQL server refused the connection: "
                         f"{json_bytes(value.get('payload')).decode()[:200]}")  # fmt: skip
        return NOTHING

    def sent(self, payload: bytes) -> None:
        """Nothing the user sends changes this client's part."""

    def keepalive_interval(self) -> float | None:
        """The ``ping`` option (graphql-transport-ws only), else None."""
        return self.ping

    def keepalive(self) -> list[Outgoing]:
        """``ping``."""
        return [Outgoing(message("ping"))]
