"""Even runs: a run of messages that all have one shape, read and written without a
Record per message.

A flood of equal messages (the frames of a WebSocket flood, lines of one length) is
stored as run rows (:mod:`inspector.core.runs`); when every message of a run has the
same size, the same bytes around its payload and therefore one shared fields mapping,
the run is an :class:`EvenRun`: message ``i`` is ``wire[i * stride : (i + 1) * stride]``
and its payload the ``size`` bytes from ``offset`` in it. ``show`` and ``export`` turn
such a run into text or packets with a few calls over the whole run
(:mod:`inspector.core.render`, the exporters); whoever needs records calls
:meth:`EvenRun.records`, which makes exactly the records the run's framing makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from inspector.core.records import Record, make_record
from inspector.core.runs import LEN16, LEN32, LINES, PREFIX_WIDTH, MessageRun, message_fields


@dataclass(frozen=True, slots=True)
class EvenRun:
    """The messages of ``run``, each ``stride`` bytes of its wire with the payload at
    ``offset`` (``size`` bytes), all of them sharing ``fields``."""

    run: MessageRun
    stride: int
    offset: int
    size: int
    fields: Mapping[str, Any]

    def first(self) -> Record:
        """The run's first record (all of them differ only in seq, wire and payload)."""
        run = self.run
        wire = run.wire[: self.stride]
        payload = wire[self.offset : self.offset + self.size]
        return make_record(run.seq, run.t_ns, run.direction, run.kind, wire, payload,
                           self.fields)  # fmt: skip

    def rest(self) -> EvenRun:
        """The run without its first message (at least two messages)."""
        run = self.run
        rest = MessageRun(run.seq + 1, run.t_ns, run.direction, run.kind,
                          run.wire[self.stride :], run.count - 1, run.framing)  # fmt: skip
        return EvenRun(rest, self.stride, self.offset, self.size, self.fields)

    def last(self, count: int) -> list[Record]:
        """The run's last ``count`` records (made without the others)."""
        run = self.run
        count = max(0, min(count, run.count))
        if not count:
            return []
        wire = run.wire[len(run.wire) - count * self.stride :]
        tail = MessageRun(run.end - count, run.t_ns, run.direction, run.kind, wire, count,
                          run.framing)  # fmt: skip
        return EvenRun(tail, self.stride, self.offset, self.size, self.fields).records()

    def wires(self) -> list[bytes]:
        """Each message's wire bytes."""
        wire, stride = self.run.wire, self.stride
        return [wire[pos : pos + stride] for pos in range(0, len(wire), stride)]

    def payloads(self) -> list[bytes]:
        """Each message's payload."""
        wire, size = self.run.wire, self.size
        return [wire[pos : pos + size] for pos in range(self.offset, len(wire), self.stride)]

    def records(self) -> list[Record]:
        """The run's records, equal to those its framing makes from the same bytes."""
        run = self.run
        seq, t_ns, direction, kind, fields = run.seq, run.t_ns, run.direction, run.kind, self.fields
        offset, size, make = self.offset, self.offset + self.size, make_record
        return [
            make(seq + i, t_ns, direction, kind, wire, wire[offset:size], fields)
            for i, wire in enumerate(self.wires())
        ]


#: A run's records as a consumer reads them in bulk: single records and even runs.
Item = Record | EvenRun


def expanded(items: Iterable[Item]) -> Iterator[Record]:
    """Every record of ``items``, even runs made into their records."""
    for item in items:
        if type(item) is EvenRun:
            yield from item.records()
        else:
            yield item  # type: ignore[misc]


def item_count(items: Iterable[Item]) -> int:
    """How many records ``items`` stand for."""
    return sum(item.run.count if type(item) is EvenRun else 1 for item in items)  # type: ignore[union-attr]


def same_bytes(wire: bytes, count: int, stride: int, positions: Iterable[int]) -> bool:
    """True when every message of ``wire`` (``count`` messages of ``stride`` bytes) has the first
    message's byte at each of ``positions`` (one C-level slice per position)."""
    return all(wire[pos::stride] == wire[pos : pos + 1] * count for pos in positions)


#: Makers of even runs by framing (None from one: the run is not even).
_EVEN: dict[str, Callable[[MessageRun], EvenRun | None]] = {}


def register_even(framing: str, make: Callable[[MessageRun], EvenRun | None]) -> None:
    """Let runs of ``framing`` be read as even runs by ``make`` (a protocol's own check)."""
    _EVEN[framing] = make


def even_run(run: MessageRun) -> EvenRun | None:
    """``run`` as an even run, or None when its messages differ in shape (or its
    framing has no maker of even runs)."""
    make = _EVEN.get(run.framing)
    if make is None or run.count <= 0 or len(run.wire) % run.count:
        return None
    return make(run)


def _even_lines(run: MessageRun) -> EvenRun | None:
    """A run of lines of one length (each ending in "\\n", all or none with "\\r")."""
    wire, count = run.wire, run.count
    stride = len(wire) // count
    if wire.count(b"\n") != count or not same_bytes(wire, count, stride, (stride - 1,)):
        return None
    size = stride - 1
    if stride >= 2 and wire[stride - 2] == 0x0D:
        if not same_bytes(wire, count, stride, (stride - 2,)):
            return None
        size -= 1
    elif stride >= 2 and b"\r" in wire[stride - 2 :: stride]:
        return None
    return EvenRun(run, stride, 0, size, message_fields(LINES, size, stride))


def _even_prefixed(run: MessageRun) -> EvenRun | None:
    """A run of length-prefixed messages of one length."""
    wire, count = run.wire, run.count
    width = PREFIX_WIDTH[run.framing]
    stride = len(wire) // count
    if stride < width or int.from_bytes(wire[:width], "big") != stride - width:
        return None
    if not same_bytes(wire, count, stride, range(width)):
        return None
    size = stride - width
    return EvenRun(run, stride, width, size, message_fields(run.framing, size, stride))


#: The byte length of a run's first message, by framing.
_FIRST_LENGTH: dict[str, Callable[[bytes], int]] = {}


def register_first_length(framing: str, length: Callable[[bytes], int]) -> None:
    """Let the first message of runs of ``framing`` be cut by ``length`` (its size)."""
    _FIRST_LENGTH[framing] = length


def first_record(run: MessageRun) -> Record:
    """The first record of ``run``, made without cutting the rest of it."""
    length = _FIRST_LENGTH.get(run.framing)
    if length is None or run.count == 1:
        return run.records()[0]
    head = MessageRun(run.seq, run.t_ns, run.direction, run.kind, run.wire[: length(run.wire)], 1,
                      run.framing)  # fmt: skip
    return head.records()[0]


def _first_line(wire: bytes) -> int:
    return wire.index(b"\n") + 1


register_even(LINES, _even_lines)
register_even(LEN16, _even_prefixed)
register_even(LEN32, _even_prefixed)
register_first_length(LINES, _first_line)
register_first_length(LEN16, lambda wire: 2 + int.from_bytes(wire[:2], "big"))
register_first_length(LEN32, lambda wire: 4 + int.from_bytes(wire[:4], "big"))
