"""The capture file schema: tables, pragmas, validation, and record <-> row conversion.

A capture is an SQLite database (docs/capture-format.md). Everything read from one is
treated as hostile: values are type-checked, JSON is parsed with the standard decoder
only, and any damage becomes a one-line :class:`CaptureError`, never a traceback.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from itertools import chain
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from inspector.core.errors import CaptureError
from inspector.core.records import Direction, Kind, Record, make_record
from inspector.core.runs import (
    LEN16,
    LEN32,
    LINES,
    WS_FRAMES,
    WS_MASKED_FRAMES,
    WS_SENT_FRAMES,
    MessageRun,
)

#: The stream framings whose messages a run row can hold (schema 3 on; kind "message").
STREAM_FRAMINGS = (LINES, LEN16, LEN32)
#: Every framing a run row can hold: schema 4 adds plain WebSocket frames (kind "frame").
#: Schema 5 adds the server role's frames: masked ones read, unmasked ones sent.
WS_RUN_FRAMINGS = (WS_FRAMES, WS_MASKED_FRAMES, WS_SENT_FRAMES)
RUN_FRAMINGS = (*STREAM_FRAMINGS, *WS_RUN_FRAMINGS)

#: Bump when an older reader would misread a file written by this version.
#: 2: field_sets, and records.fields may be a reference "=ID" to one of them.
#: 3: run rows (payload_is_wire < 0): one row holds the framed messages of one read.
#: 4: runs of the plain WebSocket frames of one read ("ws-frames" framing).
#: 5: runs of a server's WebSocket frames ("ws-masked-frames", "ws-sent-frames").
SCHEMA_VERSION = 5


def run_framings(version: int) -> tuple[str, ...]:
    """The framings of the run rows a file of schema ``version`` may hold."""
    if version >= 5:
        return RUN_FRAMINGS
    if version == 4:
        return (*STREAM_FRAMINGS, WS_FRAMES)
    return STREAM_FRAMINGS if version >= 3 else ()


#: ``PRAGMA application_id``: the bytes "SKCP" (Socket Inspector CaPture), at offset 68.
APPLICATION_ID = 0x534B4350
APPLICATION = "socket-inspector"
SUFFIX = ".sockcap"
#: 16 KiB pages: about 1.5x the write throughput of 4 KiB pages in WAL mode (measured).
PAGE_SIZE = 16384
SQLITE_MAGIC = b"SQLite format 3\x00"

#: Field added to a record read with a kind this version does not know (see docs).
FIELD_STORED_KIND = "stored_kind"
#: Field added to a record read with a direction this version does not know.
FIELD_STORED_DIRECTION = "stored_direction"

DDL = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        endpoint TEXT NOT NULL,
        scheme TEXT NOT NULL,
        started_wall_ns INTEGER NOT NULL,
        ended_wall_ns INTEGER,
        state TEXT NOT NULL,
        options TEXT,
        summary TEXT
    )""",
    """CREATE TABLE records (
        session_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        t_ns INTEGER NOT NULL,
        dir TEXT NOT NULL,
        kind TEXT NOT NULL,
        wire BLOB NOT NULL,
        payload BLOB,
        payload_is_wire INTEGER NOT NULL DEFAULT 0,
        fields TEXT,
        PRIMARY KEY (session_id, seq)
    )""",
    """CREATE TABLE field_sets (
        id INTEGER PRIMARY KEY,
        fields TEXT NOT NULL
    )""",
)

