"""The narrow read of a session: each application payload with its number, time and
direction, without making a record per message.

Request ↔ response statistics over a million-record capture need nothing else of a
record: SQLite hands over five values a row, a plain row (a single record of
application data whose values are what they must be) as its payload tuple and a NULL
state, a frame run of a shape already checked as its wire and its count (cut straight
into payloads), and Python reads again only the other rows, whole (a frame's opcode
there pulled out of its fields by ``json_extract``, in C, instead of the whole fields
object parsed in Python; a run's messages cut straight into their payloads). What it
yields is what :func:`inspector.protocols.decoders.session.payload_of` gives for the
same records, in the same order: a frame's payload when its opcode is text or binary,
a stream message's, data's or datagram's payload (its wire bytes when none). Handshake
records come whole, for the facts that choose a decoder; other records carry no
payload and are left out. Damage the read comes across (a value of the wrong type, a
run that is not its messages, a missing field set) is one :class:`CaptureError` line;
the rest of a row is not checked, as it is not read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import itemgetter, not_
from typing import Any

from inspector.capture.schema import (
    PAYLOAD_AT,
    PAYLOAD_IN_COLUMN,
    PAYLOAD_IS_WIRE,
    RECORD_COLUMNS,
    FieldSetResolver,
    decode_rows,
    decode_run,
)
from inspector.core.errors import CaptureError
from inspector.core.evenruns import even_run
from inspector.core.records import Kind, Record
from inspector.core.runs import WS_FRAMES, WS_SENT_FRAMES, MessageRun

#: One application payload: (seq, t_ns, outbound, payload); ``outbound`` is a truth
#: value (1 or 0 as SQLite gives it for a plain row, a bool otherwise).
Payload = tuple[int, int, bool, bytes]

#: The kinds whose records carry an application payload (a frame only with a data opcode).
_PAYLOAD_KINDS = ("frame", "message", "data", "datagram")
_DATA_OPCODES = frozenset({"text", "binary"})
_FIELD_REF = "="

# The payload as payload_of reads it.
_PAYLOAD = f"""
  CASE
    WHEN payload_is_wire = {PAYLOAD_IN_COLUMN} THEN
      CASE WHEN payload IS NULL AND kind != 'frame' THEN wire ELSE payload END
    WHEN payload_is_wire = {PAYLOAD_IS_WIRE} THEN wire
    WHEN payload_is_wire >= {PAYLOAD_AT} AND payload_is_wire - {PAYLOAD_AT} <= length(wire)
      THEN substr(wire, payload_is_wire - {PAYLOAD_AT - 1})
  END"""
# The fields of a frame begin with its opcode as this program writes them (compact JSON,
# "opcode" first): those are told by their first bytes (compared, not copied), any
# other by json_extract.
_TEXT_OR_BINARY = """((fields >= '{"opcode":"text",' AND fields < '{"opcode":"text-')
  OR (fields >= '{"opcode":"binary",' AND fields < '{"opcode":"binary-'))"""
# The numbers of a row are integers and its payload is a blob.
_SOUND = f"""(typeof(seq) = 'integer' AND typeof(t_ns) = 'integer'
  AND typeof(payload_is_wire) = 'integer' AND typeof({_PAYLOAD}) = 'blob')"""
# A plain row: one record of application data (a text or binary frame told by the first
# bytes of its fields, or a message, data or datagram), sound. The Python loop reads
# only the other rows (runs, handshakes, other frames, and any damage).
_PLAIN_ROW = f"""((kind = 'frame' AND {_TEXT_OR_BINARY} OR kind IN ('message', 'data', 'datagram'))
  AND payload_is_wire >= 0 AND {_SOUND})"""
# The full row of a record the narrow read does not take at once: seq, t_ns, outbound
# (1 or 0), the payload; its state (for a frame: "text" for any data frame, the
# field-set reference, or the value json_extract finds); kind, payload_is_wire, and for
# a run row its direction, wire and fields.
_SELECT = f"""
SELECT seq, t_ns, dir IS 'out', {_PAYLOAD},
  CASE
    WHEN kind = 'frame' AND payload_is_wire >= 0 THEN
      CASE WHEN {_TEXT_OR_BINARY} THEN 'text'
           WHEN substr(fields, 1, 1) = '{_FIELD_REF}' THEN fields
           ELSE json_extract(fields, '$.opcode') END
  END,
  kind, payload_is_wire,
  CASE WHEN payload_is_wire < 0 THEN dir END,
  CASE WHEN payload_is_wire < 0 THEN wire END,
  CASE WHEN payload_is_wire < 0 THEN fields END
