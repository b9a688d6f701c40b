"""Filters on decoded fields: ``event == "chat"``, ``topic ~ "sensors/"``, ``id != 3``.

A condition names a fact of the decoded message (event, topic, type, method, id,
namespace, command, destination… as each decoder exposes them; also ``decoder``,
``summary`` and ``error``), an operator (``==``, ``!=``, ``~`` regex search, ``!~``)
and a value (JSON, or a bare word taken as text). A record that decodes to nothing,
or lacks the fact, does not pass (except with ``!=`` and ``!~``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from inspector.protocols.decoders.tree import Decoded

_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(==|!=|!~|~|=)\s*(.*?)\s*$", re.S)


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``NAME OP VALUE`` test on a decoded message."""

    name: str
    op: str
    value: Any
    pattern: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse ``NAME OP VALUE``; ValueError with one line when it is not that."""
        found = _CONDITION.match(text)
        if found is None:
            raise ValueError(f"{text!r} is not NAME == VALUE, NAME != VALUE or NAME ~ REGEX")
        name, op, raw = found.groups()
        op = "==" if op == "=" else op
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        pattern = None
        if op in ("~", "!~"):
            try:
                pattern = re.compile(str(value))
            except re.error as exc:
                raise ValueError(f"bad regular expression in {text!r}: {exc}") from None
        return cls(name, op, value, pattern)

    def test(self, decoded: Decoded | None) -> bool:
        """True when the decoded message passes."""
        negated = self.op in ("!=", "!~")
        if decoded is None:
            return negated
        if self.name == "decoder":
            actual: Any = decoded.decoder
        elif self.name == "summary":
            actual = decoded.summary
        elif self.name == "error":
            actual = decoded.error
        elif self.name in decoded.facts:
            actual = decoded.facts[self.name]
        else:
            return negated
        if self.pattern is not None:
            hit = actual is not None and self.pattern.search(
                actual if isinstance(actual, str) else json.dumps(actual)) is not None  # fmt: skip
        else:
            hit = actual == self.value or (
                not isinstance(actual, str) and isinstance(self.value, str)
                and json.dumps(actual) == self.value)  # fmt: skip
        return hit != negated


def passes(conditions: list[Condition], decoded: Decoded | None) -> bool:
    """True when every condition holds."""
    return all(condition.test(decoded) for condition in conditions)