#: The columns a record row is read with, in the order of RECORD_COLUMNS: decode_row
#: unpacks a row into these names, and the accessors below read one of them by name.
RECORD_COLUMN_NAMES = (
    "seq",
    "t_ns",
    "dir",
    "kind",
    "wire",
    "payload",
    "payload_is_wire",
    "fields",
)
#: The columns a session row is read with, in the order of SESSION_COLUMNS
#: (decode_session unpacks them).
SESSION_COLUMN_NAMES = (
    "id",
    "endpoint",
    "scheme",
    "started_wall_ns",
    "ended_wall_ns",
    "state",
    "options",
    "summary",
)
RECORD_COLUMNS = ", ".join(RECORD_COLUMN_NAMES)
SESSION_COLUMNS = ", ".join(SESSION_COLUMN_NAMES)
#: The seq of a row of RECORD_COLUMNS (its first record's, for a run).
row_seq: Callable[[tuple[Any, ...]], Any] = itemgetter(RECORD_COLUMN_NAMES.index("seq"))
#: The payload_is_wire of a row of RECORD_COLUMNS (see PayloadKind).
row_payload_code: Callable[[tuple[Any, ...]], Any] = itemgetter(
    RECORD_COLUMN_NAMES.index("payload_is_wire")
)

#: The columns of a row written by INSERT_RECORD, in order (encode_rows makes them).
INSERT_COLUMN_NAMES = ("session_id", *RECORD_COLUMN_NAMES)

REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "meta": ("key", "value"),
        "sessions": SESSION_COLUMN_NAMES,
        "records": INSERT_COLUMN_NAMES,
    }
)

#: Tables a file of schema 2 or later has besides REQUIRED_COLUMNS.
FIELD_SETS_COLUMNS = ("id", "fields")
#: A records.fields value starting with this refers to field_sets by id (schema 2).
FIELD_SET_REF = "="


class PayloadKind(Enum):
    """What a record row's ``payload_is_wire`` says about its payload (the column's name
    is older than the last two kinds; docs/capture-format.md)."""

    #: 0: the payload is the ``payload`` column (NULL: the record has none).
    COLUMN = "column"
    #: 1: the payload is the wire bytes, stored once (TCP data, UDP datagrams).
    WIRE = "wire"
    #: 2 + N (schema 2): the payload is the wire bytes from offset N on (an unmasked,
    #: uncompressed frame's payload follows its header).
    WIRE_FROM = "wire from"
    #: -N (schema 3): the row is a run of N records, the framed messages of one read
    #: (core.runs.MessageRun): ``wire`` holds them back to back, ``seq`` is the first
    #: one's, ``fields`` names the framing.
    RUN = "run"


#: The stored values: COLUMN and WIRE as they are, WIRE_FROM as PAYLOAD_AT + offset,
#: RUN as -count. The read and write loops use these directly (once per record).
PAYLOAD_IN_COLUMN, PAYLOAD_IS_WIRE, PAYLOAD_AT = 0, 1, 2


def encode_payload_kind(kind: PayloadKind, number: int = 0) -> int:
    """The payload_is_wire value of ``kind``; ``number`` is WIRE_FROM's offset or RUN's
    count of records (at least 1)."""
    if kind is PayloadKind.WIRE_FROM:
        return PAYLOAD_AT + number
    if kind is PayloadKind.RUN:
        return -number
    return PAYLOAD_IS_WIRE if kind is PayloadKind.WIRE else PAYLOAD_IN_COLUMN


def decode_payload_kind(code: int) -> tuple[PayloadKind, int]:
    """What a payload_is_wire value holds: its kind and number (WIRE_FROM's offset,
    RUN's count, else 0). Whether the number fits the row is the reader's check."""
    if code >= PAYLOAD_AT:
        return PayloadKind.WIRE_FROM, code - PAYLOAD_AT
    if code < PAYLOAD_IN_COLUMN:
        return PayloadKind.RUN, -code
    return (PayloadKind.WIRE if code == PAYLOAD_IS_WIRE else PayloadKind.COLUMN), 0


#: SQL for a record's payload bytes, the wire bytes when it has none (search).
PAYLOAD_SQL = (
    f"CASE WHEN payload_is_wire >= {PAYLOAD_AT}"
    f" THEN substr(wire, payload_is_wire - {PAYLOAD_AT - 1})"  # substr counts from 1
    " ELSE coalesce(payload, wire) END"
)
#: SQL true for a run row (PayloadKind.RUN).
RUN_SQL = f"payload_is_wire < {PAYLOAD_IN_COLUMN}"

