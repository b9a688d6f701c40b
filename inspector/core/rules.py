"""Rules: ordered match → action lists that answer traffic, kept as data.

One small engine for every place that reacts to messages by itself: ``inspector
listen`` replies now, relay rewrites and scripted expectations later. It is pure:
:meth:`RuleEngine.on_message` (and ``on_connect``, ``on_timer``) returns the
:class:`Step` list to perform — send these bytes to this connection or to all, after so
many milliseconds; close; drop — and the I/O layer performs it. Nothing here reads a
clock except through :class:`RuleContext`, so tests choose time, uuids and randomness.

Rules are tried in order; the first that matches decides, unless it says ``next``
(then later rules are tried too). An ``ignore`` rule stops the search without a reply.
The file format (TOML) lives in :mod:`inspector.core.rulefile`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from random import SystemRandom
from typing import Any

from inspector.core.errors import InspectorError
from inspector.core.records import is_utf8


class RuleError(InspectorError):
    """A rule that cannot work (bad regex, bad hex, unknown placeholder): one line."""


class MatchKind(StrEnum):
    """What a rule looks at."""

    ANY = "any"  # every message
    CONTAINS = "contains"  # the text holds ``value``
    REGEX = "regex"  # ``value`` (a Python regular expression) matches the text
    JSON = "json"  # the JSON field at ``path`` equals ``value`` (or exists, without one)
    HEX = "hex"  # the bytes start with ``value`` (hex digits)
    CONNECT = "connect"  # a connection was accepted
    TIMER = "timer"  # every ``every_ms`` milliseconds, for each open connection


class ActionKind(StrEnum):
    """What a matching rule does."""

    REPLY = "reply"  # send the template to the sender
    ECHO = "echo"  # send the message back to the sender
    BROADCAST = "broadcast"  # send the template (or the message) to every connection
    DELAY = "delay"  # wait ``delay_ms``, then reply with the template
    CLOSE = "close"  # close gracefully (WebSocket: with ``close_code`` and reason)
    DROP = "drop"  # drop the connection at once (TCP reset)
    IGNORE = "ignore"  # do nothing, and try no later rule


class StepKind(StrEnum):
    """What the I/O layer is asked to do."""

    SEND = "send"  # to the connection the rule fired for
    SEND_ALL = "send_all"  # to every open connection
    CLOSE = "close"
    DROP = "drop"


_MESSAGE_KINDS = frozenset(
    {MatchKind.ANY, MatchKind.CONTAINS, MatchKind.REGEX, MatchKind.JSON, MatchKind.HEX}
)
#: Names a template may use besides regex groups and ``json.<path>``.
#: ``seq`` counts the sends of each rule from 1 (a timer's ticks, a reply's answers).
CONTEXT_NAMES = ("now", "unix_ms", "seq", "conn", "uuid", "random", "message")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
#: What :func:`json_at` gives for a path with nothing at its end.
NO_VALUE = object()


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to perform: send ``data`` (text when ``text``), close or drop, after
    ``delay_ms``. ``rule`` is the index of the rule that asked for it."""

    kind: StepKind
    data: bytes = b""
    text: bool = True
    delay_ms: int = 0
    close_code: int | None = None
    close_reason: str = ""
    rule: int = 0


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Where a rule engine gets time, ids and randomness (replaceable in tests)."""

    wall_ns: Callable[[], int] = time.time_ns
    make_uuid: Callable[[], str] = lambda: str(uuid.uuid4())
    random_int: Callable[[], int] = lambda: SystemRandom().randrange(2**31)


@dataclass(frozen=True, slots=True)
class Rule:
    """One match → action pair, as a rules file or the rules dialog states it.

    ``value`` is the match's argument (text, regex, hex digits, or the JSON value to
    compare: str, int, float or bool); ``path`` the dotted JSON path; ``every_ms`` the
    timer's period. ``template`` is what reply, delay and broadcast send (placeholders
    ``{{…}}``); ``hex`` sends those bytes instead. ``next`` lets later rules run too.
    """

    match: MatchKind
    action: ActionKind
    value: Any = None
    path: str | None = None
    every_ms: int | None = None
    template: str | None = None
    hex: str | None = None
    delay_ms: int = 0
    close_code: int | None = None
    close_reason: str = ""
    next: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule checked and prepared: compiled regex, decoded hex, parsed template."""

    rule: Rule
    index: int
    regex: re.Pattern[str] | None = None
    prefix: bytes = b""
    path: tuple[str, ...] = ()
    body: bytes | None = None  # fixed bytes to send (hex, or a template without placeholders)
    parts: tuple[tuple[bool, str], ...] = field(default=())  # (is_placeholder, text)


