"""MessagePack and CBOR as trees with byte ranges.

The containers (arrays and maps) are walked here, so every element knows its bytes;
each scalar is read by the format's reference library (``msgpack``, ``cbor2``) at its
offset, so values are exactly what those libraries return.
"""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from typing import Any, Protocol

import cbor2
import msgpack

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register


def _display(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return f"bytes[{len(value)}] {bytes(value[:16]).hex(' ')}{' …' if len(value) > 16 else ''}"
    if isinstance(value, str):
        return tree.short(repr(value))
    return tree.short(repr(tree.json_safe(value)) if not isinstance(value, int | float | bool) else
                      repr(value))  # fmt: skip


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "nil"
    for kind, name in ((int, "int"), (float, "float"), (str, "string"),
                       (bytes | bytearray, "bytes")):  # fmt: skip
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _plain(value: Any) -> Any:
    """A leaf's value as the tree keeps it: JSON-compatible (bytes as hex)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return value if value is None or isinstance(value, bool | int | float | str) else (
        tree.json_safe(value))  # fmt: skip


def _label(container: str, count: int) -> str:
    unit = "entr" if container == "map" else "item"
    plural = ("ies" if count != 1 else "y") if unit == "entr" else ("s" if count != 1 else "")
    return f"{container} {count} {unit}{plural}"


# -- MessagePack ---------------------------------------------------------------------


class _MsgpackWalker:
    """Walks a MessagePack buffer with ``msgpack.Unpacker``, peeking at type bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=0)
        self.unpacker.feed(data)
        self.budget = tree.Budget()

    #: What msgpack raises for bytes that are not MessagePack (a tree.Malformed is said
    #: as it is, by Decoder.run).
    ERRORS = (msgpack.OutOfData, ValueError, msgpack.ExtraData, msgpack.FormatError,
              msgpack.StackError)  # fmt: skip

    def root(self, pos: int) -> tree.Field:
        del pos  # the unpacker goes on from where the last value ended
        return self.item("MessagePack", 0)

    def why(self, exc: Exception) -> str:
        at = self.unpacker.tell()
        return f"at byte {at}: {exc}" if str(exc) else f"ends early at byte {at}"

    def item(self, name: str, depth: int) -> tree.Field:
        start = self.unpacker.tell()
        if start >= len(self.data):
            raise tree.Malformed(f"ends early at byte {start}")
        head = self.data[start]
        is_array = 0x90 <= head <= 0x9F or head in (0xDC, 0xDD)
        is_map = 0x80 <= head <= 0x8F or head in (0xDE, 0xDF)
        if (is_array or is_map) and depth < tree.MAX_DEPTH and self.budget.take():
            children: list[tree.Field] = []
            if is_array:
                count = self.unpacker.read_array_header()
                for index in range(count):
                    if self.budget.left <= 0:
                        self.unpacker.skip()
                        self.budget.skipped += 1
                        continue
                    children.append(self.item(f"[{index}]", depth + 1))
                label = _label("array", count)
            else:
                count = self.unpacker.read_map_header()
                for _ in range(count):
                    key = self.unpacker.unpack()
                    if self.budget.left <= 0:
                        self.unpacker.skip()
                        self.budget.skipped += 1
                        continue
                    children.append(self.item(_key_name(key), depth + 1))
                label = _label("map", count)
            return tree.Field(name, label, "array" if is_array else "map", None, start,
                              self.unpacker.tell(), tuple(children))  # fmt: skip
        value = self.unpacker.unpack()
        self.budget.take()
        end = self.unpacker.tell()
        if isinstance(value, list | dict):
            return tree.Field(name, _label("array" if isinstance(value, list) else "map",
                                           len(value)), "opaque", None, start, end)  # fmt: skip
        if isinstance(value, msgpack.ExtType):
            kept = {"code": value.code, "data": value.data.hex()}
            shown = f"ext type {value.code}: {_display(value.data)}"
            return tree.Field(name, shown, "ext", kept, start, end)
        return tree.Field(name, _display(value), _type(value), _plain(value), start, end)


def _key_name(key: Any) -> str:
    return key if isinstance(key, str) else repr(tree.json_safe(key))


