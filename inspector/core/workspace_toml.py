"""The small TOML writer and reader of workspace files (tomllib reads; this writes).

Values are strings, integers, floats, booleans, arrays and tables; a document is
written as its plain keys, then ``[table]`` sections and ``[[array]]`` tables, so
``tomllib.loads(dumps(doc)) == doc``. Errors name the file and the place.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inspector.core.errors import InspectorError
from inspector.core.rulefile import toml_value
from inspector.core.userfiles import read_text

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
#: The largest workspace file read: TOML a person edits is far smaller, and a path to
#: something that never ends (``/dev/zero``) must not be read for ever.
MAX_FILE = 16 << 20


class WorkspaceError(InspectorError):
    """A workspace file that cannot be read, written or understood (one line)."""


def key_text(key: str) -> str:
    """A TOML key: bare when it can be, else a quoted string."""
    return key if _BARE_KEY.match(key) else toml_value(key)


def value_text(value: Any) -> str:
    """A TOML value: scalars, arrays and inline tables, nested."""
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key_text(str(k))} = {value_text(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    try:
        return toml_value(value)
    except InspectorError as exc:
        raise WorkspaceError(str(exc).replace("rules file", "workspace file")) from None


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(map(_is_table, value))


def dumps(doc: Mapping[str, Any]) -> str:
    """The TOML text of ``doc`` (plain keys first, then tables and arrays of tables)."""
    lines: list[str] = []
    _section(doc, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _section(table: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    for key, value in table.items():
        if value is None or _is_table(value) or _is_table_array(value):
            continue
        lines.append(f"{key_text(key)} = {value_text(value)}")
    for key, value in table.items():
        here = (*path, key)
        name = ".".join(key_text(part) for part in here)
        if _is_table(value):
            lines += ["", f"[{name}]"]
            _section(value, here, lines)
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{name}]]"]
                _section(item, here, lines)


def load_file(path: Path) -> dict[str, Any]:
    """Read one TOML file; WorkspaceError with the file and line otherwise."""
    text = read_text(path, MAX_FILE, WorkspaceError, hint="not a workspace file?")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{path}: not valid TOML: {exc}") from None


def save_file(path: Path, doc: Mapping[str, Any]) -> None:
    """Write one TOML file through a temporary file (a crash leaves the old one)."""
    temp = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(dumps(doc), encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a parent that is a file: nothing to remove
            temp.unlink(missing_ok=True)
        raise WorkspaceError(f"cannot write {path}: {exc.strerror or exc}") from None
