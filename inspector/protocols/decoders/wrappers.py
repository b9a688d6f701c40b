"""Payloads wrapped in base64 or compressed with gzip, deflate or zstd, unwrapped.

The unwrapped bytes are decoded again (JSON, or whatever their content looks like);
fields found inside carry no byte range, since they are not bytes of the payload.
Decompression stops at ``MAX_PAYLOAD`` bytes of output, so a small bomb stays small.
zstd needs the ``zstandard`` package (the ``zstd`` extra); without it the decoder says so.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable

from inspector.protocols.decoders.registry import DecodeContext, Decoder, register, sniff
from inspector.protocols.decoders.tree import MAX_PAYLOAD, Decoded, Field, Malformed, failure

_B64 = re.compile(rb"\s*[A-Za-z0-9+/_-]+={0,2}\s*")
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"


def _inflate(data: bytes, wbits: int) -> bytes:
    engine = zlib.decompressobj(wbits)
    try:
        out = engine.decompress(data, MAX_PAYLOAD)
    except zlib.error as exc:
        raise Malformed(str(exc)) from None
    if engine.unconsumed_tail:
        raise Malformed(f"unpacks to more than {MAX_PAYLOAD >> 20} MiB")
    if not engine.eof:
        raise Malformed("the compressed stream is cut short")
    return out


def _gunzip(data: bytes) -> bytes:
    if not data.startswith(GZIP_MAGIC):
        raise Malformed("no gzip header (1f 8b)")
    return _inflate(data, 16 + zlib.MAX_WBITS)


def _deflate(data: bytes) -> bytes:
    """zlib-wrapped deflate (RFC 1950) or raw deflate (RFC 1951), whichever it is."""
    try:
        return _inflate(data, zlib.MAX_WBITS)
    except Malformed:
        return _inflate(data, -zlib.MAX_WBITS)


def _unzstd(data: bytes) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise Malformed("zstd needs the zstandard package (pip install "
                        "'socket-inspector[zstd]')") from None  # fmt: skip
    if not data.startswith(ZSTD_MAGIC):
        raise Malformed("no zstd frame header (28 b5 2f fd)")
    reader = zstandard.ZstdDecompressor().decompressobj()
    try:
        out = reader.decompress(data)
    except zstandard.ZstdError as exc:
        raise Malformed(str(exc)) from None
    if len(out) > MAX_PAYLOAD:
        raise Malformed(f"unpacks to more than {MAX_PAYLOAD >> 20} MiB")
    return out


def _unbase64(data: bytes) -> bytes:
    if not _B64.fullmatch(data):
        raise Malformed("characters outside the base64 alphabet")
    text = b"".join(data.split())
    text = text.replace(b"-", b"+").replace(b"_", b"/")
    text += b"=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Malformed(str(exc)) from None


def inner_fields(data: bytes, context: DecodeContext) -> tuple[str, tuple[Field, ...]]:
    """(summary, fields) of unwrapped bytes: decoded by what they look like, else text or hex."""
    inner = sniff(data)
    if inner is not None:
        decoded = inner.run(data, context)
        if decoded.ok:
            return (f"{inner.name}: {decoded.summary}",
                    tuple(f.unplaced() for f in decoded.fields))  # fmt: skip
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        shown = data[:32].hex(" ") + (" …" if len(data) > 32 else "")
        return f"{len(data)} bytes", (Field("content", shown, "bytes", data[:4096].hex()),)
    return (repr(text[:60]) + ("…" if len(text) > 60 else ""),
            (Field("content", repr(text[:200]), "string", text[:4096]),))  # fmt: skip


def _wrapper(
    name: str, title: str, unwrap: Callable[[bytes], bytes]
) -> Callable[[bytes, DecodeContext], Decoded]:
    def decode(payload: bytes, context: DecodeContext) -> Decoded:
        try:
            data = unwrap(payload)
        except Malformed as exc:
            return failure(name, title, str(exc))
        summary, fields = inner_fields(data, context)
        top = Field(title, f"{len(payload)} → {len(data)} bytes", name, None, 0, len(payload),
                    fields)  # fmt: skip
        return Decoded(name, f"{title} {len(data)} bytes: {summary}", (top,))

    return decode


GZIP = register(Decoder("gzip", "gzip", _wrapper("gzip", "gzip", _gunzip),
                        sniff=lambda p: p.startswith(GZIP_MAGIC)))  # fmt: skip
DEFLATE = register(Decoder("deflate", "deflate", _wrapper("deflate", "deflate", _deflate)))
ZSTD = register(Decoder("zstd", "zstd", _wrapper("zstd", "zstd", _unzstd),
                        sniff=lambda p: p.startswith(ZSTD_MAGIC)))  # fmt: skip
BASE64 = register(Decoder("base64", "base64", _wrapper("base64", "base64", _unbase64)))