#: The fields of a run row, by framing (each encoded once).
RUN_FIELDS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {name: MappingProxyType({"framing": name}) for name in RUN_FRAMINGS}
)

_INSERT_INTO = f"INSERT INTO records ({', '.join(INSERT_COLUMN_NAMES)}) VALUES "
_INSERT_ROW = f"({', '.join('?' * len(INSERT_COLUMN_NAMES))})"
INSERT_RECORD = _INSERT_INTO + _INSERT_ROW
#: Rows per INSERT statement: one statement step per 64 rows is ~30% faster (measured).
ROWS_PER_INSERT = 64
INSERT_RECORDS = _INSERT_INTO + ", ".join([_INSERT_ROW] * ROWS_PER_INSERT)

_DIR_TEXT: dict[Any, str] = {member: member.value for member in Direction}
_KIND_TEXT: dict[Any, str] = {member: member.value for member in Kind}
_DIR_BY_TEXT: dict[str, Direction] = {member.value: member for member in Direction}
_KIND_BY_TEXT: dict[str, Kind] = {member.value: member for member in Kind}


@dataclass(frozen=True, slots=True)
class CaptureSession:
    """One session held in a capture: where it went, when, how it ended."""

    id: int
    endpoint: str
    scheme: str
    started_wall_ns: int
    ended_wall_ns: int | None
    state: str
    options: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


# -- JSON -------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    """Turn the few non-JSON values producers may use into JSON ones."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` (the slow path for odd values: NaN, cycles, depth)."""
    if depth > 64:
        return None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    return _jsonable(_json_default(value), depth + 1)


_ENCODE = json.JSONEncoder(
    separators=(",", ":"), check_circular=False, allow_nan=False, default=_json_default
).encode


#: JSON of field mappings that producers share between records (the engine hands the
#: same read-only dict to every frame of one shape), keyed by identity; the mapping is
#: kept in the entry so its id cannot be reused while the entry lives.
_SHARED_JSON: dict[int, tuple[Mapping[str, Any], str]] = {}
_SHARED_JSON_MAX = 1024


def dump_json(value: Mapping[str, Any]) -> str:
    """Compact JSON of a mapping; never raises (odd values are made JSON-safe)."""
    entry = _SHARED_JSON.get(id(value))
    if entry is not None and entry[0] is value:
        return entry[1]
    try:
        text = _ENCODE(value)
    except (TypeError, ValueError, RecursionError):
        text = _ENCODE(_jsonable(value))
    if len(_SHARED_JSON) >= _SHARED_JSON_MAX:
        _SHARED_JSON.clear()
    _SHARED_JSON[id(value)] = (value, text)
    return text


