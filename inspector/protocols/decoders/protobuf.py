"""Protobuf: schema-less wire decoding, and real names from a descriptor set.

Without a schema only the wire format is certain: field numbers, wire types, varints,
fixed-width numbers and length-delimited blobs. A blob that parses completely as a
message is shown as a nested message, one that is UTF-8 text as a string; both are
marked as guesses. With a ``FileDescriptorSet`` (``protoc --descriptor_set_out``) and a
message name, fields get their names and types, and the payload is also checked by
the ``protobuf`` package itself.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inspector.protocols.decoders import tree
from inspector.protocols.decoders.registry import DecodeContext, Decoder, register

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
_WIRE_NAMES = {VARINT: "varint", I64: "i64", LEN: "len", SGROUP: "sgroup", EGROUP: "egroup",
               I32: "i32"}  # fmt: skip

#: The option key in ``DecodeContext.options`` holding a :class:`ProtoSchema`.
SCHEMA_OPTION = "proto_schema"


def read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next offset) of the varint at ``pos``; Malformed past ``end`` or 10 bytes."""
    value = 0
    shift = 0
    while True:
        if pos >= end:
            raise tree.Malformed(f"varint runs past the end at byte {pos}")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise tree.Malformed(f"varint longer than 10 bytes before byte {pos}")


@dataclass(frozen=True, slots=True)
class _Wire:
    """One field as it is on the wire."""

    number: int
    wire_type: int
    start: int  # of the tag
    value_start: int
    end: int
    value: int | bytes


