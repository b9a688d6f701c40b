"""Request ↔ response pairing and latency statistics.

Messages come in as plain tuples — where they are, which way they went, and the ids
they carry as requests or responses — so this module knows no protocol: the decoders
in ``protocols/decoders`` (or a user's rule, :class:`IdRule`) say what the ids are.
A response pairs with the oldest unanswered request of the same id sent the other
way (ids such as MQTT packet identifiers are reused once answered). One pass over
the messages and one sort of the latencies: a million pairs take about a second.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

#: Upper bounds (ns) of the latency histogram's buckets; the last bucket is unbounded.
HISTOGRAM_BOUNDS_NS: tuple[int, ...] = tuple(
    int(ms * 1_000_000)
    for ms in (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
)



class Role(StrEnum):
    """What a message is in a request ↔ response exchange (the decoders say which)."""

    REQUEST = "request"
    RESPONSE = "response"
    #: One answer of several (a stream's item, a subscription's event): the first pairs
    #: with its request, and the request's later items and its final RESPONSE belong to
    #: it (counted as ``streamed``), not answers to nothing.
    ITEM = "item"


REQUEST = Role.REQUEST
RESPONSE = Role.RESPONSE
ITEM = Role.ITEM


@dataclass(frozen=True, slots=True)
class Pair:
    """A request and its response, by record number, and the time between them."""

    request_seq: int
    response_seq: int
    request_t_ns: int
    latency_ns: int


@dataclass(slots=True)
class Matching:
    """Every pair found (as parallel columns, cheap for millions), the requests never
    answered and the answers to nothing."""

    request_seqs: list[int] = field(default_factory=list)
    response_seqs: list[int] = field(default_factory=list)
    request_t_ns: list[int] = field(default_factory=list)
    latencies_ns: list[int] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)  # request seqs
    unsolicited: list[int] = field(default_factory=list)  # response seqs
    #: The answers of a stream after its first (its later items and its end).
    streamed: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.latencies_ns)

    def pairs(self) -> list[Pair]:
        """The pairs as objects, in the order their responses came."""
        return [
            Pair(*row)
            for row in zip(
                self.request_seqs,
                self.response_seqs,
                self.request_t_ns,
                self.latencies_ns,
                strict=True,
            )
        ]

    def partner(self) -> dict[int, int]:
        """Record number → the record number it is paired with (both ways)."""
        out = dict(zip(self.request_seqs, self.response_seqs, strict=True))
        out.update(zip(self.response_seqs, self.request_seqs, strict=True))
        return out


#: One message for matching: (seq, t_ns, outbound, ((role, key), …)).
Message = tuple[int, int, bool, Sequence[tuple[str, str]]]


class Matcher:
    """Pairs messages given in any number of batches exactly as :func:`match` pairs them
    given at once: the window pairs a capture a page per timer tick, and a live session
    as its records arrive, with the same code as ``show --stats``.

    A key waiting for its answer holds one (seq, t_ns) pair, or a deque of them only
    while the same key waits more than once (reused ids): most keys are asked once and
    answered once, and a key is forgotten as its last request is answered."""

    __slots__ = ("_received", "_sent", "_streams", "matching")

    def __init__(self) -> None:
        self.matching = Matching()
        self._sent: dict[str, Any] = {}  # requests that went out, by key
        self._received: dict[str, Any] = {}  # requests that came in
        #: Streams answered once and still open: (answers go out, key).
        self._streams: set[tuple[bool, str]] = set()

    def feed(self, messages: Iterable[Message]) -> None:
        """Pair each response with the oldest unanswered request of its key sent the
        other way, in the order given."""
        sent, received = self._sent, self._received
        result = self.matching
        req_seqs, resp_seqs = result.request_seqs, result.response_seqs
        req_ts, latencies = result.request_t_ns, result.latencies_ns
        for seq, t_ns, outbound, ids in messages:
            for role, key in ids:
                if role == REQUEST:
                    mine = sent if outbound else received
                    held = mine.get(key)
                    if held is None:
                        mine[key] = (seq, t_ns)
                    elif type(held) is tuple:
                        mine[key] = deque((held, (seq, t_ns)))
                    else:
                        held.append((seq, t_ns))
                    continue
                theirs = received if outbound else sent
                held = theirs.get(key)
                if held is None:
                    self._answer_to_nothing(seq, outbound, key, role)
                    continue
                if type(held) is tuple:
                    del theirs[key]
                    req_seq, req_t = held
                else:
                    req_seq, req_t = held.popleft()
                    if not held:
                        del theirs[key]
                req_seqs.append(req_seq)
                resp_seqs.append(seq)
                req_ts.append(req_t)
                latencies.append(t_ns - req_t)
                if role == ITEM:
                    self._streams.add((outbound, key))

    def _answer_to_nothing(self, seq: int, outbound: bool, key: str, role: Role) -> None:
        """An answer with no request waiting: a later answer of an open stream (its end
        when it is not an item), else unsolicited."""
        stream = (outbound, key)
        if stream in self._streams:
            self.matching.streamed.append(seq)
            if role != ITEM:
                self._streams.discard(stream)
        else:
            self.matching.unsolicited.append(seq)

    def unanswered(self) -> list[int]:
        """The requests still waiting for an answer, by seq."""
        return sorted(
            seq
            for side in (self._sent, self._received)
            for held in side.values()
            for seq, _ in ((held,) if type(held) is tuple else held)
        )

    def finish(self) -> Matching:
        """The matching, its unanswered requests filled in."""
        self.matching.unanswered = self.unanswered()
        return self.matching


def match(messages: Iterable[Message]) -> Matching:
    """Pair each response with the oldest unanswered request of its key sent the other
    way: one pass (:class:`Matcher` fed once)."""
    matcher = Matcher()
    matcher.feed(messages)
    return matcher.finish()


class NextMatcher:
    """Pairs messages given in batches as :func:`match_next` pairs them given at once:
    each inbound message answers the oldest outbound one not yet answered."""

    __slots__ = ("_waiting", "matching")

    def __init__(self) -> None:
        self.matching = Matching()
        self._waiting: deque[tuple[int, int]] = deque()

    def feed(self, messages: Iterable[tuple[int, int, bool]]) -> None:
        """Pair the messages, (seq, t_ns, outbound), in the order given."""
        waiting, result = self._waiting, self.matching
        for seq, t_ns, outbound in messages:
            if outbound:
                waiting.append((seq, t_ns))
            elif waiting:
                req_seq, req_t = waiting.popleft()
                result.request_seqs.append(req_seq)
                result.response_seqs.append(seq)
                result.request_t_ns.append(req_t)
                result.latencies_ns.append(t_ns - req_t)
            else:
                result.unsolicited.append(seq)

    def unanswered(self) -> list[int]:
        """The outbound messages no inbound one answered yet, by seq."""
        return [seq for seq, _ in self._waiting]

    def finish(self) -> Matching:
        """The matching, its unanswered messages filled in."""
        self.matching.unanswered = self.unanswered()
        return self.matching


def match_next(messages: Iterable[tuple[int, int, bool]]) -> Matching:
    """Each inbound message answers the oldest outbound one not yet answered
    (:class:`NextMatcher` fed once)."""
    matcher = NextMatcher()
    matcher.feed(messages)
    return matcher.finish()


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Count, unanswered, percentiles and a histogram of a session's latencies (ns)."""

    count: int
    unanswered: int
    unsolicited: int
    min_ns: int | None
    mean_ns: float | None
    p50_ns: int | None
    p90_ns: int | None
    p99_ns: int | None
    max_ns: int | None
    histogram: tuple[int, ...]  # one count per HISTOGRAM_BOUNDS_NS bucket, then "above"
    #: Answers of streams after their first (items of a subscription, its end).
    streamed: int = 0

    def to_json(self) -> dict[str, Any]:
        """The object ``show --stats --json`` prints (times in milliseconds)."""

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value / 1e6, 6)

        bounds = [ms(b) for b in HISTOGRAM_BOUNDS_NS] + [None]
        return {
            "count": self.count, "unanswered": self.unanswered,
            "unsolicited": self.unsolicited, "streamed": self.streamed,
            "min_ms": ms(self.min_ns),
            "mean_ms": ms(self.mean_ns), "p50_ms": ms(self.p50_ns), "p90_ms": ms(self.p90_ns),
            "p99_ms": ms(self.p99_ns), "max_ms": ms(self.max_ns),
            "histogram": [{"le_ms": b, "count": c} for b, c in
                          zip(bounds, self.histogram, strict=True)],
        }  # fmt: skip


