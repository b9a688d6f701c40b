"""Scripts: a list of steps (connect, send, expect, extract, wait, repeat … end, close,
assert) read from ``[[step]]`` tables of a TOML file, checked before anything runs.

Each step is ``do = "<kind>"`` and the keys of its kind; ``repeat`` (``times = N``, or
``until`` an expect-like match with ``max``) runs the steps up to its ``end``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from inspector.core.workspace_toml import WorkspaceError, dumps, load_file

MAX_REPEAT = 10_000
DEFAULT_TIMEOUT = 5.0


class StepKind(StrEnum):
    """What a step does."""

    CONNECT = "connect"
    SEND = "send"
    EXPECT = "expect"
    EXTRACT = "extract"
    WAIT = "wait"
    REPEAT = "repeat"
    END = "end"
    CLOSE = "close"
    ASSERT = "assert"
    LISTEN = "listen"  # a server script: listen on a URL (port 0: any; {{listen_url}} says)
    ACCEPT = "accept"  # wait for the next client; later steps talk to it


_MATCH_KEYS = {"text", "contains", "regex", "json_path", "equals", "where", "decoder"}
_KEYS: Mapping[StepKind, frozenset[str]] = MappingProxyType(
    {
        StepKind.CONNECT: frozenset({"endpoint", "url"}),
        StepKind.LISTEN: frozenset({"endpoint", "url"}),
        StepKind.ACCEPT: frozenset({"timeout"}),
        StepKind.SEND: frozenset({"message", "text", "json", "hex"}),
        StepKind.EXPECT: frozenset({"within", "timeout", *_MATCH_KEYS}),
        StepKind.EXTRACT: frozenset({"var", "regex", "group", "json_path"}),
        StepKind.WAIT: frozenset({"seconds"}),
        StepKind.REPEAT: frozenset({"times", "until", "max", "timeout"}),
        StepKind.END: frozenset(),
        StepKind.CLOSE: frozenset({"code", "reason", "timeout"}),
        StepKind.ASSERT: frozenset(
            {"close_code", "latency_ms_max", "received", "received_min", "sent"}
        ),
    }
)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Step:
    """One step; ``number`` counts the file's ``[[step]]`` tables from 1."""

    kind: StepKind
    number: int
    args: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    body: tuple[Step, ...] = ()
    name: str = ""

    @property
    def label(self) -> str:
        """``step 3 (expect)``, or the step's own name."""
        return f"step {self.number} ({self.name or self.kind})"


@dataclass(frozen=True, slots=True)
class Script:
    """A named list of steps, from a file."""

    name: str
    steps: tuple[Step, ...]
    path: Path | None = None
    description: str = ""

    def walk(self) -> Iterator[Step]:
        """Every step, loops' bodies included, in file order."""
        yield from _walk(self.steps)


def _walk(steps: tuple[Step, ...]) -> Iterator[Step]:
    for step in steps:
        yield step
        yield from _walk(step.body)


def strings_of(value: Any) -> Iterator[str]:
    """Every string in a step's arguments (where variables may appear)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_of(item)


def _check_regex(args: Mapping[str, Any], where: str) -> None:
    """A step's ``regex``, if it has one, must compile."""
    if "regex" in args:
        try:
            re.compile(str(args["regex"]))
        except re.error as exc:
            raise WorkspaceError(f"{where}: bad regex: {exc}") from None


def _check_match(args: Mapping[str, Any], where: str) -> None:
    keys = set(args) & {"text", "contains", "regex", "json_path", "where"}
    if not keys:
        raise WorkspaceError(
            f"{where}: says nothing to match (text, contains, regex, json_path or where)"
        )
    if "json_path" in args and "equals" not in args:
        raise WorkspaceError(f"{where}: json_path needs equals")
    _check_regex(args, where)
    # The condition itself is parsed by protocols' own parser when the script runs.
    if "where" in args and not isinstance(args["where"], str):
        raise WorkspaceError(f"{where}: where must be a string")


def _number(args: Mapping[str, Any], key: str, where: str, whole: bool = False) -> None:
    value = args.get(key)
    if value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    ok = ok and math.isfinite(value)  # inf would wait for ever: every wait is bounded
    if not ok or (whole and not isinstance(value, int)):
        kind = "a whole number" if whole else "a number"
        raise WorkspaceError(f"{where}: {key} must be {kind} of 0 or more")