FROM records
WHERE session_id = ? AND seq IN (SELECT value FROM json_each(?))
  AND CASE WHEN {_PLAIN_ROW} THEN 0 ELSE 1 END
ORDER BY seq
"""
#: How many run shapes (direction, kind, fields) the narrow read passes to SQLite.
_KNOWN_RUNS = 2
_KNOWN_RUN = """(dir = ? AND kind = ? AND fields = ?)"""
# Per row: seq, t_ns, outbound (1 or 0), the payload (a run's wire), and the state:
# NULL for a plain row, a run's payload_is_wire (its count, negative) for a run of a
# shape checked before whose numbers are integers and wire a blob, 1 for any other
# row (read again whole by _SELECT). Only five values a row: each further column
# costs as much again as the tuple it would be sliced from.
_NARROW = f"""
SELECT seq, t_ns, dir IS 'out',
  CASE WHEN payload_is_wire < 0 THEN wire ELSE {_PAYLOAD} END,
  CASE
    WHEN {_PLAIN_ROW} THEN NULL
    WHEN payload_is_wire < 0 AND typeof(payload_is_wire) = 'integer' AND typeof(seq) = 'integer'
      AND typeof(t_ns) = 'integer' AND typeof(wire) = 'blob'
      AND ({" OR ".join([_KNOWN_RUN] * _KNOWN_RUNS)}) THEN payload_is_wire
    ELSE 1
  END
FROM records
WHERE session_id = ? AND seq >= ? AND seq < ?
  AND (kind IN ({", ".join(f"'{k}'" for k in _PAYLOAD_KINDS)}) OR kind = 'handshake')
