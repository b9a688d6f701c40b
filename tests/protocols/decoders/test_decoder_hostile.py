"""Hostile bytes: no decoder raises, recursion and sizes are bounded, and every error is
one line that names the format."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.protocols.decoders import DecodeContext, Decoded, decoders
from inspector.protocols.decoders.tree import MAX_FIELDS

CTX = DecodeContext()
NAMES = sorted(decoders())

prefixes = st.sampled_from([
    b"", b"4", b"42", b"451-", b'{"type":"subscribe","id":', b'{"jsonrpc":"2.0",', b"\x1f\x8b",
    b"\x28\xb5\x2f\xfd", b"CONNECT\n", b"SEND\ndestination:/q\n\n", b"\x10", b"\x30\x7f",
    b"\x82\xa1a", b"\xbf", b"\x0a\x7f", b'{"type":1,"target":"x"}\x1e', b"[",
])  # fmt: skip


def check(decoded: Decoded, name: str) -> None:
    assert isinstance(decoded, Decoded)
    if decoded.error is not None:
        assert decoded.error.startswith("not valid "), (name, decoded.error)
        assert "\n" not in decoded.error and "\r" not in decoded.error
        assert len(decoded.error) < 300
    assert "\n" not in decoded.summary
    assert sum(len(f.walk()) for f in decoded.fields) <= MAX_FIELDS + 600
    decoded.to_json()  # serialisable whatever came in


@settings(max_examples=400, deadline=None)
@given(prefixes, st.binary(max_size=200))
def test_random_bytes_never_raise(prefix: bytes, tail: bytes) -> None:
    for name in NAMES:
        check(decoders()[name].run(prefix + tail, CTX), name)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 200_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\x91" * 200_000 + b"\x01",  # msgpack: arrays in arrays
        b"\x81" * 200_000 + b"\x01",  # CBOR: arrays in arrays
        b"\x9f" * 200_000,  # CBOR: indefinite arrays, never closed
        b"\xdd\xff\xff\xff\xff",  # msgpack: an array of 4 Gi items in 5 bytes
        b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff",  # CBOR: 2**64-1 items
        b"\x0a\x02\x0a\x00" * 50_000,  # protobuf: many small nested blobs
        b"[1," * 300_000 + b"1" + b"]" * 300_000,
        b"[" + b"1," * 400_000 + b"1]",  # more leaves than the tree may hold
        b"42" + b"[" * 100_000,
        b"\x30\xff\xff\xff\xff\x7f",  # MQTT: a remaining length over four bytes
    ],
)
def test_deep_or_huge_inputs_are_bounded(payload: bytes) -> None:
    for name in NAMES:
        check(decoders()[name].run(payload, CTX), name)


def test_wide_json_is_cut_at_the_field_budget() -> None:
    decoded = decoders()["json"].run(b"[" + b"1," * 20_000 + b"1]", CTX)
    assert decoded.ok
    assert len(decoded.fields[0].walk()) <= MAX_FIELDS + 1