def parse_hex_value(text: str, what: str) -> bytes:
    """Hex digits with optional spaces or colons into bytes; RuleError naming ``what``."""
    digits = "".join(ch for ch in text if not (ch.isspace() or ch == ":"))
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise RuleError(f"{what}: {text!r} is not hex (two digits a byte, e.g. '01 ff')") from None


def _whole(value: Any, minimum: int) -> bool:
    """True for an int (not a bool) of at least ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _describe(rule: Rule, index: int) -> str:
    label = f" ({rule.name})" if rule.name else ""
    return f"rule {index + 1}{label}"


def compile_rule(rule: Rule, index: int = 0) -> _Compiled:
    """Check one rule and prepare it; RuleError with one line naming the rule."""
    where = _describe(rule, index)
    try:
        match, action = MatchKind(rule.match), ActionKind(rule.action)
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    regex = None
    prefix = b""
    path: tuple[str, ...] = ()
    if match in (MatchKind.CONTAINS, MatchKind.REGEX, MatchKind.HEX) and not isinstance(
        rule.value, str
    ):
        raise RuleError(f"{where}: match {match} needs a text value")
    if match is MatchKind.REGEX:
        try:
            regex = re.compile(rule.value)
        except re.error as exc:
            raise RuleError(f"{where}: bad regular expression {rule.value!r}: {exc}") from None
    elif match is MatchKind.HEX:
        prefix = parse_hex_value(rule.value, f"{where}: match hex")
    elif match is MatchKind.JSON:
        if not rule.path or any(not part for part in rule.path.split(".")):
            raise RuleError(f"{where}: match json needs a dotted path such as 'user.id'")
        path = tuple(rule.path.split("."))
        if rule.value is not None and not isinstance(rule.value, (str, int, float, bool)):
            raise RuleError(f"{where}: a json value must be text, a number or true/false")
    elif match is MatchKind.TIMER and not _whole(rule.every_ms, 1):
        raise RuleError(f"{where}: a timer needs every_ms, a whole number of ms >= 1")
    if not _whole(rule.delay_ms, 0):
        raise RuleError(f"{where}: delay_ms must be a whole number >= 0")
    if action is ActionKind.ECHO and match not in _MESSAGE_KINDS:
        raise RuleError(f"{where}: echo needs a message; {match} has none")
    if action is ActionKind.CLOSE and rule.close_code is not None:
        code = rule.close_code
        if not _whole(code, 1000) or code > 4999:
            raise RuleError(f"{where}: close_code must be 1000-4999")
    body = None
    parts: tuple[tuple[bool, str], ...] = ()
    sends = action in (ActionKind.REPLY, ActionKind.DELAY, ActionKind.BROADCAST)
    if rule.hex is not None:
        if rule.template is not None:
            raise RuleError(f"{where}: give a template or hex, not both")
        body = parse_hex_value(rule.hex, f"{where}: hex")
    elif rule.template is not None:
        parts = _parse_template(rule.template, regex, match, where)
        if all(not is_name for is_name, _ in parts):
            body = rule.template.encode("utf-8", "surrogateescape")
    elif sends and not (action is ActionKind.BROADCAST and match in _MESSAGE_KINDS):
        raise RuleError(f"{where}: {action} needs a template or hex to send")
    return _Compiled(rule, index, regex, prefix, path, body, parts)


def _parse_template(
    template: str, regex: re.Pattern[str] | None, match: MatchKind, where: str
) -> tuple[tuple[bool, str], ...]:
    """Split a template into literal text and placeholders, checking every name."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for found in _PLACEHOLDER.finditer(template):
        if found.start() > pos:
            parts.append((False, template[pos : found.start()]))
        name = found.group(1)
        _check_name(name, regex, match, where)
        parts.append((True, name))
        pos = found.end()
    if pos < len(template):
        parts.append((False, template[pos:]))
    return tuple(parts)