ORDER BY seq
"""
_SEQ = itemgetter(0)
_STATE = itemgetter(4)
_PAYLOAD_OF = itemgetter(0, 1, 2, 3)
_FRAMINGS_CUT_AT_ONCE = (WS_FRAMES, WS_SENT_FRAMES)


def payload_pages(
    conn: sqlite3.Connection,
    session_id: int,
    start: int,
    stop: int,
    page: int,
    resolve: FieldSetResolver | None,
    framings: tuple[str, ...],
) -> Iterator[list[Payload | Record]]:
    """The payloads (and handshake records) of records ``start`` to ``stop`` of a
    session, in order, about ``page`` records at a time; every error of SQLite or of a
    damaged row as one CaptureError."""
    reading = _Reading(conn, session_id, start, resolve, framings)
    # A run may begin before ``start``: read from the row that holds it.
    (first,) = conn.execute(
        "SELECT coalesce(max(seq), 0) FROM records WHERE session_id = ? AND seq <= ?",
        (session_id, start),
    ).fetchone()
    low = first if type(first) is int else start
    known: list[Any] = [None] * (3 * _KNOWN_RUNS)  # the run shapes SQLite tells apart
    while low < stop:
        high = min(stop, low + page)
        rows = conn.execute(_NARROW, (*known, session_id, low, high)).fetchall()
        if not rows:
            low = high
            continue
        # The plain rows (state NULL) and the others, apart, in C loops.
        states = list(map(_STATE, rows))
        out: list[Payload | Record] = list(map(_PAYLOAD_OF, compress(rows, map(not_, states))))
        if low < start:
            out = [item for item in out if item[0] >= start]
        last = rows[-1][0]
        if len(out) < len(rows):
            others = list(compress(rows, states))
            added = _others(reading, others)
            if added:
                out += added
                out.sort(key=_SEQ if set(map(type, added)) == {tuple} else _seq_of)
            known = _known_runs(reading.runs)
        if out:
            yield out
        low = max(high, last + 1 if type(last) is int else high)


def _known_runs(runs: dict[tuple[Any, Any, Any], tuple[str, bool]]) -> list[Any]:
    """The parameters naming the first run shapes checked whose frames are cut at once."""
    known = [value for shape, (framing, _out) in runs.items()
             if framing in _FRAMINGS_CUT_AT_ONCE for value in shape][: 3 * _KNOWN_RUNS]  # fmt: skip
    return known + [None] * (3 * _KNOWN_RUNS - len(known))


def _seq_of(item: Payload | Record) -> int:
    return item[0] if type(item) is tuple else item.seq  # type: ignore[union-attr]


@dataclass(slots=True)
class _Reading:
    """One read of a session's payloads: where it reads, from which record, and what
    it learnt on the way (data opcodes, run shapes checked) for the pages after."""

    conn: sqlite3.Connection
    session_id: int
    start: int
    resolve: FieldSetResolver | None
    framings: tuple[str, ...]
    opcodes: dict[Any, bool] = field(default_factory=lambda: {"text": True, "binary": True})
    runs: dict[tuple[Any, Any, Any], tuple[str, bool]] = field(default_factory=dict)


def _others(reading: _Reading, rows: list[tuple[Any, ...]]) -> list[Payload | Record]:
    """The payloads (and handshake records) of a page's rows that are not plain: runs
    of a shape seen before cut at once, the other rows read again whole and checked."""
    start = reading.start
    out: list[Payload | Record] = []
    whole: list[Any] = []
    cut: Callable[[bytes], list[bytes] | None] | None = None
    for seq, t_ns, outbound, wire, state in rows:
        if state != 1:  # a run of a known shape: seq, t_ns and state are integers
            if cut is None:
                cut = _ws_payloads()
            bodies = cut(wire)
            if bodies is not None and len(bodies) == -state:
                if seq < start:
                    bodies, seq = bodies[start - seq :], start
                out += zip(range(seq, seq + len(bodies)), repeat(t_ns), repeat(outbound), bodies)
                continue
        whole.append(seq)
    if whole:
        found = reading.conn.execute(_SELECT, (reading.session_id, json.dumps(whole)))
        out += _checked(reading, found.fetchall())
    return out


def _ws_payloads() -> Callable[[bytes], list[bytes] | None]:
    """``wsruns.plain_payloads``, imported when a capture has WebSocket runs (it needs
    websockets, which a capture of other traffic never does)."""
    from inspector.protocols.wsruns import plain_payloads

    return plain_payloads


def _checked(reading: _Reading, rows: list[tuple[Any, ...]]) -> list[Payload | Record]:
    """The payloads (and handshake records) of rows read whole, checked."""
    start, opcodes, runs = reading.start, reading.opcodes, reading.runs
    resolve, framings = reading.resolve, reading.framings
    out: list[Payload | Record] = []
    append = out.append
    for seq, t_ns, outbound, payload, opcode, kind, code, dir_text, wire, fields in rows:
        if type(seq) is not int or type(t_ns) is not int or type(code) is not int:
            raise CaptureError(f"record {seq!r} of the capture is damaged")
        if code < 0:  # a run: its messages' payloads, from ``start`` on
            row = (seq, t_ns, dir_text, kind, wire, None, code, fields)
            for item in _run_payloads(row, runs, resolve, framings):
                if item[0] >= start:
                    append(item)
            continue
        if seq < start:
            continue
        if kind == "handshake":
            append(_whole(reading.conn, reading.session_id, seq, resolve, framings))
            continue
        if kind == "frame":
            data = opcodes.get(opcode)
            if data is None:
                data = _is_data(opcode, resolve)
                if len(opcodes) < 4096:
                    opcodes[opcode] = data
            if not data:
                continue
            if payload is None:
                if code >= PAYLOAD_AT:
                    raise CaptureError(f"record {seq} of the capture is damaged: "
                                       "payload_is_wire is past its wire bytes")  # fmt: skip
                continue
        if type(payload) is not bytes:
            raise CaptureError(f"record {seq} of the capture is damaged: "
                               "its payload is not a blob")  # fmt: skip
        append((seq, t_ns, outbound, payload))
    return out


def _is_data(opcode: Any, resolve: FieldSetResolver | None) -> bool:
    """Whether a frame's opcode (or the field set its fields refer to) is text or binary."""
    if type(opcode) is str and opcode.startswith(_FIELD_REF):
        if resolve is None:
            raise CaptureError("a frame's fields refer to a field set this file cannot have")
        opcode = resolve(opcode).get("opcode")
    return opcode in _DATA_OPCODES


