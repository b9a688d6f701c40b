"""``show --decode``, ``--where`` and ``--stats``: records with their decoded summary,
filters on decoded fields, and request ↔ response latency statistics.

Decoding runs here, when records are printed, never while they are received.
"""

from __future__ import annotations

import argparse
import gc
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from typing import Any

from inspector.core.errors import UsageError
from inspector.core.matching import (
    IdRule,
    Matching,
    UserRule,
    format_stats,
    match,
    match_next,
    statistics,
)
from inspector.core.records import Direction, Record
from inspector.core.render import escape_text, record_line, record_to_json
from inspector.protocols.decoders import AUTO, plugin_errors
from inspector.protocols.decoders.protobuf import SCHEMA_OPTION, load_schema
from inspector.protocols.decoders.session import (
    SessionDecoder,
    context_for,
    next_messages,
    payload_of,
    rule_messages,
)
from inspector.protocols.decoders.tree import Decoded
from inspector.protocols.decoders.where import Condition, passes

#: How many records of a session are read to learn its facts (its handshake) before
#: decoding: a handshake is among the first few records of a session.
PRIMING = 16


def decoder_options(args: argparse.Namespace) -> dict[str, Any]:
    """The decoder settings the options ask for (a Protobuf schema); UsageError if bad."""
    options: dict[str, Any] = {}
    if getattr(args, "proto_descriptor", None):
        path, message = args.proto_descriptor
        try:
            options[SCHEMA_OPTION] = load_schema(path, message)
        except ValueError as exc:
            raise UsageError(f"--proto-descriptor: {exc}") from None
    return options


def conditions(args: argparse.Namespace) -> list[Condition]:
    """The ``--where`` conditions; UsageError for one that does not parse."""
    out = []
    for text in getattr(args, "where", None) or []:
        try:
            out.append(Condition.parse(text))
        except ValueError as exc:
            raise UsageError(f"--where: {exc}") from None
    return out


def session_decoder(
    name: str,
    endpoint: str,
    scheme: str,
    options: dict[str, Any],
    framing: str = "",
    speak: str = "",
) -> SessionDecoder:
    """A session decoder, or UsageError naming the decoders there are."""
    try:
        return SessionDecoder(name, context_for(endpoint, scheme, options, framing, speak))
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None


def decoded_line(record: Record, decoded: Decoded | None, as_json: bool) -> str:
    """A record's output line with its decoding: text after "⇒", or a ``decoded`` object."""
    if as_json:
        out = record_to_json(record)
        if decoded is not None:
            out["decoded"] = decoded.to_json()
        return json.dumps(out, ensure_ascii=False)
    line = record_line(record)
    if decoded is None:
        return line
    return f"{line}  ⇒ {escape_text(decoded.summary)}"


def decoded_records(
    records: Iterable[Record], decoder: SessionDecoder, where: list[Condition]
) -> Iterator[tuple[Record, Decoded | None]]:
    """Records with their decoding, in order, those passing ``where`` only."""
    for record, decoded in decoder.decode_all(records):
        if not where or passes(where, decoded):
            yield record, decoded


def user_rule(args: argparse.Namespace) -> UserRule | None:
    """The ``--match-id`` / ``--match-request-id`` / ``--match-response-id`` rule, if any."""
    both = getattr(args, "match_id", None)
    request = getattr(args, "match_request_id", None) or both
    response = getattr(args, "match_response_id", None) or both
    if request is None and response is None:
        return None
    if request is None or response is None:
        raise UsageError("--match-request-id and --match-response-id go together "
                         "(or give --match-id for both)")  # fmt: skip
    try:
        return UserRule(IdRule.parse(request), IdRule.parse(response))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def matching_of(
    records: Iterable[Record], decoder: SessionDecoder, rule: UserRule | None, by_next: bool
) -> Matching:
    """Pair the session's requests and responses: by the decoders' ids, a user rule, or
    "each inbound message answers the oldest unanswered outbound one"."""
    if by_next:
        return match_next(
            (r.seq, r.t_ns, r.direction is Direction.OUT)
            for r in records
            if payload_of(r) is not None
        )
    if rule is not None:
        return match(_by_rule(records, rule))
    return match(_by_decoder(records, decoder))


def matching_of_payloads(
    pages: Iterable[list[Any]], decoder: SessionDecoder, rule: UserRule | None, by_next: bool
) -> Matching:
    """:func:`matching_of` over a capture's narrow read (``CaptureStore.payloads``):
    (seq, t_ns, outbound, payload) tuples, and the few records that come whole
    (handshakes, records still in memory); the same pairs, without a record per message."""
    if by_next:
        return match_next(chain.from_iterable(map(next_messages, pages)))
    if rule is not None:
        return match(chain.from_iterable(rule_messages(page, rule) for page in pages))
    return match(chain.from_iterable(map(decoder.page_messages, pages)))


def _by_rule(records: Iterable[Record], rule: UserRule) -> Iterator[Any]:
    for record in records:
        payload = payload_of(record)
        if payload is not None:
            outbound = record.direction is Direction.OUT
            yield record.seq, record.t_ns, outbound, rule.ids(payload, outbound)