def wire_fields(data: bytes, start: int, end: int) -> list[_Wire]:
    """The fields of the message in ``data[start:end]``; Malformed if it is not one."""
    out: list[_Wire] = []
    pos = start
    while pos < end:
        tag_start = pos
        key, pos = read_varint(data, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise tree.Malformed(f"field number {number} at byte {tag_start}")
        if wire_type == VARINT:
            value_start = pos
            value, pos = read_varint(data, pos, end)
            out.append(_Wire(number, wire_type, tag_start, value_start, pos, value))
        elif wire_type in (I64, I32):
            size = 8 if wire_type == I64 else 4
            if pos + size > end:
                raise tree.Malformed(f"field {number} runs past the end at byte {pos}")
            out.append(_Wire(number, wire_type, tag_start, pos, pos + size,
                             int.from_bytes(data[pos : pos + size], "little")))  # fmt: skip
            pos += size
        elif wire_type == LEN:
            length, value_start = read_varint(data, pos, end)
            if value_start + length > end:
                raise tree.Malformed(f"field {number} says {length} bytes at byte {tag_start}, "
                                     f"{end - value_start} left")  # fmt: skip
            pos = value_start + length
            out.append(_Wire(number, wire_type, tag_start, value_start, pos,
                             data[value_start:pos]))  # fmt: skip
        elif wire_type in (SGROUP, EGROUP):
            # Groups are deprecated; shown as markers, their contents as sibling fields.
            out.append(_Wire(number, wire_type, tag_start, pos, pos, b""))
        else:
            raise tree.Malformed(f"wire type {wire_type} at byte {tag_start}")
    return out


class _Guesser:
    """Builds the schema-less tree."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.budget = tree.Budget()

    def message(self, start: int, end: int, depth: int) -> list[tree.Field]:
        return [self.field(w, depth) for w in wire_fields(self.data, start, end)
                if self.budget.take()]  # fmt: skip

    def field(self, wire: _Wire, depth: int) -> tree.Field:
        name = f"{wire.number}"
        kind = _WIRE_NAMES[wire.wire_type]
        if wire.wire_type == VARINT:
            value = int(wire.value)  # type: ignore[arg-type]
            signed = value - (1 << 64) if value >= 1 << 63 else value
            zigzag = (value >> 1) ^ -(value & 1)
            text = f"{value}" + (f" (int64 {signed})" if signed != value else "")
            if zigzag != signed:
                text += f" (sint {zigzag})"
            return tree.Field(name, text, kind, value, wire.start, wire.end)
        if wire.wire_type in (I64, I32):
            raw = int(wire.value)  # type: ignore[arg-type]
            size = 8 if wire.wire_type == I64 else 4
            as_float = struct.unpack("<d" if size == 8 else "<f", raw.to_bytes(size, "little"))[0]
            return tree.Field(name, f"{raw} (float {as_float:g})", kind, raw, wire.start, wire.end)
        if wire.wire_type in (SGROUP, EGROUP):
            return tree.Field(name, "group start" if wire.wire_type == SGROUP else "group end",
                              kind, None, wire.start, wire.end)  # fmt: skip
        blob = bytes(wire.value)  # type: ignore[arg-type]
        if blob and depth < tree.MAX_DEPTH:
            try:
                inner = wire_fields(self.data, wire.value_start, wire.end)
            except tree.Malformed:
                inner = None
            if inner and not _looks_like_text(blob):
                children = tuple(self.field(w, depth + 1) for w in inner if self.budget.take())
                label = f"message? {len(inner)} field{'s' if len(inner) != 1 else ''}"
                return tree.Field(name, label, "message", None, wire.start, wire.end, children,
                          guess=True)  # fmt: skip
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError:
            return tree.Field(name, f"bytes[{len(blob)}] {blob[:16].hex(' ')}"
                              f"{' …' if len(blob) > 16 else ''}", "bytes", blob.hex(),
                              wire.start, wire.end)  # fmt: skip
        return tree.Field(name, tree.short(repr(text)), "string", text, wire.start, wire.end,
                          guess=True)  # fmt: skip


def _looks_like_text(blob: bytes) -> bool:
    """Printable UTF-8 text (a string that happens to parse as a message is kept a string)."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable()


# -- with a schema -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProtoSchema:
    """A message type from a loaded descriptor set."""

    descriptor: Any  # google.protobuf.descriptor.Descriptor
    message_class: Any


def load_schema(path: str | Path, message: str) -> ProtoSchema:
    """Load ``message`` from a ``protoc --descriptor_set_out`` file; ValueError with one line."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from google.protobuf.message import DecodeError

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(data)
    except DecodeError as exc:
        raise ValueError(f"{path} is not a descriptor set (protoc --descriptor_set_out): "
                         f"{exc}") from None  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pending = list(files.file)
    while pending:  # add each file after the files it imports
        added = False
        for proto in list(pending):
            try:
                pool.Add(proto)
            except (TypeError, KeyError, ValueError):
                continue
            pending.remove(proto)
            added = True
        if not added:
            names = ", ".join(p.name for p in pending)
            raise ValueError(f"{path}: cannot load {names} (imports missing? use "
                             "protoc --include_imports)")  # fmt: skip
    try:
        descriptor = pool.FindMessageTypeByName(message.lstrip("."))
    except KeyError:
        raise ValueError(f"{path} has no message {message!r}") from None
    return ProtoSchema(descriptor, message_factory.GetMessageClass(descriptor))


class _Named:
    """Builds the tree of a message whose descriptor is known."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.budget = tree.Budget()
        self.guesser = _Guesser(data)

    def message(self, descriptor: Any, start: int, end: int, depth: int) -> list[tree.Field]:
        out: list[tree.Field] = []
        for wire in wire_fields(self.data, start, end):
            if not self.budget.take():
                continue
            fd = descriptor.fields_by_number.get(wire.number)
            if fd is None:
                unknown = self.guesser.field(wire, depth)
                out.append(_rename(unknown, f"{wire.number} (unknown)"))
            else:
                out.extend(self.field(fd, wire, depth))
        return out

    def field(self, fd: Any, wire: _Wire, depth: int) -> list[tree.Field]:
        from google.protobuf.descriptor import FieldDescriptor as FD

        name = fd.name
        if fd.type == FD.TYPE_MESSAGE and wire.wire_type == LEN and depth < tree.MAX_DEPTH:
            children = tuple(self.message(fd.message_type, wire.value_start, wire.end, depth + 1))
            return [tree.Field(name, fd.message_type.name, "message", None, wire.start, wire.end,
                               children)]  # fmt: skip
        if wire.wire_type == LEN and fd.type not in (FD.TYPE_STRING, FD.TYPE_BYTES,
                                                     FD.TYPE_MESSAGE):  # fmt: skip
            return self.packed(fd, wire)
        value = _scalar(fd, wire.wire_type, wire.value)
        return [tree.Field(name, _show(fd, value), _type_name(fd), value, wire.start, wire.end)]

    def packed(self, fd: Any, wire: _Wire) -> list[tree.Field]:
        """The elements of a packed repeated field, each with its bytes."""
        out: list[tree.Field] = []
        pos, end = wire.value_start, wire.end
        index = 0
        size = _fixed_size(fd)
        while pos < end:
            item_start = pos
            if size:
                if pos + size > end:
                    raise tree.Malformed(f"packed field {fd.name} is cut at byte {pos}")
                raw: int | bytes = int.from_bytes(self.data[pos : pos + size], "little")
                pos += size
                wire_type = I64 if size == 8 else I32
            else:
                raw, pos = read_varint(self.data, pos, end)
                wire_type = VARINT
            value = _scalar(fd, wire_type, raw)
            out.append(tree.Field(f"{fd.name}[{index}]", _show(fd, value), _type_name(fd), value,
                                  item_start, pos))  # fmt: skip
            index += 1
        return out


def _rename(field: tree.Field, name: str) -> tree.Field:
    return replace(field, name=name)


def _fixed_size(fd: Any) -> int:
    from google.protobuf.descriptor import FieldDescriptor as FD

    if fd.type in (FD.TYPE_DOUBLE, FD.TYPE_FIXED64, FD.TYPE_SFIXED64):
        return 8
    if fd.type in (FD.TYPE_FLOAT, FD.TYPE_FIXED32, FD.TYPE_SFIXED32):
        return 4
    return 0


def _type_name(fd: Any) -> str:
    from google.protobuf.descriptor import FieldDescriptor as FD

    names = {v: k[5:].lower() for k, v in vars(FD).items() if k.startswith("TYPE_")}
    return names.get(fd.type, "?")


def _scalar(fd: Any, wire_type: int, raw: int | bytes) -> Any:
    """The value of a scalar field from its wire value, as the schema types it."""
    from google.protobuf.descriptor import FieldDescriptor as FD

    t = fd.type
    if isinstance(raw, bytes):
        if t == FD.TYPE_STRING:
            return raw.decode("utf-8", "replace")
        return raw.hex()
    if t in (FD.TYPE_INT64, FD.TYPE_INT32, FD.TYPE_ENUM):
        value = raw - (1 << 64) if raw >= 1 << 63 else raw
        if t == FD.TYPE_INT32:
            value = ((value + (1 << 31)) % (1 << 32)) - (1 << 31)
        return value
    if t in (FD.TYPE_SINT32, FD.TYPE_SINT64):
        return (raw >> 1) ^ -(raw & 1)
    if t == FD.TYPE_UINT32:
        return raw & 0xFFFFFFFF
    if t == FD.TYPE_BOOL:
        return raw != 0
    if t == FD.TYPE_DOUBLE:
        return struct.unpack("<d", raw.to_bytes(8, "little"))[0]
    if t == FD.TYPE_FLOAT:
        return struct.unpack("<f", raw.to_bytes(4, "little"))[0]
    if t == FD.TYPE_SFIXED64:
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if t == FD.TYPE_SFIXED32:
        return raw - (1 << 32) if raw >= 1 << 31 else raw
    return raw


def _show(fd: Any, value: Any) -> str:
    from google.protobuf.descriptor import FieldDescriptor as FD

    if fd.type == FD.TYPE_ENUM and isinstance(value, int):
        named = fd.enum_type.values_by_number.get(value)
        return f"{named.name} ({value})" if named is not None else str(value)
    if isinstance(value, str) and fd.type == FD.TYPE_STRING:
        return tree.short(repr(value))
    return tree.short(str(value))


def decode_protobuf(payload: bytes, context: DecodeContext) -> tree.Decoded:
    """A Protobuf message: named with a schema in the context, else from the wire alone."""
    schema = context.options.get(SCHEMA_OPTION)
    if isinstance(schema, ProtoSchema):
        return _decode_named(payload, schema)
    try:
        fields = _Guesser(payload).message(0, len(payload), 0)
    except tree.Malformed as exc:
        return tree.failure("protobuf", "Protobuf", str(exc))
    summary = f"message {len(fields)} field{'s' if len(fields) != 1 else ''} (no schema)"
    return tree.Decoded("protobuf", summary, tuple(fields))


def _decode_named(payload: bytes, schema: ProtoSchema) -> tree.Decoded:
    from google.protobuf.message import DecodeError

    name = schema.descriptor.full_name
    try:
        schema.message_class.FromString(payload)
    except (DecodeError, RuntimeError, ValueError) as exc:
        return tree.failure("protobuf", f"Protobuf {name}", str(exc) or "cannot be parsed")
    try:
        fields = _Named(payload).message(schema.descriptor, 0, len(payload), 0)
    except tree.Malformed as exc:
        return tree.failure("protobuf", f"Protobuf {name}", str(exc))
    return tree.Decoded("protobuf", f"{name} {len(fields)} field{'s' if len(fields) != 1 else ''}",
                        tuple(fields))  # fmt: skip


PROTOBUF = register(Decoder("protobuf", "Protobuf", decode_protobuf))
