"""The rules file: TOML read with tomllib, written by a small writer of our own.

A rules file is a list of ``[[rule]]`` tables, each naming its match and action with
the fields of :class:`inspector.core.rules.Rule`::

    version = 1

    [[rule]]
    name = "ping"
    match = "regex"
    value = '^PING (\\d+)'
    action = "reply"
    template = "PONG {{1}} at {{now}}"

The command line (``inspector listen --rules FILE``) reads it; the window's rules
dialog writes it. A file is hostile input: every fault is one :class:`RuleError` line
naming the file and the rule. The writer needs only strings, integers, floats and
booleans, so it is a few lines here rather than a dependency.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from inspector.core.rules import ActionKind, MatchKind, Rule, RuleError, compile_rule
from inspector.core.userfiles import read_text

FORMAT_VERSION = 1
#: Larger files are refused before parsing: rules are written by hand or by the dialog.
MAX_FILE_SIZE = 1 << 20

_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "match": (str,),
    "action": (str,),
    "value": (str, int, float, bool),
    "path": (str,),
    "every_ms": (int,),
    "template": (str,),
    "hex": (str,),
    "delay_ms": (int,),
    "close_code": (int,),
    "close_reason": (str,),
    "next": (bool,),
}
#: The order keys are written in (the Rule's field order).
_ORDER = [f.name for f in fields(Rule)]
_DEFAULTS = {f.name: f.default for f in fields(Rule)}


def rules_from_data(data: Mapping[str, Any], where: str = "rules") -> list[Rule]:
    """Rules from a parsed TOML document; RuleError with one line on any fault."""
    unknown = set(data) - {"version", "rule"}
    if unknown:
        raise RuleError(f"{where}: unknown top-level key {sorted(unknown)[0]!r} "
                        "(expected version and [[rule]] tables)")  # fmt: skip
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise RuleError(
            f"{where}: version {version!r} is not supported (this reads {FORMAT_VERSION})"
        )
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise RuleError(f"{where}: 'rule' must be [[rule]] tables")
    rules = []
    for index, table in enumerate(tables):
        rule = _rule_from_table(table, f"{where}: rule {index + 1}")
        try:
            compile_rule(rule, index)
        except RuleError as exc:
            raise RuleError(f"{where}: {exc}") from None
        rules.append(rule)
    return rules


def _rule_from_table(table: Mapping[str, Any], where: str) -> Rule:
    for key, value in table.items():
        if key not in _TYPES:
            raise RuleError(f"{where}: unknown key {key!r} (known: {', '.join(_ORDER)})")
        allowed = _TYPES[key]
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            names = " or ".join(t.__name__ for t in allowed)
            raise RuleError(f"{where}: {key} must be {names}, not {value!r}")
    for key in ("match", "action"):
        if key not in table:
            raise RuleError(f"{where}: no {key} (one of: {_choices(key)})")
    try:
        match, action = MatchKind(table["match"]), ActionKind(table["action"])
    except ValueError:
        key = "match" if table["match"] not in {m.value for m in MatchKind} else "action"
        raise RuleError(
            f"{where}: unknown {key} {table[key]!r} (one of: {_choices(key)})"
        ) from None
    values = {key: value for key, value in table.items() if key not in ("match", "action")}
    return Rule(match=match, action=action, **values)


def _choices(key: str) -> str:
    kinds = MatchKind if key == "match" else ActionKind
    return ", ".join(member.value for member in kinds)


def parse_rules(text: str, where: str = "rules") -> list[Rule]:
    """Rules from TOML text; RuleError with one line (naming the line) on any fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{where}: not valid TOML: {exc}") from None
    return rules_from_data(data, where)


def load_rules(path: str | os.PathLike[str]) -> list[Rule]:
    """Read a rules file; RuleError with one line when it cannot be read or is wrong."""
    path = Path(path)
    text = read_text(path, MAX_FILE_SIZE, RuleError, label="rules file ")
    return parse_rules(text, str(path))


def dump_rules(rules: Sequence[Rule]) -> str:
    """The TOML text of a rules file; ``parse_rules(dump_rules(r)) == r``."""
    lines = [f"version = {FORMAT_VERSION}"]
    for rule in rules:
        lines += ["", "[[rule]]"]
        rule = replace(rule, match=MatchKind(rule.match), action=ActionKind(rule.action))
        for key in _ORDER:
            value = getattr(rule, key)
            default = _DEFAULTS[key]
            if key in ("match", "action") or value != default or type(value) is not type(default):
                lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_rules(path: str | os.PathLike[str], rules: Sequence[Rule]) -> None:
    """Write a rules file (through a temporary file, so a crash leaves the old one)."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.partial")
    try:
        temp.write_text(dump_rules(rules), encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise RuleError(f"cannot write rules file {path}: {exc.strerror or exc}") from None


def toml_value(value: Any) -> str:
    """A TOML literal for a string, integer, float or boolean."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    raise TypeError(f"cannot write {type(value).__name__} to a rules file")


def _toml_string(text: str) -> str:
    """A TOML basic string: backslash, quote and control characters escaped."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise RuleError(f"a lone surrogate (U+{code:04X}) cannot be written to a rules file")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
