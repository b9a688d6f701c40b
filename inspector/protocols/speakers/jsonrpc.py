"""JSON-RPC 2.0 messages (it has no opening or keep-alive of its own: nothing to speak)."""

from __future__ import annotations

from typing import Any

from inspector.core.errors import UsageError
from inspector.protocols.speakers.base import json_bytes


def request(method: str, params: Any = None, ident: int | str | None = None) -> bytes:
    """A request (with an ``id``) or, without one, a notification."""
    if not method:
        raise UsageError("a JSON-RPC request needs a method")
    if params is not None and not isinstance(params, list | dict):
        raise UsageError("JSON-RPC params are a JSON array or object")
    value: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        value["params"] = params
    if ident is not None:
        value["id"] = ident
    return json_bytes(value)
