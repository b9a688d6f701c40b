"""Payload formats against their reference libraries: every leaf's bytes, read again by
the library, give the leaf's value, and the tree holds the whole value."""

from __future__ import annotations

import gzip
import json
import math
import zlib
from typing import Any

import cbor2
import msgpack
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.protocols.decoders import DecodeContext, Field, get

CTX = DecodeContext()

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars.filter(lambda v: not isinstance(v, int) or abs(v) < 2**53),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
binary_values = st.recursive(
    scalars | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def rebuild(field: Field) -> Any:
    """The value a tree stands for (maps and arrays from their children)."""
    if field.type in ("object", "map"):
        return {child.name: rebuild(child) for child in field.children}
    if field.type == "array":
        return [rebuild(child) for child in field.children]
    if field.type == "bytes":
        return bytes.fromhex(field.value)
    return field.value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


def leaves(field: Field) -> list[Field]:
    return [f for f in field.walk() if not f.children and f.type not in ("object", "map", "array")]


@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from([None, 2]), st.booleans())
def test_json_tree_and_ranges(value: Any, indent: int | None, ascii_only: bool) -> None:
    payload = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    decoded = get("json").run(payload, CTX)
    assert decoded.ok, decoded.error
    (root,) = decoded.fields
    assert same(rebuild(root), json.loads(payload))
    assert payload[root.start : root.end].strip() == payload.strip()
    for leaf in leaves(root):
        assert same(json.loads(payload[leaf.start : leaf.end]), leaf.value)


@settings(max_examples=150, deadline=None)
@given(binary_values)
def test_msgpack_against_msgpack(value: Any) -> None:
    payload = msgpack.packb(value, use_bin_type=True)
    decoded = get("msgpack").run(payload, CTX)
    assert decoded.ok, decoded.error
    (root,) = decoded.fields
    assert (root.start, root.end) == (0, len(payload))
    assert same(rebuild(root), msgpack.unpackb(payload, raw=False, strict_map_key=False))
    for leaf in leaves(root):
        expected = msgpack.unpackb(payload[leaf.start : leaf.end], raw=False)
        assert same(bytes.fromhex(leaf.value) if leaf.type == "bytes" else leaf.value, expected)


@settings(max_examples=150, deadline=None)
@given(binary_values, st.booleans())
def test_cbor_against_cbor2(value: Any, canonical: bool) -> None:
    payload = cbor2.dumps(value, canonical=canonical)
    decoded = get("cbor").run(payload, CTX)
    assert decoded.ok, decoded.error
    (root,) = decoded.fields
    assert (root.start, root.end) == (0, len(payload))
    assert same(rebuild(root), cbor2.loads(payload))
    for leaf in leaves(root):
        expected = cbor2.loads(payload[leaf.start : leaf.end])
        assert same(bytes.fromhex(leaf.value) if leaf.type == "bytes" else leaf.value, expected)


def test_cbor_indefinite_lengths_and_tags() -> None:
    payload = bytes.fromhex("9f0102bf616101ffff") + cbor2.dumps(cbor2.CBORTag(32, "http://x"))
    decoded = get("cbor").run(payload, CTX)
    assert decoded.ok, decoded.error
    first, second = decoded.fields
    assert rebuild(first) == [1, 2, {"a": 1}]
    assert (first.start, first.end, second.start) == (0, 9, 9)
    assert second.type == "tag" and "tag 32" in second.text


def test_msgpack_ext_and_several_values() -> None:
    payload = msgpack.packb(msgpack.ExtType(5, b"xy")) + msgpack.packb([1])
    decoded = get("msgpack").run(payload, CTX)
    assert decoded.summary == "2 values"
    assert decoded.fields[0].type == "ext" and decoded.fields[0].value == {
        "code": 5,
        "data": "7879",
    }


@pytest.mark.parametrize(
    ("name", "wrap"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate
        ("zstd", lambda d: zstandard.ZstdCompressor().compress(d)),
        ("base64", lambda d: __import__("base64").b64encode(d)),
    ],
)
def test_wrapped_json_is_unwrapped_and_decoded(name: str, wrap: Any) -> None:
    payload = wrap(b'{"user": "ann", "n": [1, 2]}')
    decoded = get(name).run(payload, CTX)
    assert decoded.ok, decoded.error
    (top,) = decoded.fields
    assert (top.start, top.end) == (0, len(payload))
    inner = top.children[0]
    assert rebuild(inner) == {"user": "ann", "n": [1, 2]}
    assert all(f.start is None for f in inner.walk())  # not bytes of the payload
    assert "json" in decoded.summary


def test_a_decompression_bomb_stays_small() -> None:
    bomb = gzip.compress(b"\0" * (17 * 1024 * 1024))
    decoded = get("gzip").run(bomb, CTX)
    assert decoded.error == "not valid gzip: unpacks to more than 16 MiB"


def test_errors_are_one_line_and_name_the_format() -> None:
    cases = {
        "json": (b'{"a": }', "not valid JSON: Expecting value: line 1 column 7 (char 6)"),
        "msgpack": (b"\x92\x01", "not valid MessagePack: ends early at byte 2"),
        "cbor": (b"\x82\x01", "not valid CBOR: ends early at byte 2"),
        "gzip": (b"plain", "not valid gzip: no gzip header (1f 8b)"),
        "base64": (b"not base64!", "not valid base64: characters outside the base64 alphabet"),
        "protobuf": (b"\x0a\x05ab", "not valid Protobuf: field 1 says 5 bytes at byte 0, 2 left"),
    }
    for name, (payload, message) in cases.items():
        decoded = get(name).run(payload, CTX)
        assert decoded.error == message, name
        assert decoded.summary == message


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.sampled_from(["gzip", "deflate", "zstd", "base64"]))
def test_unwrapping_round_trips(data: bytes, name: str) -> None:
    wrap = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "zstd": zstandard.ZstdCompressor().compress,
        "base64": __import__("base64").b64encode,
    }[name]
    decoded = get(name).run(wrap(data), CTX)
    assert decoded.ok, decoded.error
    (top,) = decoded.fields
    assert top.text.endswith(f"→ {len(data)} bytes")
    content = top.children[0] if top.children else None
    if content is not None and content.name == "content" and content.type == "bytes":
        assert bytes.fromhex(content.value) == data[:4096]
    elif content is not None and content.name == "content":
        assert content.value == data.decode("utf-8")[:4096]
