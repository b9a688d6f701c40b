"""Decoding the records of one session in order: the session's facts, the decoder
chosen for it, and what one record says about the next (Socket.IO attachments, the
MQTT version a CONNECT announced).

Used when records are shown, filtered or exported, never on the receive path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from inspector.core.endpoints import parse_endpoint
from inspector.core.errors import EndpointError
from inspector.core.matching import UserRule
from inspector.core.records import Direction, Kind, Record
from inspector.protocols.decoders import registry
from inspector.protocols.decoders.registry import AUTO, DecodeContext, Decoder
from inspector.protocols.decoders.tree import MAX_PAYLOAD, Decoded, Exchange

#: Frame opcodes whose payload is application data.
_DATA_OPCODES = frozenset({"text", "binary"})
#: How many records a Socket.IO binary packet may hold back while its attachments come.
_MAX_HELD = 256

#: A message as ``core.matching`` pairs it: (seq, t_ns, outbound, ids).
PairingMessage = tuple[int, int, bool, tuple[Exchange, ...]]


def context_for(
    endpoint: str,
    scheme: str = "",
    options: Mapping[str, Any] | None = None,
    framing: str = "",
    speak: str = "",
) -> DecodeContext:
    """The context of a session known by its endpoint text, its decoder options, (for
    TCP/TLS) its framing and the protocol it speaks as a client (``auto`` says
    nothing: the facts chose that protocol)."""
    host, port, target = "", None, ""
    try:
        parsed = parse_endpoint(endpoint) if endpoint else None
    except EndpointError:
        parsed = None
    if parsed is not None:
        host, port, target = parsed.host, parsed.port, parsed.target
        scheme = scheme or str(parsed.scheme)
    return DecodeContext(scheme=scheme, host=host, port=port, target=target,
                         framing=framing, options=dict(options or {}),
                         speak="" if speak == AUTO else speak)  # fmt: skip


def payload_of(record: Record) -> bytes | None:
    """The application bytes of a record, or None when it carries none."""
    kind = record.kind
    if kind is Kind.FRAME:
        if record.fields.get("opcode") not in _DATA_OPCODES:
            return None
        return record.payload
    if kind in (Kind.MESSAGE, Kind.DATA, Kind.DATAGRAM):
        return record.payload if record.payload is not None else record.wire
    return None


class SessionDecoder:
    """Decodes one session's records with a named decoder, or ``auto``.

    ``auto`` picks from the session's facts (subprotocol, URL, port) as soon as they are
    known; until then — or when they say nothing — each payload is tested by content.
    """

    def __init__(self, name: str, context: DecodeContext) -> None:
        self.context = context
        self.auto = name == AUTO
        self.fixed: Decoder | None = None if self.auto else registry.get(name)
        self._facts_choice: Decoder | None = None
        self._facts_known = False  # _facts_choice is up to date with the context

    @property
    def chosen(self) -> str:
        """The decoder in use: its name, or "by content" while each payload picks its own."""
        if self.fixed is not None:
            return self.fixed.name
        self._choose_by_facts()
        return self._facts_choice.name if self._facts_choice is not None else "by content"

    def observe(self, record: Record) -> None:
        """Learn the session's facts from a handshake record."""
        if record.kind is not Kind.HANDSHAKE:
            return
        fields = record.fields
        if record.direction is Direction.OUT and isinstance(fields.get("target"), str):
            self.context = replace(self.context, target=fields["target"])
        elif record.direction is Direction.IN and fields.get("subprotocol"):
            self.context = replace(self.context, subprotocol=str(fields["subprotocol"]))
        self._facts_known = False

    def _choose_by_facts(self) -> None:
        """Choose from the session's facts once per change of them."""
        if not self._facts_known:
            self._facts_choice = registry.choose(self.context)
            self._facts_known = True

    def decoder_for(self, payload: bytes) -> Decoder | None:
        """The decoder for this payload: the fixed one, the facts' choice, or by content."""
        if self.fixed is not None:
            return self.fixed
        self._choose_by_facts()
        if self._facts_choice is not None:
            return self._facts_choice
        return registry.sniff(payload)

    def decode(self, record: Record) -> Decoded | None:
        """The decoded record, or None when it has no payload or nothing decodes it."""
        self.observe(record)
        return self._decode_payload(payload_of(record))

    def exchanges(self, record: Record) -> tuple[Exchange, ...]:
        """The pairing ids of a record (the decoders' fast path where they have one)."""
        kind = record.kind
        if kind is Kind.FRAME:  # the common case first: statistics call this per record
            payload = record.payload if record.fields.get("opcode") in _DATA_OPCODES else None
        else:
            self.observe(record)
            payload = payload_of(record)
        if payload is None:
            return ()
        return self.payload_exchanges(payload)

    def payload_exchanges(self, payload: bytes) -> tuple[Exchange, ...]:
        """The pairing ids of one application payload (what :meth:`exchanges` gives for
        a record carrying it): the decoder's fast path, or its tree where it has none or
        must remember facts for later records."""
        decoder = self.fixed or self.decoder_for(payload)
        if decoder is None:
            return ()
        if decoder.remembers:
            decoded = decoder.run(payload, self.context)
            self._remember(decoded)
            return decoded.exchanges
        return decoder.exchanges_of(payload, self.context)

    def payload_keys(self) -> Callable[[bytes], tuple[Exchange, ...]]:
        """:meth:`payload_exchanges` as one function with the decoder chosen once, for
        statistics over many payloads: the decoder's own fast path when the user or the
        session's facts fixed a decoder that has one and remembers nothing (ask again
        after a handshake record: it may change the choice)."""
        decoder = self.fixed
        if decoder is None:
            self._choose_by_facts()
            decoder = self._facts_choice
        if decoder is None or decoder.remembers or decoder.exchange is None:
            return self.payload_exchanges
        exchange, context = decoder.exchange, self.context

        def keys(payload: bytes) -> tuple[Exchange, ...]:
            if len(payload) > MAX_PAYLOAD:  # as Decoder.run refuses it
                return ()
            try:
                return exchange(payload, context)
            except Exception:  # not valid for the decoder: no ids, as its tree has none
                return ()

        return keys

    def payload_keys_many(self) -> Callable[[Sequence[bytes]], list[tuple[Exchange, ...]]]:
        """:meth:`payload_keys` over many payloads at once (a page of a capture): with the
        decoder's own fast path, one list comprehension, and the page once more payload by
        payload only when a payload of it is not valid for the decoder, or the decoder's
        ``exchange_many`` where it has one (ask again after a handshake record, as for
        :meth:`payload_keys`)."""
        one = self.payload_keys()
        decoder = self.fixed or self._facts_choice
        if one == self.payload_exchanges or decoder is None or decoder.exchange is None:
            return lambda payloads: [one(payload) for payload in payloads]
        exchange, context = decoder.exchange, self.context
        if decoder.exchange_many is not None:  # the decoder's own page at once
            exchange_many = decoder.exchange_many
            return lambda payloads: exchange_many(payloads, context)

        def many(payloads: Sequence[bytes]) -> list[tuple[Exchange, ...]]:
            try:
                return [exchange(payload, context) if len(payload) <= MAX_PAYLOAD else ()
                        for payload in payloads]  # fmt: skip
            except Exception:  # a payload not valid for the decoder: no ids, as in keys()
                return [one(payload) for payload in payloads]

        return many

    def page_messages(self, page: Sequence[Any]) -> Iterable[PairingMessage]:
        """The messages of a page of a session's narrow read (``CaptureStore.payloads``:
        (seq, t_ns, outbound, payload) tuples, and records whole) or of its records, as
        ``core.matching`` takes them: (seq, t_ns, outbound, ids). A page of payload tuples
        alone is read as columns zipped, its ids found in one call; one holding records
        item by item (a handshake may change the decoder chosen for what follows).
        ``show --stats`` and the window's pairing both read a session this way."""
        if not page:
            return ()
        if type(page[0]) is tuple and set(map(type, page)) == {tuple}:
            seqs, times, outbound, payloads = zip(*page, strict=True)
            return zip(seqs, times, outbound, self.payload_keys_many()(payloads), strict=True)
        keys = self.payload_keys()
        messages = []
        out = Direction.OUT
        for item in page:
            if type(item) is tuple:
                messages.append((*item[:3], keys(item[3])))
                continue
            ids = self.exchanges(item)
            keys = self.payload_keys()
            messages.append((item.seq, item.t_ns, item.direction is out, ids))
        return messages

    def _remember(self, decoded: Decoded) -> None:
        """Carry the facts a decoder asks to remember (e.g. the MQTT version) to later records."""
        if not decoded.facts:
            return
        decoder = registry.decoders().get(decoded.decoder)
        if decoder is None or not decoder.remembers:
            return
        kept = {k: decoded.facts[k] for k in decoder.remembers if k in decoded.facts}
        if kept:
            self.context = replace(self.context, options={**self.context.options, **kept})

    def decode_all(self, records: Iterable[Record]) -> Iterator[tuple[Record, Decoded | None]]:
        """Every record with its decoding, in order; a Socket.IO binary packet is decoded
        with its attachments (the binary messages after it in the same direction)."""
        held: deque[tuple[Record, bytes | None]] = deque()
        waiting = 0
        head: Record | None = None
        attachments: list[bytes] = []
        for record in records:
            self.observe(record)
            payload = payload_of(record)
            if head is None:
                waiting = self._attachments_expected(payload)
                if not waiting:
                    yield record, self._decode_payload(payload)
                    continue
                head, attachments = record, []
                held.append((record, payload))
                continue
            held.append((record, payload))
            if (payload is not None and record.direction is head.direction
                    and record.fields.get("opcode") == "binary"):  # fmt: skip
                attachments.append(payload)
                waiting -= 1
            if waiting <= 0 or len(held) >= _MAX_HELD:
                yield from self._release(held, head, attachments)
                head = None
        if head is not None:
            yield from self._release(held, head, attachments)

    def _attachments_expected(self, payload: bytes | None) -> int:
        if payload is None:
            return 0
        decoder = self.decoder_for(payload)
        if decoder is None or decoder.name != "socketio":
            return 0
        from inspector.protocols.decoders.socketio import attachments_expected

        return attachments_expected(payload)

    def _release(
        self, held: deque[tuple[Record, bytes | None]], head: Record, attachments: list[bytes]
    ) -> Iterator[tuple[Record, Decoded | None]]:
        index = 0
        while held:
            record, payload = held.popleft()
            if record is head:
                context = replace(self.context, attachments=tuple(attachments))
                decoder = self.decoder_for(payload or b"")
                yield record, None if payload is None or decoder is None else decoder.run(
                    payload, context)  # fmt: skip
                continue
            if (
                payload is not None
                and record.direction is head.direction
                and record.fields.get("opcode") == "binary"
                and index < len(attachments)
            ):
                options = {**self.context.options, "socketio_attachment_of": (head.seq, index)}
                index += 1
                decoder = self.decoder_for(payload)
                if decoder is not None:
                    yield record, decoder.run(payload, replace(self.context, options=options))
                    continue
            yield record, self._decode_payload(payload)

    def _decode_payload(self, payload: bytes | None) -> Decoded | None:
        """``payload`` decoded by its decoder, remembering what later records need."""
        if payload is None:
            return None
        decoder = self.decoder_for(payload)
        if decoder is None:
            return None
        decoded = decoder.run(payload, self.context)
        self._remember(decoded)
        return decoded


def rule_messages(page: Sequence[Any], rule: UserRule) -> list[PairingMessage]:
    """The messages of a page (as :meth:`SessionDecoder.page_messages` reads one) with
    the ids a user's rule finds (``--match-id``, the window's "Pair by…")."""
    ids = rule.ids
    out = []
    for item in page:
        if type(item) is not tuple:
            payload = payload_of(item)
            if payload is None:
                continue
            item = (item.seq, item.t_ns, item.direction is Direction.OUT, payload)
        out.append((item[0], item[1], item[2], ids(item[3], item[2])))
    return out


def next_messages(page: Sequence[Any]) -> list[tuple[int, int, bool]]:
    """The (seq, t_ns, outbound) of a page's messages, for "the next inbound message
    answers" (``--match-next``)."""
    return [item[:3] if type(item) is tuple else (item.seq, item.t_ns,
                                                   item.direction is Direction.OUT)
            for item in page if type(item) is tuple or payload_of(item) is not None]  # fmt: skip


def decoder_names() -> list[str]:
    """Every decoder name ``--decode`` accepts, "auto" first."""
    return [AUTO, *sorted(registry.decoders())]