def _whole(
    conn: sqlite3.Connection,
    session_id: int,
    seq: int,
    resolve: FieldSetResolver | None,
    framings: tuple[str, ...],
) -> Record:
    """The record ``seq`` made whole (a handshake: its fields choose a decoder)."""
    row = conn.execute(
        f"SELECT {RECORD_COLUMNS} FROM records WHERE session_id = ? AND seq = ?",
        (session_id, seq),
    ).fetchone()
    return decode_rows(row, resolve, True, framings)[0]


def _run_payloads(
    row: tuple[Any, ...],
    runs: dict[tuple[Any, Any, Any], tuple[str, bool]],
    resolve: FieldSetResolver | None,
    framings: tuple[str, ...],
) -> list[Payload]:
    """The payloads of a run row's messages (checked as the full reader checks them).

    What the full reader checks of a run row, besides its numbers and its wire being
    bytes, depends only on its direction, kind and fields: a run of WebSocket frames
    whose three are those of a run checked before is cut at once."""
    seq, t_ns, dir_text, kind, wire, _none, code, fields = row
    known = runs.get((dir_text, kind, fields)) if type(wire) is bytes else None
    if known is not None:
        framing, outbound = known
        if framing in (WS_FRAMES, WS_SENT_FRAMES):
            from inspector.protocols.wsruns import plain_payloads

            bodies = plain_payloads(wire)
            if bodies is not None and len(bodies) == -code:
                return [(seq + i, t_ns, outbound, body) for i, body in enumerate(bodies)]
    run = decode_run(row, resolve, framings)
    outbound = str(run.direction) == "out"
    if len(runs) < 256:
        runs[(dir_text, kind, fields)] = (run.framing, outbound)
    bodies = _bodies(run)
    if bodies is None or len(bodies) != run.count:
        # The full reader's check and its one line, from the records it makes.
        bodies = [_payload(r) for r in decode_rows(row, resolve, True, framings)]
    return [(seq + i, t_ns, outbound, body) for i, body in enumerate(bodies)]


def _payload(record: Record) -> bytes:
    payload = record.payload
    return payload if payload is not None else record.wire


def _bodies(run: MessageRun) -> list[bytes] | None:
    """The payloads of a run's messages without making their records, where its framing
    allows; None where only its records give them."""
    even = even_run(run)
    if even is not None:
        return even.payloads()
    if run.framing in (WS_FRAMES, WS_SENT_FRAMES):
        from inspector.protocols.wsruns import plain_payloads

        return plain_payloads(run.wire)
    if run.kind is Kind.MESSAGE and run.framing in ("lines", "len16", "len32"):
        messages = run.messages()
        if sum(len(wire) for wire, _body, _ranges in messages) != len(run.wire):
            return None
        return [body for _wire, body, _ranges in messages]
    return None


#: How a reader calls :func:`payload_pages` (the store binds its connection and session).
PayloadReader = Callable[[int, int], Iterator[list[Payload | Record]]]
