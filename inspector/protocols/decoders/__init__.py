"""Payload and application-protocol decoders: pure functions of a record's payload.

``registry`` names them and chooses one per session; ``session.SessionDecoder`` decodes
a session's records in order; ``tree`` holds the result types. docs/decoders.md says
what each decoder shows and how to add one from another package.
"""

from __future__ import annotations

from inspector.protocols.decoders.registry import (
    AUTO,
    ENTRY_POINT_GROUP,
    DecodeContext,
    Decoder,
    choose,
    decoders,
    get,
    plugin_errors,
    register,
    reload_plugins,
    sniff,
)
from inspector.protocols.decoders.tree import Decoded, Exchange, Field, Role, failure

# The built-in decoders register themselves on import; the package imports them after
# the registry, so any use of the registry finds them (and none imports the others).
from inspector.protocols.decoders import builtin  # noqa: F401  isort: skip

__all__ = [
    "AUTO",
    "ENTRY_POINT_GROUP",
    "DecodeContext",
    "Decoded",
    "Decoder",
    "Exchange",
    "Field",
    "Role",
    "choose",
    "decoders",
    "failure",
    "get",
    "plugin_errors",
    "register",
    "reload_plugins",
    "sniff",
]