def load_json_object(text: Any, what: str) -> dict[str, Any]:
    """Parse a stored JSON object (NULL means empty); raise CaptureError if it is not one."""
    if text is None:
        return {}
    if not isinstance(text, str):
        raise CaptureError(f"{what} is not JSON text")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CaptureError(f"{what} is not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(value, dict):
        raise CaptureError(f"{what} is not a JSON object")
    return value


# -- records ----------------------------------------------------------------------

#: A row for INSERT_RECORD: the values of INSERT_COLUMN_NAMES.
Row = tuple[int, int, int, str, str, bytes, bytes | None, int, str | None]


class FieldSets:
    """Field texts that repeat across records, stored once in ``field_sets`` (schema 2).

    Every frame of a flood of equal-sized messages has the same fields, several times
    larger than its bytes; storing them once per file instead of once per record makes
    the file about a third of the size and the inserts cheaper. A text is shared from
    the second time it is seen; texts seen once stay inline (a masked frame's fields,
    which hold its mask key, are seldom repeated).
    """

    #: Shorter texts are cheaper inline than as a reference.
    MIN_SHARED = 40
    #: At most this many shared texts per file; later ones stay inline.
    MAX_SHARED = 65_536
    _SEEN_MAX = 4096

    def __init__(self) -> None:
        self._refs: dict[str, str] = {}
        self._seen: set[str] = set()
        #: (id, text) assigned since the last commit; inserted with the next batch.
        self.new: list[tuple[int, str]] = []

    def ref(self, text: str) -> str:
        """The value to store for ``text``: a reference once it repeats, else itself."""
        ref = self._refs.get(text)
        if ref is not None:
            return ref
        if len(text) < self.MIN_SHARED or len(self._refs) >= self.MAX_SHARED:
            return text
        if text not in self._seen:
            if len(self._seen) >= self._SEEN_MAX:
                self._seen.clear()
            self._seen.add(text)
            return text
        number = len(self._refs) + 1
        ref = self._refs[text] = f"{FIELD_SET_REF}{number}"
        self.new.append((number, text))
        return ref


def insert_field_sets(conn: sqlite3.Connection, field_sets: FieldSets | None) -> None:
    """Insert the shared texts assigned since the last commit (inside its transaction)."""
    if field_sets is not None and field_sets.new:
        conn.executemany("INSERT OR REPLACE INTO field_sets VALUES (?, ?)", field_sets.new)


def encode_rows(
    session_id: int,
    records: list[Record | MessageRun],
    *,
    careful: bool = False,
    field_sets: FieldSets | None = None,
) -> list[Row]:
    """Rows for INSERT_RECORD; a payload equal to the wire bytes (PayloadKind.WIRE) or
    to their tail from offset N (WIRE_FROM: a frame's payload after its header) is not
    stored again. A MessageRun becomes one run row (RUN).

    ``careful`` makes every value storable whatever its type or size (slower; fields
    are then stored inline). With ``field_sets``, repeated fields become references.
    """
    if not careful:
        try:
            return _encode_fast(session_id, records, field_sets)
        except Exception:  # an odd value in some record: take the careful path for all
            pass
    return [_encode_careful(session_id, record) for record in records]


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _int64(value: Any) -> int:
    """An integer SQLite can store (clamped to 64 bits; 0 if not a number)."""
    try:
        return min(max(int(value), _INT64_MIN), _INT64_MAX)
    except (TypeError, ValueError, OverflowError):
        return 0


def _text(value: Any) -> str:
    """Text SQLite can store (lone surrogates replaced)."""
    text = str(getattr(value, "value", value))
    return text.encode("utf-8", "replace").decode("utf-8")


def insert_rows(conn: sqlite3.Connection, rows: list[Row]) -> None:
    """Insert rows (inside the caller's transaction), many per statement; the rows past
    the last whole ``ROWS_PER_INSERT`` in one statement too (each statement step is
    also where ``sqlite3`` lets the GIL go and takes it back: once per row made a
    commit thread wait for the GIL once per row)."""
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    flat = chain.from_iterable
    if whole:
        conn.executemany(
            INSERT_RECORDS,
            [tuple(flat(rows[i : i + ROWS_PER_INSERT])) for i in range(0, whole, ROWS_PER_INSERT)],
        )
    rest = len(rows) - whole
    if rest == 1:
        conn.execute(INSERT_RECORD, rows[whole])
    elif rest:
        conn.execute(_INSERT_INTO + ", ".join([_INSERT_ROW] * rest), tuple(flat(rows[whole:])))


def _encode_fast(
    session_id: int, records: list[Record | MessageRun], field_sets: FieldSets | None
) -> list[Row]:
    """The hot path: records made by the Recorder, with well-typed values."""
    rows: list[Row] = []
    append = rows.append
    dirs, kinds, encode = _DIR_TEXT, _KIND_TEXT, dump_json
    share = field_sets.ref if field_sets is not None else str
    last_fields: Any = None
    last_text: str | None = None
    repeated = False
    for record in records:
        if type(record) is MessageRun:
            append(_run_row(session_id, record, share))
            continue
        wire = record.wire
        payload = record.payload
        # encode_payload_kind, written out: this runs once per record of a flood.
        if payload is None:
            code = PAYLOAD_IN_COLUMN
        elif payload is wire or payload == wire:
            payload, code = None, PAYLOAD_IS_WIRE
        elif len(payload) < len(wire) and wire.endswith(payload):
            payload, code = None, PAYLOAD_AT + len(wire) - len(payload)
        else:
            code = PAYLOAD_IN_COLUMN
        fields = record.fields
        if fields is not last_fields:  # a flood repeats one shared dict
            last_fields = fields
            last_text = share(encode(fields)) if fields else None
            repeated = False
        elif not repeated:  # its second record: the text is now seen twice
            repeated = True
            if last_text is not None and not last_text.startswith(FIELD_SET_REF):
                last_text = share(last_text)
        append(
            (  # INSERT_COLUMN_NAMES
                session_id,
                record.seq,
                record.t_ns,
                dirs[record.direction],
                kinds[record.kind],
                wire,
                payload,
                code,
                last_text,
            )
        )
    return rows


def _run_row(session_id: int, run: MessageRun, share: Callable[[str], str] = str) -> Row:
    """The row of a run: its messages' bytes, its first seq, PayloadKind.RUN of its count."""
    return (  # INSERT_COLUMN_NAMES
        session_id,
        run.seq,
        run.t_ns,
        _DIR_TEXT[run.direction],
        _KIND_TEXT[run.kind],
        run.wire,
        None,
        encode_payload_kind(PayloadKind.RUN, run.count),
        share(dump_json(RUN_FIELDS[run.framing])),
    )


def _as_bytes(value: Any) -> bytes:
    """Bytes of a wire/payload value, whatever a producer handed over."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8", "replace")


def _encode_careful(session_id: int, record: Record | MessageRun) -> Row:
    """One row from a record whose values may be of unexpected types; never raises."""
    if type(record) is MessageRun:  # made by the Recorder from bytes: nothing odd in it
        return _run_row(session_id, record)
    wire = _as_bytes(record.wire)
    payload = None if record.payload is None else _as_bytes(record.payload)
    kind = PayloadKind.COLUMN
    if payload is not None and payload == wire:
        payload, kind = None, PayloadKind.WIRE
    fields = record.fields if isinstance(record.fields, Mapping) else {}
    return (  # INSERT_COLUMN_NAMES
        session_id,
        _int64(record.seq),
        _int64(record.t_ns),
        _text(record.direction),
        _text(record.kind),
        wire,
        payload,
        encode_payload_kind(kind),
        dump_json(fields) if fields else None,
    )


FieldSetResolver = Callable[[str], "dict[str, Any]"]


def decode_rows(
    row: tuple[Any, ...],
    resolve: FieldSetResolver | None = None,
    runs: bool = True,
    framings: tuple[str, ...] = RUN_FRAMINGS,
) -> list[Record]:
    """The records a row of RECORD_COLUMNS stands for: one, or a run's messages (schema
    3; ``runs`` False for older files, where a run row is damage; ``framings``: those
    the file's schema allows, see :func:`run_framings`)."""
    code = row_payload_code(row)
    if type(code) is not int or code >= PAYLOAD_IN_COLUMN or not runs:  # not a RUN
        return [decode_row(row, resolve)]
    records = decode_run(row, resolve, framings)
    try:
        made = records.records()
    except ValueError:
        made = []
    seq, wire, framing, count = records.seq, records.wire, records.framing, records.count
    whole = framing in WS_RUN_FRAMINGS  # its maker refuses bytes that are not whole frames
    if len(made) != count or not (whole or sum(len(r.wire) for r in made) == len(wire)):
        raise CaptureError(
            f"record {seq} of the capture is damaged: its run holds {len(made)} whole "
            f"messages of {framing} framing in {len(wire)} bytes, not {count}"
        )
    return made


def decode_run(
    row: tuple[Any, ...],
    resolve: FieldSetResolver | None = None,
    framings: tuple[str, ...] = RUN_FRAMINGS,
) -> MessageRun:
    """The run a run row (PayloadKind.RUN) holds, its values checked as a single
    record's and its framing one the file may hold; whether its bytes are ``count``
    messages is left to the caller (making its records checks that)."""
    _run, count = decode_payload_kind(row_payload_code(row))
    # The row's own values, checked as a single record's; then cut into its messages.
    first = decode_row(_with_payload_code(row, PAYLOAD_IN_COLUMN), resolve)
    seq, wire = first.seq, first.wire
    framing = first.fields.get("framing")
    if (
        first.kind is not (Kind.FRAME if framing in WS_RUN_FRAMINGS else Kind.MESSAGE)
        or first.direction is Direction.META
        or framing not in framings
        or first.payload is not None
    ):
        raise CaptureError(
            f"record {seq} of the capture is damaged: payload_is_wire {-count} marks a run "
            "of framed messages, but it is not one (not 0, 1 or an offset inside the wire)"
        )
    if framing in WS_RUN_FRAMINGS:
        # Imported here: it needs websockets, which a capture of other traffic never does.
        from inspector.protocols import wsruns  # noqa: F401  (registers the framing)
    return MessageRun(seq, first.t_ns, first.direction, first.kind, wire, count, framing)


_CODE_AT = RECORD_COLUMN_NAMES.index("payload_is_wire")


def _with_payload_code(row: tuple[Any, ...], code: int) -> tuple[Any, ...]:
    """``row`` with another payload_is_wire."""
    return (*row[:_CODE_AT], code, *row[_CODE_AT + 1 :])


def row_end(row: tuple[Any, ...]) -> int:
    """The seq after the last record of a (checked) row of RECORD_COLUMNS."""
    code = row_payload_code(row)
    kind, count = decode_payload_kind(code) if type(code) is int else (PayloadKind.COLUMN, 0)
    return int(row_seq(row)) + (count if kind is PayloadKind.RUN else 1)


def decode_row(row: tuple[Any, ...], resolve: FieldSetResolver | None = None) -> Record:
    """A Record from a row of RECORD_COLUMNS; CaptureError if the row is damaged.

    ``resolve`` turns a field-set reference ("=ID", schema 2) into its fields; it
    raises CaptureError when the file has no such set. A run row is damage here: read
    rows with :func:`decode_rows`.
    """
    seq, t_ns, dir_text, kind_text, wire, payload, code, fields_text = row  # RECORD_COLUMNS
    if type(seq) is not int:
        raise CaptureError("a record of the capture is damaged: its number is not an integer")

    def damaged(why: str) -> CaptureError:
        return CaptureError(f"record {seq} of the capture is damaged: {why}")

    if type(t_ns) is not int:
        raise damaged("its time is not an integer")
    if type(wire) is not bytes:
        raise damaged("its wire bytes are not a blob")
    if payload is not None and type(payload) is not bytes:
        raise damaged("its payload is not a blob")
    # decode_payload_kind, written out: this runs once per record read.
    if type(code) is not int or code < PAYLOAD_IN_COLUMN or code - PAYLOAD_AT > len(wire):
        raise damaged("payload_is_wire is not 0, 1 or an offset inside the wire bytes")
    fields = _FIELDS_BY_TEXT.get(fields_text) if type(fields_text) is str else None
    if fields is None and type(fields_text) is str and fields_text.startswith(FIELD_SET_REF):
        if resolve is None:
            raise damaged("its fields refer to a field set this file cannot have")
        try:
            fields = resolve(fields_text)
        except CaptureError as exc:
            raise damaged(str(exc)) from None
    elif fields is None:
        try:
            fields = load_json_object(fields_text, "its fields")
        except CaptureError as exc:
            raise damaged(str(exc)) from None
        if type(fields_text) is str and len(fields_text) <= _FIELDS_CACHE_TEXT_MAX:
            if len(_FIELDS_BY_TEXT) >= _FIELDS_CACHE_MAX:
                _FIELDS_BY_TEXT.clear()
            _FIELDS_BY_TEXT[fields_text] = fields
    direction = _DIR_BY_TEXT.get(dir_text) if isinstance(dir_text, str) else None
    if direction is None:
        direction = Direction.META
        fields = {**fields, FIELD_STORED_DIRECTION: str(dir_text)[:64]}
    kind = _KIND_BY_TEXT.get(kind_text) if isinstance(kind_text, str) else None
    if kind is None:
        kind = Kind.INFO
        fields = {**fields, FIELD_STORED_KIND: str(kind_text)[:64]}
    if code == PAYLOAD_IS_WIRE:
        payload = wire
    elif code != PAYLOAD_IN_COLUMN:
        payload = wire[code - PAYLOAD_AT :]
    return make_record(seq, t_ns, direction, kind, wire, payload, fields)


#: Parsed fields by their stored text. Records are read-only, so records whose fields
#: are the same text (every frame of a flood) share one dict and the JSON is parsed once.
#: Plain dicts, as JSON objects read back have always been: callers must not change them.
_FIELDS_BY_TEXT: dict[str, dict[str, Any]] = {}
_FIELDS_CACHE_MAX = 4096
_FIELDS_CACHE_TEXT_MAX = 2048


def decode_session(row: tuple[Any, ...]) -> CaptureSession:
    """A CaptureSession from a row of SESSION_COLUMNS; CaptureError if it is damaged."""
    sid, endpoint, scheme, started, ended, state, options, summary = row  # SESSION_COLUMNS
    if type(sid) is not int:
        raise CaptureError("a session of the capture is damaged: its id is not an integer")
    what = f"session {sid} of the capture"
    if not isinstance(endpoint, str) or not isinstance(scheme, str):
        raise CaptureError(f"{what} is damaged: its endpoint is not text")
    if type(started) is not int or (ended is not None and type(ended) is not int):
        raise CaptureError(f"{what} is damaged: its times are not integers")
    if not isinstance(state, str):
        raise CaptureError(f"{what} is damaged: its state is not text")
    return CaptureSession(
        sid,
        endpoint,
        scheme,
        started,
        ended,
        state,
        load_json_object(options, f"the options of {what}"),
        load_json_object(summary, f"the summary of {what}"),
    )


# -- validation -------------------------------------------------------------------


def check_schema(conn: sqlite3.Connection, name: str) -> int:
    """Check that ``conn`` holds a capture this version can read; return its schema version.

    Raises CaptureError naming ``name`` for anything else. May raise sqlite3.Error
    (the caller turns it into a CaptureError too).
    """
    not_capture = CaptureError(f"{name} is not a Socket Inspector capture")
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    if app_id != APPLICATION_ID:
        raise not_capture
    objects = {
        table: (kind, sql or "")
        for table, kind, sql in conn.execute("SELECT name, type, sql FROM sqlite_master")
        if isinstance(table, str)
    }
    if "meta" not in objects:
        raise not_capture
    meta = {
        key: value
        for key, value in conn.execute("SELECT key, value FROM meta")
        if isinstance(key, str)
    }
    try:
        version = int(str(meta.get("schema_version", "")).strip())
    except ValueError:
        raise CaptureError(f"{name} is damaged: its schema version is missing") from None
    if version > SCHEMA_VERSION:
        raise CaptureError(
            f"{name}: capture was written by a newer Socket Inspector (schema {version}); "
            f"this version reads up to {SCHEMA_VERSION}"
        )
    if version < 1:
        raise CaptureError(f"{name} is damaged: its schema version {version} is invalid")
    required = dict(REQUIRED_COLUMNS)
    if version >= 2:
        required["field_sets"] = FIELD_SETS_COLUMNS
    for table, columns in required.items():
        kind, sql = objects.get(table, ("", ""))
        # A view or virtual table could run arbitrary queries: only plain tables are read.
        if kind != "table" or "VIRTUAL" in sql.upper():
            raise CaptureError(f"{name} is damaged: table {table} is missing")
        # 'hidden' is nonzero for generated columns, which would compute values.
        present = {
            column: hidden
            for _cid, column, _type, _notnull, _default, _pk, hidden in conn.execute(
                f"PRAGMA table_xinfo({table})"
            )
        }
        missing = [c for c in columns if present.get(c, 1) != 0]
        if missing:
            raise CaptureError(
                f"{name} is damaged: table {table} lacks column {', '.join(missing)}"
            )
    return version