def _by_decoder(records: Iterable[Record], decoder: SessionDecoder) -> Iterator[Any]:
    out = Direction.OUT
    exchanges = decoder.exchanges
    for record in records:
        ids = exchanges(record)  # each Exchange is the (role, key) pair match() takes
        if ids:
            yield record.seq, record.t_ns, record.direction is out, ids


@contextmanager
def cycles_uncollected() -> Iterator[None]:
    """Keep the cycle collector off while statistics read a capture.

    The read makes pages of thousands of tuples (payloads, their ids) that hold no
    cycles and are freed by their reference counts; with the collector on, each page
    set off collections that walked every live object again (a fifth of the CPU time
    of ``show --stats`` over a million records)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def stats_text(matching: Matching, as_json: bool, facts: dict[str, Any]) -> str:
    """The statistics of one session as text lines or one JSON object."""
    stats = statistics(matching)
    if as_json:
        return json.dumps({**facts, **stats.to_json()}, ensure_ascii=False)
    how = facts.get("matched_by")
    head = f"# session {facts['session']}: pairs matched by {how}" if how else ""
    return (head + "\n" if head else "") + format_stats(stats)


def plugin_warnings() -> list[str]:
    """Lines about decoder plugins that could not be loaded."""
    return [f"inspector: {line}" for line in plugin_errors()]


class ShowDecoding:
    """``show`` with ``--decode``, ``--where`` or ``--stats``: one session at a time."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.name = args.decode or ("protobuf" if args.proto_descriptor else AUTO)
        self.options = decoder_options(args)
        self.where = conditions(args)
        self.stats = bool(args.stats)
        self.rule = user_rule(args)
        self.by_next = bool(getattr(args, "match_next", False))
        if self.by_next and self.rule is not None:
            raise UsageError("--match-next pairs by order, not by id: drop the id rules")
        self.as_json = bool(args.json)
        session_decoder(self.name, "", "", self.options)  # an unknown name fails before reading

    def print_session(
        self, entry: Any, keep: Any, printer: Any, total: int, with_header: bool
    ) -> None:
        """Print one session's decoded records, or its statistics."""
        from inspector.cli.sources import PAGE, describe, filtered, header_line

        session = entry.session
        endpoint = str(getattr(session, "endpoint", "") or "")
        scheme = str(getattr(session, "scheme", "") or "")
        stored = getattr(session, "options", None)
        stored = stored if isinstance(stored, Mapping) else {}
        framing, speak = str(stored.get("framing") or ""), str(stored.get("speak") or "")
        decoder = session_decoder(self.name, endpoint, scheme, self.options, framing, speak)
        with entry.open() as records:
            if with_header:
                facts = describe(entry, records.count(), total)
                printer.write(header_line(facts, printer.as_json) + "\n")
            decoder = self._primed(decoder, records)
            chosen = filtered(records, keep, PAGE)
            if self.stats:
                pages = getattr(records, "payloads", None)
                if keep.empty and not self.where and pages is not None:
                    with cycles_uncollected():
                        matching = matching_of_payloads(pages(), decoder, self.rule,
                                                        self.by_next)  # fmt: skip
                else:
                    if self.where:
                        chosen = (r for r, _ in decoded_records(chosen, decoder, self.where))
                    matching = matching_of(chosen, decoder, self.rule, self.by_next)
                how = "next" if self.by_next else "rule" if self.rule else decoder.chosen
                facts = {"session": entry.number, "matched_by": how}
                printer.write(stats_text(matching, self.as_json, {**facts}) + "\n")
                return
            batch: list[str] = []
            for record, decoded in decoded_records(chosen, decoder, self.where):
                batch.append(decoded_line(record, decoded, self.as_json))
                if len(batch) >= PAGE:
                    printer.write("\n".join(batch) + "\n")
                    batch = []
                    if printer.gone:
                        return
            if batch:
                printer.write("\n".join(batch) + "\n")

    def _primed(self, decoder: SessionDecoder, records: Any) -> SessionDecoder:
        """The decoder after it has seen the session's handshake (read before any filter
        may hide it): the subprotocol and the request target choose ``auto``'s decoder.
        Only the first records are read (a native capture's first page would be 4,096)."""
        from itertools import islice

        head = getattr(records, "head", None)
        for record in head(PRIMING) if head is not None else islice(records, PRIMING):
            decoder.observe(record)
        return decoder


def probe_formatter(args: argparse.Namespace, endpoint: Any) -> Callable[[Record], str] | None:
    """``probe --decode``: a line formatter adding each record's decoding (None without
    --decode). Records are decoded one by one as they are printed, after the receive
    path has recorded them; a Socket.IO attachment is shown alone (``show`` joins it)."""
    name = getattr(args, "decode", None) or (
        "protobuf" if getattr(args, "proto_descriptor", None) else None)  # fmt: skip
    if name is None:
        return None
    framing = str(getattr(args, "framing", "") or "")
    speak = str(getattr(args, "speak", "") or "")
    decoder = session_decoder(name, str(endpoint.url), str(endpoint.scheme),
                              decoder_options(args), framing, speak)  # fmt: skip
    as_json = bool(args.json)

    def line(record: Record) -> str:
        return decoded_line(record, decoder.decode(record), as_json)

    return line