def _step(table: Any, number: int, where: str) -> Step:
    if not isinstance(table, Mapping):
        raise WorkspaceError(f"{where}: a step must be a table")
    do = table.get("do")
    try:
        kind = StepKind(do)
    except ValueError:
        raise WorkspaceError(f"{where}: unknown step {do!r} (use {', '.join(StepKind)})") from None
    name = table.get("name", "")
    args = {k: v for k, v in table.items() if k not in ("do", "name")}
    extra = sorted(set(args) - _KEYS[kind])
    if extra:
        raise WorkspaceError(
            f"{where}: {kind} has no key {extra[0]!r} "
            f"(it takes {', '.join(sorted(_KEYS[kind])) or 'none'})"
        )
    for key in ("timeout", "seconds", "latency_ms_max"):
        _number(args, key, where)
    for key in ("times", "max", "code", "close_code", "received", "received_min", "sent", "group"):
        _number(args, key, where, whole=True)
    if kind in (StepKind.CONNECT, StepKind.LISTEN) and len(set(args) & {"endpoint", "url"}) != 1:
        raise WorkspaceError(f"{where}: {kind} needs endpoint or url")
    if kind is StepKind.SEND and len(set(args) & {"message", "text", "json", "hex"}) != 1:
        raise WorkspaceError(f"{where}: send needs one of message, text, json or hex")
    if kind is StepKind.SEND and "hex" in args and "{{" not in str(args["hex"]):
        try:
            bytes.fromhex(str(args["hex"]))
        except ValueError:
            raise WorkspaceError(f"{where}: hex is not hexadecimal digits") from None
    if kind is StepKind.EXPECT:
        _check_match(args, where)
        if args.get("within", "next") not in ("next", "any"):
            raise WorkspaceError(f"{where}: within is next or any")
    if kind is StepKind.EXTRACT:
        if not isinstance(args.get("var"), str) or not args["var"]:
            raise WorkspaceError(f"{where}: extract needs var")
        if len(set(args) & {"regex", "json_path"}) != 1:
            raise WorkspaceError(f"{where}: extract needs regex or json_path")
        _check_regex(args, where)
    if kind is StepKind.WAIT and "seconds" not in args:
        raise WorkspaceError(f"{where}: wait needs seconds")
    if kind is StepKind.REPEAT:
        if ("times" in args) == ("until" in args):
            raise WorkspaceError(f"{where}: repeat needs times or until (with max)")
        if "until" in args:
            until = args["until"]
            if not isinstance(until, Mapping):
                raise WorkspaceError(f"{where}: until is a table like an expect's keys")
            _check_match(until, f"{where}: until")
            if "max" not in args:
                raise WorkspaceError(f"{where}: repeat until needs max (a bound on the rounds)")
        if int(args.get("times", args.get("max", 0))) > MAX_REPEAT:
            raise WorkspaceError(f"{where}: at most {MAX_REPEAT} rounds")
    if kind is StepKind.ASSERT and not args:
        raise WorkspaceError(f"{where}: assert needs close_code, latency_ms_max, received or sent")
    return Step(kind, number, MappingProxyType(args), (), str(name))


def script_from_data(data: Mapping[str, Any], where: str, path: Path | None = None) -> Script:
    """A script from a parsed TOML document; WorkspaceError names the file and step."""
    tables = data.get("step", [])
    if not isinstance(tables, list) or not tables:
        raise WorkspaceError(f"{where}: no [[step]] tables")
    stack: list[tuple[Step | None, list[Step]]] = [(None, [])]
    for number, table in enumerate(tables, 1):
        step = _step(table, number, f"{where}: step {number}")
        if step.kind is StepKind.REPEAT:
            stack.append((step, []))
        elif step.kind is StepKind.END:
            if len(stack) == 1:
                raise WorkspaceError(f"{where}: step {number}: end without a repeat")
            opener, body = stack.pop()
            assert opener is not None
            if not body:
                raise WorkspaceError(f"{where}: step {opener.number}: repeat with no steps")
            stack[-1][1].append(
                Step(opener.kind, opener.number, opener.args, tuple(body), opener.name)
            )
        else:
            stack[-1][1].append(step)
    if len(stack) > 1:
        opener = stack[-1][0]
        assert opener is not None
        raise WorkspaceError(f"{where}: step {opener.number}: repeat without an end")
    default = path.stem if path is not None else "script"
    return Script(
        str(data.get("name", default)), tuple(stack[0][1]), path, str(data.get("description", ""))
    )


def load_script(path: str | Path) -> Script:
    """Read a script file."""
    path = Path(path)
    return script_from_data(load_file(path), str(path), path)


def script_to_data(script: Script) -> dict[str, Any]:
    """The TOML document of a script (repeat bodies flattened, closed by ``end``)."""
    steps: list[dict[str, Any]] = []

    def add(items: tuple[Step, ...]) -> None:
        for step in items:
            table: dict[str, Any] = {"do": str(step.kind)}
            if step.name:
                table["name"] = step.name
            table.update({k: _plain(v) for k, v in step.args.items()})
            steps.append(table)
            if step.kind is StepKind.REPEAT:
                add(step.body)
                steps.append({"do": "end"})

    add(script.steps)
    doc: dict[str, Any] = {"name": script.name}
    if script.description:
        doc["description"] = script.description
    doc["step"] = steps
    return doc


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def dump_script(script: Script) -> str:
    """The TOML text of a script."""
    return dumps(script_to_data(script))
