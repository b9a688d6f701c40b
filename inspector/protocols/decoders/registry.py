"""The decoders by name, how one is chosen for a session, and plugins.

A decoder is a :class:`Decoder`: a name, a pure ``decode(payload, context)`` and the
hints that let ``auto`` choose it (subprotocols, URL shape, TCP ports, a content test).
Other packages add decoders through the entry-point group ``socket_inspector.decoders``:
each entry point names a :class:`Decoder` or a callable returning one (docs/decoders.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType
from typing import Any

from inspector.protocols.decoders.tree import MAX_PAYLOAD, Decoded, Exchange, Malformed, failure

#: The entry-point group through which other packages add decoders.
ENTRY_POINT_GROUP = "socket_inspector.decoders"

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What a decoder may know besides the payload: the session's facts.

    ``subprotocol`` is the negotiated ``Sec-WebSocket-Protocol``; ``target`` the
    request target (path and query); ``speak`` the application protocol the session
    acts as the client of (``--speak stomp``: its speaker's name, which is also its
    decoder's); ``options`` decoder-specific settings (such as a
    Protobuf descriptor set); ``attachments`` the binary attachments of a Socket.IO
    packet, when the session decoder has collected them.
    """

    scheme: str = ""
    host: str = ""
    port: int | None = None
    target: str = ""
    subprotocol: str | None = None
    framing: str = ""
    options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    speak: str = ""
    attachments: tuple[bytes, ...] = ()


DecodeFn = Callable[[bytes, DecodeContext], Decoded]
ExchangeFn = Callable[[bytes, DecodeContext], tuple[Exchange, ...]]
ExchangeManyFn = Callable[[Sequence[bytes], DecodeContext], list[tuple[Exchange, ...]]]
SniffFn = Callable[[bytes], bool]


@dataclass(frozen=True, slots=True)
class Decoder:
    """A named decoder and the hints that choose it.

    ``path`` is a regular expression searched in the request target; ``exchange``
    an optional fast way to get only the pairing ids (used by statistics over large
    captures); without it the ids come from ``decode``. ``exchange_many``, where a
    decoder has one, gives the ids of a page of payloads at once: exactly
    ``[exchanges_of(payload) for payload in payloads]``, never raising.
    """

    name: str
    title: str
    decode: DecodeFn
    subprotocols: tuple[str, ...] = ()
    path: str | None = None
    ports: tuple[int, ...] = ()
    sniff: SniffFn | None = None
    exchange: ExchangeFn | None = None
    exchange_many: ExchangeManyFn | None = None
    #: Facts of a decoded message that later messages of the session need (kept in
    #: the context's options), such as the protocol version a CONNECT announced.
    remembers: tuple[str, ...] = ()

    def run(self, payload: bytes, context: DecodeContext) -> Decoded:
        """Decode, turning anything the decoder let escape into a one-line error: its
        own :class:`Malformed` ("not valid TITLE: reason"), or a defect's name and text."""
        if len(payload) > MAX_PAYLOAD:
            return failure(self.name, self.title, f"{len(payload):,} bytes is over the limit")
        try:
            return self.decode(payload, context)
        except Malformed as exc:
            return failure(self.name, self.title, str(exc))
        except RecursionError:
            return failure(self.name, self.title, "nested too deeply")
        except Exception as exc:  # a decoder must never raise into a view
            return failure(self.name, self.title, f"{type(exc).__name__}: {exc}")

    def exchanges_of(self, payload: bytes, context: DecodeContext) -> tuple[Exchange, ...]:
        """The pairing ids of a payload (none when it has none or is not valid)."""
        if self.exchange is not None:
            if len(payload) > MAX_PAYLOAD:  # as run() refuses it
                return ()
            try:
                return self.exchange(payload, context)
            except Exception:
                return ()
        return self.run(payload, context).exchanges


_BUILTIN: dict[str, Decoder] = {}
_PLUGINS: dict[str, Decoder] | None = None
_PLUGIN_ERRORS: list[str] = []


def register(decoder: Decoder) -> Decoder:
    """Add a built-in decoder (each module of this package registers its own)."""
    _BUILTIN[decoder.name] = decoder
    return decoder


def _load_plugins() -> dict[str, Decoder]:
    """Decoders from installed packages' entry points; a broken one is skipped with a note."""
    global _PLUGINS
    if _PLUGINS is not None:
        return _PLUGINS
    found: dict[str, Decoder] = {}
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            decoder = loaded if isinstance(loaded, Decoder) else loaded()
            if not isinstance(decoder, Decoder):
                raise TypeError(f"gave {type(decoder).__name__}, not a Decoder")
        except Exception as exc:
            _PLUGIN_ERRORS.append(f"decoder plugin {point.name!r} ({point.value}): {exc}")
            continue
        if decoder.name in _BUILTIN or decoder.name in (AUTO,):
            _PLUGIN_ERRORS.append(f"decoder plugin {point.name!r} reuses the name {decoder.name!r}")
            continue
        found[decoder.name] = decoder
    _PLUGINS = found
    return found


def reload_plugins() -> None:
    """Forget the loaded plugins, so the next lookup reads the entry points again."""
    global _PLUGINS
    _PLUGINS = None
    _PLUGIN_ERRORS.clear()


def plugin_errors() -> list[str]:
    """One line per plugin that could not be loaded."""
    _load_plugins()
    return list(_PLUGIN_ERRORS)


def decoders() -> dict[str, Decoder]:
    """Every decoder by name: the built-in ones, then plugins."""
    return {**_BUILTIN, **_load_plugins()}


def get(name: str) -> Decoder:
    """The decoder called ``name``; KeyError with the known names otherwise."""
    known = decoders()
    try:
        return known[name]
    except KeyError:
        raise KeyError(f"no decoder {name!r} (known: {', '.join(sorted(known))}, auto)") from None


#: The name that asks for the decoder to be chosen from the session and content.
AUTO = "auto"

#: Decoders ``auto`` tries on content alone, in this order (when nothing else chose).
_CONTENT_ORDER = ("signalr", "jsonrpc", "json", "gzip", "zstd")


def choose(context: DecodeContext, sample: bytes | None = None) -> Decoder | None:
    """The decoder a session's facts (or, failing those, a payload) point to.

    Subprotocol first (what both sides agreed), then the URL's shape, then a framing
    named after a protocol (``--framing mqtt``), then the protocol the session speaks
    as a client (``--speak stomp``), then the TCP port convention, then the content of
    ``sample``.
    """
    known = decoders()
    subprotocol = (context.subprotocol or "").lower()
    if subprotocol:
        for decoder in known.values():
            if subprotocol in decoder.subprotocols:
                return decoder
    if context.target:
        for decoder in known.values():
            if decoder.path and re.search(decoder.path, context.target):
                return decoder
    if context.framing and context.framing in known:  # --framing mqtt: MQTT packets
        return known[context.framing]
    if context.speak and context.speak in known:  # --speak stomp: it speaks STOMP
        return known[context.speak]
    if context.port is not None and context.scheme in ("tcp", "tls"):
        for decoder in known.values():
            if context.port in decoder.ports:
                return decoder
    if sample:
        return sniff(sample)
    return None


def sniff(payload: bytes) -> Decoder | None:
    """The first decoder whose content test accepts ``payload``, or None."""
    known = decoders()
    order = [known[n] for n in _CONTENT_ORDER if n in known]
    order += [d for n, d in known.items() if n not in _CONTENT_ORDER and d.sniff is not None]
    for decoder in order:
        test = decoder.sniff
        if test is None:
            continue
        try:
            if test(payload):
                return decoder
        except Exception:
            continue
    return None
