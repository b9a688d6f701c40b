"""The narrow read of a session: each application payload with its number, time and
direction, without making a record per message.

Request ↔ response statistics over a million-record capture need nothing else of a
record: SQLite hands over only those columns (a frame's opcode pulled out of its
fields by ``json_extract``, in C, instead of the whole fields object parsed in
Python), and a run row's messages are cut straight into their payloads. What it
yields is what :func:`inspector.protocols.decoders.session.payload_of` gives for the
same records, in the same order: a frame's payload when its opcode is text or binary,
a stream message's, data's or datagram's payload (its wire bytes when none). Handshake
records come whole, for the facts that choose a decoder; other records carry no
payload and are left out. Damage the read comes across (a value of the wrong type, a
run that is not its messages, a missing field set) is one :class:`CaptureError` line;
the rest of a row is not checked, as it is not read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
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

#: One application payload: (seq, t_ns, outbound, payload).
Payload = tuple[int, int, bool, bytes]

#: The kinds whose records carry an application payload (a frame only with a data opcode).
_PAYLOAD_KINDS = ("frame", "message", "data", "datagram")
_DATA_OPCODES = frozenset({"text", "binary"})
_FIELD_REF = "="

# Per row: seq, t_ns, dir, kind, payload_is_wire, the payload as payload_of reads it,
# the frame's opcode (or its field-set reference), and for a run row its wire and fields.
# The fields of a frame begin with its opcode as this program writes them (compact JSON,
# "opcode" first): those are told by a prefix, any other by json_extract.
_SELECT = f"""
SELECT seq, t_ns, dir, kind, payload_is_wire,
  CASE
    WHEN payload_is_wire = {PAYLOAD_IN_COLUMN} THEN
      CASE WHEN payload IS NULL AND kind != 'frame' THEN wire ELSE payload END
    WHEN payload_is_wire = {PAYLOAD_IS_WIRE} THEN wire
    WHEN payload_is_wire >= {PAYLOAD_AT} AND payload_is_wire - {PAYLOAD_AT} <= length(wire)
      THEN substr(wire, payload_is_wire - {PAYLOAD_AT - 1})
  END,
  CASE WHEN kind = 'frame' AND payload_is_wire >= 0 THEN
    CASE WHEN substr(fields, 1, 17) = '{{"opcode":"text",' THEN 'text'
         WHEN substr(fields, 1, 19) = '{{"opcode":"binary",' THEN 'binary'
         WHEN substr(fields, 1, 1) = '{_FIELD_REF}' THEN fields
         ELSE json_extract(fields, '$.opcode') END
  END,
  CASE WHEN payload_is_wire < 0 THEN wire END,
  CASE WHEN payload_is_wire < 0 THEN fields END
FROM records
WHERE session_id = ? AND seq >= ? AND seq < ?
  AND (kind IN ({", ".join(f"'{k}'" for k in _PAYLOAD_KINDS)}) OR kind = 'handshake')
ORDER BY seq
"""


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
    opcodes: dict[Any, bool] = {"text": True, "binary": True}
    # A run may begin before ``start``: read from the row that holds it.
    (first,) = conn.execute(
        "SELECT coalesce(max(seq), 0) FROM records WHERE session_id = ? AND seq <= ?",
        (session_id, start),
    ).fetchone()
    low = first if type(first) is int else start
    while low < stop:
        high = min(stop, low + page)
        rows = conn.execute(_SELECT, (session_id, low, high)).fetchall()
        out: list[Payload | Record] = []
        append = out.append
        last = low
        for seq, t_ns, dir_text, kind, code, payload, opcode, run_wire, run_fields in rows:
            if type(seq) is not int or type(t_ns) is not int or type(code) is not int:
                raise CaptureError(f"record {seq!r} of the capture is damaged")
            last = seq
            if code < 0:  # a run: its messages' payloads, from ``start`` on
                row = (seq, t_ns, dir_text, kind, run_wire, None, code, run_fields)
                for item in _run_payloads(row, resolve, framings):
                    if item[0] >= start:
                        append(item)
                continue
            if seq < start:
                continue
            if kind == "handshake":
                append(_whole(conn, session_id, seq, resolve, framings))
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
            append((seq, t_ns, dir_text == "out", payload))
        if out:
            yield out
        low = max(high, last + 1)


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
    row: tuple[Any, ...], resolve: FieldSetResolver | None, framings: tuple[str, ...]
) -> list[Payload]:
    """The payloads of a run row's messages (checked as the full reader checks them)."""
    run = decode_run(row, resolve, framings)
    seq, t_ns, outbound = run.seq, run.t_ns, str(run.direction) == "out"
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
