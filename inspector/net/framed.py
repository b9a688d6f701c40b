"""Framed streams recorded one way: what a tcp:// or tls:// client session
(:mod:`inspector.net.stream`) and an accepted tcp:// or tls:// connection
(:mod:`inspector.net.accepted`) both do with a read, the bytes left at the end of the
stream and a message sent.

A read's whole lines or length-prefixed messages are one run (``Recorder.record_run``,
one capture row) whenever the framer can say so without cutting them one by one
(``feed_run``); otherwise, and for raw reads, one record each in one
``record_many`` call. Every record of one read shares its time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from inspector.core.options import Framing
from inspector.core.recorder import Recorder
from inspector.core.records import FIELD_AUTOMATIC, Direction, Kind
from inspector.core.runs import cutter, message_fields
from inspector.protocols.framing import RUN_FRAMINGS, Framer, FramingError

#: The fields of a raw read: none (one shared read-only mapping).
_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class FramedRead:
    """What one read gave: how many whole messages were recorded, their bodies (when
    asked for), and the framing error that ends the stream (None: none)."""

    count: int
    bodies: list[bytes] | None
    error: FramingError | None = None


def record_read(
    framer: Framer,
    framing: Framing,
    recorder: Recorder,
    data: bytes,
    t_ns: int,
    *,
    bodies: bool,
) -> FramedRead:
    """Frame ``data`` and record the whole messages it completes, stamped ``t_ns``
    (DATA records for raw framing, MESSAGE records otherwise); ``bodies`` asks for the
    messages' bodies too (for rules or a consumer)."""
    if framing in RUN_FRAMINGS:
        done = framer.feed_run(data)  # type: ignore[attr-defined]
        if done is not None:  # None: the size limit may break; feed() says where
            wire, count = done
            if not count:
                return FramedRead(0, None)
            name = str(framing)
            recorder.record_run(Direction.IN, Kind.MESSAGE, t_ns, wire, count, name)
            cut = cutter(name)
            assert cut is not None
            return FramedRead(count, [body for _w, body, _r in cut(wire)] if bodies else None)
    error: FramingError | None = None
    try:
        messages = framer.feed(data)
    except FramingError as exc:
        error, messages = exc, exc.messages
    if not messages:
        return FramedRead(0, None, error)
    if framing is Framing.RAW:
        items = [(wire, wire, _NO_FIELDS) for wire, _body, _ranges in messages]
        kind = Kind.DATA
    else:
        name = str(framing)
        # Messages of one shape share one read-only fields dict, so the capture store
        # encodes it once.
        items = [
            (wire, body, message_fields(name, len(body), len(wire)))
            for wire, body, _ranges in messages
        ]
        kind = Kind.MESSAGE
    recorder.record_many(Direction.IN, kind, t_ns, items)  # type: ignore[arg-type]
    return FramedRead(len(items), [item[1] for item in items] if bodies else None, error)


def record_leftover(framer: Framer, framing: Framing, recorder: Recorder, t_ns: int | None) -> None:
    """At the end of the stream, record the bytes that never became a whole message."""
    rest = framer.leftover()
    if rest:
        fields = {"incomplete": True, "framing": str(framing)}
        recorder.record(Direction.IN, Kind.DATA, t_ns, rest, rest, fields)


def record_sent(
    recorder: Recorder,
    framing: Framing,
    wire: bytes,
    body: bytes,
    ranges: list[Any],
    automatic: bool = False,
) -> None:
    """Record one message written as ``framing`` frames it (raw: DATA of its bytes);
    ``automatic`` marks a protocol client's own message (an opening, a keep-alive)."""
    marked = {FIELD_AUTOMATIC: True} if automatic else {}
    if framing is Framing.RAW:
        recorder.record(Direction.OUT, Kind.DATA, wire=wire, payload=wire, fields=marked or None)
    else:
        fields = {"framing": str(framing), "ranges": ranges, **marked}
        recorder.record(Direction.OUT, Kind.MESSAGE, wire=wire, payload=body, fields=fields)