def _check_name(name: str, regex: re.Pattern[str] | None, match: MatchKind, where: str) -> None:
    if name in CONTEXT_NAMES:
        if name == "message" and match not in _MESSAGE_KINDS:
            raise RuleError(f"{where}: {{{{message}}}} needs a message; {match} has none")
        return
    if name.startswith("json."):
        if match not in _MESSAGE_KINDS:
            raise RuleError(f"{where}: {{{{{name}}}}} needs a message; {match} has none")
        return
    if regex is None:
        raise RuleError(
            f"{where}: unknown placeholder {{{{{name}}}}} (use {', '.join(CONTEXT_NAMES)}, "
            "json.<path>, or the groups of a regex match)"
        )
    if name.isdigit():
        if int(name) > regex.groups:
            groups = f"{regex.groups} group{'' if regex.groups == 1 else 's'}"
            raise RuleError(f"{where}: {{{{{name}}}}} but the regex has {groups}")
    elif name not in regex.groupindex:
        raise RuleError(f"{where}: {{{{{name}}}}} is not a group of the regex")


def json_at(document: Any, path: tuple[str, ...]) -> Any:
    """The value at a path's parts (list items by number), or NO_VALUE."""
    value = document
    for part in path:
        if isinstance(value, dict):
            if part not in value:
                return NO_VALUE
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return NO_VALUE
    return value


def _json_text(value: Any) -> str:
    """A JSON value inside a template: strings as they are, the rest as JSON."""
    if value is NO_VALUE or value is None:
        return "" if value is NO_VALUE else "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def same_json(found: Any, expected: Any) -> bool:
    """Two JSON values equal, with bools apart from numbers (``true`` is not ``1``)."""
    if isinstance(found, bool) or isinstance(expected, bool):
        return isinstance(found, bool) and isinstance(expected, bool) and found == expected
    return bool(found == expected)


def _equal(found: Any, expected: Any) -> bool:
    """A JSON field against a rule's value: :func:`same_json`, or a string against the
    field's text (``"5"`` matches ``5``)."""
    if isinstance(expected, str) and not isinstance(found, (str, bool)):
        return _json_text(found) == expected
    return same_json(found, expected)


class _Event:
    """What a match saw: the message, its text, regex groups, parsed JSON (lazily)."""

    __slots__ = ("conn", "data", "groups", "is_text", "json", "named", "text")

    def __init__(self, conn: int, data: bytes | None, is_text: bool | None = None) -> None:
        self.conn = conn
        self.data = data
        #: The message's own type (WebSocket text or binary); None: the transport has none.
        self.is_text = is_text
        self.text: str | None = None if data is None else data.decode("utf-8", "surrogateescape")
        self.groups: tuple[str | None, ...] = ()
        self.named: dict[str, str | None] = {}
        self.json: Any = NO_VALUE

    def document(self) -> Any:
        """The message parsed as JSON, or NO_VALUE when it is not JSON."""
        if self.json is NO_VALUE and self.text is not None:
            try:
                self.json = json.loads(self.text)
            except (ValueError, RecursionError):
                self.json = None
        return self.json


