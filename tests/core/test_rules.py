"""The rule engine and its file format: matches, actions, templates, hostile files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.rulefile import dump_rules, load_rules, parse_rules, save_rules
from inspector.core.rules import (
    ActionKind,
    MatchKind,
    Rule,
    RuleContext,
    RuleEngine,
    RuleError,
    Step,
    StepKind,
)

FIXED = RuleContext(
    wall_ns=lambda: 1_700_000_000_123_456_789,
    make_uuid=lambda: "00000000-0000-4000-8000-000000000000",
    random_int=lambda: 42,
)


def engine(*rules: Rule) -> RuleEngine:
    return RuleEngine(rules, FIXED)


def sent(steps: list[Step]) -> list[bytes]:
    return [s.data for s in steps if s.kind in (StepKind.SEND, StepKind.SEND_ALL)]


@pytest.mark.parametrize(
    ("rule", "message", "expected"),
    [
        (Rule(MatchKind.ANY, ActionKind.ECHO), b"hi", [b"hi"]),
        (Rule(MatchKind.CONTAINS, ActionKind.REPLY, "ell", template="yes"), b"hello", [b"yes"]),
        (Rule(MatchKind.CONTAINS, ActionKind.REPLY, "xyz", template="yes"), b"hello", []),
        (
            Rule(MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}"),
            b"PING 17\n",
            [b"PONG 17"],
        ),
        (
            Rule(
                MatchKind.REGEX,
                ActionKind.REPLY,
                r"(?P<op>\w+) (?P<n>\d+)",
                template="{{ n }}:{{op}}:{{0}}",
            ),
            b"add 3",
            [b"3:add:add 3"],
        ),
        (
            Rule(
                MatchKind.JSON, ActionKind.REPLY, "sub", path="op", template='{"ok":"{{json.id}}"}'
            ),
            b'{"op": "sub", "id": 7}',
            [b'{"ok":"7"}'],
        ),
        (
            Rule(MatchKind.JSON, ActionKind.REPLY, 7, path="user.id", template="{{json.user}}"),
            b'{"user": {"id": 7}}',
            [b'{"id":7}'],
        ),
        (Rule(MatchKind.JSON, ActionKind.REPLY, True, path="a", template="t"), b'{"a": 1}', []),
        (
            Rule(MatchKind.JSON, ActionKind.REPLY, path="list.1", template="{{json.list.1}}"),
            b'{"list": ["x", null]}',
            [b"null"],
        ),
        (Rule(MatchKind.JSON, ActionKind.REPLY, "x", path="a", template="t"), b"not json", []),
        (
            Rule(MatchKind.HEX, ActionKind.REPLY, "01 ff", hex="aa:bb"),
            b"\x01\xff\x00",
            [b"\xaa\xbb"],
        ),
        (Rule(MatchKind.HEX, ActionKind.REPLY, "01ff", hex="aa"), b"\x01\xfe", []),
        (Rule(MatchKind.ANY, ActionKind.BROADCAST), b"to all", [b"to all"]),
        (Rule(MatchKind.ANY, ActionKind.IGNORE), b"x", []),
    ],
)
def test_match_and_reply(rule: Rule, message: bytes, expected: list[bytes]) -> None:
    assert sent(engine(rule).on_message(1, message)) == expected


def test_context_placeholders() -> None:
    rules = engine(
        Rule(
            MatchKind.ANY,
            ActionKind.REPLY,
            template="{{now}} {{unix_ms}} {{seq}} {{conn}} {{uuid}} {{random}} {{message}}",
        )
    )
    first = rules.on_message(3, b"m")
    second = rules.on_message(3, b"n")
    assert first[0].data == (
        b"2023-11-14T22:13:20.123Z 1700000000123 1 3 00000000-0000-4000-8000-000000000000 42 m"
    )
    assert second[0].data.split()[2] == b"2"


def test_first_match_wins_unless_next() -> None:
    rules = engine(
        Rule(MatchKind.CONTAINS, ActionKind.IGNORE, "secret"),
        Rule(MatchKind.CONTAINS, ActionKind.BROADCAST, "all", template="B", next=True),
        Rule(MatchKind.ANY, ActionKind.ECHO),
        Rule(MatchKind.ANY, ActionKind.REPLY, template="never"),
    )
    assert rules.on_message(1, b"secret") == []
    steps = rules.on_message(1, b"to all")
    assert [(s.kind, s.data) for s in steps] == [
        (StepKind.SEND_ALL, b"B"),
        (StepKind.SEND, b"to all"),
    ]
    assert sent(rules.on_message(1, b"x")) == [b"x"]


def test_delay_close_drop_connect_and_timer() -> None:
    rules = engine(
        Rule(MatchKind.CONNECT, ActionKind.REPLY, template="hello {{conn}}"),
        Rule(MatchKind.TIMER, ActionKind.REPLY, every_ms=250, template="tick {{seq}}"),
        Rule(MatchKind.CONTAINS, ActionKind.DELAY, "slow", template="late", delay_ms=300),
        Rule(MatchKind.CONTAINS, ActionKind.CLOSE, "bye", close_code=4001, close_reason="bye"),
        Rule(MatchKind.CONTAINS, ActionKind.DROP, "kill"),
    )
    assert sent(rules.on_connect(5)) == [b"hello 5"]
    assert rules.timers() == [(1, 250)]
    assert sent(rules.on_timer(1, 2)) == [b"tick 1"]
    assert sent(rules.on_timer(1, 3)) == [b"tick 2"]  # the rule's own count
    assert rules.on_timer(0, 3) == []  # not a timer rule
    assert rules.on_message(1, b"slow") == [Step(StepKind.SEND, b"late", True, 300, rule=2)]
    assert rules.on_message(1, b"bye") == [
        Step(StepKind.CLOSE, close_code=4001, close_reason="bye", rule=3)
    ]
    assert rules.on_message(1, b"kill") == [Step(StepKind.DROP, rule=4)]
    assert rules.wants_connect


def test_binary_message_echo_keeps_bytes_and_type() -> None:
    steps = engine(Rule(MatchKind.ANY, ActionKind.ECHO)).on_message(1, b"\xff\x00")
    assert steps[0].data == b"\xff\x00" and steps[0].text is False
    regex = engine(Rule(MatchKind.REGEX, ActionKind.REPLY, "a(.)", template="{{1}}"))
    assert regex.on_message(1, b"a\xff").pop().data == b"\xff"


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        (Rule(MatchKind.REGEX, ActionKind.ECHO, "("), "bad regular expression"),
        (Rule(MatchKind.HEX, ActionKind.ECHO, "0g"), "is not hex"),
        (Rule(MatchKind.ANY, ActionKind.REPLY), "needs a template or hex"),
        (Rule(MatchKind.ANY, ActionKind.REPLY, template="{{nope}}"), "unknown placeholder"),
        (Rule(MatchKind.REGEX, ActionKind.REPLY, "(a)", template="{{2}}"), "regex has 1 group"),
        (Rule(MatchKind.REGEX, ActionKind.REPLY, "(a)", template="{{x}}"), "not a group"),
        (Rule(MatchKind.CONNECT, ActionKind.ECHO), "echo needs a message"),
        (Rule(MatchKind.CONNECT, ActionKind.REPLY, template="{{json.a}}"), "needs a message"),
        (Rule(MatchKind.TIMER, ActionKind.REPLY, template="t"), "every_ms"),
        (Rule(MatchKind.JSON, ActionKind.ECHO, path="a..b"), "dotted path"),
        (Rule(MatchKind.ANY, ActionKind.CLOSE, close_code=99), "1000-4999"),
        (Rule(MatchKind.ANY, ActionKind.REPLY, template="a", hex="00"), "not both"),
        (Rule(MatchKind.ANY, ActionKind.REPLY, template="a", delay_ms=-1), "delay_ms"),
        (Rule("nope", ActionKind.ECHO), "'nope' is not a valid MatchKind"),  # type: ignore[arg-type]
    ],
)
def test_bad_rules_are_one_line(rule: Rule, error: str) -> None:
    with pytest.raises(RuleError) as info:
        RuleEngine([Rule(MatchKind.ANY, ActionKind.IGNORE), rule])
    text = str(info.value)
    assert "\n" not in text and error in text and text.startswith("rule 2")


EXAMPLE = """\
version = 1

