"""Imports every built-in decoder module, so each registers itself (order = auto's order)."""

from __future__ import annotations

from inspector.protocols.decoders import (  # noqa: F401
    binary,
    graphql,
    jsonrpc,
    jsontree,
    mqtt,
    protobuf,
    signalr,
    socketio,
    stomp,
    wrappers,
)