def percentile(ordered: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile of an ascending, non-empty sequence."""
    rank = max(1, math.ceil(round(fraction * len(ordered), 6)))
    return ordered[min(rank, len(ordered)) - 1]


def statistics(matching: Matching) -> LatencyStats:
    """The latency statistics of a matching."""
    latencies = sorted(matching.latencies_ns)
    buckets = [0] * (len(HISTOGRAM_BOUNDS_NS) + 1)
    if not latencies:
        return LatencyStats(0, len(matching.unanswered), len(matching.unsolicited), None, None,
                            None, None, None, None, tuple(buckets),
                            len(matching.streamed))  # fmt: skip
    # The latencies are sorted: each bucket's count is a difference of two bisections.
    previous = 0
    for index, bound in enumerate(HISTOGRAM_BOUNDS_NS):
        upto = bisect_left(latencies, bound + 1)
        buckets[index] = upto - previous
        previous = upto
    buckets[-1] = len(latencies) - previous
    return LatencyStats(
        len(latencies), len(matching.unanswered), len(matching.unsolicited), latencies[0],
        sum(latencies) / len(latencies), percentile(latencies, 0.50),
        percentile(latencies, 0.90), percentile(latencies, 0.99), latencies[-1], tuple(buckets),
        len(matching.streamed),
    )  # fmt: skip


def format_stats(stats: LatencyStats) -> str:
    """The statistics as a few readable lines (``show --stats``)."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value / 1e6:.3f} ms"

    lines = [
        f"pairs {stats.count:,}  unanswered {stats.unanswered:,}  "
        f"unsolicited {stats.unsolicited:,}"
        + (f"  streamed {stats.streamed:,}" if stats.streamed else ""),
        f"latency min {ms(stats.min_ns)}  p50 {ms(stats.p50_ns)}  p90 {ms(stats.p90_ns)}  "
        f"p99 {ms(stats.p99_ns)}  max {ms(stats.max_ns)}  mean {ms(stats.mean_ns)}",
    ]
    if stats.count:
        widest = max(stats.histogram)
        labels = [f"{b / 1e6:g} ms" for b in HISTOGRAM_BOUNDS_NS]
        for index, count in enumerate(stats.histogram):
            upper = f"≤ {labels[index]}" if index < len(labels) else f"> {labels[-1]}"
            if count:
                bar = "█" * max(1, round(30 * count / widest))
                lines.append(f"  {upper:>12}  {count:>10,}  {bar}")
    return "\n".join(lines)


# -- the user's rules ----------------------------------------------------------------


class RuleKind(StrEnum):
    """How a user rule finds an id in a payload."""

    JSON_PATH = "json"
    REGEX = "regex"


_PATH_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")


@dataclass(frozen=True, slots=True)
class IdRule:
    """Where a message's id is: a JSON path (``$.id``, ``$.payload[0]["key"]``) or a
    regular expression (its first group, or the whole match)."""

    kind: RuleKind
    steps: tuple[str | int, ...] = ()
    pattern: re.Pattern[bytes] | None = None

    @classmethod
    def parse(cls, text: str) -> IdRule:
        """``$.a.b`` or ``json:$.a.b`` for a JSON path, ``re:REGEX`` or any other text for a
        regular expression; ValueError with one line when it is neither."""
        if text.startswith("json:"):
            text = text[5:]
        elif text.startswith("re:"):
            return cls._regex(text[3:])
        elif not text.startswith("$"):
            return cls._regex(text)
        steps: list[str | int] = []
        pos = 1
        while pos < len(text):
            step = _PATH_STEP.match(text, pos)
            if step is None:
                raise ValueError(f"bad JSON path {text!r} at character {pos + 1}")
            name, index, quoted, single = step.groups()
            steps.append(int(index) if index is not None else (name or quoted or single or ""))
            pos = step.end()
        return cls(RuleKind.JSON_PATH, tuple(steps))

    @classmethod
    def _regex(cls, text: str) -> IdRule:
        try:
            return cls(RuleKind.REGEX, pattern=re.compile(text.encode("utf-8")))
        except re.error as exc:
            raise ValueError(f"bad regular expression {text!r}: {exc}") from None

    def find(self, payload: bytes) -> str | None:
        """The id in ``payload``, as text; None when it has none."""
        if self.pattern is not None:
            found = self.pattern.search(payload)
            if found is None:
                return None
            return (found.group(1) if found.re.groups else found.group(0)).decode(
                "utf-8", "replace")  # fmt: skip
        try:
            value: Any = json.loads(payload)
        except (ValueError, RecursionError):
            return None
        for step in self.steps:
            in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
            if not (in_list or (isinstance(step, str) and isinstance(value, dict)
                                and step in value)):  # fmt: skip
                return None
            value = value[step]
        if value is None or isinstance(value, dict | list):
            return None
        # Text as it is (so a JSON path on one side meets a regex on the other).
        return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True, slots=True)
class UserRule:
    """Pairs outbound messages (requests) with inbound ones (responses) by the ids the
    two rules find."""

    request: IdRule
    response: IdRule

    def ids(self, payload: bytes, outbound: bool) -> tuple[tuple[str, str], ...]:
        """The (role, key) of a message under this rule."""
        found = (self.request if outbound else self.response).find(payload)
        if found is None:
            return ()
        return ((REQUEST if outbound else RESPONSE, found),)