[[rule]]
name = "ping"
match = "regex"
value = '^PING (\\d+)'
action = "reply"
template = "PONG {{1}}"

[[rule]]
match = "timer"
every_ms = 1000
action = "broadcast"
template = '{"tick": {{seq}}}'
"""


def test_parse_example_and_round_trip(tmp_path) -> None:
    rules = parse_rules(EXAMPLE)
    assert rules[0] == Rule(
        MatchKind.REGEX, ActionKind.REPLY, r"^PING (\d+)", template="PONG {{1}}", name="ping"
    )
    assert rules[1].every_ms == 1000
    path = tmp_path / "rules.toml"
    save_rules(path, rules)
    assert load_rules(path) == rules


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[[rule]\nmatch=", "not valid TOML"),
        ("version = 2", "version 2 is not supported"),
        ("colour = 1", "unknown top-level key 'colour'"),
        ("rule = 3", "must be [[rule]] tables"),
        ('[[rule]]\naction = "echo"', "rule 1: no match"),
        ('[[rule]]\nmatch = "sometimes"\naction = "echo"', "unknown match 'sometimes'"),
        ('[[rule]]\nmatch = "any"\naction = "dance"', "unknown action 'dance'"),
        ('[[rule]]\nmatch = "any"\naction = "echo"\ntempalte = "x"', "unknown key 'tempalte'"),
        ('[[rule]]\nmatch = "any"\naction = "reply"\ntemplate = 5', "template must be str"),
        (
            '[[rule]]\nmatch = "any"\naction = "reply"\ndelay_ms = true\ntemplate = "x"',
            "delay_ms must be int",
        ),
        ('[[rule]]\nmatch = "regex"\nvalue = "(("\naction = "echo"', "bad regular expression"),
        ('[[rule]]\nmatch = "hex"\nvalue = "zz"\naction = "echo"', "is not hex"),
    ],
)
def test_hostile_files_are_one_line(text: str, error: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rules(text, "my.toml")
    message = str(info.value)
    assert error in message and "\n" not in message and message.startswith("my.toml: ")


def test_unreadable_and_binary_files(tmp_path) -> None:
    with pytest.raises(RuleError, match="cannot read rules file"):
        load_rules(tmp_path / "missing.toml")
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(RuleError, match="not UTF-8"):
        load_rules(binary)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_rules = st.one_of(
    st.builds(
        Rule,
        st.just(MatchKind.CONTAINS),
        st.sampled_from([ActionKind.ECHO, ActionKind.IGNORE, ActionKind.DROP]),
        _text,
        name=_text,
        next=st.booleans(),
    ),
    st.builds(
        Rule,
        st.just(MatchKind.ANY),
        st.just(ActionKind.REPLY),
        template=_text,
        delay_ms=st.integers(0, 10**6),
        name=_text,
    ),
    st.builds(
        Rule,
        st.just(MatchKind.JSON),
        st.just(ActionKind.CLOSE),
        st.one_of(
            st.none(),
            _text,
            st.integers(-(2**63), 2**63 - 1),
            st.booleans(),
            st.floats(allow_nan=False),
        ),
        path=st.just("a.b"),
        close_code=st.one_of(st.none(), st.integers(1000, 4999)),
        close_reason=_text,
    ),
    st.builds(
        Rule,
        st.just(MatchKind.TIMER),
        st.just(ActionKind.BROADCAST),
        every_ms=st.integers(1, 10**9),
        hex=st.binary(max_size=8).map(bytes.hex),
    ),
)


@given(st.lists(_rules, max_size=5))
def test_dump_then_parse_gives_the_same_rules(rules: list[Rule]) -> None:
    assert parse_rules(dump_rules(rules)) == rules


_EVERY_KIND = (
    Rule(MatchKind.CONTAINS, ActionKind.REPLY, "é", template="{{message}}", next=True),
    Rule(
        MatchKind.REGEX,
        ActionKind.BROADCAST,
        r"(\w+)\s*(?P<rest>.*)",
        template="{{1}}|{{rest}}",
        next=True,
    ),
    Rule(
        MatchKind.JSON,
        ActionKind.REPLY,
        path="a.0.b",
        template="{{json.a}} {{json.a.0.b}}",
        next=True,
    ),
    Rule(MatchKind.HEX, ActionKind.DROP, "00", next=True),
    Rule(MatchKind.ANY, ActionKind.ECHO),
)


@given(
    st.one_of(
        st.binary(max_size=64),
        st.text(max_size=32).map(lambda t: t.encode()),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=3), inner, max_size=3)
            ),
            max_leaves=8,
        ).map(lambda v: json.dumps({"a": v}).encode()),
    )
)
def test_any_message_gives_steps_never_an_exception(message: bytes) -> None:
    steps = RuleEngine(_EVERY_KIND, FIXED).on_message(1, message)
    assert steps[-1] == Step(StepKind.SEND, message, _utf8(message), rule=4)  # the echo
    for step in steps:
        assert isinstance(step.data, bytes)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