def decode_msgpack(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """A MessagePack payload (one value or several back to back) as a tree
    (:class:`tree.Malformed` for what is not: Decoder.run says it in one line)."""
    del context
    return _values(payload, "msgpack", "MessagePack", "value", _MsgpackWalker(payload))


MSGPACK = register(Decoder("msgpack", "MessagePack", decode_msgpack))


class _Walker(Protocol):
    """What :func:`_values` needs of a format's walker."""

    ERRORS: tuple[type[Exception], ...]
    budget: tree.Budget

    def root(self, pos: int) -> tree.Field: ...

    def why(self, exc: Exception) -> str: ...


def _values(payload: bytes, key: str, title: str, unit: str, walker: _Walker) -> tree.Decoded:
    """One value, or several back to back (each named "<unit> N"), read by the walker
    from where the last one ended; past 256 values or the budget, the rest is counted."""
    if not payload:
        raise tree.Malformed("empty payload")
    roots: list[tree.Field] = []
    pos = 0
    try:
        while pos < len(payload):
            if len(roots) >= 256 or walker.budget.left <= 0:
                roots.append(tree.Field("…", f"{len(payload) - pos} more bytes"))
                break
            field = walker.root(pos)
            assert field.end is not None
            roots.append(field)
            pos = field.end
    except tree.Malformed:  # a ValueError too: said as it is, by Decoder.run
        raise
    except walker.ERRORS as exc:
        return tree.failure(key, title, walker.why(exc))
    if len(roots) > 1:
        roots = [replace(root, name=f"{unit} {i}") if root.end is not None else root
                 for i, root in enumerate(roots)]  # fmt: skip
    summary = roots[0].text if len(roots) == 1 else f"{len(roots)} {unit}s"
    return tree.Decoded(key, summary, tuple(roots))


# -- CBOR ----------------------------------------------------------------------------

_BREAK = 0xFF


class _CborWalker:
    """Walks CBOR arrays and maps by their headers; ``cbor2`` reads each other item."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.stream = io.BytesIO(data)
        self.decoder = cbor2.CBORDecoder(self.stream)
        self.budget = tree.Budget()

    #: What the walk raises for bytes that are not CBOR (cbor2's own errors are turned
    #: into tree.Malformed where it reads an item).
    ERRORS = (struct.error, RecursionError)

    def root(self, pos: int) -> tree.Field:
        return self.item(pos, "CBOR", 0)

    def why(self, exc: Exception) -> str:
        return str(exc) or type(exc).__name__

    def header(self, pos: int) -> tuple[int, int | None, int]:
        """(major type, argument or None for indefinite, offset after the header)."""
        data = self.data
        if pos >= len(data):
            raise tree.Malformed(f"ends early at byte {pos}")
        head = data[pos]
        major, info = head >> 5, head & 0x1F
        if info < 24:
            return major, info, pos + 1
        if info == 31:
            return major, None, pos + 1
        size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
        if size is None or pos + 1 + size > len(data):
            raise tree.Malformed(f"bad item header at byte {pos}")
        return major, int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size

    def item(self, pos: int, name: str, depth: int) -> tree.Field:
        major, count, after = self.header(pos)
        if major in (4, 5) and depth < tree.MAX_DEPTH and self.budget.take():
            children: list[tree.Field] = []
            at = after
            index = 0
            while count is None or index < count:
                if count is None:
                    if at >= len(self.data):
                        raise tree.Malformed(f"ends early at byte {at}")
                    if self.data[at] == _BREAK:
                        at += 1
                        break
                if major == 4:
                    child = self.item(at, f"[{index}]", depth + 1)
                else:
                    key_field = self.scalar(at, "key")
                    assert key_field.end is not None
                    child = self.item(key_field.end, _key_name(key_field.value), depth + 1)
                if self.budget.left > 0:
                    children.append(child)
                assert child.end is not None
                at = child.end
                index += 1
            container = "array" if major == 4 else "map"
            return tree.Field(name, _label(container, index), container, None, pos, at,
                              tuple(children))  # fmt: skip
        return self.scalar(pos, name)

    def scalar(self, pos: int, name: str) -> tree.Field:
        self.budget.take()
        self.stream.seek(pos)
        try:
            value = self.decoder.decode()
        except cbor2.CBORDecodeEOF:
            raise tree.Malformed(f"ends early after byte {pos}") from None
        except (cbor2.CBORDecodeError, ValueError, OverflowError, TypeError) as exc:
            raise tree.Malformed(f"at byte {pos}: {exc}") from None
        end = self.stream.tell()
        if isinstance(value, list | dict | tuple):
            return tree.Field(name, _label("map" if isinstance(value, dict) else "array",
                                           len(value)), "opaque", None, pos, end)  # fmt: skip
        if isinstance(value, cbor2.CBORTag):
            kept = {"tag": value.tag, "value": tree.json_safe(value.value)}
            shown = f"tag {value.tag}: {_display(value.value)}"
            return tree.Field(name, shown, "tag", kept, pos, end)
        if isinstance(value, cbor2.CBORSimpleValue):
            return tree.Field(name, f"simple({value.value})", "simple", value.value, pos, end)
        if value is cbor2.undefined:
            return tree.Field(name, "undefined", "undefined", None, pos, end)
        return tree.Field(name, _display(value), _type(value), _plain(value), pos, end)


def decode_cbor(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """A CBOR payload (one data item, or a sequence of them) as a tree
    (:class:`tree.Malformed` for what is not: Decoder.run says it in one line)."""
    del context
    return _values(payload, "cbor", "CBOR", "item", _CborWalker(payload))


CBOR = register(Decoder("cbor", "CBOR", decode_cbor))
