"""The result of decoding one payload: a tree of named fields with byte ranges.

A decoder never raises on what a peer sent: whatever is wrong becomes ``Decoded.error``,
one line that starts "not valid X: ". Byte ranges are ``[start, end)`` offsets into the
record's payload, so the hex view can highlight a field as it does a frame header; a
field found inside an unwrapped (base64, gzip) payload has no range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, NamedTuple

from inspector.core.matching import Role

#: How deep a decoded tree may nest before the rest is shown as one opaque field.
MAX_DEPTH = 64
#: How many fields one decoded tree may hold; the rest is counted, not built.
MAX_FIELDS = 5000
#: The largest payload any decoder looks at (and the most a decompressor may produce).
MAX_PAYLOAD = 16 * 1024 * 1024

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Exchange(NamedTuple):
    """The id a message carries for pairing: its role and a key both sides share.

    A named tuple rather than a dataclass: statistics over a large capture make one
    per message, and it is already the ``(role, key)`` pair ``core.matching`` takes.
    """

    role: Role
    key: str


@dataclass(frozen=True, slots=True)
class Field:
    """One decoded field: its name, a display text, its value and where its bytes are.

    ``type`` says what the value is ("object", "array", "string", "int", "varint", …);
    ``value`` is JSON-compatible for leaves and None for containers; ``guess`` marks a
    reading the format does not guarantee (a Protobuf blob read as a nested message).
    """

    name: str
    text: str
    type: str = ""
    value: Any = None
    start: int | None = None
    end: int | None = None
    children: tuple[Field, ...] = ()
    guess: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the field and its children."""
        out: dict[str, Any] = {"name": self.name, "text": self.text}
        if self.type:
            out["type"] = self.type
        if self.value is not None:
            out["value"] = json_safe(self.value)
        if self.start is not None and self.end is not None:
            out["range"] = [self.start, self.end]
        if self.guess:
            out["guess"] = True
        if self.children:
            out["children"] = [child.to_json() for child in self.children]
        return out

    def unplaced(self) -> Field:
        """The same field and children without byte ranges (for unwrapped payloads)."""
        return replace(
            self, start=None, end=None, children=tuple(c.unplaced() for c in self.children)
        )

    def shifted(self, offset: int) -> Field:
        """The same field and children with ranges moved by ``offset`` bytes."""
        return replace(
            self,
            start=None if self.start is None else self.start + offset,
            end=None if self.end is None else self.end + offset,
            children=tuple(c.shifted(offset) for c in self.children),
        )

    def walk(self) -> list[Field]:
        """This field and all below it, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a decoder made of one payload.

    ``summary`` is one line for lists; ``facts`` a flat mapping of the protocol's
    notable values (event, topic, id, type, namespace…) that filters can test;
    ``exchanges`` the ids used to pair requests with responses (a batch or a read
    holding several packets may carry more than one).
    """

    decoder: str
    summary: str
    fields: tuple[Field, ...] = ()
    error: str | None = None
    facts: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    exchanges: tuple[Exchange, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the payload was valid for the decoder."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """The ``decoded`` object of ``show --json``."""
        out: dict[str, Any] = {"decoder": self.decoder, "summary": self.summary}
        if self.error is not None:
            out["error"] = self.error
        if self.facts:
            out["facts"] = {k: json_safe(v) for k, v in self.facts.items()}
        if self.exchanges:
            out["exchanges"] = [{"role": str(e.role), "key": e.key} for e in self.exchanges]
        if self.fields:
            out["fields"] = [f.to_json() for f in self.fields]
        return out


def failure(decoder: str, what: str, reason: str) -> Decoded:
    """The result for a payload the decoder cannot read: "not valid WHAT: reason"."""
    line = " ".join(str(reason).split())
    if len(line) > 200:
        line = line[:199] + "…"
    return Decoded(decoder, f"not valid {what}: {line}", error=f"not valid {what}: {line}")


class Budget:
    """Counts the fields a decoder builds, so a hostile payload cannot make millions."""

    __slots__ = ("left", "skipped")

    def __init__(self, limit: int = MAX_FIELDS) -> None:
        self.left = limit
        self.skipped = 0

    def take(self) -> bool:
        """True while fields may still be built; counts the ones that may not."""
        if self.left > 0:
            self.left -= 1
            return True
        self.skipped += 1
        return False


class Malformed(ValueError):
    """Raised inside a decoder for bad input; turned into ``Decoded.error`` at its edge."""


def json_safe(value: Any) -> Any:
    """A value that ``json.dumps`` accepts: bytes as hex, other odd types as text."""
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, float) and value != value:  # NaN
            return "NaN"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return str(value)
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def short(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters, "…" when cut."""
    line = " ".join(text.split()) if ("\n" in text or "\r" in text) else text
    return line if len(line) <= limit else line[: limit - 1] + "…"