class RuleEngine:
    """Evaluates an ordered rule list; returns steps, performs nothing."""

    def __init__(self, rules: Sequence[Rule], context: RuleContext | None = None) -> None:
        self.rules = tuple(rules)
        self._compiled = [compile_rule(rule, index) for index, rule in enumerate(self.rules)]
        self.context = context or RuleContext()
        self._seqs = [0] * len(self._compiled)  # times each rule sent something

    def __bool__(self) -> bool:
        return bool(self.rules)

    def timers(self) -> list[tuple[int, int]]:
        """(rule index, period in ms) of every timer rule."""
        return [
            (c.index, int(c.rule.every_ms or 0))
            for c in self._compiled
            if c.rule.match is MatchKind.TIMER
        ]

    @property
    def wants_connect(self) -> bool:
        """True when some rule reacts to new connections."""
        return any(c.rule.match is MatchKind.CONNECT for c in self._compiled)

    def on_message(self, conn: int, data: bytes, text: bool | None = None) -> list[Step]:
        """The steps for one message received on connection ``conn``; ``text`` is the
        message's WebSocket type (an echo keeps it), None where the transport has no types
        (an echo is text when the bytes are UTF-8)."""
        event = _Event(conn, data, text)
        return self._run([c for c in self._compiled if c.rule.match in _MESSAGE_KINDS], event)

    def on_connect(self, conn: int) -> list[Step]:
        """The steps for a connection just accepted."""
        rules = [c for c in self._compiled if c.rule.match is MatchKind.CONNECT]
        return self._run(rules, _Event(conn, None))

    def on_timer(self, index: int, conn: int) -> list[Step]:
        """The steps of timer rule ``index`` for connection ``conn`` (called per tick)."""
        compiled = self._compiled[index]
        if compiled.rule.match is not MatchKind.TIMER:
            return []
        return self._act(compiled, _Event(conn, None))

    def _run(self, rules: list[_Compiled], event: _Event) -> list[Step]:
        steps: list[Step] = []
        for compiled in rules:
            if not self._matches(compiled, event):
                continue
            if compiled.rule.action is ActionKind.IGNORE:
                break
            steps += self._act(compiled, event)
            if not compiled.rule.next:
                break
        return steps

    def _matches(self, compiled: _Compiled, event: _Event) -> bool:
        rule = compiled.rule
        match = rule.match
        if match in (MatchKind.ANY, MatchKind.CONNECT):
            return True
        data = event.data
        if data is None:
            return False
        if match is MatchKind.CONTAINS:
            return rule.value.encode("utf-8", "surrogateescape") in data
        if match is MatchKind.HEX:
            return data.startswith(compiled.prefix)
        if match is MatchKind.REGEX:
            assert compiled.regex is not None and event.text is not None
            found = compiled.regex.search(event.text)
            if found is None:
                return False
            event.groups = (found.group(0), *found.groups())
            event.named = found.groupdict()
            return True
        if match is MatchKind.JSON:
            value = json_at(event.document(), compiled.path)
            if value is NO_VALUE:
                return False
            return rule.value is None or _equal(value, rule.value)
        return False

    def _act(self, compiled: _Compiled, event: _Event) -> list[Step]:
        rule = compiled.rule
        action = rule.action
        delay, index = rule.delay_ms, compiled.index
        if action is ActionKind.CLOSE:
            return [Step(StepKind.CLOSE, delay_ms=delay, close_code=rule.close_code,
                         close_reason=rule.close_reason, rule=index)]  # fmt: skip
        if action is ActionKind.DROP:
            return [Step(StepKind.DROP, delay_ms=delay, rule=index)]
        if action is ActionKind.IGNORE:
            return []
        if action is ActionKind.ECHO or (
            compiled.body is None and not compiled.parts and event.data is not None
        ):
            data = event.data or b""
            text = event.is_text if event.is_text is not None else is_utf8(data)
        elif compiled.body is not None:
            data, text = compiled.body, rule.hex is None
        else:
            rendered = self._render(compiled, event)
            data, text = rendered.encode("utf-8", "surrogateescape"), True
        kind = StepKind.SEND_ALL if action is ActionKind.BROADCAST else StepKind.SEND
        if compiled.body is not None or compiled.parts:
            self._seqs[index] += 1
        return [Step(kind, data, text, delay, rule=index)]

    def _render(self, compiled: _Compiled, event: _Event) -> str:
        """The template with every placeholder filled in for this event."""
        out: list[str] = []
        for is_name, text in compiled.parts:
            out.append(self._value(text, event, compiled.index) if is_name else text)
        return "".join(out)

    def _value(self, name: str, event: _Event, index: int) -> str:
        ctx = self.context
        if name == "now":
            wall = ctx.wall_ns()
            moment = datetime.fromtimestamp(wall // 1_000_000 / 1000, UTC)
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if name == "unix_ms":
            return str(ctx.wall_ns() // 1_000_000)
        if name == "seq":
            return str(self._seqs[index] + 1)
        if name == "conn":
            return str(event.conn)
        if name == "uuid":
            return ctx.make_uuid()
        if name == "random":
            return str(ctx.random_int())
        if name == "message":
            return event.text or ""
        if name.startswith("json."):
            return _json_text(json_at(event.document(), tuple(name[5:].split("."))))
        if name.isdigit():
            number = int(name)
            value = event.groups[number] if number < len(event.groups) else None
        else:
            value = event.named.get(name)
        return value or ""
