"""``{{name}}`` variables of workspaces and scripts: one scope, one substitution, one error line.

A name comes from (first match wins) the values a script extracted, ``--var k=v``, the
chosen environment, and ``{{env.NAME}}`` from the process environment (read when used,
never written back to a workspace). Environment values may refer to other variables;
a chain that comes back to itself is an error, not a loop. Extracted values came from
a peer and are taken as they came: ``{{x}}`` in a server's message is text, not a name.

Rule templates (core.rules) use the same ``{{…}}`` spelling but are filled per received
message with its groups and JSON fields; these are the person's own named values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from inspector.core.errors import InspectorError

#: ``{{ name }}``: letters, digits, ``_``, ``-`` and ``.`` (``env.API_TOKEN``).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
ENV_PREFIX = "env."
MAX_DEPTH = 16
#: Bounds on one fill: substitutions made and characters they produce. Values that use
#: other values can multiply ("{{b}}" a thousand times, b the same of c, …): a file
#: must not be able to hang or exhaust the program with that.
MAX_SUBSTITUTIONS = 100_000
MAX_FILLED = 64 << 20


class VariableError(InspectorError):
    """A variable that is unknown, refers to itself, or nests too deeply."""


def names_in(text: str) -> list[str]:
    """The variable names ``text`` uses, in order."""
    return [found.group(1) for found in PLACEHOLDER.finditer(text)]


@dataclass(slots=True)
class Scope:
    """Where variables come from while one script or connection runs."""

    environment: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, str] = field(default_factory=dict)
    extracted: dict[str, str] = field(default_factory=dict)
    process: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def knows(self, name: str) -> bool:
        """True when ``name`` has a value now."""
        if name.startswith(ENV_PREFIX):
            return name[len(ENV_PREFIX) :] in self.process
        return name in self.extracted or name in self.overrides or name in self.environment

    def raw(self, name: str, where: str) -> str:
        """The value of ``name`` before its own variables are filled in."""
        if name.startswith(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :]
            if key not in self.process:
                raise VariableError(f"{where}: {{{{{name}}}}}: {key} is not set in the environment")
            return self.process[key]
        for source in (self.extracted, self.overrides, self.environment):
            if name in source:
                return str(source[name])
        raise VariableError(f"{where}: unknown variable {{{{{name}}}}}{self._hint()}")

    def _hint(self) -> str:
        known = sorted({*self.extracted, *self.overrides, *self.environment})
        return f" (known: {', '.join(known)})" if known else " (no variables are defined)"

    def fill(self, text: str, where: str) -> str:
        """``text`` with every ``{{name}}`` replaced; VariableError names ``where``."""
        return self._fill(text, where, (), [MAX_SUBSTITUTIONS, MAX_FILLED])

    def _fill(self, text: str, where: str, chain: tuple[str, ...], left: list[int]) -> str:
        if "{{" not in text:
            return text
        if len(chain) > MAX_DEPTH:
            raise VariableError(f"{where}: variables nest more than {MAX_DEPTH} deep")

        def one(found: re.Match[str]) -> str:
            name = found.group(1)
            if name in chain:
                loop = " → ".join((*chain[chain.index(name) :], name))
                raise VariableError(f"{where}: variable {{{{{name}}}}} refers to itself ({loop})")
            value = self.raw(name, where)
            if not (name.startswith(ENV_PREFIX) or name in self.extracted):
                value = self._fill(value, where, (*chain, name), left)
            # (the process's values and a peer's are taken as they are, unfilled)
            left[0] -= 1
            left[1] -= len(value)
            if left[0] < 0 or left[1] < 0:
                raise VariableError(
                    f"{where}: variables expand too far (more than {MAX_SUBSTITUTIONS} "
                    f"substitutions or {MAX_FILLED >> 20} MiB)"
                )
            return value

        return PLACEHOLDER.sub(one, text)

    def check(self, texts: Iterable[tuple[str, str]], later: Iterable[str] = ()) -> None:
        """Fill every ``(text, where)`` once, treating the ``later`` names (values a
        script will extract) as known: the check made before anything is sent."""
        pending = set(later)
        for text, where in texts:
            for name in names_in(text):
                if name in pending and not self.knows(name):
                    continue
                self.fill(f"{{{{{name}}}}}", where)
