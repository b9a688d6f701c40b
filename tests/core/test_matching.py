"""Request ↔ response pairing and latency statistics (no protocol knowledge)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.matching import (
    HISTOGRAM_BOUNDS_NS,
    IdRule,
    UserRule,
    format_stats,
    match,
    match_next,
    percentile,
    statistics,
)

REQ, RESP = "request", "response"
MS = 1_000_000


def test_pairs_by_key_and_direction_fifo() -> None:
    messages = [
        (1, 0, True, [(REQ, "a")]),
        (2, 1 * MS, True, [(REQ, "a")]),  # the same id again before an answer (MQTT reuse)
        (3, 2 * MS, False, [(REQ, "a")]),  # the peer's own request with the same id
        (4, 5 * MS, False, [(RESP, "a")]),  # answers 1 (sent the other way, oldest)
        (5, 6 * MS, True, [(RESP, "a")]),  # answers 3
        (6, 9 * MS, False, [(RESP, "a")]),  # answers 2
        (7, 9 * MS, False, [(RESP, "zz")]),  # answers nothing
    ]
    result = match(messages)
    assert list(zip(result.request_seqs, result.response_seqs, strict=True)) == [
        (1, 4), (3, 5), (2, 6)]  # fmt: skip
    assert result.latencies_ns == [5 * MS, 4 * MS, 8 * MS]
    assert result.unsolicited == [7] and result.unanswered == []
    assert result.partner()[4] == 1 and result.partner()[1] == 4
    assert [p.latency_ns for p in result.pairs()] == [5 * MS, 4 * MS, 8 * MS]


def test_a_stream_pairs_its_first_item_and_keeps_the_rest_as_streamed() -> None:
    item = "item"
    messages = [
        (1, 0, True, [(REQ, "s")]),  # a subscription
        (2, 3 * MS, False, [(item, "s")]),  # its first result: the pair, 3 ms
        (3, 4 * MS, False, [(item, "s")]),  # more results
        (4, 5 * MS, False, [(item, "s")]),
        (5, 6 * MS, False, [(RESP, "s")]),  # "complete": the stream ends
        (6, 7 * MS, False, [(RESP, "s")]),  # after the end: an answer to nothing
        (7, 8 * MS, False, [(item, "other")]),  # an item of nothing sent
        (8, 9 * MS, True, [(REQ, "q")]),  # a query answered by one result, then its end
        (9, 10 * MS, False, [(item, "q")]),
        (10, 11 * MS, False, [(RESP, "q")]),
    ]
    result = match(messages)
    assert list(zip(result.request_seqs, result.response_seqs, strict=True)) == [(1, 2), (8, 9)]
    assert result.latencies_ns == [3 * MS, 1 * MS]
    assert (result.streamed, result.unsolicited, result.unanswered) == ([3, 4, 5, 10], [6, 7], [])
    stats = statistics(result)
    assert (stats.count, stats.unsolicited, stats.streamed) == (2, 2, 4)
    assert stats.to_json()["streamed"] == 4
    assert format_stats(stats).splitlines()[0] == "pairs 2  unanswered 0  unsolicited 2  streamed 4"


def test_match_next() -> None:
    result = match_next([(1, 0, True), (2, 0, True), (3, 7, False), (4, 9, False),
                         (5, 10, False), (6, 11, True)])  # fmt: skip
    assert list(zip(result.request_seqs, result.response_seqs, strict=True)) == [(1, 3), (2, 4)]
    assert (result.unsolicited, result.unanswered) == ([5], [6])


def test_statistics_percentiles_and_histogram() -> None:
    messages = []
    for i in range(100):
        messages.append((2 * i, 0, True, [(REQ, str(i))]))
        messages.append((2 * i + 1, (i + 1) * MS, False, [(RESP, str(i))]))
    messages.append((500, 0, True, [(REQ, "lonely")]))
    stats = statistics(match(messages))
    assert (stats.count, stats.unanswered, stats.unsolicited) == (100, 1, 0)
    assert (stats.p50_ns, stats.p90_ns, stats.p99_ns, stats.max_ns) == (
        50 * MS,
        90 * MS,
        99 * MS,
        100 * MS,
    )
    assert stats.min_ns == MS and stats.mean_ns == 50.5 * MS
    assert sum(stats.histogram) == 100
    assert len(stats.histogram) == len(HISTOGRAM_BOUNDS_NS) + 1
    assert stats.histogram[HISTOGRAM_BOUNDS_NS.index(MS)] == 1  # exactly 1 ms: "≤ 1 ms"
    text = format_stats(stats)
    assert text.splitlines()[0] == "pairs 100  unanswered 1  unsolicited 0"
    assert "p90 90.000 ms" in text
    js = stats.to_json()
    assert js["p99_ms"] == 99.0 and js["histogram"][-1] == {"le_ms": None, "count": 0}


def test_statistics_of_nothing() -> None:
    stats = statistics(match([]))
    assert stats.count == 0 and stats.p50_ns is None
    assert format_stats(stats).splitlines()[1].startswith("latency min -")


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=200), st.floats(0.01, 1.0))
def test_percentile_is_nearest_rank(values: list[int], fraction: float) -> None:
    ordered = sorted(values)
    got = percentile(ordered, fraction)
    at_or_below = sum(1 for v in ordered if v <= got)
    assert at_or_below >= fraction * len(ordered) - 1e-9
    assert sum(1 for v in ordered if v < got) < fraction * len(ordered) + 1e-9


@pytest.mark.parametrize(
    ("rule", "payload", "found"),
    [
        ("$.id", b'{"id": 7}', "7"),
        ("json:$.id", b'{"id": "x"}', "x"),
        ("$.meta.ids[1]", b'{"meta": {"ids": [1, 2]}}', "2"),
        ('$["odd key"]', b'{"odd key": true}', "true"),
        ("$.id", b'{"id": {"a": 1}}', None),
        ("$.id", b"not json", None),
        ("$.id", b"[1]", None),
        (r"re:req-(\d+)", b"GET req-42", "42"),
        (r"#\d+", b"ans #9", "#9"),
        (r"x(\d+)", b"none", None),
    ],
)
def test_id_rules(rule: str, payload: bytes, found: str | None) -> None:
    assert IdRule.parse(rule).find(payload) == found


def test_bad_rules_are_one_line() -> None:
    with pytest.raises(ValueError, match=r"bad JSON path '\$\.a\.\.b' at character 4"):
        IdRule.parse("$.a..b")
    with pytest.raises(ValueError, match="bad regular expression"):
        IdRule.parse("re:(")


def test_user_rule_sides() -> None:
    rule = UserRule(IdRule.parse("$.rid"), IdRule.parse(r"re:ok (\S+)"))
    assert rule.ids(b'{"rid": "q1"}', True) == ((REQ, "q1"),)
    assert rule.ids(b"ok q1", False) == ((RESP, "q1"),)
    assert rule.ids(b"ok", False) == ()
